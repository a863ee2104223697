"""A log that says when each line was written, so a reader can measure how late it arrives.

Each line starts with its write time (``time.time()``, microseconds); :func:`written_at` reads
it back. Lines are appended and flushed one by one, as a program writing its log would.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

__all__ = ["append_lines", "written_at"]


async def append_lines(
    path: str | Path, *, count: int, every: float, tag: str = "line"
) -> list[float]:
    """Append ``count`` lines to ``path``, one every ``every`` seconds; return their write times."""
    if count < 0 or every < 0:
        raise ValueError("count and every must not be negative")
    times: list[float] = []
    for number in range(count):
        await asyncio.sleep(every)
        times.append(_append_line(Path(path), tag, number))
    return times


def _append_line(path: Path, tag: str, number: int) -> float:
    # Blocking on purpose: one short local append, stamped just before the write.
    with path.open("a", encoding="utf-8") as log:
        now = time.time()
        log.write(f"{now:.6f} {tag} {number}\n")
    return now


def written_at(line: str) -> float:
    """The write time at the start of a line made by :func:`append_lines`."""
    try:
        return float(line.split(" ", 1)[0])
    except ValueError:
        raise ValueError(f"not a timestamped line: {line!r}") from None
