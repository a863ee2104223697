"""The fan-out swarm's viewers read what the servers send: JSON objects, and compact samples
read off the schema's base exactly as the package's decoder reads them."""

from __future__ import annotations

import asyncio

from benchmarks.swarm import Viewer
from iostat_widget.compact import CompactDecoder, CompactEncoder
from iostat_widget.schema import encode_sample, lean_sample
from iostat_widget.sources.synthetic import synthetic_sample


def messages(count: int, pause_at: int) -> list[str]:
    """A server's compact stream over ``count`` ticks, with a pause (a new base) mid-way."""
    encoder = CompactEncoder(1.0)
    sent: list[str] = []
    schema_text = ""
    for seq in range(count):
        t = 1_764_000_000.25 + seq + (30.0 if seq >= pause_at else 0.0)
        schema, text = encoder.encode(lean_sample(synthetic_sample(1000 + seq, t)))
        if schema.text != schema_text:
            schema_text = schema.text
            sent.append(schema.text)
        sent.append(text)
    return sent


def test_compact_viewers_read_seq_and_t_as_the_decoder_does() -> None:
    async def read() -> Viewer:
        viewer = Viewer(compact=True)
        for message in messages(40, pause_at=25):
            viewer.record(message, 0.0)
        return viewer

    viewer = asyncio.run(read())
    decoder = CompactDecoder()
    decoded = [s for m in messages(40, pause_at=25) if (s := decoder.decode(m)) is not None]
    assert list(viewer.seqs) == [s["seq"] for s in decoded] == list(range(1000, 1040))
    assert [round(t, 3) for t in viewer.times] == [round(s["t"], 3) for s in decoded]


def test_json_viewers_read_objects() -> None:
    async def read() -> Viewer:
        viewer = Viewer()
        viewer.record(encode_sample(lean_sample(synthetic_sample(7, 1_764_000_000.5))), 1.0)
        return viewer

    viewer = asyncio.run(read())
    assert list(viewer.seqs) == [7] and list(viewer.times) == [1_764_000_000.5]
