"""Monitor(charts=(..., "gpu")) against a server whose samples carry GPUs, and one whose do not."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import pytest

from iostat_widget import Monitor
from iostat_widget.server import Server
from iostat_widget.sources.synthetic import SyntheticSampler

from .helpers import our_threads, serving_in_thread, wait_for


@contextmanager
def gpu_monitor(gpus: int, charts: tuple[str, ...]) -> Iterator[Monitor]:
    """A Monitor of a server (on a thread of its own) whose samples carry ``gpus`` GPUs."""
    server = Server("127.0.0.1", 0, interval=0.05, sampler=SyntheticSampler(gpus=gpus))
    with serving_in_thread(server) as running:
        monitor = Monitor(url=running.url, charts=charts)
        try:
            yield monitor
        finally:
            monitor.close()
    assert our_threads() == []


def buttons(monitor: Monitor) -> list[str]:
    return [button.description for button in monitor.buttons.children]


def test_two_gpus_offer_the_chart_and_its_button(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING)
    with gpu_monitor(2, ("cpu", "gpu")) as monitor:
        wait_for(lambda: "gpu" in monitor.charts)
        chart = monitor.charts["gpu"]
        [mark] = chart.marks
        wait_for(lambda: len(np.asarray(mark.x)) >= 5)
        assert buttons(monitor) == ["CPU", "Disk", "Network", "Memory", "GPU"]
        assert monitor.toggles["gpu"].value and chart.visible
        assert chart.box in monitor.chart_area.children
        y = np.asarray(mark.y, dtype=float)
        assert y.shape[0] == 4  # utilization and memory of GPU 0 and GPU 1
        drawn = y[:, 1:]  # [0]: the span's start
        assert np.isfinite(drawn).all() and ((drawn >= 0) & (drawn <= 100)).all()
        assert list(mark.labels)[::2] == ["GPU 0 utilization", "GPU 1 utilization"]
        wait_for(lambda: "mean of 2 GPUs" in monitor.headline)
        assert monitor.errors == 0 and caplog.records == []


def test_a_gpu_button_offered_off_draws_when_switched_on() -> None:
    with gpu_monitor(1, ("cpu",)) as monitor:
        wait_for(lambda: "GPU" in buttons(monitor))
        chart = monitor.charts["gpu"]
        assert not monitor.toggles["gpu"].value and not chart.visible
        assert chart.box not in monitor.chart_area.children
        assert len(np.asarray(chart.marks[0].x)) == 0  # hidden: not updated
        monitor.toggles["gpu"].value = True
        wait_for(lambda: chart.box in monitor.chart_area.children)
        wait_for(lambda: len(np.asarray(chart.marks[0].x)) >= 2)
        assert np.asarray(chart.marks[0].y).shape[0] == 2
        assert monitor.errors == 0


def test_no_gpu_offers_nothing_and_nothing_errors(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING)
    with gpu_monitor(0, ("cpu", "gpu")) as monitor:
        wait_for(lambda: monitor.updates >= 5)
        assert "gpu" not in monitor.charts and "gpu" not in monitor.toggles
        assert buttons(monitor) == ["CPU", "Disk", "Network", "Memory"]
        assert monitor.chart_area.children == ()
        assert "GPU" not in monitor.headline
        assert monitor.errors == 0 and caplog.records == []


def test_gpu_is_a_chart_to_ask_for() -> None:
    monitor = Monitor(url="ws://127.0.0.1:9/iostat", charts=("gpu",), autostart=False)
    monitor.close()
    with pytest.raises(ValueError, match="'gpu'"):
        Monitor(url="ws://127.0.0.1:9/iostat", charts=("gpus",), autostart=False)
