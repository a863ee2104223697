"""How the widget writes numbers: the same text as the page's ``js/samples.js``.

``format_rate`` is ``formatRate`` (bytes per second in decimal SI units: ``4.1 kB/s``,
``60 MB/s``), ``format_percent`` is ``formatPercent`` (one decimal), ``format_time`` is
``formatTime`` (the ``HH:MM:SS.mmm`` of an ISO-8601 date), ``format_age`` is ``formatAge``
(seconds as ``0.4 s``, ``12 s``, ``3 min 5 s``). Both languages are tested against the same
cases in ``tests/fixtures/formats.json``. JavaScript's ``toFixed`` rounds the exact binary value
half up, Python's format rounds it half to even, so rounding goes through :mod:`decimal` here to
print ``1.25`` as ``1.3`` like the page. Pure: no widgets, no numpy.
"""

from __future__ import annotations

import math
import re
from decimal import ROUND_HALF_UP, Decimal
from typing import Final

__all__ = ["DASH", "format_percent", "format_rate", "format_time", "to_fixed"]

#: What a missing value reads as.
DASH: Final = "\u2013"  # an en dash, as the page prints it
_RATE_UNITS: Final = ("B/s", "kB/s", "MB/s", "GB/s", "TB/s", "PB/s")
_TIME = re.compile(r"T(\d\d:\d\d:\d\d(?:\.\d{1,3})?)")


def _finite(value: float | None) -> bool:
    return value is not None and math.isfinite(value)


def to_fixed(value: float, digits: int) -> str:
    """``value.toFixed(digits)`` as JavaScript writes it (half up on the exact binary value)."""
    value = value or 0.0  # -0 prints as 0 there
    scaled = abs(value) * 10.0**digits
    if abs(scaled - math.floor(scaled) - 0.5) > 1e-6:  # not a tie: both round the same way
        return f"{value:.{digits}f}"
    # A tie (or within float noise of one): half away from zero on the exact value, as
    # ECMAScript specifies, where Python's format would round half to even.
    exact = Decimal(value).quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_UP)
    return f"{exact:f}"


def format_rate(bps: float | None) -> str:
    """Bytes per second in decimal units, e.g. ``"4.1 kB/s"``; ``DASH`` for none."""
    if not _finite(bps):
        return DASH
    assert bps is not None
    value = float(bps)
    unit = 0
    # Compare against what would be printed, so 999.97 kB/s reads "1.0 MB/s", not "1000.0 kB/s".
    while value >= 999.5 and unit < len(_RATE_UNITS) - 1:
        value /= 1000
        unit += 1
    digits = 0 if unit == 0 or value >= 99.95 else 1
    return f"{to_fixed(value, digits)} {_RATE_UNITS[unit]}"


def format_percent(value: float | None) -> str:
    """A percentage with one decimal (no sign), or ``DASH``."""
    return to_fixed(float(value), 1) if _finite(value) else DASH  # type: ignore[arg-type]


def format_time(date: str) -> str:
    """The time of day of an ISO-8601 date (``"04:15:13.123"``); anything else as it came."""
    match = _TIME.search(date)
    return match.group(1) if match else date
