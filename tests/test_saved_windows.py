"""A displayed monitor's windows kept for the saved notebook's picture (WindowsKeeper)."""

from __future__ import annotations

from pathlib import Path

from iostat_widget.saved_picture import read_windows
from iostat_widget.sources.synthetic import synthetic_sample
from iostat_widget.widget.feed import Feed
from iostat_widget.widget.saved_windows import WindowsKeeper


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def feed_with(count: int, start: int = 0) -> Feed:
    feed = Feed("ws://127.0.0.1:1/iostat", window=60)
    for seq in range(start, start + count):
        feed.window.add(synthetic_sample(seq, 1_700_000_000.0 + seq))
    return feed


def seqs(path: Path) -> list[int]:
    _, runs = read_windows(path)
    return [s["seq"] for _, samples in runs for s in samples]


def test_only_a_displayed_monitor_keeps_its_windows(tmp_path: Path) -> None:
    keeper = WindowsKeeper(tmp_path, clock=Clock())
    feed = feed_with(3)
    keeper.changed("Monitor", [feed])
    keeper.flush("Monitor", [feed])
    assert list(tmp_path.iterdir()) == [] and keeper.written == 0
    keeper.show("abc")
    keeper.changed("Monitor", [feed])
    assert seqs(tmp_path / "abc.json") == [0, 1, 2] and keeper.written == 1


def test_writes_at_most_every_few_seconds_and_the_rest_when_it_stops(tmp_path: Path) -> None:
    clock = Clock()
    keeper = WindowsKeeper(tmp_path, every=2.0, clock=clock)
    keeper.show("abc")
    feed = feed_with(1)
    keeper.changed("Monitor", [feed])  # the first: at once
    for seq in range(1, 15):  # 1.4 s of samples at 10 Hz
        clock.now += 0.1
        feed.window.add(synthetic_sample(seq, 1_700_000_000.0 + seq))
        keeper.changed("Monitor", [feed])
    assert keeper.written == 1 and seqs(tmp_path / "abc.json") == [0]
    clock.now += 0.7  # over 2 s since the first write
    feed.window.add(synthetic_sample(15, 1_700_000_015.0))
    keeper.changed("Monitor", [feed])
    assert keeper.written == 2 and seqs(tmp_path / "abc.json") == list(range(16))
    feed.window.add(synthetic_sample(16, 1_700_000_016.0))
    keeper.changed("Monitor", [feed])  # too soon
    keeper.flush("Monitor", [feed])  # the monitor stops: what is pending is written
    assert keeper.written == 3 and seqs(tmp_path / "abc.json")[-1] == 16
    keeper.flush("Monitor", [feed])  # nothing new: nothing written
    assert keeper.written == 3


def test_several_hosts_are_kept_with_their_labels(tmp_path: Path) -> None:
    keeper = WindowsKeeper(tmp_path, clock=Clock())
    keeper.show("abc")
    keeper.write("Monitor (a, b)", [feed_with(2), feed_with(3, start=10)])
    title, runs = read_windows(tmp_path / "abc.json")
    assert title == "Monitor (a, b)"
    assert [(label, len(samples)) for label, samples in runs] == [
        ("ws://127.0.0.1:1/iostat", 2),
        ("ws://127.0.0.1:1/iostat", 3),
    ]


def test_a_directory_that_cannot_be_written_is_counted_not_raised(tmp_path: Path) -> None:
    blocked = tmp_path / "a-file"
    blocked.write_text("")
    keeper = WindowsKeeper(blocked / "pictures", clock=Clock())
    keeper.show("abc")
    keeper.write("Monitor", [feed_with(2)])
    assert (keeper.written, keeper.failed) == (0, 1)
