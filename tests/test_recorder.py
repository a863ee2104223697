"""Recording in this process: a real embedded server (or a remote one) on the kernel runtime's
loop keeps sampling while the calling thread is busy, and stopping leaves nothing behind."""

from __future__ import annotations

import time

import pytest

from iostat_widget.server import Server
from iostat_widget.sources.synthetic import SyntheticSampler
from iostat_widget.widget.recorder import Recorder
from iostat_widget.widget.runtime import KernelRuntime

from .helpers import our_threads, serving_in_thread


def busy(seconds: float) -> None:
    """Hold the GIL in pure Python for ``seconds``."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        sum(range(1000))


def test_a_record_covers_a_busy_stretch_of_this_machine_and_this_kernel() -> None:
    recorder = Recorder(interval=0.1)
    recorder.start()
    busy(1.0)
    record = recorder.stop()
    assert KernelRuntime.current() is None and our_threads() == []
    assert record.seconds == pytest.approx(1.0, abs=0.3), record  # not the server's start
    times = [s["t"] for s in record.samples]
    # 10 at 0.1 s; fewer when a loaded machine delays the loop thread behind the busy one
    assert len(times) >= 5 and times == sorted(times), times
    assert times[0] > record.start and times[-1] >= record.end  # the whole cell, no history
    assert record.kernel is not None and len(record.kernel) == len(record.samples)
    # the kernel was busy on one core for most of it
    assert max(k["cpu_pct"] for k in record.kernel) > 50, record.kernel
    assert all(k["rss_bytes"] > 1e6 for k in record.kernel)
    assert record.summary().samples == len(times)


def test_a_record_of_another_machine_skips_the_history_it_replays() -> None:
    server = Server("127.0.0.1", 0, interval=0.05, sampler=SyntheticSampler(interval=0.05))
    with serving_in_thread(server) as running:
        time.sleep(0.5)  # history the server will replay on connect
        recorder = Recorder(url=running.url)
        recorder.start()
        time.sleep(0.4)
        record = recorder.stop()
    assert {s["host"] for s in record.samples} == {"synthetic"}
    assert 4 <= len(record.samples) <= 14
    assert record.samples[0]["t"] > record.start and record.kernel is not None
    assert our_threads() == []


def test_stopping_twice_or_before_starting_is_refused() -> None:
    recorder = Recorder(interval=0.1)
    with pytest.raises(RuntimeError, match="not recording"):
        recorder.stop()
    with pytest.raises(ValueError, match="interval"):
        Recorder(interval=0)
