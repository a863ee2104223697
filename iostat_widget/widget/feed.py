"""One server a monitor watches: its stream, its window of samples, its freshness and status."""

from __future__ import annotations

import asyncio
import time

from ..clients.stream import SampleStream, StreamState
from ..redaction import without_token
from .status import FeedState, FeedStatus, stale_after
from .window import SampleWindow

__all__ = ["Feed"]


class Feed:
    """One server a monitor watches: its stream, its window of samples, its reading task.

    ``interval`` (seconds) is what the monitor expects until the server or its samples say.
    """

    def __init__(
        self, url: str | None, window: int, number: int = 0, interval: float = 1.0
    ) -> None:
        self.url = url  # None: the kernel's embedded server, known once started
        self.number = number  #: its place among the monitor's feeds (and chart marks)
        self.window = SampleWindow(window)
        self.stream: SampleStream | None = None
        self.task: asyncio.Task[None] | None = None
        self.expected_interval = interval
        self.server_interval: float | None = None  #: the embedded server's, when it is one
        self.age_ms: float | None = None  #: the newest sample's age (by its date) on arrival, ms
        self.received: float | None = None  #: ``time.monotonic()`` the newest sample arrived
        self.fresh: float | None = None  #: the same, or when the connection went live if later
        #: (a feed is fresh from the moment it connects: stale means silent since)
        self.errors = 0  #: updates carrying this feed's samples that failed
        self.update_error = ""  #: the last one's exception, in one line
        self._label: tuple[str | None, str] = ("", "")

    @property
    def label(self) -> str:
        """Where the samples come from, fit to show (no token)."""
        url = self.stream.url if self.stream is not None else self.url
        if self._label[0] != url:  # redacting costs a regex: once per URL, not per update
            self._label = (url, without_token(url) if url else "embedded")
        return self._label[1]

    @property
    def interval(self) -> float:
        """Nominal seconds between samples: the embedded server's ``interval``, else the lower
        median of the samples' own (newest server run), else what the monitor was given."""
        return self.server_interval or self.window.nominal() or self.expected_interval

    @property
    def state(self) -> FeedState:
        """connecting, live, reconnecting, stopped, or stale (live, but silent too long)."""
        return self.state_at(time.monotonic())

    def state_at(self, now: float) -> FeedState:
        """The state at monotonic time ``now``."""
        running = self.task is not None and not self.task.done()
        if self.stream is None or not running:
            return "stopped"
        state: StreamState = self.stream.state
        deadline = self.stale_deadline()
        if state == "live" and deadline is not None and now >= deadline:
            return "stale"
        return state

    def stale_deadline(self) -> float | None:
        """When (``time.monotonic()``) a connected feed turns stale if nothing more comes."""
        if self.stream is None or self.stream.state != "live" or self.fresh is None:
            return None
        return self.fresh + stale_after(self.interval)

    def status(self, now: float | None = None) -> FeedStatus:
        """The feed's status dict, built now (``now``: ``time.monotonic()``)."""
        stream = self.stream
        now = time.monotonic() if now is None else now
        state = self.state_at(now)
        error = self.update_error
        if not error and stream is not None and state not in ("live", "stale"):
            error = stream.last_error or ""
        return {
            "label": self.label,
            "state": state,
            "samples": stream.received if stream is not None else 0,
            "invalid": stream.invalid if stream is not None else 0,
            "errors": self.errors,
            "error": error,
            "age": max(now - self.received, 0.0) if self.received is not None else None,
            "interval": self.interval,
        }
