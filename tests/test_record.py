"""A record's pure parts on fixed samples: flat rows with units, the summary, the DataFrame, and
the error that names the extra when pandas is missing."""

from __future__ import annotations

import math
import subprocess
import sys
import textwrap

import pytest

from iostat_widget.record import (
    BASE_COLUMNS,
    KernelReading,
    Record,
    flat_rows,
    format_bytes,
    summarize,
)
from iostat_widget.schema import Sample
from iostat_widget.sources.synthetic import synthetic_sample

T0 = 1_700_000_000.0


def samples(count: int = 4, interval: float = 1.0) -> list[Sample]:
    return [synthetic_sample(seq, T0 + seq * interval, interval=interval) for seq in range(count)]


def readings(count: int = 4) -> list[KernelReading]:
    return [
        KernelReading(t=T0 + n + 0.01, cpu_pct=50.0 * n, rss_bytes=100e6 + n * 1e6)
        for n in range(count)
    ]


def test_a_flat_row_names_every_figure_with_its_unit() -> None:
    (row,) = flat_rows(samples(1))
    sample = samples(1)[0]
    assert list(row)[: len(BASE_COLUMNS)] == list(BASE_COLUMNS)
    assert row["t_s"] == T0 and row["host"] == "synthetic" and row["interval_s"] == 1.0
    assert row["cpu_us_pct"] == sample["cpu"]["us"]
    assert row["cpu_busy_pct"] == pytest.approx(sample["cpu"]["us"] + sample["cpu"]["sy"])
    assert row["disk_read_Bps"] == 0 and row["disk_write_Bps"] == 4096
    assert row["net_rx_Bps"] == 0 and row["mem_used_pct"] == 42.5
    # The optional figures the sample carries come after, with their units.
    assert row["cpu_irq_pct"] == 0.5 and row["disk_read_iops"] == 0
    assert row["mem_avail_bytes"] == 8 * 2**30 and row["scope"] == "host"


def test_rows_leave_out_optional_figures_no_sample_has_and_fill_the_rest_with_nan() -> None:
    bare = samples(2)
    for sample in bare:
        del sample["cpu"]["irq"], sample["mem"]["avail_bytes"], sample["scope"]
    del bare[1]["disk"]["read_iops"]
    rows = flat_rows(bare)
    assert "cpu_irq_pct" not in rows[0] and "scope" not in rows[0]
    assert rows[0]["disk_read_iops"] == 0 and math.isnan(float(rows[1]["disk_read_iops"]))
    assert list(rows[0]) == list(rows[1])


def test_kernel_readings_join_the_sample_they_came_with() -> None:
    rows = flat_rows(samples(3), readings(3))
    assert [row["kernel_cpu_pct"] for row in rows] == [0.0, 50.0, 100.0]
    assert rows[2]["kernel_rss_bytes"] == 102e6
    with pytest.raises(ValueError, match="one kernel reading per sample"):
        flat_rows(samples(3), readings(2))


def test_the_summary_weighs_the_samples_and_counts_bytes_over_their_intervals() -> None:
    recorded = samples(4, interval=0.5)
    busy = [s["cpu"]["us"] + s["cpu"]["sy"] for s in recorded]
    summary = summarize(recorded, seconds=2.04, kernel=readings(4))
    assert summary.samples == 4 and summary.seconds == 2.04
    assert summary.cpu_mean_pct == pytest.approx(sum(busy) / 4)
    assert summary.cpu_peak_pct == max(busy) and summary.mem_peak_pct == 42.5
    # read 0, 1000, 2000, 0 B/s and 4096 B/s written, each for half a second
    assert summary.read_bytes == 1500 and summary.written_bytes == 4 * 2048
    assert summary.kernel_cpu_peak_pct == 150.0 and summary.kernel_rss_peak_bytes == 103e6
    line = summary.line()
    assert "\n" not in line
    assert line.startswith("iostat: 2.0 s on synthetic, 4 samples")
    for part in (
        f"CPU mean {summary.cpu_mean_pct:.1f} %",
        f"peak {max(busy):.1f} %",
        "memory peak 42.5 %",
        "read 1.5 kB",
        "written 8.2 kB",
        "this kernel: CPU peak 150.0 %, RSS peak 103 MB",
    ):
        assert part in line


def test_an_empty_record_says_so() -> None:
    summary = summarize([], seconds=0.2)
    assert summary.samples == 0 and summary.cpu_peak_pct is None
    assert summary.line() == "iostat: 0.2 s, no samples (shorter than the sampling interval?)"


@pytest.mark.parametrize(
    ("count", "text"),
    [(0, "0 B"), (999, "999 B"), (999.6, "1.0 kB"), (1500, "1.5 kB"), (2.5e9, "2.5 GB")],
)
def test_bytes_read_in_decimal_units(count: float, text: str) -> None:
    assert format_bytes(count) == text


def test_the_dataframe_has_one_row_per_sample_and_a_utc_index() -> None:
    import pandas as pd

    record = Record(samples(3), start=T0 - 0.5, end=T0 + 2.1, kernel=readings(3))
    frame = record.to_dataframe()
    assert isinstance(frame, pd.DataFrame) and len(frame) == 3
    assert str(frame.index.tz) == "UTC" and frame.index.name == "time"
    assert frame.index[1] == pd.Timestamp(T0 + 1, unit="s", tz="UTC")
    assert {"cpu_us_pct", "cpu_sy_pct", "cpu_busy_pct", "kernel_cpu_pct"} <= set(frame.columns)
    assert frame["disk_write_Bps"].dtype == "float64"
    assert frame["host"].tolist() == ["synthetic"] * 3
    assert record.seconds == pytest.approx(2.6)


def test_an_empty_dataframe_still_has_the_columns() -> None:
    frame = Record([], start=T0, end=T0 + 0.1).to_dataframe()
    assert len(frame) == 0 and list(frame.columns) == list(BASE_COLUMNS)
    assert str(frame.index.tz) == "UTC"


def without(module: str, code: str) -> subprocess.CompletedProcess[str]:
    """Run ``code`` in a fresh interpreter where importing ``module`` fails."""
    prelude = f"import sys\nsys.modules[{module!r}] = None\n"
    return subprocess.run(
        [sys.executable, "-c", prelude + textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_without_pandas_the_error_names_the_extra() -> None:
    done = without(
        "pandas",
        """
        from iostat_widget.record import Record
        record = Record([], start=0.0, end=1.0)
        print(record.summary().line())
        try:
            record.to_dataframe()
        except ImportError as err:
            print("ImportError:", err)
        """,
    )
    assert done.returncode == 0, done.stderr
    assert "iostat: 1.0 s, no samples" in done.stdout  # the rest works without it
    assert "ImportError: to_dataframe() needs pandas" in done.stdout
    assert "pip install 'iostat-widget[record]'" in done.stdout
