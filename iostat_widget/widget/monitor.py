"""``Monitor()``: live headline figures, charts and a table in a notebook cell.

The widget is fed by asyncio tasks on the kernel's background loop (see ``loop_thread``), so it
keeps updating while other cells run. Samples arriving together (the history burst on connect,
several hosts ticking at once) are coalesced into one update; each update is one comm message per
visible mark (``hold_sync``) carrying numpy arrays of a fixed window, plus one for all the text
(``monitor.text``, a :class:`~iostat_widget.widget.monitor_text.MonitorText`, carries the status,
the headline figures and the table), so a kernel's cost does not grow with time.
An update that fails anyway is caught, counted (``monitor.errors``), logged at debug level and
named in the status line: nothing the background loop does may print into a notebook cell.

Status: every change of what the status says goes through ``Monitor._show_status``, which builds
one :class:`~iostat_widget.widget.status.FeedStatus` dict per feed (``Monitor.feed_status()``)
and hands them to ``monitor.text`` (:class:`~iostat_widget.widget.monitor_text.MonitorText`),
whose front end counts the newest sample's age up between messages. One timer on the background loop
(``Monitor._tick``) turns a feed ``stale`` when no sample has come for three nominal intervals,
and beats when nothing was sent for ``max(interval, 1)`` s while running, so the front end can
tell a busy kernel from one that has gone; each update moves the timer on, so it fires only when
samples stop. Ages are seconds, intervals seconds.

This kernel's own cost: at each update carrying the first host's samples, the monitor reads the
kernel's process and its children (:class:`~iostat_widget.sources.process_cost.CostMeter`, a few
``/proc`` reads, at most every 0.25 s) and attaches their CPU and memory since the previous
reading to the newest sample
(:mod:`.kernel_cost`): a line in the CPU and memory charts and a headline figure. It is measured
here, in the kernel, whichever server the samples come from.

Re-running a notebook cell closes the monitors its previous run made (see ``cells``);
``Monitor.close_all()`` closes every monitor in the kernel.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import math
import time
import weakref
from collections.abc import Collection, Sequence
from typing import Any, ClassVar

import ipywidgets as widgets

from ..clients.stream import SampleStream, StreamState
from ..redaction import without_token
from ..sources.process_cost import CostMeter, ProcessCost
from .background import BackgroundTasks, Work
from .cells import CellRegistry, current_cell
from .chart_panel import ChartPanel, check_charts
from .feed import Feed
from .kernel_cost import attach_cost
from .monitor_text import MonitorText
from .runtime import KernelRuntime
from .saved_windows import WindowsKeeper
from .status import FeedState, FeedStatus
from .text_figures import TextFigures
from .top_table import check_top, top_url
from .window import SampleWindow
from .window_export import windows_dataframe, windows_image, windows_picture

__all__ = ["Feed", "Monitor"]

log = logging.getLogger(__name__)

#: Longest error text kept for the status line, in characters.
_ERROR_CHARS = 300


class Monitor(widgets.VBox):  # type: ignore[misc]
    """Live CPU, disk, network and memory of a machine, like ``iostat`` in a cell.

    ``Monitor()`` watches this machine through a server embedded in the kernel (one per kernel,
    shared by every monitor); ``Monitor(url="ws://host:8765/iostat")`` watches another machine;
    ``Monitor(urls=[...])`` watches several in one view (one line per host, a host column in the
    table, a status line per host; one host going away does not stall the others).
    ``window`` is how many samples the charts keep, ``rows`` how many the table shows, ``interval``
    the embedded server's seconds between samples (set by the monitor that starts it),
    ``charts`` which charts start visible among ``cpu``, ``disk``, ``net``, ``mem`` and ``gpu``
    (the buttons above the charts switch them; the GPU chart and its button appear with the first
    sample carrying GPUs, never before: a machine without them is not offered an empty chart,
    see :mod:`.gpu_chart`), ``height`` the CPU chart's CSS height (the others get three
    quarters of it). ``stop()`` disconnects and ``close()`` also removes the widget. Re-running
    the notebook cell that made a monitor closes it; ``Monitor.close_all()`` closes them all.
    ``monitor.errors`` counts updates that failed (the status line names the last one).
    ``kernel`` (default True) shows this kernel's own cost: the CPU of its process and its
    children (a ``multiprocessing`` pool counts) as a line in the CPU chart, in % of all this
    machine's CPUs like the chart (1 core = 100/N % on N CPUs, as its legend says), their RSS as
    a line in the memory chart (% of this machine's memory), and a headline figure (also in
    cores, with RSS and swap); with several hosts, the headline figure only. A
    :class:`~iostat_widget.sources.process_cost.CostMeter` given instead is measured with.
    ``top`` (0 to 25, default 0: off) asks the (first) server for its ``top`` busiest processes
    with each sample (``?top=N``: the server reads its processes only while someone asks) and
    shows them under the charts: pid, name, user, CPU in % of one core, RSS
    (:mod:`.top_table`).

    Raises:
        ValueError: ``url`` and ``urls`` both given, an empty ``urls``, a URL that is not
            ws:// or wss://, an unknown chart, ``window`` below 1, an ``interval`` that is
            not a positive number, or a ``top`` that is not 0 to 25. Nothing is raised once it
            runs: a server that cannot be reached, a bad message or a failed update shows in
            the status line instead.
    """

    _cells: ClassVar[CellRegistry[Monitor]] = CellRegistry()
    _instances: ClassVar[weakref.WeakSet[Monitor]] = weakref.WeakSet()

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
        kernel: bool | CostMeter = True,
        top: int = 0,
        **kwargs: Any,
    ) -> None:
        # First: Widget.__del__ calls close() even when __init__ fails half way.
        self.background = BackgroundTasks("iostat-monitor")
        #: the windows kept for the saved notebook's picture (see :mod:`.saved_windows`)
        self.saved_windows = WindowsKeeper()
        if url is not None and urls is not None:
            raise ValueError("give url or urls, not both")
        shown = check_charts(charts)
        addresses: list[str | None] = list(urls) if urls is not None else [url]
        if not addresses:
            raise ValueError("urls is empty")
        for address in addresses:
            if address is not None:
                SampleStream(address)  # refuse a URL that is not ws:// or wss:// now
        if not (isinstance(interval, int | float) and 0 < interval < math.inf):
            raise ValueError(f"interval must be a positive number of seconds, got {interval!r}")
        self.top = check_top(top)  #: the busiest processes asked for (0: none)
        self.url = url
        self.interval = interval
        self.rows = rows
        self.feeds = [
            Feed(address, window, number, interval) for number, address in enumerate(addresses)
        ]
        self.updates = 0  #: refreshes sent to the front end
        self.errors = 0  #: updates that failed (caught, logged at debug, named in the status)
        self._flush_pending = False
        self._changed: set[int] = set()  #: feeds with samples since the last flush
        self._status_sent = -float("inf")  #: ``time.monotonic()`` the status was last sent
        self._shown_states: list[FeedState] = []  #: the states it said

        #: measures this kernel's own cost at each update (None: not shown)
        self.kernel_meter = kernel if isinstance(kernel, CostMeter) else None
        if kernel is True:
            self.kernel_meter = CostMeter()
        self.kernel_cost: ProcessCost | None = None  #: the newest measured
        self.hosts = [without_token(a) if a else "this machine" for a in addresses]
        #: the headline figures' and the table's HTML, sent with the next status
        self.figures = TextFigures(self.hosts, rows, self.top)
        self.panel = ChartPanel(
            self.hosts,
            shown,
            height=height,
            window=window,
            interval=interval,
            kernel=self.kernel_meter is not None,
            cpus=self.kernel_meter.cpus if self.kernel_meter is not None else 1,
            on_toggle=self._on_toggle,
        )
        self.charts = self.panel.charts  #: by name (``gpu`` once offered)
        self.toggles = self.panel.toggles  #: the buttons that show or hide them, by name
        self.buttons, self.chart_area = self.panel.buttons, self.panel.chart_area
        self.text = MonitorText(layout=widgets.Layout(margin="0 2px"))
        kwargs.setdefault("layout", widgets.Layout(min_width="0"))
        super().__init__(children=self.panel.arrange(self.text), **kwargs)
        self._show_status()
        Monitor._instances.add(self)
        if autostart:
            self.start()
        self._replace_earlier_runs()

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
    def state(self) -> FeedState:
        """The first host's state: connecting, live, reconnecting, stopped or stale."""
        return self.feeds[0].state

    @property
    def headline(self) -> str:
        """The headline figures above the charts, as HTML (shown by ``monitor.text``)."""
        return str(self.text.headline)

    @property
    def table(self) -> str:
        """The table of recent samples under the charts, as HTML (shown by ``monitor.text``)."""
        return str(self.text.table)

    def feed_status(self) -> list[FeedStatus]:
        """One status dict per feed, built now (see :mod:`iostat_widget.widget.status`)."""
        now = time.monotonic()
        return [feed.status(now) for feed in self.feeds]

    # -- lifecycle ----------------------------------------------------------------------------
    def start(self) -> None:
        """Connect (starting the embedded server if there is no URL); a no-op when running."""

        def streams(runtime: KernelRuntime) -> list[Work]:
            for feed in self.feeds:
                url = feed.url
                if url is None:
                    url = runtime.embedded_url(self.interval)
                    if runtime.server is not None:
                        feed.server_interval = runtime.server.hub.interval
                on_state = functools.partial(self._on_state, feed)
                if feed.number == 0:
                    url = top_url(url, self.top)
                feed.stream = SampleStream(url, on_state=on_state)
            return [self._consume(feed) for feed in self.feeds]

        if self.kernel_meter is not None and not self.background.running:
            self.kernel_cost = None  # nothing from before a stop is shown again
            self.kernel_meter.reset()
            self.kernel_meter.measure()  # the reading the first update's figure is taken from
        if self.background.start(streams, tick=self._tick):
            for feed, task in zip(self.feeds, self.background.tasks, strict=True):
                feed.task = task
            self.background.on_loop(self._show_status)

    def stop(self) -> None:
        """Disconnect and end the tasks; the last monitor to stop also stops the embedded server."""
        if self.background.stop():
            self._show_status()
        if self.saved_windows.shown:  # only then was __init__ complete
            self.saved_windows.flush(self.picture_title, self.feeds)

    def close(self) -> None:
        """Stop, then close every widget this monitor is made of."""
        self.stop()
        Monitor._cells.forget(self)
        Monitor._instances.discard(self)
        parts = self.__dict__  # all there, unless __init__ failed half way
        for name in ("panel", "text"):
            if (part := parts.get(name)) is not None:
                part.close()
        super().close()

    @classmethod
    def close_all(cls) -> int:
        """Close every monitor in this kernel (shown or not); returns how many there were."""
        monitors = list(Monitor._instances)
        for monitor in monitors:
            monitor.close()
        return len(monitors)

    def _replace_earlier_runs(self) -> None:
        """Close what an earlier run of the notebook cell running now made (if in one)."""
        where = current_cell()
        if where is None:
            return
        for earlier in Monitor._cells.claim(self, where):
            if earlier is not self:
                earlier.close()

    # -- the feed -----------------------------------------------------------------------------
    async def _consume(self, feed: Feed) -> None:
        assert feed.stream is not None
        feed.task = asyncio.current_task()  # before the stream reports any state
        async for sample in feed.stream:
            if feed.number == 0 and self.kernel_cost is not None:
                # until the update measures anew: samples arriving together (a reconnect's
                # history) carry the newest figure, so the kernel's line has no gaps of its own
                attach_cost(sample, self.kernel_cost)
            feed.window.add(sample)
            feed.received = feed.fresh = time.monotonic()
            feed.age_ms = max(time.time() - sample["t"], 0.0) * 1000.0
            self._changed.add(feed.number)
            self._schedule_flush()

    def _schedule_flush(self) -> None:
        if not self._flush_pending:  # coalesce a burst into one update
            self._flush_pending = True
            asyncio.get_running_loop().call_soon(self._flush)

    def _flush(self) -> None:
        """One update of everything the new samples change (on the loop); never raises."""
        self._flush_pending = False
        changed, self._changed = self._changed, set()
        try:
            self._draw(changed)
            self.updates += 1
        except Exception as err:
            self._failed(err, changed)
        self.saved_windows.changed(self.picture_title, self.feeds)
        self._show_status()
        self.background.move_timer(self._next_wake(time.monotonic()))

    def _draw(self, changed: Collection[int]) -> None:
        windows = [feed.window for feed in self.feeds]
        if not self.panel.has_gpu and any("gpu" in (windows[n].newest or {}) for n in changed):
            self.panel.offer_gpu()  # the first sample carrying GPUs
            self.children = self.panel.arrange(self.text)
        newest = self.window.newest
        if len(self.feeds) == 1 and newest is not None:  # say whose numbers these are
            self.charts["cpu"].set_scope(newest.get("scope", "host"))
        if self.kernel_meter is not None and 0 in changed and newest is not None:
            # Measured at most every min_seconds (but the first figure does not wait: a line that
            # is all NaN is an error in the front end); samples in between carry the newest.
            first = self.kernel_cost is None
            self.kernel_cost = self.kernel_meter.measure(soon=first) or self.kernel_cost
            if self.kernel_cost is not None:
                attach_cost(newest, self.kernel_cost)  # drawn at the sample's time, gaps and all
        self.panel.update(windows, changed)
        self.figures.update(windows, changed, self.kernel_cost)  # sent with the status, next

    def _failed(self, err: Exception, feeds: Collection[int]) -> None:
        """Count a failed update against ``feeds`` (all when empty) and keep its message."""
        self.errors += 1
        message = " ".join(f"{type(err).__name__}: {err}".split())[:_ERROR_CHARS]
        for feed in self.feeds:
            if not feeds or feed.number in feeds:
                feed.errors += 1
                feed.update_error = message
        log.debug("iostat-widget Monitor: an update failed", exc_info=err)

    # -- status -------------------------------------------------------------------------------
    def _show_status(self) -> None:
        """Send every feed's status to the front end: the one way a status leaves the kernel.

        Builds :meth:`feed_status` (the dicts ``MonitorText.show(feeds)`` takes) and sends
        them with the headline figures and the table, in one message. Never raises (a failure is
        counted like any update's)."""
        try:
            feeds = self.feed_status()
            self._shown_states = [feed["state"] for feed in feeds]
            self._status_sent = time.monotonic()
            self.text.show(feeds, self.figures.headline, self.figures.table)
        except Exception as err:
            self._failed(err, ())

    def _heartbeat_period(self) -> float:
        """Seconds between heartbeats: ``max(interval, 1)`` for the fastest feed."""
        return max(min(feed.interval for feed in self.feeds), 1.0)

    def _tick(self) -> float:
        """The monitor's one timer on the background loop; returns seconds to its next call.

        It is due when a feed turns stale or when nothing has been sent for a heartbeat period
        (:meth:`_next_wake`); every update moves it on (:meth:`_flush`), so while samples flow
        it never fires, and no thread polls anything. When it fires it re-sends the status if a
        state changed, else beats if nothing was sent for a period."""
        now = time.monotonic()
        if [feed.state_at(now) for feed in self.feeds] != self._shown_states:
            self._show_status()  # a feed went stale
        elif now - self._status_sent >= 0.999 * self._heartbeat_period():
            self._status_sent = now
            self.text.heartbeat()  # the front end counts the age up and says "no kernel"
            # when neither updates nor beats come
        return self._next_wake(now)

    def _next_wake(self, now: float) -> float:
        """Seconds from ``now`` to the timer's next due moment: the next heartbeat (a period after
        the last message) or the first stale deadline to come, whichever is first."""
        deadlines = [d for feed in self.feeds if (d := feed.stale_deadline()) and d > now]
        due = min([self._status_sent + self._heartbeat_period(), *deadlines])
        return max(due - now, 0.0) + 0.005

    def _on_state(self, feed: Feed, state: StreamState) -> None:
        if state == "live":
            feed.fresh = time.monotonic()  # fresh from the moment it connects
        self._show_status()

    # -- charts shown -------------------------------------------------------------------------
    def _on_toggle(self) -> None:
        self.background.on_loop(self._apply_toggles)  # charts are touched only from the loop

    def _apply_toggles(self) -> None:
        try:
            self.panel.apply_toggles([feed.window for feed in self.feeds])
            self.children = self.panel.arrange(self.text)
        except Exception as err:
            self._failed(err, ())
            self._show_status()

    # -- what stays: a DataFrame of the windows, a picture beside the live widget ------------
    def to_dataframe(self) -> Any:
        """The samples in the charts' windows as a pandas DataFrame: one row per sample (every
        host's, by time), the flat columns of :mod:`iostat_widget.record`, a UTC ``time`` index.

        Raises:
            ImportError: pandas is missing (the message names the ``record`` extra).
        """
        return windows_dataframe(self.feeds)

    def snapshot(self) -> Any:
        """A static picture of the windows as they are now, as an IPython ``Image`` (PNG): a
        cell ending in ``monitor.snapshot()`` keeps it in the notebook, for GitHub, nbviewer and
        PDF exports, however long ago the monitor itself was displayed.

        Raises:
            ImportError: matplotlib is missing (the message names the ``record`` extra).
        """
        return windows_image(self.feeds, self.picture_title)

    @property
    def picture_title(self) -> str:
        """The title of the monitor's static pictures: which hosts."""
        return f"iostat-widget Monitor ({', '.join(self.hosts)})"

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        """The widget's bundle plus an ``image/png`` of the windows as they are now: front ends
        with the widget manager show the live widget (its type ranks first), a saved notebook
        elsewhere (GitHub, nbviewer, PDF) shows the picture instead of "Loading widget…".

        When Jupyter saves the notebook, this package's server extension replaces the picture
        by one of the windows as they were at most two seconds before the save (see
        :mod:`iostat_widget.saved_picture`), where the kernel and the server share a machine."""
        bundle = super()._repr_mimebundle_(**kwargs)
        self.saved_windows.show(self.model_id)
        if isinstance(bundle, dict):
            title = f"iostat-widget Monitor at display time ({', '.join(self.hosts)})"
            bundle |= windows_picture(self.feeds, title)
        return bundle

    def __repr__(self) -> str:
        hosts = ", ".join(feed.label for feed in self.feeds)
        return f"<Monitor {hosts} state={self.state} samples={len(self.window)}>"
