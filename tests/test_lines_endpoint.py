"""``/lines``: a command's (or a file's) lines over WebSocket, on loopback, with real children."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import re
import shlex
import signal
import socket
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import psutil
import pytest
from websockets.asyncio.client import ClientConnection
from websockets.asyncio.client import connect as ws_connect
from websockets.asyncio.server import ServerConnection
from websockets.asyncio.server import serve as ws_serve
from websockets.exceptions import InvalidStatus

from iostat_widget.cli import build_parser
from iostat_widget.cli.sources import build_sources
from iostat_widget.clients.lines import LineStream, line_stream
from iostat_widget.line_schema import MAX_LINE_BYTES, LineMessage, decode_line, encode_line
from iostat_widget.server import Server
from iostat_widget.sources.line_feed import CommandLines, FileLines
from iostat_widget.sources.synthetic import SyntheticSampler

from .helpers import gone, until

PY = sys.executable


def python(code: str) -> list[str]:
    return [PY, "-c", code]


def numbered(count: int, delay: float = 0.0, then: str = "time.sleep(3600)") -> list[str]:
    """A command printing ``line 0`` … ``line count-1``, then hanging (or ``then``)."""
    return python(
        "import sys, time\n"
        f"for i in range({count}):\n"
        "    print(f'line {i}', flush=True)\n"
        f"    time.sleep({delay})\n"
        f"{then}\n"
    )


def connect(url: str, **options: Any) -> Any:
    return ws_connect(url, max_queue=None, close_timeout=2, **options)


async def receive(ws: ClientConnection, count: int, limit: float = 10.0) -> list[dict[str, Any]]:
    async with asyncio.timeout(limit):
        return [json.loads(await ws.recv()) for _ in range(count)]


def live_children(pid: int | None = None) -> list[psutil.Process]:
    process = psutil.Process(pid) if pid is not None else psutil.Process()
    return [child for child in process.children(recursive=True) if not gone(child.pid)]


def line_server(source: Any, **options: Any) -> Server:
    return Server(
        "127.0.0.1", 0, interval=0.05, sampler=SyntheticSampler(), line_source=source, **options
    )


async def test_a_client_receives_the_lines_in_order() -> None:
    source = CommandLines(numbered(300, 0.002))
    async with line_server(source) as server, connect(server.line_url) as ws:
        got = []
        async with asyncio.timeout(15):
            while not got or got[-1]["line"] != "line 299":
                got.append(decode_line(await ws.recv()))
    seqs = [message["seq"] for message in got]
    numbers = [int(message["line"].split()[1]) for message in got]
    assert seqs == list(range(seqs[0], seqs[0] + len(got)))
    assert numbers == list(range(numbers[0], 300))
    assert all(message["t"] > 0 and "truncated" not in message for message in got)


async def test_a_newcomer_gets_the_recent_history_first() -> None:
    source = CommandLines(numbered(50))
    async with line_server(source, line_history=20) as server:
        assert server.lines is not None
        lines = server.lines
        await until(lambda: lines.hub.seq == 49)
        async with connect(server.line_url) as ws:
            history = await receive(ws, 20)
            with pytest.raises(TimeoutError):  # nothing more: the command printed 50 lines
                await asyncio.wait_for(ws.recv(), 0.3)
    assert [m["line"] for m in history] == [f"line {i}" for i in range(30, 50)]
    assert [m["seq"] for m in history] == list(range(30, 50))


async def test_a_long_line_is_cut_and_flagged() -> None:
    source = CommandLines(python("print('é' * 5000 + 'x', flush=True); print('ok', flush=True)"))
    async with line_server(source) as server, connect(server.line_url) as ws:
        long, short = await receive(ws, 2)
    assert long["truncated"] is True and long["line"] == "é" * (MAX_LINE_BYTES // 2)
    assert short == {"seq": 1, "t": short["t"], "line": "ok"}


async def handshake(port: int, path: str) -> socket.socket:
    """A raw client through the opening handshake, with a tiny receive buffer, never reading."""
    loop = asyncio.get_running_loop()
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.setblocking(False)
    key = base64.b64encode(os.urandom(16)).decode()
    request = (
        f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
        f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
    )
    await loop.sock_connect(sock, ("127.0.0.1", port))
    await loop.sock_sendall(sock, request.encode())
    head = b""
    while b"\r\n\r\n" not in head:
        head += await loop.sock_recv(sock, 1)  # byte by byte: leave every frame unread
    assert head.startswith(b"HTTP/1.1 101 "), head
    return sock


async def test_a_stalled_client_is_skipped_at_a_bounded_buffer() -> None:
    flood = python(
        "import itertools, sys, time\n"
        "for i in itertools.count():\n"
        "    print(f'{i:08d} ' + 'x' * 200, flush=True)\n"
        "    if i % 50 == 0: time.sleep(0.001)\n"
    )
    async with line_server(CommandLines(flood)) as server:
        assert server.lines is not None
        lines = server.lines
        stalled = await handshake(server.port, "/lines")
        try:
            async with connect(server.line_url) as healthy:
                await until(lambda: len(lines.connections) == 2)
                peak = 0
                received: list[int] = []
                deadline = time.monotonic() + 1.5
                async with asyncio.timeout(15):
                    while time.monotonic() < deadline or lines.skipped < 100:
                        received.append(json.loads(await healthy.recv())["seq"])
                        for connection in lines.connections:
                            if connection.transport is not None:
                                buffered = connection.transport.get_write_buffer_size()
                                peak = max(peak, buffered)
        finally:
            stalled.close()
    # The stalled reader's queue stops growing one message past the threshold (~230 B each).
    assert lines.skipped >= 100
    assert peak <= lines.subscribers.skip_above + 1024
    assert len(received) > 500 and received == sorted(set(received))


async def test_a_command_that_exits_is_restarted() -> None:
    source = CommandLines(numbered(2, then="sys.exit(3)"), backoff=(0.05, 0.2))
    async with line_server(source) as server, connect(server.line_url) as ws:
        got = await receive(ws, 6)
    assert [m["line"] for m in got] == ["line 0", "line 1"] * 3
    assert [m["seq"] for m in got] == list(range(6))  # one numbering across children
    assert source.child.starts >= 3 and source.child.last_returncode in (3, -signal.SIGTERM)


async def test_the_command_is_killed_on_shutdown() -> None:
    source = CommandLines(numbered(1))
    async with line_server(source) as server, connect(server.line_url) as ws:
        await receive(ws, 1)
        pid = source.child.pid
        assert pid is not None and [p.pid for p in live_children()] == [pid]
    assert gone(pid) and live_children() == []


async def test_a_followed_file_feeds_lines(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    log.write_text("old 1\nold 2\nold 3\n")
    source = FileLines(log, history=2, poll_interval=0.02)
    async with line_server(source) as server, connect(server.line_url) as ws:
        first = await receive(ws, 2)
        with log.open("a") as out:
            out.write("new <b>1</b>\n")
        [fresh] = await receive(ws, 1)
    assert [m["line"] for m in first] == ["old 2", "old 3"]
    assert fresh["line"] == "new <b>1</b>" and fresh["seq"] == 2


async def test_lines_need_the_token_when_there_is_one() -> None:
    async with line_server(CommandLines(numbered(1)), token="s3cret-token") as server:
        assert server.line_url.endswith("/lines?token=s3cret-token")
        with pytest.raises(InvalidStatus) as denied:
            async with connect(server.line_url.split("?")[0]):
                pass
        assert denied.value.response.status_code == 401
        async with connect(server.line_url) as ws:
            assert (await receive(ws, 1))[0]["line"] == "line 0"


def test_cli_options_build_the_sources(tmp_path: Path) -> None:
    parser = build_parser()
    _, tail = build_sources(parser.parse_args(["serve", "--tail", str(tmp_path / "x.log")]))
    assert isinstance(tail, FileLines) and tail.history == 20
    args = parser.parse_args(["serve", "--command", f"{PY} -c 'print(1)'", "--line-history", "5"])
    sampler, command = build_sources(args)
    assert sampler is None and isinstance(command, CommandLines)
    assert command.child.argv == [PY, "-c", "print(1)"]  # split like a shell, run without one
    with pytest.raises(SystemExit):
        parser.parse_args(["serve", "--command", "x", "--tail", "y"])


async def test_cli_serve_command_streams_lines_and_kills_the_child_on_sigterm() -> None:
    code = "import itertools, time\nfor i in itertools.count(): print('n', i); time.sleep(0.01)"
    command = f"{PY} -u -c {shlex.quote(code)}"
    process = await asyncio.create_subprocess_exec(
        PY,
        "-m",
        "iostat_widget",
        "serve",
        "--port",
        "0",
        "--command",
        command,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert process.stdout is not None
    children: list[psutil.Process] = []
    try:
        async with asyncio.timeout(20):
            while not (
                match := re.search(rb"lines:\s+(ws://\S+)", await process.stdout.readline())
            ):
                pass
            async with connect(match.group(1).decode()) as ws:
                got = await receive(ws, 5)
            children = live_children(process.pid)
    finally:
        process.send_signal(signal.SIGTERM)
        async with asyncio.timeout(15):
            _, stderr = await process.communicate()
    assert process.returncode == 0, stderr.decode()
    numbers = [int(m["line"].split()[1]) for m in got]
    assert numbers == list(range(numbers[0], numbers[0] + 5))
    assert len(children) == 1 and gone(children[0].pid)  # no orphan left running


# -- the client iterator -----------------------------------------------------------------------
class JunkServer:
    """Sends a fixed mix of valid and malformed line messages, then closes."""

    def __init__(self, messages: list[str]) -> None:
        self.messages = messages

    async def handler(self, connection: ServerConnection) -> None:
        for message in self.messages:
            await connection.send(message)


async def test_line_stream_skips_junk_and_history_seen_before_a_reconnect() -> None:
    valid = [encode_line(seq, 1000.0 + seq, f"<{seq}>") for seq in range(4)]
    junk = ["not json", '{"seq": -1, "t": 1, "line": "x"}', '{"seq": 9, "t": 1, "line": "a\\nb"}']
    messages = [valid[0], junk[0], valid[1], junk[1], junk[2], valid[3]]
    got: list[LineMessage] = []

    async def consume(lines: AsyncIterator[LineMessage]) -> None:
        async for message in lines:
            got.append(message)

    async with ws_serve(JunkServer(messages).handler, "127.0.0.1", 0) as server:
        port = next(iter(server.sockets)).getsockname()[1]
        source = line_stream(f"ws://127.0.0.1:{port}/lines", backoff=(0.01, 0.05))
        iterator = aiter(source)
        task = asyncio.ensure_future(consume(iterator))
        try:
            # The server sends the same mix on every connection, then closes: after the first,
            # all of it has been seen.
            await until(lambda: source.reconnects >= 3)
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            await iterator.aclose()  # type: ignore[attr-defined]
    assert [m["line"] for m in got] == ["<0>", "<1>", "<3>"]
    assert isinstance(source, LineStream) and source.received == 3 and source.missed == 1
    assert source.invalid >= 3 * 3 and source.duplicates >= 3 * 2 and source.state == "stopped"
