"""HTML for the monitor's "busiest processes" table, escaped, built from a sample alone (pure);
and the stream URL that asks the server for it.

A sample from ``/iostat?top=N`` carries ``top``: the busiest processes over the interval,
busiest first (:class:`~iostat_widget.top_schema.TopRow`). Names and users are whatever the
machine's processes call themselves (``<b>x</b>``, control characters): escaped here, shown as
text. CPU is in % of **one core** (100 = one core busy all the time; four busy cores read 400),
as ``top`` counts; RSS in decimal bytes (``1.2 GB``), as the headline writes them.
"""

from __future__ import annotations

from html import escape
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from ..schema import Sample
from ..top_schema import MAX_TOP_ROWS
from .formats import format_percent, format_rate

__all__ = ["TOP_TITLE", "check_top", "render_top", "top_url"]

TOP_TITLE = "busiest processes"
_COLUMNS = ("pid", "name", "user", "CPU % of one core", "RSS")


def check_top(top: object) -> int:
    """``top`` as a monitor takes it: 0 (no table) to 25 rows.

    Raises:
        ValueError: not an integer from 0 to :data:`~iostat_widget.top_schema.MAX_TOP_ROWS`.
    """
    if isinstance(top, bool) or not isinstance(top, int) or not 0 <= top <= MAX_TOP_ROWS:
        raise ValueError(f"top must be an integer from 0 to {MAX_TOP_ROWS}, got {top!r}")
    return top


def top_url(url: str, top: int) -> str:
    """``url`` (``ws://host:port/iostat?token=…``) asking for the ``top`` busiest processes too
    (any ``top`` already in it replaced); ``url`` itself when ``top`` is 0."""
    if not top:
        return url
    parts = urlsplit(url)
    query = [(key, value) for key, value in parse_qsl(parts.query) if key != "top"]
    return urlunsplit(parts._replace(query=urlencode([*query, ("top", str(top))])))


def _control_free(text: str) -> str:
    # A name may hold control characters (ESC, NUL, newlines): shown, as the escapes top shows.
    return "".join(c if c.isprintable() else f"\\x{ord(c):02x}" for c in text)


def render_top(sample: Sample | None, top: int) -> str:
    """The table of the ``top`` busiest processes in ``sample`` (pid, name, user, CPU % of one
    core, RSS), busiest first; a line saying it is coming while the server has sent none yet
    (the first tick after asking primes a reading; a server that ignores ``?top`` never sends
    one). More rows than ``top`` (another viewer asked for more) are cut to ``top``."""
    rows = sample.get("top") if sample is not None else None
    title = f'<div class="iostat-top-title">{TOP_TITLE}</div>'
    if not rows:
        waiting = "waiting for the server's first reading of its processes…"
        return f'<div class="iostat-top">{title}<span class="s">{waiting}</span></div>'
    head = "".join(f"<th>{name}</th>" for name in _COLUMNS)
    body = "".join(
        "<tr>"
        f"<td>{row['pid']}</td>"
        f"<td>{escape(_control_free(row['name']))}</td>"
        f"<td>{escape(_control_free(row['user']))}</td>"
        f"<td>{format_percent(row['cpu_pct'])}</td>"
        f"<td>{format_rate(row['rss_bytes']).removesuffix('/s')}</td>"
        "</tr>"
        for row in rows[:top]
    )
    table = f'<table class="iostat-table iostat-top-table"><tr>{head}</tr>{body}</table>'
    return f'<div class="iostat-top">{title}{table}</div>'
