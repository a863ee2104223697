"""``iostat-widget serve``: build the server the arguments ask for and run it until a signal."""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys

from .._version import __version__
from ..server import Server
from ..sources.child import CommandNotFoundError
from .sources import build_sources

__all__ = ["run_serve"]


async def run_serve(args: argparse.Namespace) -> int:
    """Serve until SIGINT/SIGTERM; 0 when stopped, 1 when the port cannot be bound, 2 on bad
    arguments (or a command that is not installed). ``args.token`` is already resolved."""
    try:
        sampler, line_source = build_sources(args)
        server = Server(
            args.host,
            args.port,
            interval=args.interval,
            history=args.history,
            token=args.token,
            allow_origins=args.allow_origin,
            max_clients=args.max_clients,
            sampler=sampler,
            line_source=line_source,
            line_history=args.line_history,
        )
    except (ValueError, CommandNotFoundError) as err:
        print(f"iostat-widget: {err}", file=sys.stderr)
        return 2
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
    if server.page is not None:
        print(f"  page:    {server.page_url}", flush=True)
    print(f"  stream:  {server.url}", flush=True)
    if server.lines is not None:
        print(f"  lines:   {server.line_url}", flush=True)
    print(f"  health:  {server.http_url}/healthz", flush=True)
    try:
        await stop.wait()
    finally:
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(signum)
        await server.aclose()
    print("iostat-widget: stopped", flush=True)
    return 0
