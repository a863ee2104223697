"""``iostat-widget``: the command line (``serve`` the sample stream, ``tail`` a file over HTTP)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import sys
from collections.abc import Sequence

from . import __version__

__all__ = ["build_parser", "main"]


def _positive(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be a positive number of seconds, got {text}")
    return value


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
        "--port", type=int, default=8765, help="port to bind; 0 lets the OS choose (default 8765)"
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

    tail = commands.add_parser(
        "tail",
        help="stream new lines of one file over HTTP, like tail -F",
        description="Serve FILE's new lines to every HTTP client as one never-ending text/plain "
        "response (chunked, flushed per line). Follows rotation and truncation like tail -F. "
        "The file is fixed here: no request can choose another one.",
    )
    from .transports.http_stream import configure_tail_parser

    configure_tail_parser(tail)
    return parser


async def _run_serve(args: argparse.Namespace) -> int:
    from .server import Server

    server = Server(args.host, args.port, interval=args.interval, history=args.history)
    try:
        await server.start()
    except OSError as err:
        print(f"iostat-widget: cannot listen on {args.host}:{args.port}: {err}", file=sys.stderr)
        return 1
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    print(f"iostat-widget {__version__} serving", flush=True)
    print(f"  stream:  {server.url}", flush=True)
    print(f"  health:  {server.http_url}/healthz", flush=True)
    try:
        await stop.wait()
    finally:
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(signum)
        await server.aclose()
    print("iostat-widget: stopped", flush=True)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``iostat-widget`` command; returns the exit status."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    with contextlib.suppress(KeyboardInterrupt):
        if args.command == "serve":
            return asyncio.run(_run_serve(args))
        if args.command == "tail":
            from .transports.http_stream import run_tail

            return asyncio.run(run_tail(args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
