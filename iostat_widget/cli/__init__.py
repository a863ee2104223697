"""``iostat-widget``: the command line (``serve`` the sample stream, ``tail`` a file over HTTP).

The whole command line lives in this package: the parser and the access options here,
``serve``'s sources in :mod:`.sources`, running each server until a signal in :mod:`.serve` and
:mod:`.tail`.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import sys
from collections.abc import Sequence

from .._version import __version__
from ..transports.access import bind_problem, is_loopback, new_token

__all__ = ["add_access_options", "build_parser", "main", "port_number", "resolve_token"]


def port_number(text: str) -> int:
    """An argparse type: a TCP port, 0 (the OS chooses) to 65535."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a port number, got {text}") from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"must be a port from 0 to 65535, got {text}")
    return value


def _positive(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be a positive number of seconds, got {text}")
    return value


def add_access_options(parser: argparse.ArgumentParser) -> None:
    """``--token`` and ``--no-token``, shared by every server command."""
    parser.add_argument(
        "--token",
        default=os.environ.get("IOSTAT_WIDGET_TOKEN"),
        help="require this token (?token=... or Authorization: Bearer ...); 'auto' generates one; "
        "default: $IOSTAT_WIDGET_TOKEN, else none. Required to bind beyond loopback",
    )
    parser.add_argument(
        "--no-token",
        action="store_true",
        help="allow binding beyond loopback without a token: anyone who reaches the port can "
        "watch this machine",
    )


def resolve_token(args: argparse.Namespace) -> str | None:
    """The token to use, or exit with status 2 when the bind would be unprotected."""
    token: str | None = args.token
    if token == "auto":
        token = new_token()
    problem = bind_problem(args.host, token, args.no_token)
    if problem is not None:
        print(f"iostat-widget: {problem}", file=sys.stderr)
        raise SystemExit(2)
    if args.no_token and not is_loopback(args.host):
        print(
            f"iostat-widget: WARNING: serving {args.host} with no token; anyone who can reach "
            "this port can watch this machine",
            file=sys.stderr,
        )
    return token


def build_parser() -> argparse.ArgumentParser:
    """The argument parser for every subcommand."""
    parser = argparse.ArgumentParser(
        prog="iostat-widget",
        description="Live system activity over WebSocket, for JupyterLab and the browser.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log connections and errors")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    serve = commands.add_parser(
        "serve",
        help="sample this machine and stream it to every client",
        description="Sample CPU, disk, network and memory once per interval and stream each sample "
        "as JSON over WebSocket at /iostat (health check at /healthz). Stops on Ctrl-C or SIGTERM.",
    )
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    serve.add_argument(
        "--port",
        type=port_number,
        default=8765,
        help="port to bind; 0 lets the OS choose (default 8765)",
    )
    serve.add_argument(
        "--interval", type=_positive, default=1.0, help="seconds between samples (default 1.0)"
    )
    serve.add_argument(
        "--history",
        type=int,
        default=60,
        help="recent samples a new client receives first (default 60)",
    )
    add_access_options(serve)
    serve.add_argument(
        "--allow-origin",
        action="append",
        default=[],
        metavar="ORIGIN",
        help="a web origin (scheme://host:port) besides this server's own whose pages may "
        "connect; repeat for more; '*' allows any (default: same host only)",
    )
    serve.add_argument(
        "--max-clients",
        type=int,
        default=20_000,
        help="WebSocket and long-poll clients served at once; more get 503 (default 20000)",
    )
    from .sources import add_source_options

    add_source_options(serve)

    tail = commands.add_parser(
        "tail",
        help="stream new lines of one file over HTTP, like tail -F",
        description="Serve FILE's new lines to every HTTP client as one never-ending text/plain "
        "response (chunked, flushed per line). Follows rotation and truncation like tail -F. "
        "The file is fixed here: no request can choose another one.",
    )
    from .tail import configure_tail_parser

    configure_tail_parser(tail)
    add_access_options(tail)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``iostat-widget`` command; returns the exit status."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    with contextlib.suppress(KeyboardInterrupt):
        if args.command == "serve":
            from .serve import run_serve

            args.token = resolve_token(args)
            return asyncio.run(run_serve(args))
        if args.command == "tail":
            from .tail import run_tail

            args.token = resolve_token(args)
            return asyncio.run(run_tail(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
