"""A minute at 100 samples a second with 20 viewers: nothing may grow.

A monitor runs for weeks. Whatever it leaks per sample or per message (a task, a descriptor, a
buffer) shows at 100 Hz within a minute: 6,000 samples and 120,000 messages. The server runs in a
process of its own and reports its RSS, descriptors and asyncio tasks every second; after a
warm-up they must stay flat while every viewer receives every sample.
"""

from __future__ import annotations

import asyncio

import pytest

from .support import Viewer, consecutive, raise_open_files_limit, synthetic_server, ws_connect

pytestmark = pytest.mark.timeout(150)

INTERVAL = 0.01  # 100 Hz
CLIENTS = 20
DURATION = 60.0
WARM_UP = 10.0  # allocator arenas, the history ring filling, first pings
RSS_SLACK = 5 * 2**20  # ± 5 MiB around the reading at the end of the warm-up


async def test_a_minute_at_100_hz_leaves_memory_fds_and_tasks_flat() -> None:
    raise_open_files_limit()
    async with synthetic_server(interval=INTERVAL, stats_every=1.0) as server:
        viewers = [Viewer(await ws_connect(server.url)) for _ in range(CLIENTS)]
        try:
            await asyncio.sleep(DURATION)
            last = await server.latest_stats()
        finally:
            await asyncio.gather(*(v.ws.close() for v in viewers))
            await asyncio.gather(*(v.task for v in viewers))
        assert await server.terminate() == 0
    assert "Traceback" not in server.stderr.decode(), server.stderr.decode()

    start = server.stats[0]["time"]
    steady = [s for s in server.stats if s["time"] - start >= WARM_UP and s["time"] <= last["time"]]
    assert len(steady) >= (DURATION - WARM_UP) * 0.8  # a reading about every second
    reference = steady[0]
    rss = [s["rss"] for s in steady]
    fds = [s["fds"] + s["open_files"] for s in steady]
    tasks = [s["tasks"] for s in steady]
    print(
        f"RSS {min(rss) / 2**20:.1f}-{max(rss) / 2**20:.1f} MiB after warm-up "
        f"(first {reference['rss'] / 2**20:.1f}, last {rss[-1] / 2**20:.1f}); "
        f"fds {min(fds)}-{max(fds)}; tasks {min(tasks)}-{max(tasks)}; "
        f"samples {last['seq'] + 1}; skipped {last['skipped']}"
    )
    assert all(abs(value - reference["rss"]) <= RSS_SLACK for value in rss), rss
    assert max(fds) <= fds[0] and max(tasks) <= tasks[0], (fds, tasks)
    assert last["clients"] == CLIENTS
    # Every viewer got every sample, in order, the whole minute.
    for viewer in viewers:
        assert consecutive(viewer.seqs)
        assert viewer.seqs[-1] >= last["seq"]
    assert last["seq"] >= DURATION / INTERVAL * 0.8  # 100 Hz, give or take a loaded machine
