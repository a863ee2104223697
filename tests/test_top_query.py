"""``?top=N`` on ``/iostat`` and ``/poll``: the busy table for those who ask, nothing for others."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from websockets.exceptions import InvalidStatus

from iostat_widget.hub.hub import EncodedSample
from iostat_widget.schema import decode_sample
from iostat_widget.server import Server
from iostat_widget.sources.synthetic import SyntheticSampler
from iostat_widget.sources.top_processes import TopSampler
from iostat_widget.transports.top_query import TopQueryError, asked_top

from .conftest import FAST
from .helpers import http_get
from .test_hub_top import CountingReader
from .test_websocket import connect, receive


@pytest.fixture
async def reader() -> CountingReader:
    return CountingReader()


@pytest.fixture
async def top_server(reader: CountingReader) -> AsyncIterator[Server]:
    sampler = SyntheticSampler(interval=FAST)
    top = TopSampler(reader)
    async with Server("127.0.0.1", 0, interval=FAST, sampler=sampler, linger=0.2, top=top) as s:
        yield s


def tables(messages: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    return [m["top"] for m in messages if "top" in m]


async def test_a_plain_viewer_gets_no_table_and_costs_no_reading(
    top_server: Server, reader: CountingReader
) -> None:
    async with connect(top_server.url) as plain:
        got = await receive(plain, 8)
    assert reader.calls == 0 and not tables(got)


async def test_top_viewers_share_one_table_per_tick_and_plain_ones_stay_plain(
    top_server: Server, reader: CountingReader
) -> None:
    sent: list[EncodedSample] = []
    top_server.hub.add_listener(sent.append)
    async with (
        connect(top_server.url) as plain,
        connect(top_server.url + "?top=3") as three,
        connect(top_server.url + "?top=5") as five,
    ):
        await receive(five, 4)
        mine = [await five.recv() for _ in range(4)]
        theirs = await receive(three, 20)
        plain_got = await receive(plain, 20)
    assert not tables(plain_got)
    rows = [t for t in tables(theirs) if t]
    assert rows and all(len(t) == 5 for t in rows)  # one table, at the largest n asked
    assert all(decode_sample(json.dumps(m))["top"] == m["top"] for m in theirs if "top" in m)
    encoded = {e.seq: e.top for e in sent}
    assert all(text == encoded[json.loads(text)["seq"]] for text in mine)  # the hub's text, as is
    assert reader.calls <= len([e for e in sent if e.top is not None]) + 1  # one read per tick


@pytest.mark.parametrize(
    ("query", "status"),
    [("top=abc", 400), ("top=1000", 400), ("top=-1", 400), ("top=2.5", 400),
     ("top=3&detail=1", 400), ("top=26", 400)],
)  # fmt: skip
async def test_a_bad_top_is_refused_before_the_handshake(
    top_server: Server, reader: CountingReader, query: str, status: int
) -> None:
    with pytest.raises(InvalidStatus) as refused:
        async with connect(f"{top_server.url}?{query}"):
            pass
    assert refused.value.response.status_code == status
    assert b"top" in refused.value.response.body
    code, _, body = await http_get(top_server.port, f"/poll?{query}&timeout=0.1")
    assert code == status and b"top" in body
    assert reader.calls == 0 and top_server.hub.top_size == 0


async def test_top_zero_is_a_plain_viewer(top_server: Server, reader: CountingReader) -> None:
    async with connect(top_server.url + "?top=0&detail=1") as zero:
        got = await receive(zero, 5)
    assert not tables(got) and all("irq" in m["cpu"] for m in got) and reader.calls == 0


async def test_polling_with_top_gets_the_table(top_server: Server, reader: CountingReader) -> None:
    seen: list[dict[str, Any]] = []
    after = -1
    for _ in range(6):
        status, _, body = await http_get(top_server.port, f"/poll?after={after}&top=2&timeout=5")
        assert status == 200
        seen += json.loads(body)
        after = seen[-1]["seq"]
    assert any(len(t) == 2 for t in tables(seen)) and reader.calls >= 2
    status, _, body = await http_get(top_server.port, f"/poll?after={after}&timeout=5")
    assert "top" not in json.loads(body)[-1]
    await asyncio.sleep(FAST * 4)
    calls = reader.calls
    await asyncio.sleep(FAST * 4)
    assert reader.calls == calls  # nobody asks: no reading


@pytest.mark.parametrize(
    ("query", "n"), [({}, 0), ({"top": ["0"]}, 0), ({"top": ["25"]}, 25), ({"top": ["1", "7"]}, 7)]
)
def test_asked_top_reads_the_last_value(query: dict[str, list[str]], n: int) -> None:
    assert asked_top(query) == n  # (parse_qs leaves out an empty ``top=``: no table)


def test_asked_top_refuses_unicode_digits() -> None:
    with pytest.raises(TopQueryError, match="0 to 25"):
        asked_top({"top": ["٣"]})
