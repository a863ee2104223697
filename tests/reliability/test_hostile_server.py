"""Junk at the server's port: refused or ignored, never a crash, a traceback or a stuck slot.

Anything can connect to the port: scanners, broken proxies, fuzzers, clients that speak another
protocol or abuse this one. Each piece of junk must be answered with a 4xx or a close, cost only
its own connection, leave no connection counted, and log no error; meanwhile a well-behaved
client keeps receiving every sample. websockets itself logs malformed handshakes at DEBUG (with
the exception) and every refused or answered request at INFO; only an exception escaping our own
``process_request`` hook (or a handler) reaches ERROR, with a traceback: these tests fail on any
record at ERROR, so a crash in our code on hostile input shows up as one.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
import socket
import struct
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest

from iostat_widget.server import Server
from iostat_widget.sources.synthetic import SyntheticSampler

from .support import (
    client_frame,
    consecutive,
    handshake_request,
    healthz,
    raise_open_files_limit,
    raw_websocket,
    receive_seqs,
    reset,
    ws_connect,
)

pytestmark = pytest.mark.timeout(120)

INTERVAL = 0.05
TOKEN = "correct-horse-battery"


@pytest.fixture
async def server(caplog: pytest.LogCaptureFixture) -> AsyncIterator[Server]:
    caplog.set_level(logging.INFO)
    sampler = SyntheticSampler(interval=INTERVAL)
    async with Server("127.0.0.1", 0, interval=INTERVAL, sampler=sampler, linger=0.2) as running:
        yield running


def no_errors_logged(caplog: pytest.LogCaptureFixture) -> None:
    bad = [
        r
        for r in caplog.records
        if r.levelno >= logging.ERROR or (r.exc_info and r.levelno >= logging.WARNING)
    ]
    assert not bad, (
        "\n".join(f"{r.levelname} {r.name}: {r.getMessage()}" for r in bad)
        + "\n"
        + (caplog.text[-4000:])
    )


async def still_serving(server: Server) -> None:
    """A normal client gets consecutive samples; the health check answers; no one is counted."""
    async with ws_connect(server.url) as ws:
        seqs = await receive_seqs(ws, 10)
    assert consecutive(seqs)
    assert (await healthz(server.port))["status"] == "ok"
    async with asyncio.timeout(10):
        while server.fanout.connections or server.long_poll.waiting:
            await asyncio.sleep(0.01)


async def exchange(port: int, data: bytes, *, half_close: bool = True) -> bytes:
    """Send ``data`` on a fresh connection; everything the server answers until it closes."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(data)
        if half_close:
            writer.write_eof()
        received = b""
        async with asyncio.timeout(15):
            while chunk := await reader.read(65536):
                received += chunk
                if received.startswith(b"HTTP/1.1 101 ") and b"\r\n\r\n" in received:
                    break  # accepted: a stream that would go on; the close is ours
        return received
    except ConnectionResetError:
        return b""
    finally:
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()


def status_of(response: bytes) -> int | None:
    if not response.startswith(b"HTTP/1."):
        return None
    return int(response.split(b" ", 2)[1])


def server_frames(data: bytes) -> list[tuple[int, bytes]]:
    """Split what a server sent into (opcode, payload) frames (server frames are unmasked)."""
    frames = []
    while len(data) >= 2:
        opcode, length = data[0] & 0x0F, data[1] & 0x7F
        offset = 2
        if length == 126:
            (length,) = struct.unpack("!H", data[2:4])
            offset = 4
        elif length == 127:
            (length,) = struct.unpack("!Q", data[2:10])
            offset = 10
        if len(data) < offset + length:
            break
        frames.append((opcode, data[offset : offset + length]))
        data = data[offset + length :]
    return frames


def close_code(frames: list[tuple[int, bytes]]) -> int | None:
    for opcode, payload in frames:
        if opcode == 0x8 and len(payload) >= 2:
            return int(struct.unpack("!H", payload[:2])[0])
    return None


# -- junk handshakes and requests ----------------------------------------------------------------
@dataclass(frozen=True)
class Junk:
    data: bytes
    allowed: frozenset[int | None]  # acceptable answers: a status, or None for a bare close
    # Incomplete junk is followed by the end of the client's stream (else the server would wait
    # for the rest until its open timeout); a complete request is answered on an open stream.
    complete: bool = True


def ws_request(target: str = "/iostat", extra: str = "", *, drop: str = "") -> bytes:
    text = handshake_request(0, target, extra).decode("latin-1")
    if drop:
        text = "".join(line for line in text.splitlines(keepends=True) if not line.startswith(drop))
    return text.encode("latin-1")


REFUSED = frozenset({None, 400, 403, 404, 405, 414, 426, 431, 505})
HANDSHAKES: dict[str, Junk] = {
    "random-bytes": Junk(random.Random(7).randbytes(2048), REFUSED, complete=False),
    "tls-client-hello": Junk(
        b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + bytes(64), REFUSED, complete=False
    ),
    "nul-bytes": Junk(b"\x00" * 512, REFUSED, complete=False),
    "truncated-request-line": Junk(b"GET /iostat HT", REFUSED, complete=False),
    "truncated-headers": Junk(
        b"GET /iostat HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgr", REFUSED, complete=False
    ),
    "huge-header": Junk(ws_request(extra="X-Big: " + "a" * 100_000 + "\r\n"), REFUSED),
    "many-headers": Junk(ws_request(extra="".join(f"X-{i}: {i}\r\n" for i in range(500))), REFUSED),
    "huge-request-line": Junk(ws_request("/iostat?" + "q" * 100_000), REFUSED),
    "wrong-upgrade": Junk(ws_request().replace(b"Upgrade: websocket", b"Upgrade: h2c"), REFUSED),
    "no-upgrade": Junk(ws_request(drop="Upgrade:"), REFUSED),
    "no-key": Junk(ws_request(drop="Sec-WebSocket-Key"), REFUSED),
    "bad-key": Junk(
        ws_request(drop="Sec-WebSocket-Key", extra="Sec-WebSocket-Key: !!\r\n"), REFUSED
    ),
    "two-keys": Junk(ws_request(extra="Sec-WebSocket-Key: AAAAAAAAAAAAAAAAAAAAAA==\r\n"), REFUSED),
    "version-8": Junk(
        ws_request(drop="Sec-WebSocket-Version", extra="Sec-WebSocket-Version: 8\r\n"), REFUSED
    ),
    "http-1.0-handshake": Junk(ws_request().replace(b"HTTP/1.1", b"HTTP/1.0", 1), REFUSED),
    "http-1.0-health": Junk(b"GET /healthz HTTP/1.0\r\n\r\n", REFUSED | {200}),
    "http-2-preface": Junk(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", REFUSED, complete=False),
    "post": Junk(ws_request().replace(b"GET ", b"POST ", 1), REFUSED),
    "unknown-path-handshake": Junk(ws_request("/etc/passwd"), frozenset({404})),
    "dot-dot-path": Junk(ws_request("/../../iostat/../healthz"), REFUSED),
    "absolute-form-target": Junk(ws_request("http://127.0.0.1/iostat"), REFUSED | {101}),
    "non-ascii-target": Junk(ws_request("/iost\xe4t\xff"), REFUSED),
    "header-without-colon": Junk(ws_request(extra="this is not a header\r\n"), REFUSED),
    "bad-origin": Junk(ws_request(extra="Origin: javascript:alert(1)\r\n"), frozenset({403})),
    "unparsable-origin": Junk(ws_request(extra="Origin: http://[\r\n"), frozenset({403})),
    "unparsable-target": Junk(ws_request("//[/iostat"), REFUSED),
    "poll-not-a-number": Junk(b"GET /poll?after=abc HTTP/1.1\r\nHost: x\r\n\r\n", frozenset({400})),
    "poll-infinite": Junk(
        b"GET /poll?after=1e400&timeout=nan HTTP/1.1\r\nHost: x\r\n\r\n", frozenset({400})
    ),
    "poll-huge-after": Junk(
        b"GET /poll?after=1e300&timeout=0 HTTP/1.1\r\nHost: x\r\n\r\n", frozenset({204})
    ),
}


@pytest.mark.parametrize("name", sorted(HANDSHAKES))
async def test_junk_request_is_refused_and_the_server_goes_on(
    server: Server, caplog: pytest.LogCaptureFixture, name: str
) -> None:
    async with ws_connect(server.url) as watcher:
        await receive_seqs(watcher, 2)
        junk = HANDSHAKES[name]
        response = await exchange(server.port, junk.data, half_close=not junk.complete)
        seqs = await receive_seqs(watcher, 10)
    assert consecutive(seqs)
    assert status_of(response) in junk.allowed, response[:300]
    await still_serving(server)
    no_errors_logged(caplog)


async def test_junk_token_and_authorization_on_a_guarded_server(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    sampler = SyntheticSampler(interval=INTERVAL)
    async with Server("127.0.0.1", 0, interval=INTERVAL, sampler=sampler, token=TOKEN) as server:
        attempts = [
            ws_request("/iostat?token=%ZZ%"),
            ws_request("/iostat?token=" + "\u00e9" * 10),
            ws_request("/iostat?token=a&token=b&token=" + "t" * 5000),
            ws_request(extra="Authorization: Bearer \xff\xfe\x00\r\n"),
            ws_request(extra="Authorization: Basic Zm9vOmJhcg==\r\n"),
            ws_request(extra="Authorization: Bearer\r\n"),
            b"GET /poll?token=%00 HTTP/1.1\r\nHost: x\r\n\r\n",
        ]
        for data in attempts:
            response = await exchange(server.port, data, half_close=False)
            assert status_of(response) in {None, 400, 401}, response[:300]
        assert server.router.denied >= 5
        assert TOKEN not in caplog.text
        async with ws_connect(server.url) as ws:
            assert consecutive(await receive_seqs(ws, 5))
    no_errors_logged(caplog)


# -- frames the server does not expect ----------------------------------------------------------
FRAME_ATTACKS: dict[str, tuple[bytes, int]] = {  # what to send, the close code to expect
    "text-over-4-KiB": (client_frame(0x1, b"x" * 4097), 1009),
    "binary-over-4-KiB": (client_frame(0x2, bytes(10_000)), 1009),
    "length-of-2-to-the-62": (bytes([0x82, 0xFF]) + struct.pack("!Q", 1 << 62) + bytes(4), 1009),
    "fragments-adding-up-over-4-KiB": (
        client_frame(0x1, b"a" * 3000, fin=False) + client_frame(0x0, b"b" * 3000),
        1009,
    ),
    "unmasked-frame": (client_frame(0x1, b"hello", masked=False), 1002),
    "reserved-opcode": (client_frame(0x3, b"?"), 1002),
    "invalid-utf8-text": (client_frame(0x1, b"\xff\xfe\xfd"), 1007),
    "continuation-without-start": (client_frame(0x0, b"orphan"), 1002),
    "fragmented-ping": (client_frame(0x9, b"p", fin=False), 1002),
    "ping-over-125-bytes": (client_frame(0x9, b"p" * 126), 1002),
    "close-with-invalid-code": (client_frame(0x8, struct.pack("!H", 999)), 1002),
}


@pytest.mark.parametrize("name", sorted(FRAME_ATTACKS))
async def test_bad_frame_closes_only_its_sender(
    server: Server, caplog: pytest.LogCaptureFixture, name: str
) -> None:
    data, expected = FRAME_ATTACKS[name]
    loop = asyncio.get_running_loop()
    async with ws_connect(server.url) as watcher:
        await receive_seqs(watcher, 2)
        sock = await raw_websocket(server.port)
        try:
            await loop.sock_sendall(sock, data)
            received = b""
            async with asyncio.timeout(15):
                while chunk := await loop.sock_recv(sock, 65536):
                    received += chunk
        finally:
            sock.close()
        seqs = await receive_seqs(watcher, 10)
    assert close_code(server_frames(received)) == expected
    assert consecutive(seqs)
    await still_serving(server)
    no_errors_logged(caplog)


async def test_oversized_message_from_a_websockets_client_gets_1009(
    server: Server, caplog: pytest.LogCaptureFixture
) -> None:
    async with ws_connect(server.url) as watcher, ws_connect(server.url) as offender:
        await receive_seqs(watcher, 2)
        await offender.send("x" * 4097)
        async with asyncio.timeout(10):
            await offender.wait_closed()
        assert offender.close_code == 1009
        assert consecutive(await receive_seqs(watcher, 10))
    await still_serving(server)
    no_errors_logged(caplog)


async def test_unexpected_messages_and_answered_pings_are_ignored(
    server: Server, caplog: pytest.LogCaptureFixture
) -> None:
    async with ws_connect(server.url) as watcher, ws_connect(server.url) as chatty:
        await receive_seqs(watcher, 2)
        for number in range(500):
            await chatty.send(f"message {number}")
            await chatty.send(bytes([number % 256]) * 100)
        pongs = [await chatty.ping(str(n)) for n in range(2000)]
        async with asyncio.timeout(20):
            await asyncio.gather(*pongs)
        assert consecutive(await receive_seqs(watcher, 10))
        samples = [json.loads(await chatty.recv()) for _ in range(5)]  # still served itself
        assert all("seq" in s for s in samples)
    async with asyncio.timeout(5):
        while server.fanout.ignored < 1000:
            await asyncio.sleep(0.01)
    assert server.fanout.ignored == 1000
    await still_serving(server)
    no_errors_logged(caplog)


PONG_BOUND = 1 << 20  # a non-reading client may cost 16 KiB of samples; pongs get 64 times that


async def test_ping_flood_from_a_client_that_never_reads_is_bounded(
    server: Server, caplog: pytest.LogCaptureFixture
) -> None:
    """Every ping gets a pong queued; a flooder that never reads them must not grow the server.

    The server skips samples for a client whose buffer is over 16 KiB, but pongs are written by
    websockets for every ping received, whatever is already queued.
    """
    loop = asyncio.get_running_loop()
    async with ws_connect(server.url) as watcher:
        await receive_seqs(watcher, 2)
        sock = await raw_websocket(server.port, rcvbuf=4096)
        port = sock.getsockname()[1]
        async with asyncio.timeout(10):  # it joins the live set once its history is sent
            while not (
                mine := [c for c in server.fanout.connections if c.remote_address[1] == port]
            ):
                await asyncio.sleep(0.01)
        (flooder,) = mine
        burst = client_frame(0x9, b"p" * 125) * 1000  # 131 KB of pings
        largest = 0
        try:
            for _ in range(128):  # 16 MiB of pings, or until the server cuts the flooder off
                try:
                    await loop.sock_sendall(sock, burst)
                except (BrokenPipeError, ConnectionResetError):
                    break
                transport = flooder.transport
                largest = max(largest, transport.get_write_buffer_size())
                await asyncio.sleep(0)
            seqs = await receive_seqs(watcher, 10)
        finally:
            reset(sock)
    assert consecutive(seqs)
    await still_serving(server)
    no_errors_logged(caplog)
    assert largest <= PONG_BOUND, f"{largest / 2**20:.1f} MiB of pongs queued for one client"


# -- churn --------------------------------------------------------------------------------------
CYCLES = 3000


async def one_cycle(port: int, url: str, kind: int) -> None:
    loop = asyncio.get_running_loop()
    if kind == 0:  # a full, polite WebSocket session
        async with ws_connect(url) as ws:
            await ws.recv()
    elif kind == 1:  # through the handshake, then gone with an RST
        reset(await raw_websocket(port))
    elif kind == 2:  # TCP only, not a byte
        sock = socket.socket()
        sock.setblocking(False)
        await loop.sock_connect(sock, ("127.0.0.1", port))
        sock.close()
    elif kind == 3:  # half a handshake, then gone
        sock = socket.socket()
        sock.setblocking(False)
        await loop.sock_connect(sock, ("127.0.0.1", port))
        await loop.sock_sendall(sock, handshake_request(port)[:40])
        reset(sock)
    else:  # through the handshake, then a FIN without a closing handshake
        sock = await raw_websocket(port)
        sock.close()


async def test_three_thousand_connect_disconnect_cycles(
    server: Server, caplog: pytest.LogCaptureFixture
) -> None:
    raise_open_files_limit()
    gate = asyncio.Semaphore(25)

    async def cycle(number: int) -> None:
        async with gate:
            await one_cycle(server.port, server.url, number % 5)

    started = time.monotonic()
    async with ws_connect(server.url) as watcher:
        first = await receive_seqs(watcher, 1)
        await asyncio.gather(*(cycle(n) for n in range(CYCLES)))
        churn_seconds = time.monotonic() - started
        # Everything the watcher got during the churn, then ten more: one unbroken run.
        seqs = first + await receive_seqs(watcher, server.hub.seq - first[0] + 10)
    assert consecutive(seqs)
    await still_serving(server)
    assert server.hub.clients == 0
    no_errors_logged(caplog)
    print(f"{CYCLES} cycles in {churn_seconds:.1f} s")


# -- with the server's loop busy: a slow-loris handshake does not hold up others -----------------
async def test_slow_handshakes_do_not_block_others(
    server: Server, caplog: pytest.LogCaptureFixture
) -> None:
    loop = asyncio.get_running_loop()
    slow = []
    for _ in range(50):  # headers trickling in, never finished
        sock = socket.socket()
        sock.setblocking(False)
        await loop.sock_connect(sock, ("127.0.0.1", server.port))
        await loop.sock_sendall(sock, b"GET /iostat HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        slow.append(sock)
    try:
        await still_serving(server)
        for sock in slow:
            with contextlib.suppress(OSError):
                await loop.sock_sendall(sock, b"X-Slow: 1\r\n")
        await still_serving(server)
    finally:
        for sock in slow:
            sock.close()
    no_errors_logged(caplog)


async def test_closing_the_server_says_going_away_to_everyone(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    sampler = SyntheticSampler(interval=INTERVAL)
    server = await Server("127.0.0.1", 0, interval=INTERVAL, sampler=sampler)
    clients = [await ws_connect(server.url) for _ in range(5)]
    await asyncio.gather(*(receive_seqs(ws, 2) for ws in clients))
    await server.aclose()
    for ws in clients:
        async with asyncio.timeout(10):
            await ws.wait_closed()
        assert ws.close_code == 1001
    assert not server.fanout.connections and not server.hub.sampling
    no_errors_logged(caplog)
