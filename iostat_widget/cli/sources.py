"""``iostat-widget serve`` options that choose where data comes from besides psutil.

``--source iostat|vmstat`` samples through the system's own tool (the 2010 write-up's way);
``--command CMD`` or ``--tail FILE`` add a ``/lines`` stream of text lines. Every command and file
is fixed here, on the command line: no request can change them. Kept apart from the parser's other
options so that these options and the objects they build stay together.
"""

from __future__ import annotations

import argparse
import shlex

from ..sources.base import Sampler
from ..sources.child import find_command
from ..sources.command_sampler import COMMAND_SOURCES, command_sampler
from ..sources.line_feed import CommandLines, FileLines, LineSource

__all__ = ["add_source_options", "build_sources"]


def add_source_options(parser: argparse.ArgumentParser) -> None:
    """``--source``, ``--source-command``, ``--command``, ``--tail``, ``--line-history``."""
    parser.add_argument(
        "--source",
        choices=("psutil", *COMMAND_SOURCES),
        default="psutil",
        help="where samples come from: psutil reads kernel counters (default); iostat or vmstat "
        "runs that tool and parses its reports (no network figures; iostat: no memory)",
    )
    parser.add_argument(
        "--source-command",
        metavar="CMD",
        help="run CMD (split like a shell would, run without one) instead of the default "
        "'iostat -d -c -k N' or 'vmstat -n N'; its output is parsed as --source's",
    )
    lines = parser.add_mutually_exclusive_group()
    lines.add_argument(
        "--command",
        dest="line_command",  # "command" is the subcommand's name
        metavar="CMD",
        help='also stream CMD\'s output lines at /lines (e.g. "vmstat 1"; run without a shell, '
        "on a pseudo-terminal so lines arrive as printed, restarted if it exits)",
    )
    lines.add_argument(
        "--tail",
        metavar="FILE",
        help="also stream FILE's lines at /lines, following it like tail -F",
    )
    parser.add_argument(
        "--line-history",
        type=int,
        default=20,
        metavar="N",
        help="recent lines a new /lines client receives first (default 20)",
    )


def build_sources(args: argparse.Namespace) -> tuple[Sampler | None, LineSource | None]:
    """The sampler (``None``: the server's default) and the ``/lines`` source the options ask for.

    Raises ``ValueError`` for options that do not fit together and
    :class:`~iostat_widget.sources.child.CommandNotFoundError` for a program that is not on
    ``PATH`` (e.g. ``iostat not found; install sysstat``), before anything starts.
    """
    if args.line_history < 0:
        raise ValueError("--line-history must be 0 or more")
    sampler: Sampler | None = None
    if args.source != "psutil":
        argv = _split(args.source_command, "--source-command") if args.source_command else None
        made = command_sampler(args.source, interval=args.interval, argv=argv)
        find_command(made.child.argv, made.child.hint)
        sampler = made
    elif args.source_command:
        raise ValueError("--source-command needs --source iostat or --source vmstat")
    line_source: LineSource | None = None
    if args.line_command:
        argv = _split(args.line_command, "--command")
        find_command(argv)
        line_source = CommandLines(argv)
    elif args.tail:
        line_source = FileLines(args.tail, history=args.line_history)
    return sampler, line_source


def _split(command: str, option: str) -> list[str]:
    try:
        argv = shlex.split(command)
    except ValueError as err:
        raise ValueError(f"{option}: {err}") from None
    if not argv:
        raise ValueError(f"{option} is empty")
    return argv
