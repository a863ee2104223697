"""``Monitor()``: the live chart and table in a notebook cell.

The widget is fed by an asyncio task on the kernel's background loop (see ``loop_thread``), so it
keeps updating while other cells run. Samples arriving together (the history burst on connect)
are coalesced into one update; each update is a single comm message per widget (``hold_sync``)
carrying numpy arrays of a fixed window, so a kernel's cost does not grow with time.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import time
from typing import Any

import bqplot
import ipywidgets as widgets

from ..clients.stream import SampleStream, StreamState
from ..transports.access import without_token
from .runtime import KernelRuntime
from .table import render_status, render_table
from .window import SampleWindow

__all__ = ["Monitor"]

# Opaque fills: the us area is drawn over the us+sy area, so translucency would mix the colours.
_SYSTEM_LINE, _SYSTEM_FILL = "#d95f02", "#fdb77a"
_USER_LINE, _USER_FILL = "#1f77b4", "#9ecae1"


class Monitor(widgets.VBox):  # type: ignore[misc]
    """Live CPU us/sy chart and a table of recent samples, like ``iostat`` in a cell.

    ``Monitor()`` watches this machine through a server embedded in the kernel (one per kernel,
    shared by every monitor); ``Monitor(url="ws://host:8765/iostat")`` watches another machine.
    ``window`` is how many samples the chart keeps, ``rows`` how many the table shows, ``interval``
    the embedded server's seconds between samples (set by the monitor that starts it).
    ``stop()`` disconnects and ``close()`` also removes the widget.
    """

    def __init__(
        self,
        url: str | None = None,
        *,
        window: int = 60,
        rows: int = 10,
        interval: float = 1.0,
        height: str = "260px",
        autostart: bool = True,
        **kwargs: Any,
    ) -> None:
        self.url = url
        self.interval = interval
        self.rows = rows
        self.window = SampleWindow(window)
        self.stream: SampleStream | None = None
        self.updates = 0  #: chart/table refreshes sent to the front end
        self._runtime: KernelRuntime | None = None
        self._task: asyncio.Task[None] | None = None
        self._flush_pending = False
        self._age_ms: float | None = None

        x_scale = bqplot.DateScale()
        y_scale = bqplot.LinearScale(min=0.0, max=100.0)
        self.lines = bqplot.Lines(
            x=[],
            y=[[], []],
            scales={"x": x_scale, "y": y_scale},
            colors=[_SYSTEM_LINE, _USER_LINE],
            fill="bottom",
            fill_colors=[_SYSTEM_FILL, _USER_FILL],
            fill_opacities=[1.0, 1.0],
            labels=["sy (system)", "us (user)"],
            display_legend=True,
            stroke_width=1.5,
        )
        axes = [
            bqplot.Axis(scale=x_scale, tick_format="%H:%M:%S", label="time"),
            bqplot.Axis(scale=y_scale, side="left", label="% CPU", tick_format=".0f"),
        ]
        self.figure = bqplot.Figure(
            marks=[self.lines],
            axes=axes,
            title="CPU (iostat us/sy)",
            legend_location="top-left",
            animation_duration=0,
            fig_margin={"top": 40, "bottom": 40, "left": 50, "right": 20},
            layout=widgets.Layout(width="100%", height=height),
        )
        self.status = widgets.HTML(render_status(url or "embedded", "stopped", 0, None))
        self.table = widgets.HTML(render_table([]))
        super().__init__(children=[self.status, self.figure, self.table], **kwargs)
        if autostart:
            self.start()

    # -- lifecycle ----------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        """Whether the monitor's task is connected or trying to be."""
        return self._task is not None and not self._task.done()

    @property
    def state(self) -> StreamState:
        """connecting, live, reconnecting or stopped."""
        return self.stream.state if self.stream is not None and self.running else "stopped"

    def start(self) -> None:
        """Connect (starting the embedded server if there is no URL); a no-op when running."""
        if self._runtime is not None:
            return
        runtime = KernelRuntime.acquire()
        try:
            url = self.url or runtime.embedded_url(self.interval)
            self.stream = SampleStream(url, on_state=self._on_state)
            self._task = runtime.loop_thread.run(self._create_task())
        except BaseException:
            runtime.release()
            raise
        self._runtime = runtime
        self._refresh_status()

    async def _create_task(self) -> asyncio.Task[None]:
        return asyncio.get_running_loop().create_task(self._consume(), name="iostat-monitor")

    async def _cancel_task(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    def stop(self) -> None:
        """Disconnect and end the task; the last monitor to stop also stops the embedded server."""
        runtime, self._runtime = self._runtime, None
        if runtime is None:
            return
        try:
            runtime.loop_thread.run(self._cancel_task())
        except (concurrent.futures.TimeoutError, RuntimeError):
            pass  # the loop is already gone (interpreter shutdown): nothing left to cancel
        finally:
            runtime.release()
        self._refresh_status()

    def close(self) -> None:
        """Stop, then close the chart, table and status widgets with this one."""
        self.stop()
        for child in (self.lines, self.figure, *self.figure.axes, self.status, self.table):
            child.close()
        for scale in self.lines.scales.values():
            scale.close()
        super().close()

    # -- the feed -----------------------------------------------------------------------------
    async def _consume(self) -> None:
        assert self.stream is not None
        async for sample in self.stream:
            self.window.add(sample)
            self._age_ms = max(time.time() - sample["t"], 0.0) * 1000.0
            if not self._flush_pending:  # coalesce a burst (history on connect) into one update
                self._flush_pending = True
                asyncio.get_running_loop().call_soon(self._flush)

    def _flush(self) -> None:
        self._flush_pending = False
        x, y = self.window.chart()
        with self.lines.hold_sync():
            self.lines.x = x
            self.lines.y = y
        self.table.value = render_table(self.window.rows(self.rows))
        self._refresh_status()
        self.updates += 1

    def _on_state(self, state: StreamState) -> None:
        self._refresh_status()

    def _refresh_status(self) -> None:
        stream = self.stream
        self.status.value = render_status(
            without_token(stream.url if stream is not None else (self.url or "embedded")),
            self.state,
            stream.received if stream is not None else 0,
            self._age_ms,
            stream.invalid if stream is not None else 0,
            (stream.last_error or "") if stream is not None else "",
        )

    def __repr__(self) -> str:
        url = self.stream.url if self.stream is not None else self.url
        shown = without_token(url) if url else None
        return f"<Monitor url={shown!r} state={self.state} samples={len(self.window)}>"
