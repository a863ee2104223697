"""HTML for the widget's table and status line, escaped, built from samples alone (pure)."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from ..schema import Sample

__all__ = ["render_status", "render_table", "status_line"]

_STYLE = (
    "<style>.iostat-table{border-collapse:collapse;font-family:monospace;font-size:12px}"
    ".iostat-table th,.iostat-table td{padding:1px 8px;text-align:right}"
    ".iostat-table th{border-bottom:1px solid #999}"
    ".iostat-table td:first-child,.iostat-table th:first-child{text-align:left}</style>"
)
_COLUMNS = ("date", "us", "sy", "id", "total")


def render_table(samples: Sequence[Sample], *, show_host: bool = False) -> str:
    """A table of samples (date, us, sy, id, total = us + sy), in the order given.

    ``show_host`` adds a host column, for a monitor watching several machines.
    """
    columns = ("host", *_COLUMNS) if show_host else _COLUMNS
    head = "".join(f"<th>{name}</th>" for name in columns)
    body = []
    for sample in samples:
        cpu = sample["cpu"]
        cells = (
            *((escape(sample["host"]),) if show_host else ()),
            escape(sample["date"]),
            f"{cpu['us']:.1f}",
            f"{cpu['sy']:.1f}",
            f"{cpu['id']:.1f}",
            f"{cpu['us'] + cpu['sy']:.1f}",
        )
        body.append("<tr>" + "".join(f"<td>{cell}</td>" for cell in cells) + "</tr>")
    return f'{_STYLE}<table class="iostat-table"><tr>{head}</tr>{"".join(body)}</table>'


def status_line(url: str, state: str, details: Sequence[str], error: str = "") -> str:
    """One line: where from, the connection state (coloured), then ``details``; the last error
    while not live. Every widget's status line, so they all read alike."""
    colour = {"live": "#2a7", "stopped": "#888"}.get(state, "#c80")
    parts = [f"<code>{escape(url)}</code>", f'<b style="color:{colour}">{escape(state)}</b>']
    parts += details
    if error and state != "live":
        parts.append(f"<i>{escape(error)}</i>")
    return '<div style="font-size:12px">' + " · ".join(parts) + "</div>"


def render_status(
    url: str, state: str, received: int, age_ms: float | None, invalid: int = 0, error: str = ""
) -> str:
    """A monitor's status: how many samples, how old the newest one is, what was skipped."""
    details = [f"{received} samples", "age -" if age_ms is None else f"age {age_ms:.0f} ms"]
    if invalid:
        details.append(f"{invalid} invalid skipped")
    return status_line(url, state, details, error)
