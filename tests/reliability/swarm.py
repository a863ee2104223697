"""A process full of WebSocket clients that read the stream until the process is killed or stopped.

Run as a script by the load tests: a whole process of clients can vanish at once (SIGKILL: the
kernel resets or finishes every socket) or freeze (SIGSTOP: half-open, never reads nor closes),
which no client inside the test's own process can imitate.

Usage: ``swarm.py URL COUNT``; prints ``READY <n>`` once every client has received a sample.
"""

from __future__ import annotations

import asyncio
import sys

from websockets.asyncio.client import ClientConnection, connect


async def read_forever(ws: ClientConnection, first: asyncio.Event) -> None:
    async for _ in ws:
        first.set()


async def main(url: str, count: int) -> None:
    clients: list[ClientConnection] = []
    for start in range(0, count, 50):  # batches: the listen backlog is finite
        batch = range(start, min(start + 50, count))
        clients += await asyncio.gather(
            *(connect(url, max_queue=None, close_timeout=2, open_timeout=30) for _ in batch)
        )
    firsts = [asyncio.Event() for _ in clients]
    readers = [
        asyncio.create_task(read_forever(ws, first))
        for ws, first in zip(clients, firsts, strict=True)
    ]
    await asyncio.gather(*(first.wait() for first in firsts))
    print(f"READY {len(clients)}", flush=True)
    await asyncio.gather(*readers)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], int(sys.argv[2])))
