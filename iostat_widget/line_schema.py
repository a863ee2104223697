"""The ``/lines`` message: one line of a command's output (or of a followed file), numbered.

Every message is one compact JSON object, ``{"seq":12,"t":1795666771.395,"line":"text"}``, with
``"truncated":true`` added when the line was longer than :data:`MAX_LINE_BYTES` and was cut.
``seq`` grows by one per line and per server, so a client that reconnects skips the history it
has already seen and can count lines it missed (a skipped slow reader sees a gap). The line is
text without its newline; bytes that are not UTF-8 arrive as U+FFFD. Pure, like
:mod:`iostat_widget.schema`: the server encodes with it, clients validate with it.
"""

from __future__ import annotations

import json
import math
from typing import Any, Final, NotRequired, TypedDict

from .schema import load_message

__all__ = [
    "MAX_LINE_BYTES",
    "LineError",
    "LineMessage",
    "decode_line",
    "encode_line",
    "validate_line",
]

MAX_LINE_BYTES: Final = 4096
"""Longest line sent whole; a longer one is cut to its first 4 KiB and flagged ``truncated``."""


class LineMessage(TypedDict):
    """One line as it travels."""

    seq: int
    t: float
    line: str
    truncated: NotRequired[bool]


class LineError(ValueError):
    """Raised for a message that is not a valid line message; ``str(err)`` says why."""


def encode_line(seq: int, t: float, line: str, truncated: bool = False) -> str:
    """The wire form of one line (non-ASCII text is sent as UTF-8, not escaped)."""
    message: dict[str, Any] = {"seq": seq, "t": round(t, 3), "line": line}
    if truncated:
        message["truncated"] = True
    return json.dumps(message, separators=(",", ":"), ensure_ascii=False)


def validate_line(obj: object) -> LineMessage:
    """Check a decoded message and return a clean :class:`LineMessage` (unknown keys dropped)."""
    if not isinstance(obj, dict):
        raise LineError(f"message: expected an object, got {type(obj).__name__}")
    seq, t, line = obj.get("seq"), obj.get("t"), obj.get("line")
    if isinstance(seq, bool) or not isinstance(seq, int) or not 0 <= seq < 2**63:
        raise LineError("seq: expected a non-negative integer")
    if isinstance(t, bool) or not isinstance(t, int | float) or not math.isfinite(t):
        raise LineError("t: expected a finite number")
    if not 0 <= t <= 1e11:
        raise LineError("t: outside [0, 1e11]")
    if not isinstance(line, str) or len(line) > MAX_LINE_BYTES:
        raise LineError(f"line: expected a string of at most {MAX_LINE_BYTES} characters")
    if "\n" in line:
        raise LineError("line: contains a newline")
    message = LineMessage(seq=seq, t=float(t), line=line)
    truncated = obj.get("truncated", False)
    if not isinstance(truncated, bool):
        raise LineError("truncated: expected true or false")
    if truncated:
        message["truncated"] = True
    return message


def decode_line(message: str | bytes) -> LineMessage:
    """Parse one wire message into a validated :class:`LineMessage`."""
    return validate_line(load_message(message, LineError))
