"""The compact wire form: what comes out is what a JSON client gets, and junk is one error."""

from __future__ import annotations

import contextlib
import json
import math
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from iostat_widget.compact import (
    MAX_DRIFT_MS,
    PROTOCOL,
    REBASE_EVERY,
    CompactDecoder,
    CompactEncoder,
    CompactError,
)
from iostat_widget.schema import Sample, SampleError, lean_sample, validate_sample
from iostat_widget.sources.base import iso_date
from iostat_widget.sources.synthetic import synthetic_sample

from .helpers import run_node

T0 = 1_764_130_513.25
JS = Path(__file__).resolve().parents[1] / "js"


def tenths(high: float) -> st.SearchStrategy[float]:
    """A figure as the samplers round it: one decimal, whole numbers as ints."""
    return st.integers(0, int(high * 10)).map(lambda n: n // 10 if n % 10 == 0 else n / 10)


@st.composite
def lean_samples(draw: st.DrawFn) -> dict[str, Any]:
    t_ms = draw(st.integers(0, 10**14))
    us, sy, wa = draw(tenths(30)), draw(tenths(30)), draw(tenths(30))
    sample: dict[str, Any] = {
        "seq": draw(st.integers(0, 2**40)),
        "t": t_ms / 1000,
        "date": draw(
            st.one_of(
                st.sampled_from([0, 1]).map(lambda d: iso_date((t_ms - d) / 1000)),
                st.text(min_size=1, max_size=40),
            )
        ),
        "host": draw(st.text(max_size=30)),
        "interval": draw(st.integers(1, 86_400_000)) / 1000,
        "cpu": {"us": us, "sy": sy, "id": draw(tenths(10)), "wa": wa, "st": draw(tenths(5))},
        "disk": {"read_bps": draw(tenths(1e12)), "write_bps": draw(tenths(1e12))},
        "net": {"rx_bps": draw(tenths(1e12)), "tx_bps": draw(tenths(1e12))},
        "mem": {"used_pct": draw(tenths(100))},
    }
    if draw(st.booleans()):
        sample["scope"] = draw(st.sampled_from(["host", "container"]))
    if draw(st.booleans()):
        gpus = []
        for index in draw(st.lists(st.integers(0, 63), unique=True, max_size=8)):
            gpu: dict[str, Any] = {"index": index}
            for key in ("util_pct", "mem_used_pct"):
                if draw(st.booleans()):
                    gpu[key] = draw(tenths(100))
            gpus.append(gpu)
        sample["gpu"] = gpus
    return sample


def wire(samples: list[dict[str, Any]], step: float | None = None) -> list[str]:
    """Every message a compact viewer gets for ``samples``: schemas where they change."""
    encoder, messages, last = CompactEncoder(step), [], None
    for sample in samples:
        schema, text = encoder.encode(sample)
        if schema is not last:
            messages.append(schema.text)
            last = schema
        messages.append(text)
    return messages


def decoded(messages: list[str]) -> list[Sample]:
    decoder = CompactDecoder()
    return [s for s in map(decoder.decode, messages) if s is not None]


def legal(sample: dict[str, Any]) -> bool:
    try:
        validate_sample(sample)
    except SampleError:
        return False
    return True


@given(st.lists(lean_samples().filter(legal), min_size=1, max_size=5), st.none() | st.just(1.0))
@settings(max_examples=300, deadline=None)
def test_decoding_gives_back_what_a_json_client_gets(
    samples: list[dict[str, Any]], step: float | None
) -> None:
    assert decoded(wire(samples, step)) == [validate_sample(s) for s in samples]


def test_a_typical_sample_is_a_short_array_after_one_schema() -> None:
    samples = [lean_sample(synthetic_sample(seq, T0 + seq, host="db-1")) for seq in range(5)]
    messages = wire(samples, 1.0)
    schema = json.loads(messages[0])
    assert schema["compact"] == PROTOCOL and schema["fixed"]["host"] == "db-1"
    assert schema["keys"][:5] == ["seq", "t", "date", "interval", "cpu.us"]
    assert len(messages) == 6  # one schema, then five samples
    for text in messages[1:]:
        values = json.loads(text)
        assert isinstance(values, list) and len(values) == len(schema["keys"])
        assert len(text.encode()) <= 60, text
    assert decoded(messages) == [validate_sample(s) for s in samples]


def test_a_new_schema_comes_when_keys_or_fixed_values_change_or_the_base_is_far() -> None:
    def sample(seq: int, t: float, **changes: Any) -> dict[str, Any]:
        lean = dict(lean_sample(synthetic_sample(seq, t)))
        lean.update(changes)
        return lean

    encoder = CompactEncoder(1.0)
    first, _ = encoder.encode(sample(0, T0))
    assert encoder.encode(sample(1, T0 + 1.002))[0] is first
    gpu = [{"index": 0, "util_pct": 5}]
    with_gpu, _ = encoder.encode(sample(2, T0 + 2, gpu=gpu))
    assert with_gpu is not first and "gpu.0.util_pct" in with_gpu.keys
    moved, _ = encoder.encode(sample(3, T0 + 3, gpu=gpu, scope="container"))
    assert moved is not with_gpu and moved.fixed["scope"] == "container"
    late = T0 + 4 + (MAX_DRIFT_MS + 1) / 1000  # a pause: t off its schedule by a second
    paused, _ = encoder.encode(sample(4, late, gpu=gpu, scope="container"))
    assert paused is not moved and paused.seq0 == 4
    far = 4 + REBASE_EVERY
    rebased, text = encoder.encode(sample(far, late + REBASE_EVERY, gpu=gpu, scope="container"))
    assert rebased is not paused and rebased.seq0 == far and json.loads(text)[0] == 0


def test_an_odd_date_travels_as_itself() -> None:
    lean = dict(lean_sample(synthetic_sample(3, T0)))
    lean["date"] = "yesterday"
    messages = wire([lean])
    assert json.loads(messages[1])[2] == "yesterday"
    assert decoded(messages)[0]["date"] == "yesterday"


def test_the_encoder_refuses_what_json_cannot_carry() -> None:
    lean = dict(lean_sample(synthetic_sample(3, T0)))
    for key, junk in [("t", math.nan), ("seq", "3"), ("interval", None)]:
        with pytest.raises(ValueError, match="sample needs"):
            CompactEncoder().encode({**lean, key: junk})


GOOD = wire([lean_sample(synthetic_sample(7, T0, host="db-1"))], 1.0)
GOOD_SCHEMA, GOOD_SAMPLE = GOOD[0], json.loads(GOOD[1])


def schema_with(**changes: Any) -> str:
    return json.dumps({**json.loads(GOOD_SCHEMA), **changes})


@pytest.mark.parametrize(
    "messages",
    [
        ["not json"],
        [json.dumps(GOOD_SAMPLE)],  # a sample before any schema
        [GOOD_SCHEMA, json.dumps(GOOD_SAMPLE[:-1])],  # one value short
        [GOOD_SCHEMA, json.dumps([*GOOD_SAMPLE[:-1], "42"])],  # a string for a number
        [GOOD_SCHEMA, json.dumps([*GOOD_SAMPLE[:-1], True])],
        [GOOD_SCHEMA, json.dumps([*GOOD_SAMPLE[:-1], 500])],  # mem.used_pct out of range
        [GOOD_SCHEMA, json.dumps([0.5, *GOOD_SAMPLE[1:]])],  # a fractional seq offset
        [GOOD_SCHEMA, json.dumps([0, 10**30, *GOOD_SAMPLE[2:]])],
        [GOOD_SCHEMA, json.dumps([0, 0, -(10**15), *GOOD_SAMPLE[3:]])],  # a date before 1970
        [schema_with(compact="iostat.compact.v9"), json.dumps(GOOD_SAMPLE)],
        [schema_with(keys=["seq", "seq"]), "[0,0]"],
        [schema_with(keys=["seq", "cpu.us.deeper"]), "[0,1]"],
        [schema_with(keys=["seq", "host"]), "[0,1]"],  # host is fixed
        [schema_with(base={"seq": -1, "t": 0, "interval": 1}), json.dumps(GOOD_SAMPLE)],
        [schema_with(fixed=[]), json.dumps(GOOD_SAMPLE)],
        [GOOD_SCHEMA, "{}", json.dumps(GOOD_SAMPLE)],  # a bad schema forgets the good one
        [GOOD_SCHEMA, "42"],
    ],
)
def test_each_malformed_message_is_one_error(messages: list[str]) -> None:
    decoder = CompactDecoder()
    *before, last = messages
    for message in before:
        with contextlib.suppress(CompactError):
            decoder.decode(message)
    with pytest.raises(CompactError):
        decoder.decode(last)
    assert issubclass(CompactError, SampleError)  # counted and skipped like any bad sample


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=6) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=30,
)


@st.composite
def hostile(draw: st.DrawFn) -> list[str | bytes]:
    """Messages after a good schema: junk, good samples with one value replaced, odd schemas."""
    kind = draw(st.sampled_from(["text", "json", "sample", "schema"]))
    if kind == "text":
        return [draw(st.text() | st.binary())]
    if kind == "json":
        return [json.dumps(draw(json_values))]
    if kind == "sample":
        values = list(GOOD_SAMPLE)
        values[draw(st.integers(0, len(values) - 1))] = draw(json_values)
        return [json.dumps(values)]
    schema = json.loads(GOOD_SCHEMA)
    schema[draw(st.sampled_from(["keys", "fixed", "base"]))] = draw(json_values)
    return [json.dumps(schema), json.dumps(GOOD_SAMPLE)]


@given(hostile())
@settings(max_examples=500, deadline=None)
def test_hostile_messages_raise_only_the_compact_error(messages: list[str | bytes]) -> None:
    decoder = CompactDecoder()
    decoder.decode(GOOD_SCHEMA)
    for message in messages:
        with contextlib.suppress(CompactError):
            decoder.decode(message)


JS_DECODE = r"""
import { CompactDecoder, CompactError } from %s;
const lines = [];
process.stdin.on("data", (chunk) => lines.push(chunk));
process.stdin.on("end", () => {
  const out = JSON.parse(lines.join("")).map((messages) => {
    const decoder = new CompactDecoder();
    return messages.map((message) => {
      try {
        return decoder.decode(message);
      } catch (err) {
        return err instanceof CompactError ? "CompactError" : `${err.name}: ${err.message}`;
      }
    });
  });
  // ASCII only: the reader splits lines at U+0085 and U+2028 too
  const escape = (c) => "\\u" + c.charCodeAt(0).toString(16).padStart(4, "0");
  console.log(JSON.stringify(out).replace(/[\u007f-\uffff]/g, escape));
});
"""


def js_decode(connections: list[list[str]]) -> list[list[Any]]:
    """What the page's decoder (js/compact.js, under Node) makes of each connection's messages:
    a sample object, ``None`` for a schema, or the name of the error it threw."""
    script = JS_DECODE % json.dumps((JS / "compact.js").as_uri())
    result: list[list[Any]] = run_node(script, stdin=json.dumps(connections))
    return result


@given(st.lists(st.lists(lean_samples().filter(legal), min_size=1, max_size=4), max_size=40))
@settings(max_examples=5, deadline=None)
def test_the_page_decodes_what_the_server_encodes(runs: list[list[dict[str, Any]]]) -> None:
    connections = [wire(samples, 1.0) for samples in runs]
    for messages, samples, got in zip(connections, runs, js_decode(connections), strict=True):
        assert [s for s in got if s is not None] == samples
        assert got.count(None) == sum(isinstance(json.loads(m), dict) for m in messages)


@given(st.lists(hostile(), min_size=1, max_size=60))
@settings(max_examples=5, deadline=None)
def test_the_page_rejects_junk_with_its_compact_error_only(cases: list[list[str | bytes]]) -> None:
    connections = [
        [GOOD_SCHEMA, *(m.decode(errors="replace") if isinstance(m, bytes) else m for m in case)]
        for case in cases
    ]
    for got in js_decode(connections):
        assert got[0] is None
        for outcome in got[1:]:
            assert outcome is None or outcome == "CompactError" or isinstance(outcome, dict)
