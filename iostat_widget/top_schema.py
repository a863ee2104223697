"""The sample's optional ``top`` key: the busiest processes over the interval, checked like the
rest of a sample.

Pure, like :mod:`.schema` (which uses it): no psutil, no I/O. Only viewers that asked for it
(``/iostat?top=N``) get it, so a plain viewer's sample never carries it. Names and users are
text as the machine has them (a process may call itself ``<b>x</b>`` or put control characters
in its name): kept as they are, escaped wherever they are shown.
"""

from __future__ import annotations

import math
from typing import Final, TypedDict

__all__ = [
    "MAX_CPU_PCT",
    "MAX_NAME",
    "MAX_TOP_ROWS",
    "MAX_USER",
    "TopRow",
    "fit_text",
    "validate_top",
]

#: Most rows a table has; also the largest ``N`` a viewer may ask for (``?top=N``).
MAX_TOP_ROWS: Final = 25
MAX_NAME: Final = 64  #: characters of a process name (Linux's own are at most 15)
MAX_USER: Final = 32  #: characters of a user name (``useradd``'s limit)
#: ``cpu_pct`` is % of one core, so up to 100 x the server's CPUs, which a client does not know:
#: bounded by Linux's largest CPU count (8192), with the schema's slack for rounding.
MAX_CPU_PCT: Final = 100.0 * 8192 + 0.5
_MAX_PID: Final = 2**31 - 1
_MAX_BYTES: Final = 1e18


class TopRow(TypedDict):
    """One row of the busy table.

    - ``pid``: the process id.
    - ``name``: its name (Linux: ``comm``, at most 15 characters), at most 64 characters.
    - ``user``: its owner's name (the uid as text where it has none), at most 32 characters.
    - ``cpu_pct``: CPU time (user + system) over the interval in % of **one core**: 100 is one
      core busy all the time, as ``top`` and ``ps`` count; four busy cores read 400.
    - ``rss_bytes``: resident set size at the end of the interval, bytes.
    """

    pid: int
    name: str
    user: str
    cpu_pct: float
    rss_bytes: float


class _Invalid(ValueError):
    pass


def fit_text(text: str, limit: int) -> str:
    """``text`` cut to ``limit`` characters, undecodable bytes (lone surrogates, from names that
    are not UTF-8) replaced by ``?``: what the server puts in a row so the row validates."""
    if len(text) > limit:
        text = text[:limit]
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = text.encode("utf-8", "replace").decode("utf-8")
    return text


def _number(value: object, where: str, high: float, error: type[ValueError]) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise error(f"{where}: expected a number, got {type(value).__name__}")
    try:
        number = float(value)
    except OverflowError:
        raise error(f"{where}: too large") from None
    if not math.isfinite(number) or not 0.0 <= number <= high:
        raise error(f"{where}: {number!r} outside [0.0, {high}]")
    return number


def _text(value: object, where: str, limit: int, error: type[ValueError]) -> str:
    if not isinstance(value, str) or len(value) > limit:
        raise error(f"{where}: expected text of at most {limit} characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise error(f"{where}: not UTF-8 text") from None
    return value


def validate_top(part: object, error: type[ValueError] = _Invalid) -> list[TopRow]:
    """A clean copy of a sample's ``top`` list (unknown keys dropped), in the order given.

    Raises:
        error: (a ``ValueError``; :class:`~.schema.SampleError` from the schema) naming the first
            problem, e.g. ``"top[0].cpu_pct: -1.0 outside [0.0, 819200.5]"``: a list longer than
            :data:`MAX_TOP_ROWS`, a pid that is not an integer in 0 to 2**31 - 1, a name over
            :data:`MAX_NAME` or a user over :data:`MAX_USER` characters or not UTF-8, a
            ``cpu_pct`` outside 0 to :data:`MAX_CPU_PCT`, a negative or absurd ``rss_bytes``.
    """
    if not isinstance(part, list) or len(part) > MAX_TOP_ROWS:
        raise error(f"top: expected a list of at most {MAX_TOP_ROWS} processes")
    rows: list[TopRow] = []
    for number, entry in enumerate(part):
        where = f"top[{number}]"
        if not isinstance(entry, dict):
            raise error(f"{where}: expected an object")
        pid = entry.get("pid")
        if isinstance(pid, bool) or not isinstance(pid, int) or not 0 <= pid <= _MAX_PID:
            raise error(f"{where}.pid: expected an integer from 0 to {_MAX_PID}")
        rows.append(
            TopRow(
                pid=pid,
                name=_text(entry.get("name"), f"{where}.name", MAX_NAME, error),
                user=_text(entry.get("user"), f"{where}.user", MAX_USER, error),
                cpu_pct=_number(entry.get("cpu_pct"), f"{where}.cpu_pct", MAX_CPU_PCT, error),
                rss_bytes=_number(entry.get("rss_bytes"), f"{where}.rss_bytes", _MAX_BYTES, error),
            )
        )
    return rows
