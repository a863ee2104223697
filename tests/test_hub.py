"""The hub: one sampler, consecutive numbers, a bounded ring, sampling only while watched."""

from __future__ import annotations

import asyncio
import json
import logging
import time

import pytest

from iostat_widget.hub.hub import EncodedSample, Hub
from iostat_widget.schema import Sample
from iostat_widget.sources.base import NoReading
from iostat_widget.sources.synthetic import SyntheticSampler


async def wait_until(predicate: object, limit: float = 5.0) -> None:
    async with asyncio.timeout(limit):
        while not predicate():  # type: ignore[operator]
            await asyncio.sleep(0.005)


async def test_frames_are_numbered_encoded_once_and_kept_in_a_ring() -> None:
    sampler = SyntheticSampler()
    hub = Hub(sampler, interval=0.01, history=5)
    seen: list[EncodedSample] = []
    hub.add_listener(seen.append)
    hub.acquire()
    await wait_until(lambda: len(seen) >= 12)
    await hub.aclose()
    assert [f.seq for f in seen] == list(range(len(seen)))
    assert all(json.loads(f.lean)["seq"] == f.seq for f in seen)
    assert sampler.calls == len(seen)  # one sample per tick, whatever the number of listeners
    ring = hub.history_after(-1)
    assert len(ring) == 5 and ring == seen[-5:]
    assert hub.history_after(seen[-2].seq) == [seen[-1]]
    assert hub.seq == seen[-1].seq


async def test_sampling_starts_with_demand_and_stops_after_linger() -> None:
    sampler = SyntheticSampler()
    hub = Hub(sampler, interval=0.01, linger=0.05)
    await asyncio.sleep(0.05)
    assert sampler.calls == 0 and not hub.sampling  # nobody watching: no sampling
    hub.acquire()
    hub.acquire()
    await wait_until(lambda: sampler.calls >= 3)
    hub.release()
    assert hub.sampling and hub.clients == 1
    hub.release()
    await wait_until(lambda: not hub.sampling)
    calls = sampler.calls
    await asyncio.sleep(0.05)
    assert sampler.calls == calls
    hub.acquire()  # a client within or after linger restarts it, numbers go on
    await wait_until(lambda: sampler.calls >= calls + 2)
    assert sampler.primed == 2
    await hub.aclose()
    assert [f.seq for f in hub.history_after(-1)] == list(range(hub.seq + 1))[-60:]


async def test_client_returning_within_linger_keeps_the_sampler() -> None:
    sampler = SyntheticSampler()
    hub = Hub(sampler, interval=0.01, linger=0.5)
    hub.acquire()
    await wait_until(lambda: sampler.calls >= 1)
    hub.release()
    hub.acquire()
    await asyncio.sleep(0.6)
    assert hub.sampling and sampler.primed == 1
    await hub.aclose()


class FlakySampler(SyntheticSampler):
    def sample(self, seq: int) -> Sample:
        if self.calls % 3 == 1:
            self.calls += 1
            raise OSError("counter file vanished")
        return super().sample(seq)


async def test_failing_sampler_or_listener_skips_a_tick_not_the_loop() -> None:
    hub = Hub(FlakySampler(), interval=0.01)
    good: list[EncodedSample] = []

    def broken(frame: EncodedSample) -> None:
        raise RuntimeError("listener bug")

    hub.add_listener(broken)
    hub.add_listener(good.append)
    hub.acquire()
    await wait_until(lambda: len(good) >= 6)
    await hub.aclose()
    assert hub.errors >= 2
    assert [f.seq for f in good] == list(range(len(good)))  # numbers have no holes


async def test_next_samples_waits_for_the_next_sample() -> None:
    hub = Hub(SyntheticSampler(), interval=0.02)
    hub.acquire()
    frames = await hub.next_samples(after=-1, max_wait=2.0)
    assert [f.seq for f in frames] == [0]
    later = await hub.next_samples(after=frames[-1].seq, max_wait=2.0)
    assert later and later[0].seq == 1
    assert await hub.next_samples(after=10**9, max_wait=0.01) == []
    await hub.aclose()


async def test_many_waiters_share_one_wakeup() -> None:
    hub = Hub(SyntheticSampler(), interval=0.05)
    hub.acquire()
    results = await asyncio.gather(*(hub.next_samples(-1, 2.0) for _ in range(500)))
    assert all(r and r[0].seq == 0 for r in results)
    await hub.aclose()


async def test_closing_answers_every_waiting_request_at_once() -> None:
    # A long poll waits up to 30 s; a server shutting down must not wait for it.
    hub = Hub(SyntheticSampler(), interval=60.0)
    hub.acquire()
    waiting = [asyncio.ensure_future(hub.next_samples(-1, 30.0)) for _ in range(3)]
    await asyncio.sleep(0.05)
    assert not any(task.done() for task in waiting)
    started = time.monotonic()
    await hub.aclose()
    async with asyncio.timeout(2):
        assert await asyncio.gather(*waiting) == [[], [], []]
    assert time.monotonic() - started < 2


def test_bad_settings_are_refused() -> None:
    with pytest.raises(ValueError, match="interval"):
        Hub(SyntheticSampler(), interval=0)
    with pytest.raises(ValueError, match="history"):
        Hub(SyntheticSampler(), history=0)


class SilentSampler(SyntheticSampler):
    """Has a reading only every other tick, like a tool reporting at half the hub's rate."""

    ticks = 0

    def sample(self, seq: int) -> Sample:
        self.ticks += 1
        if self.ticks % 2:
            raise NoReading("between two reports")
        return super().sample(seq)


async def test_no_reading_skips_the_tick_quietly(caplog: pytest.LogCaptureFixture) -> None:
    hub = Hub(SilentSampler(), interval=0.01)
    seen: list[EncodedSample] = []
    hub.add_listener(seen.append)
    hub.acquire()
    await wait_until(lambda: len(seen) >= 4)
    await hub.aclose()
    assert hub.no_reading >= 4 and hub.errors == 0
    assert [f.seq for f in seen] == list(range(len(seen)))
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


async def test_json_texts_are_encoded_on_first_use_once_and_compact_every_tick() -> None:
    hub = Hub(SyntheticSampler(), interval=0.01, history=5)
    seen: list[EncodedSample] = []
    hub.add_listener(seen.append)
    hub.acquire()
    await wait_until(lambda: len(seen) >= 3)
    await hub.aclose()
    first = seen[0]
    assert all(f.formats == ("compact",) for f in seen)  # nobody read JSON: none encoded
    assert all(f.schema is first.schema for f in seen)  # one schema while nothing changes
    assert json.loads(first.compact)[0] == 0 and json.loads(seen[1].compact)[0] == 1
    detail = first.detail
    assert first.formats == ("compact", "detail") and first.detail is detail  # kept, not redone
    assert json.loads(first.lean)["seq"] == 0 and first.formats == ("compact", "lean", "detail")
