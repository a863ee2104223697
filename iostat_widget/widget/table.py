"""HTML for the widget's headline figures and table (and the line monitor's status line), escaped,
built from samples alone (pure).

Numbers are written as the page writes them (:mod:`iostat_widget.widget.formats`): rates in
decimal SI units per second (``4.1 kB/s``), percentages with one decimal, times of day as
``HH:MM:SS.mmm`` in UTC (the full ISO date in the cell's ``title``). Colours come from the
JupyterLab theme's CSS variables, with fallbacks for front ends without them; the headline's and
the table's styles are in ``monitor_text.css`` (sent once with the widget's front end, not with
every update).
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from ..schema import GpuFigures, Sample
from ..sources.process_cost import ProcessCost
from .formats import DASH, format_percent, format_rate, format_time, to_fixed
from .palette import KERNEL_LINE, LINES, SYSTEM_LINE, USER_LINE, host_colour

__all__ = [
    "headline_row",
    "kernel_figure",
    "render_headline",
    "render_headline_rows",
    "render_table",
    "render_table_rows",
    "status_line",
    "table_row",
]

_TEXT = "var(--jp-ui-font-color1, #1d2430)"

_COLUMNS = ("time (UTC)", "us", "sy", "id", "total")


def render_table(samples: Sequence[Sample], *, show_host: bool = False) -> str:
    """A table of samples (time, us, sy, id, total = us + sy), in the order given.

    The time is the sample's ``date`` as ``HH:MM:SS.mmm`` (its full text in the cell's
    ``title``); ``show_host`` adds a host column, for a monitor watching several machines.
    """
    return render_table_rows([table_row(s, show_host=show_host) for s in samples], show_host)


def table_row(sample: Sample, *, show_host: bool = False) -> str:
    """One sample's row of :func:`render_table` (a monitor keeps the rows it has written)."""
    cpu = sample["cpu"]
    date = escape(sample["date"])
    cells = [f'<td title="{date}">{escape(format_time(sample["date"]))}</td>']
    if show_host:
        cells.insert(0, f"<td>{escape(sample['host'])}</td>")
    cells += (
        f"<td>{value}</td>"
        for value in (
            format_percent(cpu["us"]),
            format_percent(cpu["sy"]),
            format_percent(cpu["id"]),
            format_percent(cpu["us"] + cpu["sy"]),
        )
    )
    return "<tr>" + "".join(cells) + "</tr>"


def render_table_rows(rows: Sequence[str], show_host: bool = False) -> str:
    """The table from rows made by :func:`table_row`."""
    columns = ("host", *_COLUMNS) if show_host else _COLUMNS
    head = "".join(f"<th>{name}</th>" for name in columns)
    return f'<table class="iostat-table"><tr>{head}</tr>{"".join(rows)}</table>'


def _swatch(colour: str) -> str:
    return f'<span class="w" style="background:{colour}"></span>'


def _figure(name: str, value: str, sub: str, colour: str | None = None) -> str:
    swatch = _swatch(colour) if colour else ""
    return (
        f'<span><span class="k">{name}</span>{swatch}<span class="v">{value}</span>'
        f'<span class="s">{sub}</span></span>'
    )


def render_headline(
    newest: Sequence[Sample | None], hosts: Sequence[str], kernel: ProcessCost | None = None
) -> str:
    """The latest figures above the charts: for one host, CPU busy (us, sy), disk read/write,
    network received/sent and memory used, like the page's tiles, each with the colour of its
    line; for several, one row per host (its line's colour, busy %, disk, network, memory).
    ``newest[i]`` is host ``i``'s newest sample (``None`` before its first), ``hosts[i]`` its
    name as the monitor shows it. ``kernel``, this kernel's own cost, adds
    :func:`kernel_figure`."""
    if len(newest) == 1:
        return _one_host(newest[0], kernel)
    pairs = enumerate(zip(newest, hosts, strict=True))
    rows = [headline_row(n, sample, host) for n, (sample, host) in pairs]
    return render_headline_rows(rows, kernel)


def _bytes(value: float) -> str:
    return format_rate(value).removesuffix("/s")  # the same decimal units: "300 MB"


def kernel_figure(cost: ProcessCost) -> str:
    """This kernel's own cost (its process and its children): CPU as % of the machine's CPUs,
    the CPU chart's scale, then in cores (1.00 = one core busy), RSS and swap (where the platform
    reports it) in decimal bytes."""
    cores = cost["cores"]
    sub = [f"{to_fixed(cores, 2)} core{'' if to_fixed(cores, 2) == '1.00' else 's'}"]
    sub.append(f"RSS {_bytes(cost['rss_bytes'])}")
    if cost["swap_bytes"] is not None:
        sub.append(f"swap {_bytes(cost['swap_bytes'])}")
    return _figure(
        "this kernel", f"{format_percent(cost['cpu_pct'])} %", " · ".join(sub), KERNEL_LINE
    )


def headline_row(number: int, sample: Sample | None, host: str) -> str:
    """Host ``number``'s row of the several-hosts headline (kept by the monitor between
    updates, so a host that did not tick costs nothing)."""
    name = escape(sample["host"] if sample is not None and sample["host"] else host)
    cells = [f"{_swatch(host_colour(number))}{name}"]
    if sample is None:
        cells += [DASH] * 4
    else:
        cells += [
            f"{format_percent(sample['cpu']['us'] + sample['cpu']['sy'])} %",
            format_rate(sample["disk"]["read_bps"] + sample["disk"]["write_bps"]),
            format_rate(sample["net"]["rx_bps"] + sample["net"]["tx_bps"]),
            f"{format_percent(sample['mem']['used_pct'])} %",
        ]
    row = "".join(f"<td>{cell}</td>" for cell in cells)
    return f"<tr>{row}{_gpu_cell(sample.get('gpu') if sample is not None else None)}</tr>"


def _gpu_cell(gpus: Sequence[GpuFigures] | None) -> str:
    """A host's GPU cell: mean utilization and memory used over its GPUs (as the one-host
    figure), or a dash, marked ``none``, for a host without any."""
    if not gpus:
        return f'<td class="gpu none">{DASH}</td>'
    util, mem = _gpu_means(gpus)
    value = f"{format_percent(util)} %" if util is not None else DASH
    memory = f"{format_percent(mem)} %" if mem is not None else DASH
    return f'<td class="gpu">{value} <span class="s">mem {memory}</span></td>'


def render_headline_rows(rows: Sequence[str], kernel: ProcessCost | None = None) -> str:
    """The several-hosts headline from each host's :func:`headline_row`, and this kernel's own
    cost under them (:func:`kernel_figure`) when given."""
    head = "".join(
        f"<th>{name}</th>"
        for name in ("host", "CPU busy", "disk read+write", "net rx+tx", "mem used")
    )
    # The GPU column shows only while some host reports GPUs (the CSS hides it otherwise).
    gpus = "" if any('<td class="gpu">' in row for row in rows) else " no-gpu"
    head += '<th class="gpu">GPU busy</th>'
    table = f'<table class="iostat-hosts{gpus}"><tr>{head}</tr>{"".join(rows)}</table>'
    figure = kernel_figure(kernel) if kernel is not None else ""
    return f'<div class="iostat-figures">{table}{figure}</div>'


def _one_host(sample: Sample | None, kernel: ProcessCost | None) -> str:
    if sample is None:
        return '<div class="iostat-figures"><span class="s">waiting for a sample…</span></div>'
    cpu, disk, net = sample["cpu"], sample["disk"], sample["net"]
    scope = " · container" if sample.get("scope") == "container" else ""
    figures = [
        f'<span class="host">{escape(sample["host"] or "(unnamed host)")}{scope}</span>',
        _figure(
            "CPU busy",
            f"{format_percent(cpu['us'] + cpu['sy'])} %",
            f"{_swatch(USER_LINE)}us {format_percent(cpu['us'])} · "
            f"{_swatch(SYSTEM_LINE)}sy {format_percent(cpu['sy'])}",
        ),
        _figure(
            "disk read",
            format_rate(disk["read_bps"]),
            f"{_swatch(LINES[1])}write {format_rate(disk['write_bps'])}",
            LINES[0],
        ),
        _figure(
            "net received",
            format_rate(net["rx_bps"]),
            f"{_swatch(LINES[1])}sent {format_rate(net['tx_bps'])}",
            LINES[0],
        ),
        _figure("memory used", f"{format_percent(sample['mem']['used_pct'])} %", "", LINES[0]),
        *_gpu_figure(sample.get("gpu")),
    ]
    if kernel is not None:
        figures.append(kernel_figure(kernel))
    return '<div class="iostat-figures">' + "".join(figures) + "</div>"


def _mean(values: Sequence[float]) -> float | None:
    return sum(values) / len(values) if values else None


def _gpu_means(gpus: Sequence[GpuFigures]) -> tuple[float | None, float | None]:
    """Mean utilization and mean memory used, % , over the GPUs that report each."""
    util = _mean([gpu["util_pct"] for gpu in gpus if "util_pct" in gpu])
    mem = _mean([gpu["mem_used_pct"] for gpu in gpus if "mem_used_pct" in gpu])
    return util, mem


def _gpu_figure(gpus: Sequence[GpuFigures] | None) -> list[str]:
    """The GPUs' headline figure, when the sample carries any: the mean utilization over the
    devices that report it (a GPU in MIG mode does not) and, under it, the mean memory used, each
    a dash where no device reports it. A mean, like CPU busy over a machine's cores: the chart
    shows each device."""
    if not gpus:
        return []
    util, mem = _gpu_means(gpus)
    count = f"mean of {len(gpus)} GPUs" if len(gpus) > 1 else "1 GPU"
    value = f"{format_percent(util)} %" if util is not None else DASH
    memory = f"{format_percent(mem)} %" if mem is not None else DASH
    return [_figure("GPU", value, f"mem {memory} · {count}")]


def status_line(url: str, state: str, details: Sequence[str], error: str = "") -> str:
    """One line: where from, the connection state (coloured), then ``details``; the last error
    while not live. Every widget's status line, so they all read alike."""
    colour = {"live": "#16a34a", "stopped": "#98a2b3"}.get(state, "#d97706")
    parts = [f"<code>{escape(url)}</code>", f'<b style="color:{colour}">{escape(state)}</b>']
    parts += details
    if error and state != "live":
        parts.append(f"<i>{escape(error)}</i>")
    return (
        f'<div style="font-size:12px;color:{_TEXT};overflow-wrap:anywhere">'
        + " · ".join(parts)
        + "</div>"
    )
