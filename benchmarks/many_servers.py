"""N iostat-widget servers in one process, each on its own port, for the many-hosts figure.

Their own cost is not what is measured (the kernel watching them is), so one process holds them
all: ``python -m benchmarks.many_servers --count 50`` prints ``ports P1,P2,...`` once listening,
and runs until SIGTERM or ``--max-seconds``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal

from iostat_widget.server import Server
from iostat_widget.sources.synthetic import SyntheticSampler

__all__ = ["main"]


async def serve(count: int, interval: float, max_seconds: float) -> None:
    servers = [
        Server(
            "127.0.0.1",
            0,
            interval=interval,
            sampler=SyntheticSampler(host=f"host-{number:02d}", interval=interval),
        )
        for number in range(count)
    ]
    for server in servers:
        await server.start()
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    print("ports " + ",".join(str(server.port) for server in servers), flush=True)
    try:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), max_seconds)
    finally:
        for server in servers:
            await server.aclose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--count", type=int, default=50)
    parser.add_argument("--interval", type=float, default=1.0)
    parser.add_argument("--max-seconds", type=float, default=900.0)
    args = parser.parse_args()
    asyncio.run(serve(args.count, args.interval, args.max_seconds))


if __name__ == "__main__":
    main()
