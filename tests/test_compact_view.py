"""Compact messages read back value by value: what each value of the array says."""

from __future__ import annotations

import json
from typing import Any

import pytest
from websockets.frames import Frame, Opcode

from iostat_widget.compact import CompactEncoder, CompactError
from iostat_widget.course import explain_compact, sort_messages, split_frames
from iostat_widget.schema import lean_sample
from iostat_widget.sources.synthetic import synthetic_sample

T0 = 1_764_130_513.25


def messages(count: int, *, gpus: int = 0) -> tuple[str, list[str], list[dict[str, Any]]]:
    """The schema text, ``count`` sample texts and the lean samples they encode."""
    encoder = CompactEncoder(0.5)
    leans = [
        lean_sample(synthetic_sample(seq, T0 + 0.5 * n, interval=0.5, gpus=gpus))
        for n, seq in enumerate(range(1200, 1200 + count))
    ]
    encoded = [encoder.encode(lean) for lean in leans]
    assert len({id(schema) for schema, _ in encoded}) == 1  # one schema for them all
    return encoded[0][0].text, [text for _, text in encoded], leans


def at(sample: dict[str, Any], key: str) -> Any:
    place: Any = sample
    for part in key.split("."):
        place = place[int(part)] if isinstance(place, list) else place[part]
    return place


def test_each_value_lines_up_with_its_key_and_the_sample_a_json_viewer_gets() -> None:
    schema, texts, leans = messages(4, gpus=1)
    rows = explain_compact(schema, texts[-1])
    keys = json.loads(schema)["keys"]
    sent = json.loads(texts[-1])
    positional = rows[: len(keys)]
    assert [row["key"] for row in positional] == keys
    assert [json.loads(row["on the wire"]) for row in positional] == sent
    for row in positional:
        assert json.loads(row["in the sample"]) == at(leans[-1], row["key"]), row
    assert positional[0]["how"] == f"base.seq 1200 + {sent[0]}"
    assert positional[1]["how"].startswith(f"base.t + {sent[0]} * 0.5 s")
    assert positional[2]["how"] == f"t - {sent[2]} ms, written as ISO-8601"
    fixed = {row["key"]: row for row in rows[len(keys) :]}
    assert set(fixed) == {"host", "scope", "gpu.0.index"}  # lean: no GPU name
    assert all(row["on the wire"] == "—" for row in fixed.values())
    assert json.loads(fixed["host"]["in the sample"]) == leans[-1]["host"]


def test_a_date_that_is_no_plain_millisecond_travels_whole() -> None:
    lean = lean_sample(synthetic_sample(7, T0, interval=0.5))
    lean["date"] = "2025-11-26T04:15:13Z"
    schema, text = CompactEncoder(0.5).encode(lean)
    (date,) = [row for row in explain_compact(schema.text, text) if row["key"] == "date"]
    assert date["how"] == "sent whole" and json.loads(date["on the wire"]) == lean["date"]


def test_messages_in_the_wrong_place_raise() -> None:
    schema, texts, _ = messages(2)
    with pytest.raises(CompactError, match="no schema"):
        explain_compact(texts[0], texts[1])
    with pytest.raises(CompactError, match="expected a sample"):
        explain_compact(schema, schema)
    with pytest.raises(CompactError, match="values for"):
        explain_compact(schema, "[1, 2]")


def test_sort_messages_keeps_schemas_apart_from_samples() -> None:
    schema, texts, leans = messages(2)
    plain = json.dumps(leans[0])

    def frame(payload: str | bytes, opcode: Opcode = Opcode.TEXT) -> bytes:
        data = payload.encode() if isinstance(payload, str) else payload
        return Frame(opcode, data).serialize(mask=False)

    data = b"".join(
        [frame(schema), *map(frame, texts), frame(plain), frame(b"\x03\xe8", Opcode.CLOSE)]
    )
    schemas, samples = sort_messages(split_frames(data, from_client=False))
    assert [raw[info.header :].decode() for info, raw in schemas] == [schema]
    assert [raw[info.header :].decode() for info, raw in samples] == [*texts, plain]
    masked = Frame(Opcode.TEXT, schema.encode()).serialize(mask=True)
    assert sort_messages(split_frames(masked, from_client=True)) == ([], [])
