"""The sample's optional ``top`` key: checked row by row, hostile names kept as text."""

from __future__ import annotations

import json
from typing import Any

import pytest

from iostat_widget.schema import SampleError, decode_sample, encode_sample, validate_sample
from iostat_widget.sources.synthetic import synthetic_sample
from iostat_widget.top_schema import MAX_CPU_PCT, MAX_TOP_ROWS, fit_text, validate_top

ROW = {"pid": 42, "name": "python3", "user": "ann", "cpu_pct": 150.5, "rss_bytes": 1.5e8}


def sample_with(top: object) -> dict[str, Any]:
    sample: dict[str, Any] = dict(synthetic_sample(3, 1_764_130_513.25, host="db-1"))
    sample["top"] = top
    return sample


def test_a_table_travels_in_a_sample_and_unknown_keys_are_dropped() -> None:
    extra = dict(ROW, cmdline="secret --password x", pid=7)
    got = decode_sample(json.dumps(sample_with([ROW, extra])))
    assert got["top"] == [ROW, dict(ROW, pid=7)]
    assert "top" not in validate_sample(dict(synthetic_sample(3, 1.0)))  # optional
    assert validate_sample(sample_with([]))["top"] == []  # asked, nothing yet


def test_hostile_names_are_kept_as_text() -> None:
    names = ["<img src=x onerror=alert(1)>", "a\x1b[31mred\x00\n", "(sd-pam) )x(", "ünï 名前"]
    rows = [dict(ROW, pid=n, name=name, user=name[:32]) for n, name in enumerate(names)]
    got = decode_sample(encode_sample(validate_sample(sample_with(rows))))
    assert [row["name"] for row in got["top"]] == names


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"pid": True}, "top[0].pid"),
        ({"pid": -1}, "top[0].pid"),
        ({"pid": 2**40}, "top[0].pid"),
        ({"pid": "12"}, "top[0].pid"),
        ({"name": "x" * 65}, "top[0].name"),
        ({"name": None}, "top[0].name"),
        ({"name": "\ud800"}, "top[0].name: not UTF-8"),
        ({"user": "u" * 33}, "top[0].user"),
        ({"cpu_pct": -1.0}, "top[0].cpu_pct: -1.0 outside"),
        ({"cpu_pct": MAX_CPU_PCT + 1}, "top[0].cpu_pct"),
        ({"cpu_pct": float("inf")}, "top[0].cpu_pct"),
        ({"cpu_pct": 10**400}, "top[0].cpu_pct: too large"),
        ({"rss_bytes": -5}, "top[0].rss_bytes"),
        ({"rss_bytes": False}, "top[0].rss_bytes"),
    ],
)
def test_each_malformed_row_is_refused_with_a_reason(change: dict[str, Any], reason: str) -> None:
    with pytest.raises(SampleError, match=reason.replace("[", r"\[").replace("]", r"\]")):
        validate_sample(sample_with([dict(ROW, **change)]))


@pytest.mark.parametrize("top", [{"0": ROW}, "rows", [ROW] * (MAX_TOP_ROWS + 1), [[1, 2]]])
def test_a_list_of_rows_at_most_the_cap_or_nothing(top: object) -> None:
    with pytest.raises(SampleError, match="top"):
        validate_sample(sample_with(top))
    assert len(validate_top([ROW] * MAX_TOP_ROWS)) == MAX_TOP_ROWS


def test_fit_text_cuts_and_replaces_what_is_not_utf8() -> None:
    assert fit_text("x" * 100, 64) == "x" * 64
    assert fit_text("ok\udcff", 64) == "ok?"
    assert fit_text("<b>", 64) == "<b>"
