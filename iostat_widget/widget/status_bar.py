"""``StatusBar``: the monitor's status lines, with the sample age counted in the browser.

The kernel sends *facts* (one :class:`FeedStatus` per watched host, plus a heartbeat counter);
the front end (``status_bar.js``, an anywidget module, no build step) turns them into what the
user reads and keeps it true between messages:

* **age** ticks up in the browser every 250 ms: ``age + (browser now - when that feeds message
  arrived)``, so it keeps counting while the kernel is busy, frozen or gone;
* **stale** (amber) replaces ``live`` once that age exceeds ``3 * interval``;
* **no kernel** (grey, "kernel not responding") replaces any state but ``stopped`` once neither
  ``feeds`` nor ``beat`` has changed for ``max(3 * interval, 3 s) + 2 s``: after a kernel
  restart or shutdown the old widget stops claiming ``live``.

The kernel must therefore bump :attr:`StatusBar.beat` (:meth:`StatusBar.heartbeat`) at least
once per ``max(interval, 1)`` seconds while the monitor runs; :meth:`StatusBar.show` bumps it too.
Nothing here builds HTML: labels and error texts come from the network, and the front end writes
them with ``textContent`` only.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from importlib.resources import files
from typing import Any, Final, cast, get_args

import anywidget
import traitlets

from ..transports.access import without_token
from .status import FeedState, FeedStatus

__all__ = ["STATES", "FeedState", "FeedStatus", "StatusBar", "check_feed", "feed_status"]

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
    """A file shipped next to this module (``status_bar.js``, ``status_bar.css``)."""
    return files(__package__ or "iostat_widget.widget").joinpath(name).read_text("utf-8")


class StatusBar(anywidget.AnyWidget):
    """One status line per watched host, kept truthful by the browser (see the module's doc).

    Synced traits (the contract with the monitor):

    ``feeds``: ``list[FeedStatus]`` as JSON dicts, one per host, in the order shown; assigning it
    checks every entry (:func:`check_feed`). ``beat``: an ``int`` the kernel bumps (at least once
    per ``max(interval, 1)`` s while running) to say it is alive; its value means nothing.

    :meth:`show` is what a monitor calls on each refresh, :meth:`heartbeat` between refreshes.
    Both may be called from the kernel's background loop thread.
    """

    _esm = _asset("status_bar.js")
    _css = _asset("status_bar.css")

    feeds = traitlets.List(traitlets.Dict()).tag(sync=True)
    beat = traitlets.Int(0).tag(sync=True)

    @traitlets.validate("feeds")
    def _check_feeds(self, proposal: Mapping[str, Any]) -> list[FeedStatus]:
        return [check_feed(feed) for feed in proposal["value"]]

    def show(self, feeds: Sequence[Mapping[str, Any]]) -> None:
        """Replace the feeds and bump the heartbeat, in one message to the front end.

        Bumping ``beat`` matters when nothing else changed (an unchanged list is not resent).
        Raises ``ValueError`` (and changes nothing) when a feed is malformed.
        """
        with self.hold_sync():
            self.feeds = [dict(feed) for feed in feeds]  # _check_feeds checks; bad ones raise
            self.beat += 1

    def heartbeat(self) -> None:
        """Tell the front end the kernel is alive (bumps ``beat``; one small message)."""
        self.beat += 1
