"""A swarm of WebSocket viewers in one process: the clients of the fan-out and collector runs.

Each connection records (seq, sample time, receive time) for every message. The driver tells the
swarm, on stdin, which window of sample times was measured; the swarm answers on stdout with the
latencies grouped by sample (tick), which samples each connection got in that window, and any gap
in its numbering over its whole life, so a lost sample shows up even outside the window.

Protocol (one JSON object per line on stdout): ``{"event": "ready", ...}`` once every connection
is open or has failed; then, after reading ``T0 T1`` from stdin, ``{"event": "result", ...}``.

Run: ``python -m benchmarks.swarm --url ws://127.0.0.1:PORT/iostat --count 2500``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import sys
import time
from array import array
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from .rawws import RawClient, open_raw

COMPACT = "iostat.compact.v1"  # iostat_widget.compact.PROTOCOL, without importing the package

__all__ = ["Viewer", "main"]


class Viewer:
    """One connection and what it received."""

    def __init__(self, compact: bool = False) -> None:
        self.compact = compact  #: offers the compact form (the baseline server ignores it)
        self._base: tuple[int, int, float, int, float] | None = None  # see record_compact
        self.seqs = array("q")
        self.times = array("d")
        self.received = array("d")
        self.error = ""
        self.closed_at: float | None = None
        self.websocket: ClientConnection | None = None
        self.raw: RawClient | None = None
        self.opened: asyncio.Future[bool] = asyncio.get_running_loop().create_future()

    def record(self, message: str | bytes, now: float) -> None:
        sample = json.loads(message)
        if isinstance(sample, list):
            self.record_compact(sample, now)
            return
        if "compact" in sample:  # a schema message: where the compact samples count from
            keys = sample["keys"]
            base = sample["base"]
            self._base = (
                keys.index("seq"),
                keys.index("t"),
                float(base["t"]),
                int(base["seq"]),
                float(base["interval"]),
            )
            return
        self.seqs.append(int(sample["seq"]))
        self.times.append(float(sample["t"]))
        self.received.append(now)

    def record_compact(self, values: list[Any], now: float) -> None:
        """A compact sample: its ``seq`` and ``t`` read off the schema's base as
        :class:`iostat_widget.compact.CompactDecoder` does (``seq`` an offset, ``t`` milliseconds
        off the schedule), without building the whole sample: a viewer here should cost the
        machine no more than a JSON one."""
        if self._base is None:
            raise ValueError("a compact sample before any schema message")
        at_seq, at_t, t0, seq0, interval = self._base
        seq = seq0 + int(values[at_seq])
        self.seqs.append(seq)
        self.times.append(t0 + (seq - seq0) * interval + values[at_t] / 1000.0)
        self.received.append(now)

    async def run_raw(self, url: str, gate: asyncio.Semaphore, open_timeout: float) -> None:
        async with gate:
            try:
                offer = COMPACT if self.compact else None
                self.raw = await open_raw(url, self.record, open_timeout, offer)
            except Exception as err:  # every failure to connect counts, whatever its kind
                self.error = f"{type(err).__name__}: {err}"
                self.opened.set_result(False)
                return
        self.opened.set_result(True)
        self.error = await self.raw.closed
        self.closed_at = time.time()

    async def run(self, url: str, gate: asyncio.Semaphore, open_timeout: float) -> None:
        async with gate:
            try:
                self.websocket = await connect(
                    url,
                    compression=None,
                    open_timeout=open_timeout,
                    ping_interval=None,  # the server pings; the client only answers
                    max_size=2**16,
                    close_timeout=1.0,
                )
            except Exception as err:  # every failure to connect counts, whatever its kind
                self.error = f"{type(err).__name__}: {err}"
                self.opened.set_result(False)
                return
        self.opened.set_result(True)
        try:
            async for message in self.websocket:
                self.record(message, time.time())
        except ConnectionClosed as err:
            self.error = f"closed: {err}"
        self.closed_at = time.time()

    def window(self, t0: float, t1: float) -> tuple[list[int], list[float]]:
        """Seqs and latencies (ms) of the samples taken in [t0, t1)."""
        seqs: list[int] = []
        latencies: list[float] = []
        for seq, t, received in zip(self.seqs, self.times, self.received, strict=True):
            if t0 <= t < t1:
                seqs.append(seq)
                latencies.append(round((received - t) * 1000.0, 3))
        return seqs, latencies

    def gaps(self) -> int:
        """Numbers missing between the first and last sample this connection received."""
        distinct = set(self.seqs)
        if not distinct:
            return 0
        return max(distinct) - min(distinct) + 1 - len(distinct)


def _emit(obj: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(obj, separators=(",", ":")) + "\n")
    sys.stdout.flush()


def _result(viewers: list[Viewer], t0: float, t1: float) -> dict[str, Any]:
    union: set[int] = set()
    counts: list[int] = []
    ticks: dict[int, list[float]] = {}  # per sample (tick): every delivery's latency
    spread: dict[int, tuple[float, float]] = {}  # per sample: first and last delivery
    duplicates = 0
    for viewer in viewers:
        if not viewer.opened.result():
            continue
        seqs, lat = viewer.window(t0, t1)
        for seq, ms in zip(seqs, lat, strict=True):
            first, last = spread.get(seq, (ms, ms))
            spread[seq] = (min(first, ms), max(last, ms))
        union.update(seqs)
        counts.append(len(set(seqs)))
        duplicates += len(seqs) - len(set(seqs))
        for seq, ms in zip(seqs, lat, strict=True):
            ticks.setdefault(seq, []).append(ms)
    return {
        "event": "result",
        "connected": sum(1 for v in viewers if v.opened.result()),
        "failed": sum(1 for v in viewers if not v.opened.result()),
        "closed_early": sum(1 for v in viewers if v.opened.result() and v.closed_at),
        "compact": sum(1 for v in viewers if v.raw is not None and v.raw.subprotocol == COMPACT),
        "errors": sorted({v.error for v in viewers if v.error})[:5],
        "union": sorted(union),
        "counts": counts,
        "duplicates": duplicates,
        "gaps": sum(v.gaps() for v in viewers),
        "messages": sum(len(v.seqs) for v in viewers),
        "ticks": sorted(ticks.items()),
        "spread": sorted((seq, first, last) for seq, (first, last) in spread.items()),
    }


async def _read_line(limit: float) -> str:
    loop = asyncio.get_running_loop()
    return await asyncio.wait_for(loop.run_in_executor(None, sys.stdin.readline), limit)


async def _main(args: argparse.Namespace) -> None:
    compact = round(args.count * args.compact_share)  # the first ones offer the compact form
    viewers = [Viewer(compact=i < compact) for i in range(args.count)]
    gate = asyncio.Semaphore(args.concurrency)
    tasks = [
        asyncio.create_task(
            (v.run_raw if args.client == "raw" else v.run)(args.url, gate, args.open_timeout)
        )
        for v in viewers
    ]
    started = time.monotonic()
    await asyncio.wait_for(asyncio.gather(*(v.opened for v in viewers)), args.max_seconds)
    failed = sum(1 for v in viewers if not v.opened.result())
    _emit(
        {
            "event": "ready",
            "connected": args.count - failed,
            "failed": failed,
            "seconds": round(time.monotonic() - started, 3),
        }
    )
    line = await _read_line(args.max_seconds)
    t0, t1 = (float(x) for x in line.split())
    _emit(_result(viewers, t0, t1))
    for viewer in viewers:  # leave at once: no closing handshake for thousands of sockets
        if viewer.websocket is not None and viewer.websocket.transport is not None:
            viewer.websocket.transport.abort()
        if viewer.raw is not None:
            viewer.raw.abort()
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--url", required=True)
    parser.add_argument("--count", type=int, required=True)
    parser.add_argument("--concurrency", type=int, default=16, help="handshakes in flight")
    parser.add_argument("--open-timeout", type=float, default=60.0)
    parser.add_argument(
        "--client", choices=["raw", "websockets"], default="raw", help="client implementation"
    )
    parser.add_argument("--max-seconds", type=float, default=600.0, help="give up after")
    parser.add_argument(
        "--compact-share",
        type=float,
        default=0.0,
        help=f"share of the viewers that offer {COMPACT} (raw client only)",
    )
    args = parser.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < min(hard, args.count + 100):
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, args.count + 100), hard))
    asyncio.run(_main(args))


if __name__ == "__main__":
    main()
