"""``Monitor()``: live charts and a table in a notebook cell.

The widget is fed by asyncio tasks on the kernel's background loop (see ``loop_thread``), so it
keeps updating while other cells run. Samples arriving together (the history burst on connect,
several hosts ticking at once) are coalesced into one update; each update is one comm message per
visible mark (``hold_sync``) carrying numpy arrays of a fixed window, so a kernel's cost does not
grow with time.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from typing import Any

import ipywidgets as widgets

from ..clients.stream import SampleStream, StreamState
from ..transports.access import without_token
from .background import BackgroundTasks, Work
from .charts import CHARTS, Chart
from .runtime import KernelRuntime
from .table import render_status, render_table
from .window import SampleWindow

__all__ = ["Feed", "Monitor"]


class Feed:
    """One server a monitor watches: its stream, its window of samples, its reading task."""

    def __init__(self, url: str | None, window: int, number: int = 0) -> None:
        self.url = url  # None: the kernel's embedded server, known once started
        self.number = number  #: its place among the monitor's feeds (and chart marks)
        self.window = SampleWindow(window)
        self.stream: SampleStream | None = None
        self.task: asyncio.Task[None] | None = None
        self.age_ms: float | None = None

    @property
    def label(self) -> str:
        """Where the samples come from, fit to show (no token)."""
        url = self.stream.url if self.stream is not None else self.url
        return without_token(url) if url else "embedded"

    @property
    def state(self) -> StreamState:
        """connecting, live, reconnecting or stopped."""
        running = self.task is not None and not self.task.done()
        return self.stream.state if self.stream is not None and running else "stopped"

    def status(self) -> str:
        """The feed's status line (HTML)."""
        stream = self.stream
        return render_status(
            self.label,
            self.state,
            stream.received if stream is not None else 0,
            self.age_ms,
            stream.invalid if stream is not None else 0,
            (stream.last_error or "") if stream is not None else "",
        )


class Monitor(widgets.VBox):  # type: ignore[misc]
    """Live CPU us/sy chart and a table of recent samples, like ``iostat`` in a cell.

    ``Monitor()`` watches this machine through a server embedded in the kernel (one per kernel,
    shared by every monitor); ``Monitor(url="ws://host:8765/iostat")`` watches another machine;
    ``Monitor(urls=[...])`` watches several in one view (one line per host, a host column in the
    table, a status line per host; one host going away does not stall the others).
    ``window`` is how many samples the charts keep, ``rows`` how many the table shows, ``interval``
    the embedded server's seconds between samples (set by the monitor that starts it),
    ``charts`` which charts start visible among ``cpu``, ``disk``, ``net``, ``mem`` (the buttons
    above the charts switch them). ``stop()`` disconnects and ``close()`` also removes the widget.
    """

    def __init__(
        self,
        url: str | None = None,
        *,
        urls: Sequence[str] | None = None,
        window: int = 60,
        rows: int = 10,
        interval: float = 1.0,
        height: str = "260px",
        charts: Sequence[str] = ("cpu",),
        autostart: bool = True,
        **kwargs: Any,
    ) -> None:
        if url is not None and urls is not None:
            raise ValueError("give url or urls, not both")
        unknown = set(charts) - set(CHARTS)
        if unknown:
            raise ValueError(f"unknown charts {sorted(unknown)}; choose from {sorted(CHARTS)}")
        addresses: list[str | None] = list(urls) if urls is not None else [url]
        if not addresses:
            raise ValueError("urls is empty")
        self.url = url
        self.interval = interval
        self.rows = rows
        self.feeds = [Feed(address, window, number) for number, address in enumerate(addresses)]
        self.updates = 0  #: refreshes sent to the front end
        self.background = BackgroundTasks("iostat-monitor")
        self._flush_pending = False
        self._changed: set[int] = set()  #: feeds with samples since the last flush

        hosts = [without_token(a) if a else "this machine" for a in addresses]
        small = f"calc({height} * 0.6)"
        self.charts = {
            name: Chart(spec, hosts, height if name == "cpu" else small)
            for name, spec in CHARTS.items()
        }
        self.toggles = {}
        for name, chart in self.charts.items():
            chart.show(name in charts)
            toggle = widgets.ToggleButton(
                value=name in charts,
                description=CHARTS[name].button,
                tooltip=f"show or hide the {CHARTS[name].title} chart",
                layout=widgets.Layout(width="auto"),
            )
            toggle.observe(self._on_toggle, names="value")
            self.toggles[name] = toggle
        self.status = widgets.HTML(self._status_html())
        self.table = widgets.HTML(render_table([]))
        self.buttons = widgets.HBox(list(self.toggles.values()))
        super().__init__(children=self._layout(), **kwargs)
        if autostart:
            self.start()

    # -- what tests and users read ------------------------------------------------------------
    @property
    def window(self) -> SampleWindow:
        """The first (or only) host's window of samples."""
        return self.feeds[0].window

    @property
    def stream(self) -> SampleStream | None:
        """The first (or only) host's stream."""
        return self.feeds[0].stream

    @property
    def lines(self) -> Any:
        """The CPU chart's first mark (for one host: the stacked us/sy areas)."""
        return self.charts["cpu"].marks[0]

    @property
    def figure(self) -> Any:
        """The CPU chart's figure."""
        return self.charts["cpu"].figure

    @property
    def running(self) -> bool:
        """Whether any feed is connected or trying to be."""
        return any(feed.state != "stopped" for feed in self.feeds)

    @property
    def state(self) -> StreamState:
        """The first host's state: connecting, live, reconnecting or stopped."""
        return self.feeds[0].state

    # -- lifecycle ----------------------------------------------------------------------------
    def start(self) -> None:
        """Connect (starting the embedded server if there is no URL); a no-op when running."""

        def streams(runtime: KernelRuntime) -> list[Work]:
            for feed in self.feeds:
                url = feed.url or runtime.embedded_url(self.interval)
                feed.stream = SampleStream(url, on_state=self._on_state)
            return [self._consume(feed) for feed in self.feeds]

        if self.background.start(streams):
            for feed, task in zip(self.feeds, self.background.tasks, strict=True):
                feed.task = task
            self.status.value = self._status_html()

    def stop(self) -> None:
        """Disconnect and end the tasks; the last monitor to stop also stops the embedded server."""
        if self.background.stop():
            self.status.value = self._status_html()

    def close(self) -> None:
        """Stop, then close every widget this monitor is made of."""
        self.stop()
        for chart in self.charts.values():
            chart.close()
        for widget in (*self.toggles.values(), self.buttons, self.status, self.table):
            widget.close()
        super().close()

    # -- the feed -----------------------------------------------------------------------------
    async def _consume(self, feed: Feed) -> None:
        assert feed.stream is not None
        async for sample in feed.stream:
            feed.window.add(sample)
            feed.age_ms = max(time.time() - sample["t"], 0.0) * 1000.0
            self._changed.add(feed.number)
            self._schedule_flush()

    def _schedule_flush(self) -> None:
        if not self._flush_pending:  # coalesce a burst into one update
            self._flush_pending = True
            asyncio.get_running_loop().call_soon(self._flush)

    def _flush(self) -> None:
        self._flush_pending = False
        changed, self._changed = self._changed, set()
        windows = [feed.window for feed in self.feeds]
        newest = self.window.newest
        if len(self.feeds) == 1 and newest is not None:  # say whose numbers these are
            scope = newest.get("scope", "host")
            title = CHARTS["cpu"].title + (" · container" if scope == "container" else "")
            if self.figure.title != title:
                self.figure.title = title
        for chart in self.charts.values():
            if chart.visible:
                chart.update(windows, changed)
        self.table.value = render_table(self._table_rows(), show_host=len(self.feeds) > 1)
        self.status.value = self._status_html()
        self.updates += 1

    def _table_rows(self) -> list[Any]:
        if len(self.feeds) == 1:
            return list(self.window.rows(self.rows))
        rows = [sample for feed in self.feeds for sample in feed.window.rows(self.rows)]
        return sorted(rows, key=lambda sample: sample["t"], reverse=True)[: self.rows]

    def _status_html(self) -> str:
        return "".join(feed.status() for feed in self.feeds)

    def _on_state(self, state: StreamState) -> None:
        self.status.value = self._status_html()

    def _on_toggle(self, change: dict[str, Any]) -> None:
        self.background.on_loop(self._apply_toggles)  # charts are touched only from the loop

    def _apply_toggles(self) -> None:
        for name, toggle in self.toggles.items():
            chart = self.charts[name]
            if toggle.value != chart.visible:
                chart.show(toggle.value)
                if toggle.value:  # catch up at once instead of waiting for the next sample
                    chart.update([feed.window for feed in self.feeds])
        self.children = self._layout()

    def _layout(self) -> list[Any]:
        shown = [chart.figure for chart in self.charts.values() if chart.visible]
        return [self.status, self.buttons, *shown, self.table]

    def __repr__(self) -> str:
        hosts = ", ".join(feed.label for feed in self.feeds)
        return f"<Monitor {hosts} state={self.state} samples={len(self.window)}>"
