"""What a Monitor leaves behind: its windows as a DataFrame, and a picture in its mimebundle
beside the live widget's view (fed by real servers of synthetic samples)."""

from __future__ import annotations

import base64
from pathlib import Path

from iostat_widget import Monitor
from iostat_widget.saved_picture import read_windows
from iostat_widget.server import Server
from iostat_widget.sources.synthetic import SyntheticSampler

from .helpers import serving_in_thread, wait_for


def synthetic_server(host: str) -> Server:
    sampler = SyntheticSampler(host=host, interval=0.05)
    return Server("127.0.0.1", 0, interval=0.05, sampler=sampler)


def test_two_hosts_windows_make_one_frame_by_time_and_one_picture() -> None:
    import pandas as pd

    with (
        serving_in_thread(synthetic_server("alpha")) as a,
        serving_in_thread(synthetic_server("beta")) as b,
    ):
        monitor = Monitor(urls=[a.url, b.url], window=10)
        try:
            wait_for(lambda: all(len(feed.window) == 10 for feed in monitor.feeds))
            monitor.stop()
            frame = monitor.to_dataframe()
            bundle = monitor._repr_mimebundle_()
            snapshot = monitor.snapshot()
        finally:
            monitor.close()
    assert len(frame) == 20 and frame.index.is_monotonic_increasing
    assert frame["host"].value_counts().to_dict() == {"alpha": 10, "beta": 10}
    assert frame.index.tz is not None and str(frame.index.tz) == "UTC"
    assert frame.index[-1] == pd.Timestamp(frame["t_s"].iloc[-1], unit="s", tz="UTC")
    assert bundle["application/vnd.jupyter.widget-view+json"]["model_id"]
    assert base64.b64decode(bundle["image/png"]).startswith(b"\x89PNG")
    assert bundle["text/plain"].startswith("<Monitor")
    # The snapshot is the windows now, as an image a later cell can leave in the notebook.
    assert snapshot.format == "png" and snapshot.data.startswith(b"\x89PNG")


def test_an_empty_monitor_still_has_a_picture_and_an_empty_frame() -> None:
    monitor = Monitor(url="ws://127.0.0.1:9/iostat", autostart=False)
    try:
        assert len(monitor.to_dataframe()) == 0
        assert "image/png" in monitor._repr_mimebundle_()
        assert monitor.snapshot().data.startswith(b"\x89PNG")
    finally:
        monitor.close()


def test_a_displayed_monitor_keeps_its_windows_for_the_saved_picture(
    pictures_apart: Path,
) -> None:
    with serving_in_thread(synthetic_server("alpha")) as a:
        hidden = Monitor(url=a.url)
        monitor = Monitor(url=a.url, window=10)
        try:
            wait_for(lambda: len(monitor.window) >= 3)
            bundle = monitor._repr_mimebundle_()  # displayed
            model_id = bundle["application/vnd.jupyter.widget-view+json"]["model_id"]
            kept = pictures_apart / f"{model_id}.json"
            wait_for(lambda: kept.is_file())
            monitor.stop()
            newest = monitor.window.newest
            assert newest is not None
            title, [(label, samples)] = read_windows(kept)  # what the monitor stopped with
            assert samples[-1]["seq"] == newest["seq"] and len(samples) == len(monitor.window)
            assert title == monitor.picture_title and label == monitor.feeds[0].label
        finally:
            monitor.close()
            hidden.close()
    monitor.close()  # again, and as the garbage collector does: nothing raised
    assert [p.name for p in pictures_apart.iterdir()] == [f"{model_id}.json"]
