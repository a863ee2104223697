"""The compact wire form of the lean sample (WebSocket subprotocol ``iostat.compact.v1``).

Pure, like :mod:`.schema`: no asyncio, no sockets. What a lean sample carries that does not
change from tick to tick (key names, ``host``, ``scope``, the GPUs' indexes) is said once, in a
*schema message*; each sample is then a JSON array of its values in the schema's key order::

    {"compact":"iostat.compact.v1","keys":["seq","t","date","interval","cpu.us",…,"mem.used_pct"],
     "fixed":{"host":"db-1","cpu":{},…,"scope":"host"},"base":{"seq":1200,"t":1764130513.25,
     "interval":1.0}}
    [17,1,0,0,3.2,1.1,95.4,0.2,0,40919.1,0,1234.5,987.6,42.5]

Every key is a dotted path into the sample (``gpu.0.util_pct``: the first GPU's utilisation),
and every value is the number the lean JSON carries, as JSON spells it (so the rounding the
samplers chose is kept exactly), except four coded against ``base`` to stay short:

- ``seq``: minus ``base.seq`` (0 to 999: a new schema message rebases every 1000 samples);
- ``t``: milliseconds off the schedule ``base.t + (seq - base.seq) * base.interval``;
- ``date``: milliseconds from the ISO-8601 ``date`` to ``t`` (the date truncates to the
  millisecond, ``t`` rounds, so 0 or 1), or the date itself, a string, when it is not the
  ``YYYY-MM-DDTHH:MM:SS.mmmZ`` of a millisecond;
- ``interval``: milliseconds off ``base.interval``.

So ``t`` and ``interval`` come back to the millisecond (the samplers round them so), the rest
exactly. A new schema message comes whenever the keys or the fixed part change (a GPU appears,
the scope changes), ``seq`` runs 1000 past the base, or ``t`` strays a second from its
schedule (a pause); a viewer's history starts with one, and has one wherever it changed.

Why a JSON array and not binary: a typical sample is 40-60 bytes of text, under the 125 bytes
that keep the WebSocket frame header at 2 bytes; packed doubles would take 8 bytes a value
(more than most values take as text), packed floats lose the rates' digits, and varints or
CBOR need a codec in every client for a few bytes less. Text stays readable with ``websocat``.

A message that is not a valid compact message (not JSON, a sample before any schema, a length
that is not the schema's, a value of the wrong type, a schema that does not fit) raises
:class:`CompactError`, a :class:`~iostat_widget.schema.SampleError`, counted and skipped by the
clients like any malformed sample.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from typing import Any, Final, NamedTuple, TypeGuard

from .schema import Sample, SampleError, load_message, validate_sample

__all__ = [
    "MAX_DRIFT_MS",
    "PROTOCOL",
    "REBASE_EVERY",
    "CompactDecoder",
    "CompactEncoder",
    "CompactError",
    "CompactSchema",
]

PROTOCOL: Final = "iostat.compact.v1"
#: A new schema (a new base) at least this often, so ``seq`` takes at most three digits.
REBASE_EVERY: Final = 1000
#: Milliseconds ``t`` may stray from its schedule before the base moves to it.
MAX_DRIFT_MS: Final = 999

_CODED: Final = ("seq", "t", "date", "interval")  # top-level keys coded against the base
_FIXED_NUMBERS: Final = frozenset({"index"})  # numbers that name a thing, not a reading
_MAX_KEYS: Final = 1024
_MAX_DEPTH: Final = 6
_MAX_INT: Final = 2**53  # any larger offset is junk (and would overflow a float)
_EPOCH: Final = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_MAX_MS: Final = 10**14  # year 5138; validate_sample allows t up to 1e11 s


class CompactError(SampleError):
    """A message that is not a valid compact message; ``str(err)`` says what is wrong."""


class CompactSchema(NamedTuple):
    """One schema: the value keys, the fixed part, the base, and its message ``text``.

    ``keys`` are dotted paths (``"cpu.us"``, ``"gpu.0.util_pct"``); ``fixed`` the lean sample
    without its positional values (empty objects kept, list entries as ``None``); ``seq0``,
    ``t0_ms`` and ``step_ms`` the base (sample number, milliseconds since the epoch, milliseconds
    between samples).
    """

    keys: tuple[str, ...]
    fixed: dict[str, Any]
    seq0: int
    t0_ms: int
    step_ms: int
    text: str


def _is_number(value: object) -> TypeGuard[int | float]:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _date_text(ms: int) -> str:
    """``YYYY-MM-DDTHH:MM:SS.mmmZ`` of a millisecond since the epoch (as the samplers write)."""
    moment = _EPOCH + dt.timedelta(milliseconds=ms)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _date_code(date: object, t_ms: int) -> int | object:
    """Milliseconds from ``date`` to ``t``, or ``date`` itself when it is not a plain ISO date."""
    if not isinstance(date, str) or not date.endswith("Z") or len(date) != 24:
        return date
    try:
        moment = dt.datetime.fromisoformat(date)
    except ValueError:
        return date
    ms = (moment - _EPOCH) // dt.timedelta(milliseconds=1)
    if 0 <= ms <= _MAX_MS and abs(t_ms - ms) <= MAX_DRIFT_MS and _date_text(ms) == date:
        return t_ms - ms
    return date


def _split(value: Any, prefix: str, keys: list[str], values: list[Any]) -> Any:
    """The fixed part of ``value``; its positional numbers go to ``keys`` and ``values``."""
    if isinstance(value, dict):
        fixed: dict[str, Any] = {}
        for key, item in value.items():
            if "." in key:  # no path can name it: it travels whole, in the fixed part
                fixed[key] = item
            elif _is_number(item) and key not in _FIXED_NUMBERS:
                keys.append(prefix + key)
                values.append(item)
            else:
                fixed[key] = _split(item, f"{prefix}{key}.", keys, values)
        return fixed
    if isinstance(value, list):
        entries: list[Any] = []
        for number, item in enumerate(value):
            if _is_number(item):
                keys.append(f"{prefix}{number}")
                values.append(item)
                entries.append(None)
            else:
                entries.append(_split(item, f"{prefix}{number}.", keys, values))
        return entries
    return value


def _dumps(obj: object) -> str:
    return json.dumps(obj, separators=(",", ":"), allow_nan=False)


class CompactEncoder:
    """Turns lean samples into compact messages, keeping the schema they were written against.

    ``step`` is the sampling interval in seconds (the schedule ``t`` is coded against); ``None``
    takes each new schema's first sample's ``interval``. Not thread-safe: one per hub.
    """

    def __init__(self, step: float | None = None) -> None:
        self.step_ms = None if step is None else max(round(step * 1000), 1)
        self.schema: CompactSchema | None = None  #: the schema of the last sample encoded

    def encode(self, lean: Sample) -> tuple[CompactSchema, str]:
        """The schema for ``lean`` (the same object as last time while it fits) and its text.

        Raises:
            ValueError: a sample without an integer ``seq`` and numbers ``t`` and ``interval``,
                or with a number JSON cannot spell (NaN, infinity).
        """
        seq, t, interval = lean.get("seq"), lean.get("t"), lean.get("interval")
        if not isinstance(seq, int) or isinstance(seq, bool) or not _is_number(t):
            raise ValueError("a sample needs an integer seq and a number t")
        if not _is_number(interval) or not math.isfinite(t) or not math.isfinite(interval):
            raise ValueError("a sample needs finite numbers t and interval")
        t_ms, interval_ms = round(t * 1000), round(interval * 1000)
        keys, values = list(_CODED), [0, 0, _date_code(lean.get("date"), t_ms), 0]
        rest = {key: value for key, value in lean.items() if key not in _CODED}
        fixed = _split(rest, "", keys, values)
        schema = self.schema
        if (
            schema is None
            or schema.keys != tuple(keys)
            or schema.fixed != fixed
            or not 0 <= seq - schema.seq0 < REBASE_EVERY
            or abs(t_ms - schema.t0_ms - (seq - schema.seq0) * schema.step_ms) > MAX_DRIFT_MS
        ):
            step_ms = self.step_ms if self.step_ms is not None else max(interval_ms, 1)
            base = {"seq": seq, "t": t_ms / 1000, "interval": step_ms / 1000}
            text = _dumps({"compact": PROTOCOL, "keys": keys, "fixed": fixed, "base": base})
            schema = self.schema = CompactSchema(tuple(keys), fixed, seq, t_ms, step_ms, text)
        offset = seq - schema.seq0
        values[0] = offset
        values[1] = t_ms - schema.t0_ms - offset * schema.step_ms
        values[3] = interval_ms - schema.step_ms
        return schema, _dumps(values)


def _depth(value: Any) -> int:
    """How deeply lists and objects nest (0 for a scalar), giving up past the limit."""
    stack, deepest = [(value, 0)], 0
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list) and depth < _MAX_DEPTH + 1:
            deepest = max(deepest, depth + 1)
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children)
    return deepest


def _index(part: str) -> int:
    if not (part.isascii() and part.isdigit()):
        raise CompactError(f"{part!r} is not a list position")
    return int(part)


def _parent(sample: Any, key: str) -> tuple[Any, str]:
    """The object or list that holds ``key``'s place, and the last part of ``key``."""
    *parents, leaf = key.split(".")
    place = sample
    for part in parents:
        place = place[_index(part)] if isinstance(place, list) else place[part]
    return place, leaf


def _slot(fixed: Any, key: str) -> None:
    """Check that ``key`` names a free place in ``fixed``: an absent key of an object, or a
    ``None`` entry of a list."""
    place, leaf = _parent(fixed, key)
    if isinstance(place, list):
        if place[_index(leaf)] is not None:
            raise CompactError(f"schema: {key} is fixed")
    elif not isinstance(place, dict) or leaf in place:
        raise CompactError(f"schema: {key} is not a free place in the fixed part")


def _parse_schema(obj: dict[str, Any], text: str) -> CompactSchema:
    if obj.get("compact") != PROTOCOL:
        raise CompactError(f"schema: expected compact {PROTOCOL!r}")
    keys, fixed, base = obj.get("keys"), obj.get("fixed"), obj.get("base")
    if not isinstance(keys, list) or not 0 < len(keys) <= _MAX_KEYS:
        raise CompactError(f"schema: keys must be a list of 1 to {_MAX_KEYS} names")
    if not all(isinstance(key, str) for key in keys) or len(set(keys)) != len(keys):
        raise CompactError("schema: keys must be distinct strings")
    if not isinstance(fixed, dict) or _depth(fixed) > _MAX_DEPTH:
        raise CompactError(f"schema: fixed must be an object nested at most {_MAX_DEPTH} deep")
    if not isinstance(base, dict):
        raise CompactError("schema: base must be an object")
    seq0, t0, step = base.get("seq"), base.get("t"), base.get("interval")
    if not isinstance(seq0, int) or isinstance(seq0, bool) or not 0 <= seq0 < _MAX_INT:
        raise CompactError("schema: base.seq must be a non-negative integer")
    if not _is_number(t0) or not 0 <= t0 <= 1e11:
        raise CompactError("schema: base.t must be a number of seconds since the epoch")
    if not _is_number(step) or not 0 < step <= 86400:
        raise CompactError("schema: base.interval must be a positive number of seconds")
    for key in keys:
        if key not in _CODED:
            try:
                _slot(fixed, key)
            except (LookupError, ValueError, TypeError):
                raise CompactError(f"schema: key {key!r} has no place in the fixed part") from None
    return CompactSchema(tuple(keys), fixed, seq0, round(t0 * 1000), round(step * 1000), text)


def _copy(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _copy(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_copy(item) for item in value]
    return value


def _offset(value: object, key: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or abs(value) > _MAX_INT:
        raise CompactError(f"{key}: expected an integer offset")
    return value


def _place(sample: dict[str, Any], key: str, value: object) -> None:
    if not _is_number(value):
        raise CompactError(f"{key}: expected a number, got {type(value).__name__}")
    place, leaf = _parent(sample, key)
    if isinstance(place, list):
        place[_index(leaf)] = value
    else:
        place[leaf] = value


class CompactDecoder:
    """Decodes one connection's compact messages (make a new one for each connection).

    :meth:`decode` returns the :class:`~iostat_widget.schema.Sample` a JSON client would get
    for a sample message (validated with :func:`~iostat_widget.schema.validate_sample`), and
    ``None`` for a schema message (kept for the samples that follow).
    """

    def __init__(self) -> None:
        self.schema: CompactSchema | None = None  #: the last valid schema received

    def decode(self, message: str | bytes) -> Sample | None:
        """One message: a sample, or ``None`` for a schema message.

        Raises:
            CompactError: (a ``ValueError``) for anything else; a bad schema message also
                forgets the schema, so no later sample is read against a stale one.
        """
        obj = load_message(message, CompactError)
        if isinstance(obj, dict):
            self.schema = None
            text = message if isinstance(message, str) else message.decode(errors="replace")
            self.schema = _parse_schema(obj, text)
            return None
        if not isinstance(obj, list):
            raise CompactError(f"message: expected a schema or an array, got {type(obj).__name__}")
        schema = self.schema
        if schema is None:
            raise CompactError("sample: no schema received yet")
        if len(obj) != len(schema.keys):
            raise CompactError(f"sample: {len(obj)} values for {len(schema.keys)} keys")
        try:
            return self._sample(schema, obj)
        except CompactError:
            raise
        except SampleError as err:
            raise CompactError(str(err)) from None
        except (LookupError, ValueError, TypeError, OverflowError) as err:  # belt and braces:
            raise CompactError(f"sample: does not fit its schema ({err})") from None

    @staticmethod
    def _sample(schema: CompactSchema, values: list[Any]) -> Sample:
        sample: dict[str, Any] = _copy(schema.fixed)
        coded: dict[str, Any] = {}
        for key, value in zip(schema.keys, values, strict=True):
            if key in _CODED:
                coded[key] = value
            else:
                _place(sample, key, value)
        seq = schema.seq0 + _offset(coded.get("seq"), "seq")
        t_ms = schema.t0_ms + (seq - schema.seq0) * schema.step_ms + _offset(coded.get("t"), "t")
        sample["seq"], sample["t"] = seq, t_ms / 1000
        if "interval" in coded:
            sample["interval"] = (schema.step_ms + _offset(coded["interval"], "interval")) / 1000
        date = coded.get("date")
        if isinstance(date, str):
            sample["date"] = date
        elif date is not None:
            date_ms = t_ms - _offset(date, "date")
            if not 0 <= date_ms <= _MAX_MS:
                raise CompactError("date: outside the years 1970 to 5138")
            sample["date"] = _date_text(date_ms)
        return validate_sample(sample)
