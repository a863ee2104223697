"""What the reliability tests share: servers in subprocesses, raw sockets, raw HTTP and frames.

Hostile input has to be sent below the level of a well-behaved client library (a truncated
handshake, an unmasked frame, a socket that never reads), so these helpers speak HTTP and the
WebSocket framing by hand on plain sockets. Servers whose memory and descriptors are measured run
in a process of their own (``server_process.py``), so what is measured is the server alone.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import os
import re
import resource
import signal
import socket
import struct
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from iostat_widget.widget.runtime import KernelRuntime

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
WAIT = 20.0  # bound on any single wait in these tests; they normally finish far sooner


def raise_open_files_limit(target: int = 8192) -> int:
    """Raise the soft limit on open files to ``target`` (or the hard limit); return it."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = target if hard == resource.RLIM_INFINITY else min(hard, target)
    if soft != resource.RLIM_INFINITY and soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
        return want
    return soft


def free_port() -> int:
    """A loopback port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def ws_connect(url: str, **options: Any) -> Any:
    """A test client that buffers without limit, so stopping reading never delays its close."""
    return connect(url, max_queue=None, close_timeout=2, **options)


async def receive_seqs(ws: ClientConnection, count: int, limit: float = WAIT) -> list[int]:
    """The ``seq`` of the next ``count`` messages."""
    async with asyncio.timeout(limit):
        return [json.loads(await ws.recv())["seq"] for _ in range(count)]


def consecutive(seqs: list[int]) -> bool:
    """Whether ``seqs`` is a run of consecutive numbers (nothing lost, nothing twice)."""
    return seqs == list(range(seqs[0], seqs[0] + len(seqs))) if seqs else False


def median(values: list[float]) -> float:
    ordered = sorted(values)
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[middle]
    return (ordered[middle - 1] + ordered[middle]) / 2


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(int(fraction * len(ordered)), len(ordered) - 1)]


# -- raw HTTP and WebSocket ---------------------------------------------------------------------
async def http_get(
    port: int, path: str, headers: dict[str, str] | None = None
) -> tuple[int, dict[str, str], bytes]:
    """``GET path`` over a fresh connection (the server closes it after answering)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        lines = [f"GET {path} HTTP/1.1", f"Host: 127.0.0.1:{port}"]
        lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
        writer.write(("\r\n".join(lines) + "\r\n\r\n").encode())
        async with asyncio.timeout(WAIT):
            head = await reader.readuntil(b"\r\n\r\n")
            status_line, *header_lines = head.decode("latin-1").split("\r\n")
            parsed = {
                k.strip().lower(): v.strip()
                for k, _, v in (h.partition(":") for h in header_lines if h)
            }
            length = int(parsed.get("content-length", "0"))
            body = await reader.readexactly(length)
        return int(status_line.split()[1]), parsed, body
    finally:
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()


async def healthz(port: int) -> dict[str, Any]:
    status, _, body = await http_get(port, "/healthz")
    assert status == 200
    result: dict[str, Any] = json.loads(body)
    return result


def handshake_request(port: int, path: str = "/iostat", extra: str = "") -> bytes:
    """A valid WebSocket opening handshake, with ``extra`` header lines (CRLF-terminated)."""
    key = base64.b64encode(os.urandom(16)).decode()
    return (
        f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
        f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
        f"{extra}\r\n"
    ).encode()


async def raw_websocket(port: int, *, rcvbuf: int | None = None) -> socket.socket:
    """A non-blocking socket through the opening handshake (101 read), then left to the caller."""
    loop = asyncio.get_running_loop()
    sock = socket.socket()
    try:
        if rcvbuf is not None:  # before connect, so the advertised window is small from the start
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        sock.setblocking(False)
        async with asyncio.timeout(WAIT):
            await loop.sock_connect(sock, ("127.0.0.1", port))
            await loop.sock_sendall(sock, handshake_request(port))
            head = b""
            while b"\r\n\r\n" not in head:
                chunk = await loop.sock_recv(sock, 1024)
                assert chunk, f"closed during the handshake after {head!r}"
                head += chunk
        assert head.startswith(b"HTTP/1.1 101 "), head
    except BaseException:
        sock.close()
        raise
    return sock


def blocking_raw_websocket(port: int, *, rcvbuf: int | None = None) -> socket.socket:
    """:func:`raw_websocket` for code without an event loop (a blocking socket)."""
    sock = socket.socket()
    try:
        if rcvbuf is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        sock.settimeout(WAIT)
        sock.connect(("127.0.0.1", port))
        sock.sendall(handshake_request(port))
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = sock.recv(1024)
            assert chunk, f"closed during the handshake after {head!r}"
            head += chunk
        assert head.startswith(b"HTTP/1.1 101 "), head
    except BaseException:
        sock.close()
        raise
    return sock


def reset(sock: socket.socket) -> None:
    """Close with a TCP RST instead of a FIN: the peer vanished without a goodbye."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


def client_frame(opcode: int, payload: bytes, *, fin: bool = True, masked: bool = True) -> bytes:
    """One WebSocket frame as a client sends it (masked, as RFC 6455 requires of clients)."""
    length = len(payload)
    head = bytes([(0x80 if fin else 0) | opcode])
    mask_bit = 0x80 if masked else 0
    if length < 126:
        head += bytes([mask_bit | length])
    elif length < 1 << 16:
        head += bytes([mask_bit | 126]) + struct.pack("!H", length)
    else:
        head += bytes([mask_bit | 127]) + struct.pack("!Q", length)
    if not masked:
        return head + payload
    mask = os.urandom(4)
    return head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


# -- servers in a process of their own ----------------------------------------------------------
@dataclass
class ServerProcess:
    """A server subprocess: its port, every ``STATS`` line it printed, and its stderr."""

    process: asyncio.subprocess.Process
    port: int = 0
    url: str = ""
    stats: list[dict[str, float]] = field(default_factory=list)
    stdout: list[str] = field(default_factory=list)
    stderr: bytearray = field(default_factory=bytearray)
    readers: list[asyncio.Task[None]] = field(default_factory=list)

    async def _read_stdout(self, started: asyncio.Future[None]) -> None:
        assert self.process.stdout is not None
        while line := (await self.process.stdout.readline()).decode():
            self.stdout.append(line)
            if line.startswith("STATS "):
                self.stats.append(json.loads(line[6:]))
            elif line.startswith("PORT "):
                self.port = int(line.split()[1])
                self.url = f"ws://127.0.0.1:{self.port}/iostat"
            elif match := re.search(r"stream:\s+(ws://\S+)", line):
                self.url = match.group(1)
                self.port = int(self.url.rsplit(":", 1)[1].split("/")[0])
            if self.port and not started.done():
                started.set_result(None)
        if not started.done():
            started.set_exception(AssertionError(f"server exited: {self.stderr.decode()}"))

    async def _read_stderr(self) -> None:
        assert self.process.stderr is not None
        while chunk := await self.process.stderr.read(65536):
            self.stderr += chunk

    async def stats_after(self, moment: float) -> dict[str, float]:
        """The first STATS line the server printed after ``moment`` (its monotonic clock)."""
        async with asyncio.timeout(WAIT):
            while True:
                for line in self.stats:
                    if line["time"] > moment:
                        return line
                await asyncio.sleep(0.05)

    async def latest_stats(self) -> dict[str, float]:
        """A STATS line printed from now on (the clock is shared: same machine, monotonic)."""
        return await self.stats_after(_monotonic())

    async def terminate(self) -> int:
        """SIGTERM, then the exit status (the readers drain what is left)."""
        if self.process.returncode is None:
            self.process.send_signal(signal.SIGTERM)
        async with asyncio.timeout(WAIT):
            code = await self.process.wait()
            await asyncio.gather(*self.readers)
        return code

    def kill(self) -> None:
        if self.process.returncode is None:
            self.process.kill()


def _monotonic() -> float:
    return asyncio.get_running_loop().time()  # the loop's clock is time.monotonic()


@contextlib.asynccontextmanager
async def server_process(*argv: str) -> AsyncIterator[ServerProcess]:
    """Start ``argv`` (a server command), wait until it listens, kill it on the way out."""
    process = await asyncio.create_subprocess_exec(
        *argv,
        cwd=REPO,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    running = ServerProcess(process)
    started: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    running.readers = [
        asyncio.create_task(running._read_stdout(started)),
        asyncio.create_task(running._read_stderr()),
    ]
    try:
        async with asyncio.timeout(WAIT):
            await started
        yield running
    finally:
        running.kill()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(WAIT):
                await process.wait()
                await asyncio.gather(*running.readers, return_exceptions=True)


def synthetic_server(
    *,
    port: int = 0,
    interval: float = 0.05,
    ping_interval: float = 20.0,
    stats_every: float = 1.0,
    sndbuf: int = 0,
) -> contextlib.AbstractAsyncContextManager[ServerProcess]:
    """``server_process.py``: the product's Server with the synthetic sampler, plus STATS lines."""
    return server_process(
        sys.executable,
        str(HERE / "server_process.py"),
        f"--port={port}",
        f"--interval={interval}",
        f"--ping-interval={ping_interval}",
        f"--stats-every={stats_every}",
        f"--sndbuf={sndbuf}",
    )


def cli_server(*args: str) -> contextlib.AbstractAsyncContextManager[ServerProcess]:
    """``python -m iostat_widget serve --port 0 ARGS``: the command as a user runs it."""
    return server_process(sys.executable, "-m", "iostat_widget", "serve", "--port", "0", *args)


class Viewer:
    """One in-process client and every sequence number it received."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.seqs: list[int] = []
        self.task = asyncio.create_task(self._read())

    async def _read(self) -> None:
        with contextlib.suppress(ConnectionClosed):
            async for message in self.ws:
                self.seqs.append(json.loads(message)["seq"])


def runtime_task_names() -> list[str]:
    """Names of the tasks on the kernel runtime's loop ("Task" for unnamed ones, whose numbers
    change every time)."""
    runtime = KernelRuntime.current()
    assert runtime is not None

    async def names() -> list[str]:
        current = asyncio.current_task()
        tasks = (t for t in asyncio.all_tasks() if t is not current)
        return sorted(re.sub(r"^Task-\d+$", "Task", t.get_name()) for t in tasks)

    return runtime.loop_thread.run(names())
