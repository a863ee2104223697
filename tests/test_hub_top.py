"""The hub's busy table: processes read only while some viewer asks, one table per tick."""

from __future__ import annotations

import asyncio
import json

import pytest

from iostat_widget.hub.hub import EncodedSample, Hub
from iostat_widget.sources.synthetic import SyntheticSampler
from iostat_widget.sources.top_processes import ProcSnapshot, TopSampler

from .test_hub import wait_until


class CountingReader:
    """Twelve processes, each busier than the last, read as if ``calls`` ticks had passed."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self) -> dict[tuple[int, float], ProcSnapshot]:
        self.calls += 1
        return {
            (pid, 0.0): ProcSnapshot(pid, 0.0, f"p{pid}", "ann", pid * 0.01 * self.calls, 1e6)
            for pid in range(1, 13)
        }


def top_hub(reader: CountingReader, **options: float) -> tuple[Hub, list[EncodedSample]]:
    hub = Hub(SyntheticSampler(), interval=0.01, top=TopSampler(reader), **options)
    seen: list[EncodedSample] = []
    hub.add_listener(seen.append)
    return hub, seen


async def test_no_process_is_read_while_nobody_asks() -> None:
    reader = CountingReader()
    hub, seen = top_hub(reader)
    hub.acquire()
    await wait_until(lambda: len(seen) >= 10)
    await hub.aclose()
    assert reader.calls == 0 and all(encoded.top is None for encoded in seen)
    assert all("top" not in json.loads(encoded.lean) for encoded in seen)


async def test_reading_starts_with_the_first_asker_and_stops_after_the_last() -> None:
    reader = CountingReader()
    hub, seen = top_hub(reader)
    hub.acquire()
    await wait_until(lambda: len(seen) >= 3)
    hub.acquire_top(3)
    hub.acquire_top(5)
    start = len(seen)
    await wait_until(lambda: len(seen) >= start + 6)
    hub.release_top(5)
    assert hub.top_size == 3
    mark = len(seen)
    await wait_until(lambda: len(seen) >= mark + 3)
    hub.release_top(3)
    assert hub.top_size == 0
    stop = len(seen)
    await wait_until(lambda: len(seen) >= stop + 4)
    calls = reader.calls
    await wait_until(lambda: len(seen) >= stop + 8)
    assert reader.calls == calls  # nobody asks: no more readings
    asked = [e for e in seen if e.top is not None]
    assert reader.calls == len(asked)  # one reading per tick, whatever the viewers
    tables = [json.loads(e.top)["top"] for e in asked if e.top is not None]
    assert tables[0] == []  # the first tick primes
    assert [row["pid"] for row in tables[1]] == [12, 11, 10, 9, 8]  # the largest n asked
    assert len(tables[-1]) == 3  # the one asking for more left
    assert all(e.top is None for e in seen[stop + 1 :])
    hub.acquire_top(2)  # a new asker primes anew: nothing from before is shown as an interval
    again = len(seen)
    await wait_until(lambda: len(seen) >= again + 3)
    await hub.aclose()
    fresh = [json.loads(e.top)["top"] for e in seen[again:] if e.top is not None]
    assert fresh[0] == [] and len(fresh[1]) == 2


async def test_the_table_is_the_lean_sample_plus_top_encoded_once() -> None:
    hub, seen = top_hub(CountingReader())
    hub.acquire()
    hub.acquire_top(4)
    await wait_until(lambda: len(seen) >= 3)
    await hub.aclose()
    encoded = seen[-1]
    assert encoded.top is not None
    with_top = json.loads(encoded.top)
    assert len(with_top.pop("top")) == 4 and with_top == json.loads(encoded.lean)
    assert "top" not in encoded.sample  # /metrics and the detail stream never see it


async def test_a_failing_reading_leaves_the_table_out_not_the_sample() -> None:
    def broken() -> dict[tuple[int, float], ProcSnapshot]:
        raise PermissionError("no /proc")

    hub = Hub(SyntheticSampler(), interval=0.01, top=TopSampler(broken))
    seen: list[EncodedSample] = []
    hub.add_listener(seen.append)
    hub.acquire()
    hub.acquire_top(1)
    await wait_until(lambda: len(seen) >= 3)
    await hub.aclose()
    assert all(encoded.top is None for encoded in seen) and hub.errors >= 3


@pytest.mark.parametrize("n", [0, 26, -1, True, 2.0])
async def test_asking_for_no_rows_or_too_many_is_an_error(n: object) -> None:
    hub = Hub(SyntheticSampler(), interval=0.01, top=TopSampler(CountingReader()))
    with pytest.raises(ValueError, match="from 1 to 25"):
        hub.acquire_top(n)  # type: ignore[arg-type]
    assert hub.top_size == 0
    await asyncio.sleep(0)
