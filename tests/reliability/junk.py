"""What a hostile or broken server may send a client: named cases and hypothesis strategies.

Every frame is built around a real sample (the one the sequence is up to), so that junk which a
client wrongly accepted would be visible: mutated samples carry a ``JUNK`` date, which must never
reach a widget's table. Numbers are spliced into the JSON text as raw tokens, so the cases include
what ``json.dumps`` would never write but a peer can: ``NaN``, ``Infinity``, ``1e400``, integers
of thousands of digits.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from hypothesis import strategies as st

from iostat_widget.schema import MAX_MESSAGE_BYTES, Sample, encode_sample
from iostat_widget.sources.synthetic import synthetic_sample

T0 = 1_800_000_000.0
STEP = 0.05  # seconds between consecutive valid samples (their ``interval``)

Kind = Literal["valid", "junk", "oversized"]

NUMBER_FIELDS: dict[tuple[str, ...], tuple[float, float]] = {
    ("t",): (0.0, 1e11),
    ("interval",): (1e-3, 86400.0),
    ("cpu", "us"): (0.0, 100.5),
    ("cpu", "sy"): (0.0, 100.5),
    ("cpu", "id"): (0.0, 100.5),
    ("cpu", "wa"): (0.0, 100.5),
    ("cpu", "st"): (0.0, 100.5),
    ("disk", "read_bps"): (0.0, 1e15),
    ("disk", "write_bps"): (0.0, 1e15),
    ("net", "rx_bps"): (0.0, 1e15),
    ("net", "tx_bps"): (0.0, 1e15),
    ("mem", "used_pct"): (0.0, 100.5),
}
STRING_FIELDS = (("date",), ("host",))
REQUIRED = (
    ("seq",),
    ("t",),
    ("date",),
    ("host",),
    ("interval",),
    ("cpu",),
    ("disk",),
    ("net",),
    ("mem",),
    *NUMBER_FIELDS,
)
_MARK = "__SPLICE__"


def good(seq: int) -> Sample:
    """The valid sample numbered ``seq``; consecutive ones are ``STEP`` seconds apart."""
    return synthetic_sample(seq, T0 + seq * STEP, interval=STEP)


@dataclass(frozen=True)
class Frame:
    """One message to send: what it is (``how``), whether a client should yield it (``kind``)."""

    kind: Kind
    how: str
    make: Callable[[int], str | bytes] = field(repr=False, compare=False)


def _tree(seq: int) -> dict[str, Any]:
    tree: dict[str, Any] = json.loads(encode_sample(good(seq)))
    tree["date"] = f"JUNK-{seq}"  # if this sample were accepted, a table would show it
    return tree


def _set(tree: dict[str, Any], path: tuple[str, ...], value: object) -> None:
    for key in path[:-1]:
        tree = tree[key]
    tree[path[-1]] = value


def _delete(tree: dict[str, Any], path: tuple[str, ...]) -> None:
    for key in path[:-1]:
        tree = tree[key]
    del tree[path[-1]]


def spliced(path: tuple[str, ...], token: str) -> Frame:
    """A sample whose field ``path`` holds the raw JSON text ``token``."""

    def make(seq: int) -> str:
        tree = _tree(seq)
        _set(tree, path, _MARK)
        return json.dumps(tree).replace(json.dumps(_MARK), token, 1)

    shown = token if len(token) <= 40 else f"{token[:20]}...({len(token)} characters)"
    return Frame("junk", f"{'.'.join(path)}={shown}", make)


def replaced(path: tuple[str, ...], value: object) -> Frame:
    """A sample whose field ``path`` holds ``value`` (a wrong type, a bad string)."""

    def make(seq: int) -> str:
        tree = _tree(seq)
        _set(tree, path, value)
        return json.dumps(tree)

    return Frame("junk", f"{'.'.join(path)}={value!r:.40}", make)


def missing(path: tuple[str, ...]) -> Frame:
    def make(seq: int) -> str:
        tree = _tree(seq)
        _delete(tree, path)
        return json.dumps(tree)

    return Frame("junk", f"no {'.'.join(path)}", make)


def constant(kind: Kind, how: str, message: str | bytes) -> Frame:
    return Frame(kind, how, lambda seq: message)


def valid(how: str = "valid", extra: dict[str, Any] | None = None, pad_to: int = 0) -> Frame:
    """A good sample, optionally with unknown keys (dropped) or padded to ``pad_to`` bytes."""

    def make(seq: int) -> str:
        tree: dict[str, Any] = {**json.loads(encode_sample(good(seq))), **(extra or {})}
        text = json.dumps(tree)
        if pad_to > len(text):
            tree["pad"] = "p" * (pad_to - len(text) - len(', "pad": ""'))
            text = json.dumps(tree)
        return text

    return Frame("valid", how, make)


def oversized(size: int) -> Frame:
    """A message over the client's limit (a valid sample, padded): it closes the link."""
    frame = valid(f"valid sample padded to {size} bytes", pad_to=size)
    return Frame("oversized", frame.how, frame.make)


HUGE_INT = "9" * 400  # fits JSON's 4,300-digit limit, overflows a float
CASES: dict[str, Frame] = {
    "valid-with-junk-extras": valid("unknown keys", {"x": [[[[]]]], "nan": math.nan}),
    "valid-padded-to-the-limit": valid("padded", pad_to=MAX_MESSAGE_BYTES),
    "not-json": constant("junk", "text", "iostat? \x00 \ud7ff {"),
    "json-array": constant("junk", "array", "[1, 2, 3]"),
    "json-number": constant("junk", "number", "42"),
    "binary-junk": constant("junk", "binary", b"\x00\xff\xfe binary \x81"),
    "truncated": Frame("junk", "truncated", lambda seq: encode_sample(good(seq))[:-7]),
    "nan": spliced(("cpu", "us"), "NaN"),
    "infinity": spliced(("net", "rx_bps"), "Infinity"),
    "minus-infinity": spliced(("t",), "-Infinity"),
    "float-overflow": spliced(("disk", "read_bps"), "1e400"),
    "huge-integer": spliced(("cpu", "sy"), HUGE_INT),
    "huge-integer-t": spliced(("t",), HUGE_INT),
    "too-many-digits": spliced(("mem", "used_pct"), "9" * 5000),
    "negative": spliced(("cpu", "id"), "-0.5"),
    "over-range": spliced(("cpu", "us"), "100.6"),
    "seq-float": spliced(("seq",), "1.5"),
    "seq-negative": spliced(("seq",), "-1"),
    "seq-huge": spliced(("seq",), str(2**63)),
    "bool-number": replaced(("cpu", "wa"), True),
    "string-number": replaced(("interval",), "1.0"),
    "null-section": replaced(("disk",), None),
    "list-section": replaced(("mem",), [42.5]),
    "number-date": replaced(("date",), 20261126),
    "empty-date": replaced(("date",), ""),
    "long-host": replaced(("host",), "h" * 256),
    "missing-seq": missing(("seq",)),
    "missing-cpu-us": missing(("cpu", "us")),
    "missing-mem": missing(("mem",)),
    "deep-nesting": constant("junk", "nesting", "[" * 30_000 + "]" * 30_000),
    "deep-nesting-in-a-field": spliced(("cpu", "us"), "[" * 20_000 + "]" * 20_000),
    # Each share is in range, but together they are 180 % of the CPU: not an iostat reading.
    "cpu-over-100-in-total": Frame(
        "junk",
        "us=sy=90",
        lambda seq: json.dumps(
            {**_tree(seq), "cpu": {"us": 90, "sy": 90, "id": 0, "wa": 0, "st": 0}}
        ),
    ),
    # Valid JSON for a string no UTF-8 encoder accepts: it cannot travel on to a browser.
    "lone-surrogate-date": spliced(("date",), '"2026-11-26T04:19:31Z\\ud800"'),
    "lone-surrogate-host": spliced(("host",), '"db-\\udfff"'),
    "oversized": oversized(MAX_MESSAGE_BYTES + 1),
    "far-oversized": constant("oversized", "twice the limit of x", "x" * (2 * MAX_MESSAGE_BYTES)),
}


# -- hypothesis ---------------------------------------------------------------------------------
def _bad_numbers(low: float, high: float) -> st.SearchStrategy[str]:
    return st.one_of(
        st.sampled_from(["NaN", "Infinity", "-Infinity", "1e309", "-1e309", "1e400"]),
        st.integers(min_value=20, max_value=5000).map(lambda digits: "9" * digits),
        st.floats(max_value=low - max(abs(low), 1e-3) * 1e-3, allow_infinity=False).map(repr),
        st.floats(min_value=high * 1.001 + 1e-3, allow_infinity=False).map(repr),
    )


_wrong_value = st.one_of(
    st.none(),
    st.booleans(),
    st.text(max_size=20),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=3),
)

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=20,
)

bad_number_frames = st.sampled_from(sorted(NUMBER_FIELDS)).flatmap(
    lambda path: _bad_numbers(*NUMBER_FIELDS[path]).map(lambda token: spliced(path, token))
)


def _not_a_number(value: object) -> bool:
    return isinstance(value, bool) or not isinstance(value, int | float)


def _wrong(
    paths: list[tuple[str, ...]], keep: Callable[[object], bool]
) -> st.SearchStrategy[Frame]:
    return st.builds(replaced, st.sampled_from(paths), _wrong_value.filter(keep))


wrong_type_frames = st.one_of(
    _wrong(sorted(NUMBER_FIELDS), _not_a_number),
    _wrong(list(STRING_FIELDS), lambda value: not isinstance(value, str)),
    _wrong([("cpu",), ("disk",), ("net",), ("mem",)], lambda value: not isinstance(value, dict)),
)
other_junk_frames = st.one_of(
    st.sampled_from(REQUIRED).map(missing),
    st.text(max_size=100).map(lambda text: constant("junk", "text", text)),
    st.binary(max_size=100).map(lambda data: constant("junk", "binary", data)),
    json_values.map(lambda value: constant("junk", "json", json.dumps(value))),
    st.integers(min_value=1, max_value=30_000).map(
        lambda depth: constant("junk", f"nesting {depth}", "[" * depth + "]" * depth)
    ),
    st.sampled_from([v for v in CASES.values() if v.kind == "junk"]),
)
junk_frames = st.one_of(bad_number_frames, wrong_type_frames, other_junk_frames)
valid_frames = st.one_of(
    st.just(valid()),
    st.dictionaries(st.text(min_size=1, max_size=8), json_values, max_size=3).map(
        lambda extra: valid("with unknown keys", {f"x-{k}": v for k, v in extra.items()})
    ),
    st.integers(min_value=300, max_value=MAX_MESSAGE_BYTES).map(
        lambda size: valid(f"padded to {size}", pad_to=size)
    ),
)
oversized_frames = st.integers(
    min_value=MAX_MESSAGE_BYTES + 1, max_value=4 * MAX_MESSAGE_BYTES
).map(oversized)
scenarios = st.lists(
    st.one_of(valid_frames, junk_frames, junk_frames, oversized_frames), max_size=12
)
