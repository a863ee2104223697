"""What a monitor says about each feed it watches: one dict per feed, the front end's whole input.

:class:`FeedStatus` is the contract between the kernel and the front end that shows the status
(:meth:`iostat_widget.widget.monitor_text.MonitorText.show` takes a list of these dicts). Keys,
types and units:

- ``label`` (str): where the samples come from, fit to show (a URL without its token, or
  ``"embedded"`` for the kernel's own server);
- ``state`` (str): :data:`FeedState`, one of ``connecting``, ``live``, ``reconnecting``,
  ``stopped``, ``stale`` (connected, but no sample for :data:`STALE_INTERVALS` intervals);
- ``samples`` (int): samples received since the monitor started;
- ``invalid`` (int): messages skipped because they were not valid samples;
- ``errors`` (int): chart/table updates carrying this feed's samples that failed;
- ``error`` (str): why, in one line: the last failed update, else (while not connected) the last
  connection error, else ``""``;
- ``age`` (float or None): seconds from the kernel receiving the newest sample to the moment
  the dict was built, on the kernel's monotonic clock (not the sample's own date, so a remote
  host's clock cannot make it wrong), ``None`` before the first sample;
- ``interval`` (float): the feed's nominal seconds between samples (the embedded server's
  ``interval``, or the lower median of the samples' own).

Pure: no widgets, no asyncio.
"""

from __future__ import annotations

from typing import Final, Literal, TypedDict

__all__ = ["MIN_STALE", "STALE_INTERVALS", "FeedState", "FeedStatus", "stale_after"]

FeedState = Literal["connecting", "live", "reconnecting", "stopped", "stale"]

#: A connected feed with no sample for this many nominal intervals is ``stale``.
STALE_INTERVALS: Final = 3.0
#: Seconds; the least silence called stale, so sub-second intervals do not flicker under load.
MIN_STALE: Final = 0.5


class FeedStatus(TypedDict):
    """One feed's status, as built at the moment it is sent (see the module docstring)."""

    label: str
    state: FeedState
    samples: int
    invalid: int
    errors: int
    error: str
    age: float | None
    interval: float


def stale_after(interval: float) -> float:
    """Seconds of silence after which a connected feed with this nominal ``interval`` is stale."""
    return max(STALE_INTERVALS * interval, MIN_STALE)
