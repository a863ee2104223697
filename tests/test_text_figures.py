"""A monitor's headline and table HTML, re-rendered only where new samples change them."""

from __future__ import annotations

from iostat_widget.sources.synthetic import synthetic_sample
from iostat_widget.widget.text_figures import TextFigures
from iostat_widget.widget.window import SampleWindow

T0 = 1_700_000_000.0


def window_of(count: int, start: float = T0, host: str = "h") -> SampleWindow:
    window = SampleWindow(60)
    for seq in range(count):
        sample = synthetic_sample(seq, start + seq)
        sample["host"] = host
        window.add(sample)
    return window


def test_one_host_newest_rows_first_and_its_headline() -> None:
    figures = TextFigures(["this machine"], rows=3)
    assert figures.table.count("<tr>") == 1  # the header alone, before any sample
    window = window_of(5)
    figures.update([window], {0})
    assert figures.table.count("<tr>") == 1 + 3 and "<th>host</th>" not in figures.table
    newest = window.newest
    assert newest is not None and figures.table.index(newest["date"]) < figures.table.index(
        window_of(4).newest["date"]  # type: ignore[index]
    )
    assert "%" in figures.headline


def test_several_hosts_share_one_table_by_time_and_a_headline_row_each() -> None:
    figures = TextFigures(["a", "b"], rows=4)
    a, b = window_of(3, T0, "alpha"), window_of(3, T0 + 0.5, "beta")
    figures.update([a, b], {0, 1})
    assert figures.table.count("<th>host</th>") == 1 and figures.table.count("<tr>") == 1 + 4
    assert figures.table.index("beta") < figures.table.index("alpha")  # b's newest is later
    assert figures.headline.count("<tr>") == 1 + 2
    before = figures.headline
    figures.update([a, b], {1})  # only b ticked: a's row is kept as it was written
    assert figures.headline == before


def test_each_row_is_written_once_while_it_is_shown() -> None:
    figures = TextFigures(["h"], rows=3)
    window = window_of(3)
    figures.update([window], {0})
    kept = dict(figures._written_rows)
    window.add(synthetic_sample(3, T0 + 3))
    figures.update([window], {0})
    rows = figures._written_rows
    assert len(rows) == 3 and sum(rows[k][1] is kept[k][1] for k in rows if k in kept) == 2


def test_the_busiest_processes_go_above_the_samples() -> None:
    figures = TextFigures(["h"], rows=2, top=2)
    assert "waiting for the server" in figures.table
    window = window_of(2)
    newest = window.newest
    assert newest is not None
    newest["top"] = [  # type: ignore[typeddict-unknown-key]
        {"pid": 7, "name": "burn", "user": "u", "cpu_pct": 99.0, "rss_bytes": 1e6}
    ]
    figures.update([window], {0})
    assert figures.table.index("burn") < figures.table.index("time (UTC)")
