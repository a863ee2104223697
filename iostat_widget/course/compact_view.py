"""Compact messages captured off the wire, read back value by value for the course.

A viewer that asks for ``iostat.compact.v1`` gets a schema message, then each sample as a JSON
array (:mod:`iostat_widget.compact`). :func:`sort_messages` tells the two kinds apart among the
frames a capture holds; :func:`explain_compact` lines each value of a sample up with its key in
the schema and with what it decodes to, so a notebook can show what the short array says. Pure:
no sockets; the decoding is :class:`~iostat_widget.compact.CompactDecoder`'s own.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from typing import Any

from ..compact import CompactDecoder, CompactError
from .frames import FrameInfo

__all__ = ["explain_compact", "sort_messages"]

Captured = tuple[FrameInfo, bytes]


def _is_schema(payload: bytes) -> bool:
    try:
        message = json.loads(payload)
    except ValueError:
        return False
    return isinstance(message, dict) and "compact" in message


def sort_messages(frames: Sequence[Captured]) -> tuple[list[Captured], list[Captured]]:
    """``(schemas, samples)``: a server's unmasked text frames (as :func:`~.frames.split_frames`
    gives them), compact schema messages apart from the rest; other frames are left out."""
    schemas: list[Captured] = []
    samples: list[Captured] = []
    for info, raw in frames:
        if info.opcode != "TEXT" or info.masked:
            continue
        kind = schemas if _is_schema(raw[info.header :]) else samples
        kind.append((info, raw))
    return schemas, samples


def _at(sample: Any, key: str) -> Any:
    """The value at dotted path ``key`` in a decoded sample."""
    place = sample
    for part in key.split("."):
        place = place[int(part)] if isinstance(place, list) else place[part]
    return place


def _fixed_leaves(value: Any, prefix: str = "") -> Iterator[tuple[str, Any]]:
    """Dotted paths and values of the fixed part's scalars (the positional places, ``None``
    entries, are the sample's values, not fixed ones)."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _fixed_leaves(item, f"{prefix}{key}.")
    elif isinstance(value, list):
        for number, item in enumerate(value):
            yield from _fixed_leaves(item, f"{prefix}{number}.")
    elif value is not None:
        yield prefix.removesuffix("."), value


def explain_compact(schema: str | bytes, sample: str | bytes) -> list[dict[str, str]]:
    """One row per value of a compact ``sample`` read against ``schema`` (message texts), then
    one per fixed value the schema said once: ``key``, ``on the wire`` (the value as sent, or
    ``"—"`` for a fixed one), ``in the sample`` (as a JSON viewer would get it), ``how``.

    Raises:
        CompactError: (a ``ValueError``) when ``schema`` is not a schema message or ``sample``
            does not decode against it.
    """
    decoder = CompactDecoder()
    decoder.decode(schema)  # a sample here raises: no schema received yet
    decoded = decoder.decode(sample)
    if decoded is None:
        raise CompactError("sample: expected a sample, got a schema message")
    base = decoder.schema
    assert base is not None  # set by the schema message just decoded
    values = json.loads(sample)
    coded = dict(zip(base.keys, values, strict=True))
    step = base.step_ms / 1000
    offset = coded.get("seq", 0)
    how = {
        "seq": f"base.seq {base.seq0} + {offset}",
        "t": f"base.t + {offset} * {step:g} s, {coded.get('t')} ms off that schedule",
        "date": "sent whole"
        if isinstance(coded.get("date"), str)
        else f"t - {coded.get('date')} ms, written as ISO-8601",
        "interval": f"base.interval {step:g} s + {coded.get('interval')} ms",
    }

    def shown(value: Any) -> str:
        return json.dumps(value, ensure_ascii=False)

    rows = [
        {
            "key": key,
            "on the wire": shown(value),
            "in the sample": shown(_at(decoded, key)),
            "how": how.get(key, "as is"),
        }
        for key, value in zip(base.keys, values, strict=True)
    ]
    rows += [
        {"key": key, "on the wire": "—", "in the sample": shown(value), "how": "in the schema"}
        for key, value in _fixed_leaves(base.fixed)
    ]
    return rows
