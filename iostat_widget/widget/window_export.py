"""What a monitor's windows leave behind: a pandas DataFrame, and pictures of them.

The figures are those of :mod:`iostat_widget.record` (flat columns with units, a UTC index) and
the chart of :mod:`iostat_widget.picture` (matplotlib, on a ``Figure`` of its own); both come with
the ``record`` extra, imported only when asked for.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..schema import Sample
from .feed import Feed

__all__ = ["windows_dataframe", "windows_image", "windows_picture", "windows_runs"]


def windows_runs(feeds: Sequence[Feed]) -> list[tuple[str, list[Sample]]]:
    """Each feed's ``(label, samples)``, oldest first (``list(deque)`` is atomic)."""
    return [(f.label, list(f.window.rows(f.window.size))[::-1]) for f in feeds]


def windows_dataframe(feeds: Sequence[Feed]) -> Any:
    """Every feed's samples by time as a DataFrame (:func:`iostat_widget.record.to_dataframe`).

    Raises:
        ImportError: pandas is missing (the message names the ``record`` extra).
    """
    from ..record import flat_rows, to_dataframe

    samples = sorted((s for _, run in windows_runs(feeds) for s in run), key=lambda s: s["t"])
    return to_dataframe(flat_rows(samples), "Monitor.to_dataframe()")


def windows_image(feeds: Sequence[Feed], title: str) -> Any:
    """The windows' chart as an IPython ``Image`` (PNG), titled ``title``.

    Raises:
        ImportError: matplotlib is missing (the message names the ``record`` extra).
    """
    from IPython.display import Image

    from ..picture import window_png

    png = window_png(windows_runs(feeds), title)
    return Image(data=png, format="png")  # type: ignore[no-untyped-call]


def windows_picture(feeds: Sequence[Feed], title: str) -> dict[str, str]:
    """``{"image/png": base64}`` of the windows' chart for a mimebundle; empty when it cannot be
    drawn (no matplotlib): a display must never fail for its picture."""
    from ..picture import static_alternative

    return static_alternative(windows_runs(feeds), title)
