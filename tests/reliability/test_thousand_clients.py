"""A thousand viewers, half of whom vanish at once in every way a client can vanish.

The server (``iostat-widget serve`` in its own process, as deployed) broadcasts one encoded sample
to every client. When 500 of 1,000 clients disappear mid-stream (TCP resets, a killed client
process, a frozen one that never reads nor closes), the other 500 must keep receiving every
sample in order, and the server must notice the dead ones without a traceback.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import socket
import struct
import sys

import pytest

from .support import (
    HERE,
    WAIT,
    ServerProcess,
    Viewer,
    cli_server,
    consecutive,
    healthz,
    raise_open_files_limit,
    ws_connect,
)

pytestmark = pytest.mark.timeout(240)

HEALTHY = 500
RESET = 170  # in this process, closed with an RST (SO_LINGER 0, then abort)
KILLED = 165  # in a client process that gets SIGKILL
FROZEN = 165  # in a client process that gets SIGSTOP: half-open, never reads nor closes
INTERVAL = 0.2
AFTER = 20  # samples every healthy client must receive after the vanishing (4 s)


async def open_viewers(url: str, count: int) -> list[Viewer]:
    viewers: list[Viewer] = []
    for start in range(0, count, 50):  # in batches: the listen backlog is finite
        batch = range(start, min(start + 50, count))
        sockets = await asyncio.gather(*(ws_connect(url, open_timeout=WAIT) for _ in batch))
        viewers += [Viewer(ws) for ws in sockets]
    return viewers


async def start_swarm(url: str, count: int) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        str(HERE / "swarm.py"),
        url,
        str(count),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )


async def ready(swarm: asyncio.subprocess.Process) -> None:
    assert swarm.stdout is not None
    async with asyncio.timeout(60):
        line = (await swarm.stdout.readline()).decode()
    assert line.startswith("READY "), line


async def clients_become(server: ServerProcess, count: int) -> None:
    async with asyncio.timeout(WAIT):
        while (await healthz(server.port))["clients"] != count:
            await asyncio.sleep(0.1)


def vanish_with_reset(viewer: Viewer) -> None:
    transport = viewer.ws.transport
    sock = transport.get_extra_info("socket")
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    transport.abort()


async def test_half_of_a_thousand_clients_vanish_and_the_rest_lose_nothing() -> None:
    raise_open_files_limit()
    swarms: list[asyncio.subprocess.Process] = []
    viewers: list[Viewer] = []
    async with cli_server("--interval", str(INTERVAL)) as server:
        try:
            killed = await start_swarm(server.url, KILLED)
            frozen = await start_swarm(server.url, FROZEN)
            swarms += [killed, frozen]
            viewers = await open_viewers(server.url, HEALTHY + RESET)
            await asyncio.gather(ready(killed), ready(frozen))
            await clients_become(server, HEALTHY + RESET + KILLED + FROZEN)
            healthy, resetting = viewers[:HEALTHY], viewers[HEALTHY:]
            async with asyncio.timeout(WAIT):  # everyone has been streaming for a few ticks
                while min(len(v.seqs) for v in healthy) < 3:
                    await asyncio.sleep(INTERVAL)

            for viewer in resetting:
                vanish_with_reset(viewer)
            killed.send_signal(signal.SIGKILL)
            frozen.send_signal(signal.SIGSTOP)
            at_vanish = max(max(v.seqs) for v in healthy)

            async with asyncio.timeout(WAIT + AFTER * INTERVAL):
                while min(v.seqs[-1] for v in healthy) < at_vanish + AFTER:
                    await asyncio.sleep(INTERVAL)
            # Resets and the killed process are noticed; the frozen ones stay until the keepalive
            # ping (20 s + 20 s) gives up on them, longer than this test.
            await clients_become(server, HEALTHY + FROZEN)
            for viewer in healthy:
                assert consecutive(viewer.seqs), viewer.seqs
                assert viewer.seqs[0] <= at_vanish - 2, "joined after the vanishing"
            assert all(v.ws.state.name == "OPEN" for v in healthy)
            received = {len(v.seqs) for v in healthy}

            frozen.send_signal(signal.SIGKILL)  # a stopped process dies too; the kernel closes
            await asyncio.gather(*(v.ws.close() for v in healthy))
            await clients_become(server, 0)
        finally:
            for swarm in swarms:
                with contextlib.suppress(ProcessLookupError):
                    swarm.kill()
                await swarm.wait()
            for viewer in viewers:
                viewer.ws.transport.abort()
            await asyncio.gather(*(v.task for v in viewers), return_exceptions=True)
        assert await server.terminate() == 0
    stderr = server.stderr.decode()
    assert "Traceback" not in stderr, stderr
    assert min(received) >= AFTER + 2
    print(f"healthy clients received {min(received)}-{max(received)} samples, in order")
