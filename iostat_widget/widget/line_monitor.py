"""``LineMonitor()``: the last lines of a server's ``/lines`` stream, live in a notebook cell.

The notebook counterpart of the write-up's streamed command output. It runs like ``Monitor``: its
client is a task on the kernel's background loop (shared through ``KernelRuntime``), so it keeps
updating while other cells run, and lines arriving together (the history on connect, a burst of
output) are coalesced into one update, which sets one HTML value in place. Every line is escaped:
a command's output or a log file is text from outside, never markup.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Iterable
from html import escape
from typing import Any

import ipywidgets as widgets

from ..clients.lines import LineStream
from ..clients.reconnect import StreamState
from ..line_schema import LineMessage
from ..redaction import without_token
from .background import BackgroundTasks, Work
from .runtime import KernelRuntime
from .table import status_line

__all__ = ["LineMonitor", "render_line_status", "render_lines"]

_PRE_STYLE = (
    "font-family:monospace;font-size:12px;line-height:1.35;margin:0;padding:4px 6px;"
    "white-space:pre;overflow-x:auto;background:#f7f7f7;border:1px solid #ddd"
)


def render_lines(lines: Iterable[LineMessage]) -> str:
    """The lines as one escaped, monospace block; a cut line ends in ``…``."""
    body = "\n".join(
        escape(line["line"]) + ("…" if line.get("truncated") else "") for line in lines
    )
    return f'<pre class="iostat-lines" style="{_PRE_STYLE}">{body}</pre>'


def render_line_status(
    url: str, state: str, received: int, missed: int = 0, invalid: int = 0, error: str = ""
) -> str:
    """A line monitor's status: how many lines came, what was missed or skipped."""
    details = [f"{received} lines"]
    if missed:
        details.append(f"{missed} missed")
    if invalid:
        details.append(f"{invalid} invalid skipped")
    return status_line(url, state, details, error)


class LineMonitor(widgets.VBox):  # type: ignore[misc]
    """The last ``lines`` lines from ``url`` (``ws://host:port/lines``), updated in place.

    A status line above says where from, the connection state and how many lines came (and how
    many were missed). ``stop()`` disconnects, ``start()`` reconnects, ``close()`` also removes
    the widget; none leaves a thread, task or socket behind.

    Raises:
        ValueError: ``lines`` below 1, or a URL that is not ws:// or wss://. Nothing is raised
            once it runs: a lost server is retried and shown in the status line.
    """

    def __init__(self, url: str, *, lines: int = 20, autostart: bool = True, **kwargs: Any) -> None:
        self.background = BackgroundTasks("iostat-lines")  # first: close() may run on a failed init
        if lines < 1:
            raise ValueError(f"lines must be at least 1, got {lines!r}")
        LineStream(url)  # refuse a URL that is not ws:// or wss:// now, not on the loop
        self.url = url
        self.max_lines = lines
        self.buffer: deque[LineMessage] = deque(maxlen=lines)
        self.stream: LineStream | None = None
        self.updates = 0  #: refreshes sent to the front end
        self._flush_pending = False
        self.status = widgets.HTML(self._status_html())
        self.output = widgets.HTML(render_lines([]))
        super().__init__(children=[self.status, self.output], **kwargs)
        if autostart:
            self.start()

    # -- what tests and users read ------------------------------------------------------------
    @property
    def state(self) -> StreamState:
        """connecting, live, reconnecting or stopped."""
        running = any(not task.done() for task in self.background.tasks)
        return self.stream.state if self.stream is not None and running else "stopped"

    @property
    def running(self) -> bool:
        """Whether the monitor is connected or trying to be."""
        return self.state != "stopped"

    @property
    def texts(self) -> list[str]:
        """The lines shown, oldest first."""
        return [line["line"] for line in self.buffer]

    # -- lifecycle ----------------------------------------------------------------------------
    def start(self) -> None:
        """Connect (again: lines already shown are not repeated); a no-op when running."""

        def stream(runtime: KernelRuntime) -> list[Work]:
            newest = self.buffer[-1] if self.buffer else None
            after = (newest["seq"], newest["t"]) if newest is not None else None
            self.stream = LineStream(self.url, on_state=self._on_state, after=after)
            return [self._consume()]

        if self.background.start(stream):
            self.status.value = self._status_html()

    def stop(self) -> None:
        """Disconnect and end the task; the last monitor to stop also stops the loop thread."""
        if self.background.stop():
            self.status.value = self._status_html()

    def close(self) -> None:
        """Stop, then close the widgets this monitor is made of."""
        self.stop()
        for part in ("status", "output"):
            if (widget := self.__dict__.get(part)) is not None:
                widget.close()
        super().close()

    # -- the feed -----------------------------------------------------------------------------
    async def _consume(self) -> None:
        assert self.stream is not None
        async for line in self.stream:
            self.buffer.append(line)
            if not self._flush_pending:  # coalesce a burst into one update
                self._flush_pending = True
                asyncio.get_running_loop().call_soon(self._flush)

    def _flush(self) -> None:
        self._flush_pending = False
        self.output.value = render_lines(self.buffer)
        self.status.value = self._status_html()
        self.updates += 1

    def _status_html(self) -> str:
        stream = self.stream
        return render_line_status(
            without_token(self.url),
            self.state,
            stream.received if stream is not None else 0,
            stream.missed if stream is not None else 0,
            stream.invalid if stream is not None else 0,
            (stream.last_error or "") if stream is not None else "",
        )

    def _on_state(self, state: StreamState) -> None:
        self.status.value = self._status_html()

    def __repr__(self) -> str:
        return (
            f"<LineMonitor {without_token(self.url)} state={self.state} lines={len(self.buffer)}>"
        )
