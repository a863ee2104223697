"""GET /poll?after=SEQ&timeout=S on the stream's port."""

from __future__ import annotations

import asyncio
import json
import time

from iostat_widget.server import Server
from iostat_widget.sources.synthetic import SyntheticSampler
from iostat_widget.transports.long_poll import MAX_POLL_TIMEOUT

from .conftest import FAST
from .helpers import http_get


async def test_poll_returns_new_samples_and_after_loses_nothing(server: Server) -> None:
    status, headers, body = await http_get(server.port, "/poll?after=-1&timeout=5")
    assert status == 200 and headers["content-type"] == "application/json"
    seen = [s["seq"] for s in json.loads(body)]
    for _ in range(6):
        await asyncio.sleep(FAST * 2.5)  # a slow client: several samples pile up in between
        status, _, body = await http_get(server.port, f"/poll?after={seen[-1]}&timeout=5")
        assert status == 200
        seen += [s["seq"] for s in json.loads(body)]
    assert seen == list(range(seen[0], seen[0] + len(seen)))  # no sample lost, none twice
    assert len(seen) > 6


async def test_poll_times_out_with_204() -> None:
    async with Server("127.0.0.1", 0, interval=5.0) as server:
        started = time.monotonic()
        status, _, body = await http_get(server.port, "/poll?after=-1&timeout=0.2")
        assert status == 204 and body == b""
        assert time.monotonic() - started < 4.0


async def test_bad_parameters_are_400(server: Server) -> None:
    for query in ("after=abc", "timeout=nan", "timeout=x", "after=inf"):
        status, _, body = await http_get(server.port, f"/poll?{query}")
        assert status == 400, query
        assert b"bad request" in body


async def test_timeout_is_bounded_and_many_waiters_are_served_together() -> None:
    async with Server("127.0.0.1", 0, interval=0.3) as server:
        assert server.long_poll.default_timeout <= MAX_POLL_TIMEOUT
        results = await asyncio.gather(
            *(http_get(server.port, "/poll?after=-1&timeout=99999") for _ in range(100))
        )
        assert all(status == 200 for status, _, _ in results)
        assert {json.loads(body)[0]["seq"] for _, _, body in results} == {0}
        assert server.long_poll.requests == 100 and server.long_poll.waiting == 0


async def test_poll_detail() -> None:
    sampler = SyntheticSampler(detail=True)
    async with Server("127.0.0.1", 0, interval=FAST, sampler=sampler) as server:
        _, _, lean = await http_get(server.port, "/poll?after=-1&timeout=5")
        _, _, full = await http_get(server.port, "/poll?after=-1&timeout=5&detail=1")
    assert "disks" not in json.loads(lean)[0]
    assert set(json.loads(full)[0]["disks"]) == {"sda", "sdb"}
