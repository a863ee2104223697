"""``iostat-widget tail FILE``: its arguments, and running the tail server until a signal."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
import sys
from pathlib import Path

from ..sources.tail import DEFAULT_POLL_INTERVAL
from . import port_number

__all__ = ["configure_tail_parser", "run_tail"]

USAGE = "usage: iostat-widget tail [--host HOST] [--port PORT] [--backlog N] [--poll SECONDS] FILE"


def configure_tail_parser(parser: argparse.ArgumentParser) -> None:
    """Add the ``tail`` command's arguments to ``parser``."""
    parser.add_argument("file", nargs="?", metavar="FILE", help="log file to follow (fixed)")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default: 127.0.0.1)")
    parser.add_argument(
        "--port",
        type=port_number,
        default=8000,
        help="port to bind; 0 lets the OS choose (default: 8000)",
    )
    parser.add_argument(
        "--backlog", type=int, default=10, help="lines a new client gets first (default: 10)"
    )
    parser.add_argument(
        "--poll",
        type=float,
        default=DEFAULT_POLL_INTERVAL,
        help=f"seconds between checks of the file for new lines (default: {DEFAULT_POLL_INTERVAL})",
    )


def _checked_path(args: argparse.Namespace) -> tuple[Path, str | None]:
    """The file to serve, and what is wrong with the arguments, if anything."""
    path = Path(args.file).absolute()
    if path.is_dir():
        return path, f"{args.file} is a directory"
    if not path.parent.is_dir():
        return path, f"directory of {args.file} does not exist"
    if args.backlog < 0 or not args.poll > 0:
        return path, "--backlog must be >= 0 and --poll > 0"
    return path, None


async def run_tail(args: argparse.Namespace) -> int:
    """Serve ``args.file`` until SIGINT/SIGTERM; 0 when stopped, 2 on bad arguments."""
    from ..tail_server import TailServer  # tornado, only when a tail server runs

    if args.file is None:
        print(USAGE, file=sys.stderr)
        print("iostat-widget tail: error: FILE is required", file=sys.stderr)
        return 2
    path, problem = _checked_path(args)
    if problem is not None:
        print(f"iostat-widget tail: error: {problem}", file=sys.stderr)
        return 2
    if not path.exists():  # as tail -F does: say so, then follow it once it appears
        print(f"iostat-widget tail: {args.file} does not exist yet; waiting for it", flush=True)
    server = TailServer(
        path,
        args.host,
        args.port,
        args.backlog,
        poll_interval=args.poll,
        token=getattr(args, "token", None),
    )
    try:
        await server.start()
    except OSError as exc:
        print(f"iostat-widget tail: cannot listen: {exc}", file=sys.stderr)
        await server.aclose()
        return 1
    loop = asyncio.get_running_loop()
    handled: list[signal.Signals] = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError):  # not on every platform
            loop.add_signal_handler(sig, server.stop)  # serve_forever returns
            handled.append(sig)
    try:
        print(f"tailing {args.file} at {server.url}", flush=True)
        await server.serve_forever()  # raises if following the file failed
    finally:
        for sig in handled:
            loop.remove_signal_handler(sig)
        await server.aclose()
    return 0
