"""``tail -F`` over HTTP, end to end on loopback: real sockets, real files, a real subprocess."""

from __future__ import annotations

import argparse
import asyncio
import codecs
import json
import logging
import os
import signal
import socket
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from tornado.httpclient import AsyncHTTPClient, HTTPRequest

from iostat_widget.cli.tail import configure_tail_parser, run_tail
from iostat_widget.tail_server import TailServer

POLL = 0.01
WAIT = 10.0  # bound on any single wait; tests finish far sooner
REPO = Path(__file__).resolve().parent.parent


class StreamClient:
    """A plain HTTP/1.1 client of the stream: reads the chunked body as text."""

    def __init__(self, reader: asyncio.StreamReader, head: list[str]) -> None:
        self.reader = reader
        self.status = int(head[0].split()[1])
        self.headers = {
            k.strip().lower(): v.strip() for k, _, v in (h.partition(":") for h in head[1:])
        }
        self.decoder = codecs.getincrementaldecoder("utf-8")()
        self.text = ""  # received, not yet taken as lines

    async def _chunk(self) -> bytes:
        """The next chunk of the body; ``b""`` at its end."""
        size = int((await self.reader.readuntil(b"\r\n")).split(b";")[0], 16)
        return (await self.reader.readexactly(size + 2))[:-2]

    async def lines(self, count: int) -> list[str]:
        """The next ``count`` lines (with their newlines), within ``WAIT`` seconds."""
        async with asyncio.timeout(WAIT):
            while self.text.count("\n") < count:
                chunk = await self._chunk()
                assert chunk, f"response ended after {self.text!r}"
                self.text += self.decoder.decode(chunk)
        parts = self.text.split("\n")
        self.text = "\n".join(parts[count:])
        return [part + "\n" for part in parts[:count]]

    async def end(self) -> str:
        """Everything up to the end of the response (the server ended it)."""
        async with asyncio.timeout(WAIT):
            while chunk := await self._chunk():
                self.text += self.decoder.decode(chunk)
        return self.text


@asynccontextmanager
async def stream(port: int, target: str = "/") -> AsyncIterator[StreamClient]:
    """``GET target`` on loopback; the connection is closed on exit."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(f"GET {target} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode())
        async with asyncio.timeout(WAIT):
            head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
        yield StreamClient(reader, list(filter(None, head)))
    finally:
        writer.close()
        await writer.wait_closed()


def write(path: Path, data: bytes, mode: str = "ab") -> None:
    with path.open(mode) as handle:
        handle.write(data)


def numbered(start: int, stop: int, width: int = 0) -> list[str]:
    return [f"line {i} {'x' * width}\n" for i in range(start, stop)]


async def fetch_json(url: str) -> dict[str, object]:
    response = await AsyncHTTPClient().fetch(url, request_timeout=WAIT)
    assert response.headers["Content-Type"].startswith("application/json")
    result: dict[str, object] = json.loads(response.body)
    return result


async def until(condition: Callable[[], Awaitable[bool]], what: str) -> None:
    """Poll ``condition()`` until true, failing after ``WAIT`` seconds."""
    for _ in range(int(WAIT / 0.01)):
        if await condition():
            return
        await asyncio.sleep(0.01)
    pytest.fail(f"timed out waiting for: {what}")


@pytest.fixture
def log_path(tmp_path: Path) -> Path:
    return tmp_path / "app.log"


@pytest.fixture
async def server(log_path: Path) -> AsyncIterator[TailServer]:
    write(log_path, "".join(numbered(1, 16)).encode(), "wb")
    async with TailServer(log_path, port=0, backlog=10, poll_interval=POLL) as running:
        yield running


async def test_new_client_gets_the_backlog_then_new_lines(
    server: TailServer, log_path: Path
) -> None:
    assert server.url == f"http://127.0.0.1:{server.port}/"
    async with stream(server.port) as client:
        assert client.status == 200
        assert client.headers["content-type"] == "text/plain; charset=utf-8"
        assert client.headers["transfer-encoding"] == "chunked"
        assert await client.lines(10) == numbered(6, 16)
        write(log_path, "".join(numbered(16, 20)).encode())
        assert await client.lines(4) == numbered(16, 20)


async def test_two_clients_each_get_every_line_once_in_order(
    server: TailServer, log_path: Path
) -> None:
    async with stream(server.port) as first, stream(server.port) as second:
        for client in (first, second):
            assert await client.lines(10) == numbered(6, 16)
        expected = numbered(16, 2016, width=20)
        for start in range(0, len(expected), 250):  # bursts, some while the server reads
            write(log_path, "".join(expected[start : start + 250]).encode())
            await asyncio.sleep(0.002)
        for client in (first, second):
            assert await client.lines(len(expected)) == expected
        await asyncio.sleep(POLL * 5)
        assert first.text == second.text == ""  # nothing extra, no duplicates


async def test_big_line_bad_utf8_and_nul_reach_the_client(
    server: TailServer, log_path: Path
) -> None:
    async with stream(server.port) as client:
        await client.lines(10)
        big = "y" * (3 * 1024 * 1024)
        write(log_path, big.encode() + b"\nbad \xff\xfe\x00nul\n")
        assert await client.lines(2) == [big + "\n", "bad \ufffd\ufffd\x00nul\n"]


async def test_rotation_and_truncation_over_http(server: TailServer, log_path: Path) -> None:
    async with stream(server.port) as client:
        await client.lines(10)
        os.rename(log_path, log_path.with_suffix(".1"))
        write(log_path.with_suffix(".1"), b"last of old\n")
        write(log_path, b"first of new\n")
        assert await client.lines(2) == ["last of old\n", "first of new\n"]
        os.truncate(log_path, 0)
        await asyncio.sleep(POLL * 5)
        write(log_path, b"after truncate\n")
        assert await client.lines(1) == ["after truncate\n"]


async def test_late_file_and_a_directory_in_its_place(tmp_path: Path) -> None:
    path = tmp_path / "later.log"
    async with TailServer(path, poll_interval=POLL) as server, stream(server.port) as client:
        write(path, b"hello\n")
        assert await client.lines(1) == ["hello\n"]
        os.unlink(path)
        os.mkdir(path)
        await asyncio.sleep(POLL * 10)
        assert (await fetch_json(server.url + "healthz"))["status"] == "ok"
        os.rmdir(path)
        write(path, b"again\n")
        assert await client.lines(1) == ["again\n"]


def send_buffer_max() -> int:
    """The most a socket's send buffer can grow to: what a stalled reader absorbs unseen."""
    try:
        return int(Path("/proc/sys/net/ipv4/tcp_wmem").read_text().split()[2])
    except (OSError, IndexError, ValueError):
        return 4 * 1024 * 1024


async def test_stalled_client_is_dropped_while_another_keeps_up(
    log_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    write(log_path, b"", "wb")
    loop = asyncio.get_running_loop()
    with socket.socket() as stalled:
        stalled.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        stalled.setblocking(False)
        server = TailServer(log_path, poll_interval=POLL, client_buffer=1024 * 1024)
        async with server, stream(server.port) as healthy:
            await loop.sock_connect(stalled, ("127.0.0.1", server.port))
            await loop.sock_sendall(stalled, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")  # no reads
            await until(lambda: _clients(server, 2), "both connected")
            expected = numbered(0, (send_buffer_max() + 1024 * 1024) * 3 // 2 // 1000, width=990)
            with caplog.at_level(logging.WARNING, logger="iostat_widget.transports.http_stream"):
                for start in range(0, len(expected), 1000):
                    write(log_path, "".join(expected[start : start + 1000]).encode())
                assert await healthy.lines(len(expected)) == expected
                await until(lambda: _clients(server, 1), "stalled client dropped")
            assert any("dropping" in r.getMessage() for r in caplog.records)
            received = b""
            async with asyncio.timeout(WAIT):  # the dropped connection was closed: EOF
                while data := await loop.sock_recv(stalled, 1 << 20):
                    received += data
            assert len(received) < len("".join(expected))
            started = loop.time()
            await server.aclose()
            assert loop.time() - started < 0.5  # no response left hanging by the drop
            assert await healthy.end() == ""  # the healthy response was ended properly


async def _clients(server: TailServer, count: int) -> bool:
    return (await fetch_json(server.url + "healthz"))["clients"] == count


async def test_healthz_reports_file_clients_and_lines(server: TailServer, log_path: Path) -> None:
    async with stream(server.port) as client:
        await client.lines(10)
        status = await fetch_json(server.url + "healthz")
        assert status == {"status": "ok", "file": str(log_path), "clients": 1, "lines": 10}
    await until(lambda: _clients(server, 0), "disconnect noticed")


async def test_no_request_can_choose_another_file(server: TailServer) -> None:
    http = AsyncHTTPClient()
    for target in ("nope", "app.log", "..%2f..%2fetc%2fpasswd", "healthz/x"):
        response = await http.fetch(server.url + target, raise_error=False, request_timeout=WAIT)
        assert response.code == 404, target
    response = await http.fetch(server.url, method="POST", body=b"", raise_error=False)
    assert response.code == 405
    async with stream(server.port, "/?file=/etc/passwd") as client:
        assert await client.lines(1) == numbered(6, 7)


async def test_tornado_streaming_client_and_a_clean_close(log_path: Path) -> None:
    write(log_path, b"a\nb\nc\n", "wb")
    received: list[bytes] = []

    async def got_backlog() -> bool:
        return b"".join(received) == b"b\nc\n"

    async with TailServer(log_path, backlog=2, poll_interval=POLL) as server:
        request = HTTPRequest(server.url, streaming_callback=received.append, request_timeout=WAIT)
        fetching = asyncio.ensure_future(AsyncHTTPClient().fetch(request))
        await until(got_backlog, "backlog")
    response = await asyncio.wait_for(fetching, WAIT)  # closing ends every response cleanly
    assert response.code == 200
    assert await got_backlog()


async def test_backlog_zero_gives_only_new_lines(log_path: Path) -> None:
    write(log_path, b"old\n", "wb")
    server = TailServer(log_path, backlog=0, poll_interval=POLL)
    async with server, stream(server.port) as client:
        await until(lambda: _clients(server, 1), "connected")
        write(log_path, b"new\n")
        assert await client.lines(1) == ["new\n"]


def tail_args(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="iostat-widget tail")
    configure_tail_parser(parser)
    return parser.parse_args(list(argv))


async def test_run_tail_rejects_bad_arguments(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    defaults = tail_args("f.log")
    assert (defaults.host, defaults.port, defaults.backlog, defaults.poll) == (
        "127.0.0.1",
        8000,
        10,
        0.1,
    )
    assert await run_tail(tail_args()) == 2
    assert capsys.readouterr().err.startswith("usage: iostat-widget tail")
    assert await run_tail(tail_args(str(tmp_path))) == 2
    assert "is a directory" in capsys.readouterr().err
    assert await run_tail(tail_args(str(tmp_path / "missing" / "x.log"))) == 2
    assert "does not exist" in capsys.readouterr().err


async def test_run_tail_closes_cleanly_when_cancelled(
    log_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    running = asyncio.ensure_future(run_tail(tail_args(str(log_path), "--port", "0")))
    out = ""
    for _ in range(int(WAIT / 0.01)):
        out += capsys.readouterr().out
        if "tailing" in out:
            break
        await asyncio.sleep(0.01)
    banner = next(line for line in out.splitlines() if line.startswith("tailing"))
    assert banner.startswith(f"tailing {log_path} at http://127.0.0.1:")
    port = int(banner.rsplit(":", 1)[1].rstrip("/\n"))
    async with stream(port) as client:
        running.cancel()
        with pytest.raises(asyncio.CancelledError):
            await asyncio.wait_for(running, WAIT)
        assert await client.end() == ""  # the response was ended, not cut
    with pytest.raises(ConnectionRefusedError):
        await asyncio.open_connection("127.0.0.1", port)


RUN = (
    "import argparse, asyncio, sys\n"
    "from iostat_widget.cli.tail import configure_tail_parser, run_tail\n"
    "parser = argparse.ArgumentParser(prog='iostat-widget tail')\n"
    "configure_tail_parser(parser)\n"
    "sys.exit(asyncio.run(run_tail(parser.parse_args())))\n"
)


async def spawn(*argv: str) -> asyncio.subprocess.Process:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return await asyncio.create_subprocess_exec(
        sys.executable, "-c", RUN, *argv, env=env, cwd=REPO,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip


async def test_subprocess_prints_url_streams_and_exits_0_on_sigterm(log_path: Path) -> None:
    write(log_path, b"before start\n", "wb")
    process = await spawn(str(log_path), "--port", "0", "--poll", str(POLL))
    try:
        assert process.stdout is not None
        async with asyncio.timeout(WAIT):
            banner = (await process.stdout.readline()).decode()
        assert banner.startswith(f"tailing {log_path} at http://127.0.0.1:")
        async with stream(int(banner.rsplit(":", 1)[1].rstrip("/\n"))) as client:
            assert await client.lines(1) == ["before start\n"]
            write(log_path, b"while running\n")
            assert await client.lines(1) == ["while running\n"]
            process.send_signal(signal.SIGTERM)
            async with asyncio.timeout(WAIT):
                assert await process.wait() == 0
            assert await client.end() == ""  # the response was ended properly
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


async def test_subprocess_without_file_exits_2_with_usage() -> None:
    process = await spawn()
    async with asyncio.timeout(WAIT):
        _, err = await process.communicate()
    assert process.returncode == 2
    assert err.decode().startswith("usage: iostat-widget tail")
