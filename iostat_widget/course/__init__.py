"""Measuring tools for the course notebooks: every number they show is taken on real sockets.

A counting (and optionally delaying) proxy weighs each transport on the wire; the pollers and
the WebSocket watcher are the clients being compared; the rest decodes frames, scales the
measured sizes up to the 2010 write-up's table and draws the charts. Charts import bqplot, so
they are imported from :mod:`iostat_widget.course.charts` directly.
"""

from __future__ import annotations

from .compact_view import explain_compact, sort_messages
from .counting_proxy import ConnectionCount, CountingProxy, Counts
from .frames import (
    FrameInfo,
    HeaderBits,
    parse_frames,
    read_header,
    split_frames,
    split_http_head,
)
from .http_clients import Arrival, LineRead, WholeResponse, fetch_whole, read_lines
from .logfile import append_lines, written_at
from .pollers import decode_poll_body, long_poll, naive_poll, websocket_watch
from .runs import Run, markdown_table, percentiles_ms
from .scale import (
    WRITEUP_CLIENTS,
    WRITEUP_FRAME_BYTES,
    WRITEUP_POLL_BYTES,
    ScaleRow,
    at_scale,
    binary_rate,
)

__all__ = [
    "WRITEUP_CLIENTS",
    "WRITEUP_FRAME_BYTES",
    "WRITEUP_POLL_BYTES",
    "Arrival",
    "ConnectionCount",
    "CountingProxy",
    "Counts",
    "FrameInfo",
    "HeaderBits",
    "LineRead",
    "Run",
    "ScaleRow",
    "WholeResponse",
    "append_lines",
    "at_scale",
    "binary_rate",
    "decode_poll_body",
    "explain_compact",
    "fetch_whole",
    "long_poll",
    "markdown_table",
    "naive_poll",
    "parse_frames",
    "percentiles_ms",
    "read_header",
    "read_lines",
    "sort_messages",
    "split_frames",
    "split_http_head",
    "websocket_watch",
    "written_at",
]
