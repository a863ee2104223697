"""A real iostat-widget server in a process of its own, reporting its own health on stdout.

Run as a script by the reliability tests: measuring memory, descriptors and tasks of a server that
shares a process with hundreds of test clients would measure the clients. The server is the
product's ``Server`` with the deterministic sampler injected, plus one reporting task that prints
a JSON line of statistics (RSS, file descriptors, asyncio tasks, connections) at a fixed period.

Output: ``PORT <n>`` once listening, then ``STATS {...}`` lines; SIGTERM stops it (exit 0).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import signal
import socket
import sys
import time

import psutil

from iostat_widget.server import Server
from iostat_widget.sources.synthetic import SyntheticSampler


def stats(server: Server, process: psutil.Process) -> dict[str, float]:
    """What the tests watch for growth: memory, descriptors, tasks, clients, samples."""
    return {
        "time": time.monotonic(),
        "rss": process.memory_info().rss,
        "fds": process.num_fds(),
        "open_files": len(process.open_files()),
        "tasks": len(asyncio.all_tasks()),
        "clients": len(server.fanout.connections),
        "seq": server.hub.seq,
        "skipped": server.fanout.skipped,
    }


async def main(args: argparse.Namespace) -> int:
    server = Server(
        "127.0.0.1",
        args.port,
        interval=args.interval,
        sampler=SyntheticSampler(interval=args.interval),
        ping_interval=args.ping_interval,
        linger=1.0,
    )
    await server.start()
    if args.sndbuf:
        # Accepted sockets inherit the listener's buffer sizes (Linux). A small kernel send
        # buffer makes a stalled reader reach the server's own cap (skip_above) within a second,
        # instead of after the ~4 MiB the kernel would otherwise autotune on loopback.
        for listener in server.sockets:
            listener.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, args.sndbuf)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    process = psutil.Process()
    print(f"PORT {server.port}", flush=True)
    try:
        while not stop.is_set():
            print("STATS " + json.dumps(stats(server, process)), flush=True)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), args.stats_every)
    finally:
        await server.aclose()
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--interval", type=float, default=0.05)
    parser.add_argument("--ping-interval", type=float, default=20.0)
    parser.add_argument("--stats-every", type=float, default=1.0)
    parser.add_argument("--sndbuf", type=int, default=0, help="kernel send buffer per client")
    sys.exit(asyncio.run(main(parser.parse_args())))
