"""The monitor's busiest-processes table: escaped text, CPU in % of one core, cut to N rows."""

from __future__ import annotations

from typing import Any

import pytest

from iostat_widget.schema import Sample
from iostat_widget.sources.synthetic import synthetic_sample
from iostat_widget.widget.top_table import check_top, render_top, top_url


def with_top(rows: list[dict[str, Any]]) -> Sample:
    sample: Any = dict(synthetic_sample(1, 1_764_130_513.25))
    sample["top"] = rows
    return sample  # type: ignore[no-any-return]


def row(pid: int, name: str = "python3", user: str = "ann", cpu: float = 150.0) -> dict[str, Any]:
    return {"pid": pid, "name": name, "user": user, "cpu_pct": cpu, "rss_bytes": 1.5e9}


def test_rows_in_order_with_cpu_of_one_core_and_decimal_rss() -> None:
    html = render_top(with_top([row(7, cpu=150.0), row(8, cpu=12.25)]), 5)
    assert html.count("<tr>") == 3 and "CPU % of one core" in html
    assert html.index("<td>7</td>") < html.index("<td>8</td>")
    assert "<td>150.0</td>" in html and "<td>1.5 GB</td>" in html


def test_hostile_names_are_escaped_text() -> None:
    hostile = "<img src=x onerror=alert(1)>"
    html = render_top(with_top([row(1, name=hostile, user='"><script>'), row(2, "a\x1b[31m\n")]), 5)
    assert "<img" not in html and "<script>" not in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html and "&quot;&gt;&lt;script&gt;" in html
    assert "a\\x1b[31m\\x0a" in html and "\x1b" not in html


def test_more_rows_than_asked_are_cut_and_none_yet_says_so() -> None:
    assert render_top(with_top([row(n) for n in range(10)]), 3).count("<tr>") == 4
    for waiting in (with_top([]), dict(synthetic_sample(1, 1.0)), None):
        html = render_top(waiting, 3)  # type: ignore[arg-type]
        assert "<table" not in html and "waiting" in html


def test_the_url_asks_for_the_table_and_keeps_the_token() -> None:
    assert top_url("ws://h:1/iostat?token=a%2Fb", 5) == "ws://h:1/iostat?token=a%2Fb&top=5"
    assert top_url("ws://h:1/iostat?top=3", 5) == "ws://h:1/iostat?top=5"
    assert top_url("ws://h:1/iostat", 0) == "ws://h:1/iostat"


@pytest.mark.parametrize("top", [-1, 26, True, 2.0, "5"])
def test_a_monitor_takes_0_to_25(top: object) -> None:
    with pytest.raises(ValueError, match="0 to 25"):
        check_top(top)
    assert check_top(25) == 25
