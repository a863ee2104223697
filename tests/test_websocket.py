"""The WebSocket stream on loopback with real websockets clients."""

from __future__ import annotations

import asyncio
import json
import socket
from typing import Any

from websockets.asyncio.client import ClientConnection
from websockets.asyncio.client import connect as ws_connect
from websockets.typing import Subprotocol

from iostat_widget.compact import PROTOCOL, CompactDecoder
from iostat_widget.schema import decode_sample
from iostat_widget.server import Server
from iostat_widget.sources.synthetic import SyntheticSampler

from .conftest import FAST


def connect(url: str, **options: Any) -> Any:
    """A test client that buffers without limit, so stopping reading never delays its close."""
    return ws_connect(url, max_queue=None, close_timeout=2, **options)


async def receive(ws: ClientConnection, count: int, limit: float = 10.0) -> list[dict[str, Any]]:
    async with asyncio.timeout(limit):
        return [json.loads(await ws.recv()) for _ in range(count)]


async def test_new_client_gets_history_then_live_consecutive_samples(server: Server) -> None:
    async with connect(server.url) as first:
        await receive(first, 10)  # let history build up
        async with connect(server.url) as second:
            got = await receive(second, 25)
    seqs = [s["seq"] for s in got]
    assert seqs == list(range(seqs[0], seqs[0] + 25))
    assert seqs[0] == 0  # history starts at the oldest kept sample
    assert all(decode_sample(json.dumps(s)) for s in got)


async def test_history_is_capped_at_the_ring_size() -> None:
    fast = Server("127.0.0.1", 0, interval=0.005, history=60, sampler=SyntheticSampler())
    async with fast as server, connect(server.url) as ws:
        await receive(ws, 80)
        async with connect(server.url) as late:
            history = await receive(late, 60)
        seqs = [s["seq"] for s in history]
        assert seqs[0] >= 80 - 60  # only the last 60 are kept for newcomers
        assert seqs == list(range(seqs[0], seqs[0] + 60))


async def test_fifty_clients_receive_the_same_numbers(server: Server) -> None:
    clients = [await connect(server.url) for _ in range(50)]
    try:
        streams = await asyncio.gather(*(receive(ws, 30) for ws in clients))
    finally:
        await asyncio.gather(*(ws.close() for ws in clients))
    last_seqs = []
    for got in streams:
        seqs = [s["seq"] for s in got]
        assert seqs == list(range(seqs[0], seqs[0] + 30))
        last_seqs.append(seqs[-1])
    assert server.hub.sampler.calls == server.hub.seq + 1  # type: ignore[attr-defined]


async def test_client_leaving_mid_stream_does_not_disturb_others(server: Server) -> None:
    async with connect(server.url) as steady:
        await receive(steady, 3)
        for _ in range(10):
            quitter = await connect(server.url)
            await receive(quitter, 2)
            quitter.transport.abort()  # vanish without a closing handshake
        got = await receive(steady, 20)
    seqs = [s["seq"] for s in got]
    assert seqs == list(range(seqs[0], seqs[0] + 20))
    await asyncio.sleep(FAST * 4)
    assert len(server.fanout.connections) == 0


async def test_stalled_client_is_skipped_not_waited_for() -> None:
    # A reader that never reads, with small kernel buffers on both ends so it backs up quickly.
    async with Server("127.0.0.1", 0, interval=0.002, history=5) as server:
        server.fanout.skip_above = 2048
        raw = socket.socket()
        raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1024)
        raw.connect(("127.0.0.1", server.port))
        stalled = await ws_connect(server.url, sock=raw, max_queue=1)
        stalled.transport.pause_reading()
        (stalled_conn,) = server.fanout.connections
        stalled_conn.transport.get_extra_info("socket").setsockopt(
            socket.SOL_SOCKET, socket.SO_SNDBUF, 4096
        )
        try:
            async with connect(server.url) as healthy:
                got = await receive(healthy, 300)
            seqs = [s["seq"] for s in got]
            assert seqs == list(range(seqs[0], seqs[0] + 300))
            assert server.fanout.skipped > 0
            assert stalled_conn.transport.get_write_buffer_size() <= 2048 + 1024
        finally:
            stalled.transport.abort()


async def test_messages_from_clients_are_ignored_and_counted(server: Server) -> None:
    async with connect(server.url) as ws:
        await ws.send("hello?")
        await ws.send(b"\x00\x01")
        got = await receive(ws, 5)
    assert len(got) == 5
    await asyncio.sleep(FAST)
    assert server.fanout.ignored == 2


async def test_sampler_sleeps_when_nobody_watches(server: Server) -> None:
    await asyncio.sleep(FAST * 3)
    assert server.hub.seq == -1 and not server.hub.sampling
    async with connect(server.url) as ws:
        await receive(ws, 2)
        assert server.hub.sampling
    async with asyncio.timeout(5):
        while server.hub.sampling:
            await asyncio.sleep(0.02)


async def lean_and_full(sampler: SyntheticSampler, count: int) -> tuple[list[Any], list[Any]]:
    """``count`` samples from a plain and from a ``?detail=1`` subscriber of one server."""
    server = Server("127.0.0.1", 0, interval=FAST, sampler=sampler)
    await server.start()
    try:
        async with connect(server.url) as plain, connect(server.url + "?detail=1") as detailed:
            return await receive(plain, count), await receive(detailed, count)
    finally:
        await server.aclose()


async def test_detail_stream_adds_devices_plain_stays_lean() -> None:
    lean, full = await lean_and_full(SyntheticSampler(detail=True), 3)
    assert all("disks" not in s and "nics" not in s for s in lean)
    for sample in full:
        assert set(sample["disks"]) == {"sda", "sdb"} and set(sample["nics"]) == {"eth0"}
        assert decode_sample(json.dumps(sample))["disks"]["sdb"]["write_bps"] == 4096
    assert {s["seq"] for s in lean} & {s["seq"] for s in full}  # the same samples, two shapes


async def test_lean_stream_leaves_detail_only_figures_to_the_detail_stream() -> None:
    (lean,), (full,) = await lean_and_full(SyntheticSampler(), 1)
    assert "irq" not in lean["cpu"] and "avail_bytes" not in lean["mem"]
    assert "read_iops" not in lean["disk"] and lean["scope"] == "host"
    assert full["cpu"]["irq"] == 0.5 and full["mem"]["avail_bytes"] == 8 * 2**30
    assert full["disk"]["write_iops"] == 1


async def compact_messages(url: str, count: int, limit: float = 10.0) -> tuple[list[Any], Any]:
    """The first ``count`` samples a client offering the compact form gets, decoded, and every
    message as it came (parsed JSON: schema objects and value arrays)."""
    decoder, samples, raw = CompactDecoder(), [], []
    async with connect(url, subprotocols=[Subprotocol(PROTOCOL)]) as ws:
        assert ws.subprotocol == PROTOCOL
        async with asyncio.timeout(limit):
            while len(samples) < count:
                message = await ws.recv()
                raw.append(json.loads(message))
                sample = decoder.decode(message)
                if sample is not None:
                    samples.append(sample)
    return samples, raw


async def test_compact_viewers_get_a_schema_then_short_arrays_json_viewers_objects(
    server: Server,
) -> None:
    async with connect(server.url) as plain:
        assert plain.subprotocol is None  # a client that offers nothing: JSON objects, as ever
        objects = await receive(plain, 12)
        samples, raw = await compact_messages(server.url, 10)
    assert isinstance(raw[0], dict) and raw[0]["compact"] == PROTOCOL
    assert isinstance(raw[1], list) and len(raw[1]) == len(raw[0]["keys"])
    by_seq = {s["seq"]: decode_sample(json.dumps(s)) for s in objects}
    shared = [s for s in samples if s["seq"] in by_seq]
    assert shared and all(by_seq[s["seq"]] == s for s in shared)
    seqs = [s["seq"] for s in samples]
    assert seqs == list(range(seqs[0], seqs[0] + 10))


async def test_a_schema_change_comes_before_the_sample_it_fits_live_and_in_history() -> None:
    sampler = SyntheticSampler(interval=FAST)
    server = Server("127.0.0.1", 0, interval=FAST, sampler=sampler)
    async with server, connect(server.url, subprotocols=[Subprotocol(PROTOCOL)]) as live:
        await live.recv()  # the schema
        await live.recv()  # a first sample
        sampler.gpus = 2  # the next samples carry GPUs: new keys, a new schema
        samples, raw = await compact_messages(server.url, 5 + server.hub.seq)
        async with asyncio.timeout(10):
            later = [json.loads(await live.recv()) for _ in range(8)]
    # The newcomer's history spans the change: a schema first, another where the GPUs appear
    # (and one more only if the loaded machine paused the sampler for a second: a new base).
    schemas = [message for message in raw if isinstance(message, dict)]
    assert isinstance(raw[0], dict) and "gpu.1.util_pct" not in raw[0]["keys"]
    assert len(schemas) >= 2 and "gpu.1.util_pct" in schemas[-1]["keys"]
    assert [len(s.get("gpu", [])) for s in samples][-3:] == [2, 2, 2]
    live_schemas = [m for m in later if isinstance(m, dict)]
    assert all("gpu.1.util_pct" in m["keys"] for m in live_schemas)


async def test_detail_top_and_a_server_without_compact_send_json_to_a_compact_client() -> None:
    old = Server("127.0.0.1", 0, interval=FAST, compact=False)
    async with old, connect(old.url, subprotocols=[Subprotocol(PROTOCOL)]) as ws:
        assert ws.subprotocol is None and "seq" in (await receive(ws, 1))[0]
    async with Server("127.0.0.1", 0, interval=FAST, sampler=SyntheticSampler()) as server:
        for query in ("?detail=1", "?top=3"):
            async with connect(server.url + query, subprotocols=[Subprotocol(PROTOCOL)]) as ws:
                assert ws.subprotocol is None and "seq" in (await receive(ws, 1))[0]


async def test_json_is_encoded_only_for_a_form_someone_reads(server: Server) -> None:
    await compact_messages(server.url, 3)
    assert server.hub.newest is not None and server.hub.newest.formats == ("compact",)
    async with connect(server.url + "?detail=1") as detailed:
        await receive(detailed, 3)
        newest = server.hub.newest
    assert newest is not None and newest.formats == ("compact", "detail")
