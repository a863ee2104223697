"""The baseline: a bare ``websockets`` server that only broadcasts a sample-sized message.

Whatever the product's fan-out costs beyond this (history, hub, buffer checks, sampling) shows
up as a ratio against it. It sends the same bytes a real sample would: a schema-valid sample of
the requested size, numbered, stamped with the send time, with ``websockets.broadcast()`` on a
fixed-rate clock like the hub's. It imports nothing from iostat_widget for that on purpose.

``--feed FIRST,TOTAL`` turns it into a fast feeder for the kernel-memory benchmark: each new
client gets FIRST samples as fast as it reads them, a pause, then the rest up to TOTAL. Those
are the product's own synthetic samples, so they stay valid as the schema grows.

Run: ``python -m benchmarks.baseline_server --port 0 --interval 1 --size 231``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import signal
import socket
import time
from datetime import UTC, datetime

from websockets.asyncio.server import ServerConnection, broadcast, serve

__all__ = ["main", "payload"]


def _sample(seq: int, t: float, host: str) -> dict[str, object]:
    date = datetime.fromtimestamp(t, UTC).isoformat(timespec="milliseconds")
    return {
        "seq": seq,
        "t": round(t, 3),
        "date": date.replace("+00:00", "Z"),
        "host": host,
        "interval": 1.0,
        "cpu": {"us": 12.5, "sy": 3.1, "id": 84.4, "wa": 0, "st": 0},
        "disk": {"read_bps": 0, "write_bps": 1745092},
        "net": {"rx_bps": 702, "tx_bps": 702},
        "mem": {"used_pct": 41.6},
    }


def payload(seq: int, t: float, size: int) -> str:
    """A schema-valid sample of exactly ``size`` bytes where possible (the host name pads it)."""
    base = socket.gethostname()[:40]
    text = json.dumps(_sample(seq, t, base), separators=(",", ":"))
    pad = max(size - len(text), 0)
    if pad:
        text = json.dumps(
            _sample(seq, t, base + "x" * min(pad, 255 - len(base))), separators=(",", ":")
        )
    return text


class Baseline:
    """Connections, a 1-per-interval broadcast and (optionally) a per-client fast feed."""

    def __init__(self, interval: float, size: int, feed: tuple[int, int] | None, pause: float):
        self.interval = interval
        self.size = size
        self.feed = feed
        self.pause = pause
        self.connections: set[ServerConnection] = set()
        self.seq = 0

    async def handler(self, connection: ServerConnection) -> None:
        if self.feed is not None:
            await self._feed(connection, *self.feed)
        self.connections.add(connection)
        try:
            await connection.wait_closed()
        finally:
            self.connections.discard(connection)

    async def _feed(self, connection: ServerConnection, first: int, total: int) -> None:
        from iostat_widget.schema import encode_sample
        from iostat_widget.sources.synthetic import synthetic_sample

        for seq in range(total):
            if seq == first:
                await asyncio.sleep(self.pause)
            await connection.send(encode_sample(synthetic_sample(seq, time.time())))

    async def tick(self) -> None:
        deadline = time.monotonic() + self.interval
        while True:
            await asyncio.sleep(max(deadline - time.monotonic(), 0.0))
            broadcast(self.connections, payload(self.seq, time.time(), self.size))
            self.seq += 1
            deadline += self.interval
            if time.monotonic() > deadline:
                deadline = time.monotonic() + self.interval


async def _serve(args: argparse.Namespace) -> None:
    feed = None
    if args.feed:
        first, total = (int(part) for part in args.feed.split(","))
        feed = (first, total)
    baseline = Baseline(args.interval, args.size, feed, args.pause)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    async with serve(
        baseline.handler,
        "127.0.0.1",
        args.port,
        compression=None,  # as the product: no per-message deflate
        max_size=4096,
        ping_interval=20.0,
        ping_timeout=20.0,
    ) as server:
        port = next(iter(server.sockets)).getsockname()[1]
        print(f"listening {port}", flush=True)
        ticker = asyncio.create_task(baseline.tick()) if not feed else None
        await asyncio.wait_for(stop.wait(), args.max_seconds)
        if ticker is not None:
            ticker.cancel()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--interval", type=float, default=1.0)
    parser.add_argument("--size", type=int, default=231, help="bytes per message")
    parser.add_argument("--feed", default="", help="FIRST,TOTAL samples per client, fast")
    parser.add_argument("--pause", type=float, default=5.0, help="seconds after FIRST")
    parser.add_argument("--max-seconds", type=float, default=3600.0, help="stop by itself")
    args = parser.parse_args()
    with contextlib.suppress(TimeoutError):  # --max-seconds reached
        asyncio.run(_serve(args))


if __name__ == "__main__":
    main()
