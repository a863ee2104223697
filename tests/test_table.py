"""The headline and table HTML: values shown as the page shows them, text escaped."""

from __future__ import annotations

import re
from importlib.resources import files

from iostat_widget.sources.synthetic import synthetic_sample
from iostat_widget.widget.formats import DASH
from iostat_widget.widget.table import (
    headline_row,
    render_headline,
    render_headline_rows,
    render_table,
)

from .helpers import cost

ATTACK = "<img src=x onerror=alert(1)>"


def test_table_rows_show_time_us_sy_id_total() -> None:
    sample = synthetic_sample(3, 1_800_000_000.0)
    sample["date"] = "2027-01-15T08:00:03.250Z"
    html = render_table([sample])
    cpu = sample["cpu"]
    expected = [
        f"{cpu['us']:.1f}",
        f"{cpu['sy']:.1f}",
        f"{cpu['id']:.1f}",
        f"{cpu['us'] + cpu['sy']:.1f}",
    ]
    time_cell = '<td title="2027-01-15T08:00:03.250Z">08:00:03.250</td>'  # compact, full on hover
    assert time_cell + "".join(f"<td>{cell}</td>" for cell in expected) in html
    assert html.count("<tr>") == 2  # header + one row
    assert "<th>time (UTC)</th>" in html
    assert "<th>host</th>" in render_table([sample], show_host=True)


def test_text_from_the_wire_is_escaped() -> None:
    sample = synthetic_sample(1, 1_800_000_000.0)
    sample["date"] = ATTACK
    sample["host"] = ATTACK
    html = render_table([sample], show_host=True)
    assert ATTACK not in html and "&lt;img src=x onerror=alert(1)&gt;" in html
    assert ATTACK not in render_headline([sample], ["this machine"])
    assert ATTACK not in render_headline([sample, None], [ATTACK, ATTACK])


def test_headline_figures_read_like_the_page() -> None:
    sample = synthetic_sample(1, 1_800_000_000.0, host="db-7")
    sample["cpu"]["us"], sample["cpu"]["sy"] = 35.04, 17.75
    sample["disk"]["read_bps"], sample["disk"]["write_bps"] = 4096.0, 60e6
    sample["net"]["rx_bps"], sample["net"]["tx_bps"] = 12_345_678.0, 999.0
    sample["mem"]["used_pct"] = 43.21
    html = render_headline([sample], ["this machine"])
    for text in ("db-7", "52.8 %", "us 35.0", "sy 17.8", "4.1 kB/s", "write 60.0 MB/s"):
        assert text in html
    for text in ("12.3 MB/s", "sent 999 B/s", "43.2 %"):
        assert text in html
    assert "waiting" in render_headline([None], ["this machine"])
    several = render_headline([sample, None], ["ws://a:1/iostat", "ws://b:1/iostat"])
    assert several.count("<tr>") == 3 and "db-7" in several and "ws://b:1/iostat" in several
    assert "60.0 MB/s" in several  # disk read + write
    assert headline_row(1, None, "ws://b:1/iostat") in several


def test_updates_carry_no_stylesheet_and_the_widget_css_styles_every_class() -> None:
    # A <style> in every update would make the browser re-parse it and restyle the page each time;
    # the classes are styled once, by the front end's CSS.
    sample = synthetic_sample(1, 1_800_000_000.0, host="db-7")
    html = render_table([sample]) + render_headline([sample], ["x"])
    html += render_headline([sample, None], ["a", "b"])
    assert "<style" not in html and "style=" not in html.replace('class="w" style=', "")
    css = files("iostat_widget.widget").joinpath("monitor_text.css").read_text("utf-8")
    for name in re.findall(r'class="([\w-]+)"', html):
        assert f".{name}" in css, name


def test_the_headline_shows_this_kernels_cost() -> None:
    sample = synthetic_sample(3, 1_800_000_000.0)
    html = render_headline([sample], ["this machine"], kernel=cost(cpu_pct=12.5, swap=2e6))
    assert "this kernel" in html and "12.5 %" in html
    assert "1.00 core" in html  # on 8 CPUs: 12.5 % of the machine is one core
    assert "RSS 300 MB" in html and "swap 2.0 MB" in html
    assert "swap" not in render_headline([sample], ["m"], kernel=cost(swap=None))
    assert "this kernel" not in render_headline([sample], ["m"])


def test_the_several_hosts_headline_shows_this_kernels_cost_once() -> None:
    samples = [synthetic_sample(1, 1_800_000_000.0, host=h) for h in ("a", "b")]
    html = render_headline(samples, ["a", "b"], kernel=cost(cpu_pct=25.0))
    assert html.count("this kernel") == 1 and "2.00 cores" in html


def test_gpu_headline_is_the_mean_over_the_devices_that_report_it() -> None:
    sample = synthetic_sample(1, 1_800_000_000.0)
    assert "GPU" not in render_headline([sample], ["this machine"])  # no gpu key: no figure
    sample["gpu"] = [
        {"index": 0, "util_pct": 30.0, "mem_used_pct": 50.0},
        {"index": 1, "util_pct": 45.0, "mem_used_pct": 55.0},
        {"index": 2, "mem_used_pct": 20.0},  # MIG: no utilization
    ]
    html = render_headline([sample], ["this machine"])
    assert re.search(r"GPU.*37\.5 %.*mem 41\.7 % · mean of 3 GPUs", html)
    sample["gpu"] = [{"index": 0, "mem_used_pct": 20.0}]
    assert re.search(rf"GPU.*{DASH}.*mem 20\.0 % · 1 GPU<", render_headline([sample], ["x"]))


def test_several_hosts_show_a_gpu_column_while_some_host_has_gpus() -> None:
    plain = synthetic_sample(1, 1_800_000_000.0, host="db-7")
    gpus = synthetic_sample(1, 1_800_000_000.0, host="train-1")
    gpus["gpu"] = [
        {"index": 0, "util_pct": 90.0, "mem_used_pct": 40.0},
        {"index": 1, "util_pct": 70.0, "mem_used_pct": 60.0},
    ]
    without = render_headline([plain, None], ["a", "b"])
    assert 'class="iostat-hosts no-gpu"' in without  # the column is there, hidden
    rows = [headline_row(0, plain, "a"), headline_row(1, gpus, "b")]
    with_gpus = render_headline_rows(rows)
    assert 'class="iostat-hosts"' in with_gpus and "GPU busy" in with_gpus
    assert re.search(
        r'<td class="gpu">80\.0 % <span class="s">mem 50\.0 %</span></td></tr>$', rows[1]
    )
    assert rows[0].endswith(f'<td class="gpu none">{DASH}</td></tr>')  # db-7 has none
    assert with_gpus.count("<td") == 2 * 6
