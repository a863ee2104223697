"""``MonitorText``: the monitor's status lines, with the sample age counted in the browser, and the
rest of its text: the headline figures under the lines and the table of recent samples.

The kernel sends *facts* (one :class:`FeedStatus` per watched host, plus a heartbeat counter);
the front end (``monitor_text.js``, an anywidget module, no build step) turns them into what the
user reads and keeps it true between messages:

* **age** ticks up in the browser every 250 ms: ``age + (browser now - when that feeds message
  arrived)``, so it keeps counting while the kernel is busy, frozen or gone;
* **stale** (amber) replaces ``live`` once that age exceeds ``3 * interval``;
* **no kernel** (grey, "kernel not responding") replaces any state but ``stopped`` once no
  trait has changed for ``max(3 * interval, 3 s) + 2 s``: after a kernel restart or shutdown the
  old widget stops claiming ``live``.

The headline (``headline``) and the table (``table``) are HTML built and escaped in the kernel
(:mod:`iostat_widget.widget.table`). They travel in the same message as the feeds, so a new sample
costs the kernel one message for all the monitor's text, not three. The widget's element takes no
box of its own (``display: contents``): its three parts are items of the monitor's column, the
lines and the headline where the widget sits, the table after everything else (CSS ``order: 1``),
under the charts.

The kernel must therefore send something at least once per ``max(interval, 1)`` seconds while the
monitor runs: :meth:`MonitorText.show` with news, else a bump of :attr:`MonitorText.beat`
(:meth:`MonitorText.heartbeat`; ``show`` with nothing new bumps it too).
The status lines build no HTML: labels and error texts come from the network, and the front end
writes them with ``textContent`` only.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from importlib.resources import files
from typing import Any, Final, cast, get_args

import anywidget
import traitlets

from ..redaction import without_token
from .status import FeedState, FeedStatus

__all__ = ["STATES", "FeedState", "FeedStatus", "MonitorText", "check_feed", "feed_status"]

#: The states the kernel may report (the front end adds ``stale`` and ``no kernel`` itself).
STATES: Final[tuple[str, ...]] = get_args(FeedState)

_KEYS: Final = tuple(FeedStatus.__annotations__)


def feed_status(
    label: str,
    state: str,
    *,
    samples: int = 0,
    invalid: int = 0,
    errors: int = 0,
    error: str = "",
    age: float | None = None,
    interval: float = 1.0,
) -> FeedStatus:
    """A checked :class:`FeedStatus`; raises ``ValueError`` for what the front end cannot show.

    ``label`` and ``error`` lose any token in them (``token=***``), whatever the caller passed.
    A negative ``age`` (clocks a hair apart) counts as 0; a non-finite one as "no sample yet",
    since JSON has no NaN. ``interval`` must be a positive, finite number of seconds.
    """
    if not isinstance(label, str) or not isinstance(error, str):
        raise ValueError("label and error must be text")
    if state not in STATES:
        raise ValueError(f"unknown state {state!r}; one of {', '.join(STATES)}")
    counts = {"samples": samples, "invalid": invalid, "errors": errors}
    for name, count in counts.items():
        if isinstance(count, bool) or not isinstance(count, int) or count < 0:
            raise ValueError(f"{name} must be a count (int >= 0), not {count!r}")
    if isinstance(interval, bool) or not isinstance(interval, int | float):
        raise ValueError(f"interval must be seconds, not {interval!r}")
    if not (math.isfinite(interval) and interval > 0):
        raise ValueError(f"interval must be positive and finite, not {interval!r}")
    if age is not None:
        if isinstance(age, bool) or not isinstance(age, int | float):
            raise ValueError(f"age must be seconds or None, not {age!r}")
        age = max(float(age), 0.0) if math.isfinite(age) else None
    return FeedStatus(
        label=without_token(label),
        state=cast(FeedState, state),
        samples=samples,
        invalid=invalid,
        errors=errors,
        error=without_token(error),
        age=age,
        interval=float(interval),
    )


def check_feed(feed: Mapping[str, Any]) -> FeedStatus:
    """``feed`` checked as :func:`feed_status` does; it must have exactly the keys of
    :class:`FeedStatus` (``samples``, ``invalid``, ``errors``, ``error``, ``age`` and
    ``interval`` may be left out for their defaults)."""
    unknown = set(feed) - set(_KEYS)
    if unknown:
        raise ValueError(f"unknown keys {sorted(unknown)}; a feed has {', '.join(_KEYS)}")
    if "label" not in feed or "state" not in feed:
        raise ValueError("a feed needs at least a label and a state")
    options = {key: value for key, value in feed.items() if key not in ("label", "state")}
    return feed_status(feed["label"], feed["state"], **options)


def _asset(name: str) -> str:
    """A file shipped next to this module (``monitor_text.js``, ``monitor_text.css``)."""
    return files(__package__ or "iostat_widget.widget").joinpath(name).read_text("utf-8")


class MonitorText(anywidget.AnyWidget):
    """One status line per watched host, kept truthful by the browser, then the headline figures;
    the table of recent samples at the end of the column it sits in (see the module's doc).

    Synced traits (the contract with the monitor):

    ``feeds``: ``list[FeedStatus]`` as JSON dicts, one per host, in the order shown; assigning it
    checks every entry (:func:`check_feed`). ``beat``: an ``int`` the kernel bumps (at least once
    per ``max(interval, 1)`` s while running, unless something else is sent) to say it is alive;
    its value means nothing.
    ``headline``: HTML shown under the lines; ``table``: HTML shown at the end of the column the
    widget sits in (both escaped by whoever builds them; ``""`` for none).

    :meth:`show` is what a monitor calls on each refresh, :meth:`heartbeat` between refreshes.
    Both may be called from the kernel's background loop thread.
    """

    _esm = _asset("monitor_text.js")
    _css = _asset("monitor_text.css")

    feeds: traitlets.List[FeedStatus] = traitlets.List().tag(sync=True)  # _check_feeds checks
    beat = traitlets.Int(0).tag(sync=True)
    headline = traitlets.Unicode("").tag(sync=True)
    table = traitlets.Unicode("").tag(sync=True)

    @traitlets.validate("feeds")
    def _check_feeds(self, proposal: Mapping[str, Any]) -> list[FeedStatus]:
        return [check_feed(feed) for feed in proposal["value"]]

    def show(
        self,
        feeds: Sequence[Mapping[str, Any]],
        headline: str | None = None,
        table: str | None = None,
    ) -> None:
        """Replace the feeds (and the ``headline`` and ``table`` HTML, when given), in one message
        to the front end; when none of them changed, bump the heartbeat instead (any message
        says the kernel is alive; an unchanged value is not resent).

        Raises ``ValueError`` (and changes nothing) when a feed is malformed.
        """
        with self.hold_sync():
            before = self.feeds, self.headline, self.table
            # First: _check_feeds checks each (a bad one raises before anything changed).
            self.feeds = cast(list[FeedStatus], [dict(feed) for feed in feeds])
            if headline is not None:
                self.headline = headline
            if table is not None:
                self.table = table
            if (self.feeds, self.headline, self.table) == before:
                self.beat += 1

    def heartbeat(self) -> None:
        """Tell the front end the kernel is alive (bumps ``beat``; one small message)."""
        self.beat += 1
