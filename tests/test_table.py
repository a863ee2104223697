"""The table and status HTML: values shown, text escaped."""

from __future__ import annotations

from iostat_widget.sources.synthetic import synthetic_sample
from iostat_widget.widget.table import render_status, render_table

ATTACK = "<img src=x onerror=alert(1)>"


def test_table_rows_show_date_us_sy_id_total() -> None:
    sample = synthetic_sample(3, 1_800_000_000.0)
    html = render_table([sample])
    cpu = sample["cpu"]
    expected = [
        sample["date"],
        f"{cpu['us']:.1f}",
        f"{cpu['sy']:.1f}",
        f"{cpu['id']:.1f}",
        f"{cpu['us'] + cpu['sy']:.1f}",
    ]
    assert "".join(f"<td>{cell}</td>" for cell in expected) in html
    assert html.count("<tr>") == 2  # header + one row


def test_text_from_the_wire_is_escaped() -> None:
    sample = synthetic_sample(1, 1_800_000_000.0)
    sample["date"] = ATTACK
    html = render_table([sample])
    assert ATTACK not in html and "&lt;img src=x onerror=alert(1)&gt;" in html
    status = render_status(ATTACK, "reconnecting", 0, None, error=ATTACK)
    assert ATTACK not in status


def test_status_line() -> None:
    line = render_status("ws://h:1/iostat", "live", 42, 3.4, invalid=2)
    assert "live" in line and "42 samples" in line and "age 3 ms" in line
    assert "2 invalid skipped" in line
    assert "age -" in render_status("ws://h:1/iostat", "connecting", 0, None)
