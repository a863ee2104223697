"""Small clients and harnesses several test modules share."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, NoReturn

import psutil
import pytest

from iostat_widget.server import Server
from iostat_widget.sources.process_cost import ProcessCost
from iostat_widget.widget.loop_thread import LoopThread

__all__ = [
    "cost",
    "gone",
    "http_get",
    "our_threads",
    "require_node",
    "run_node",
    "serving_in_thread",
    "unavailable",
    "until",
    "wait_for",
]


def unavailable(message: str, what: str) -> NoReturn:
    """A tool the tests drive is missing: skip here, but fail when ``CI`` is set, so a machine
    that lacks it can never pass by skipping (``what``: the tests that need it)."""
    if os.environ.get("CI"):
        pytest.fail(f"{message} (CI is set, so {what} must run, not skip)", pytrace=False)
    pytest.skip(message)


def require_node(name: str = "node") -> str:
    """The Node.js executable (see :func:`unavailable` when it is missing)."""
    found = shutil.which(name)
    if found is None:
        unavailable(f"{name} is missing; install it with `apt-get install -y nodejs`", "JS tests")
    return found


def run_node(script: str, stdin: str | None = None) -> Any:
    """Run ``script`` as an ES module under Node; what it printed last, parsed as JSON."""
    done = subprocess.run(
        [require_node(), "--input-type=module", "-e", script],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def wait_for(predicate: Callable[[], bool], limit: float = 10.0) -> None:
    """Poll ``predicate`` from a synchronous test until true; fail after ``limit`` seconds."""
    deadline = time.monotonic() + limit
    while not predicate():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.01)


def our_threads() -> list[str]:
    """Names of the package's threads still alive (the kernel runtime's loop among them)."""
    return [t.name for t in threading.enumerate() if t.name.startswith("iostat")]


async def http_get(
    port: int, path: str, headers: dict[str, str] | None = None
) -> tuple[int, dict[str, str], bytes]:
    """One raw GET to 127.0.0.1, the request line sent exactly as given (no path cleaning, so
    traversal attempts reach the server as written); returns status, headers, body."""
    lines = [f"GET {path} HTTP/1.1", "Host: 127.0.0.1", "Connection: close"]
    lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(("\r\n".join(lines) + "\r\n\r\n").encode())
    await writer.drain()
    async with asyncio.timeout(5):
        raw = await reader.read()
    writer.close()
    head, _, body = raw.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode().split("\r\n")
    headers = {k.lower(): v.strip() for k, v in (h.split(":", 1) for h in header_lines)}
    return int(status_line.split()[1]), headers, body


@contextmanager
def serving_in_thread(server: Server) -> Iterator[Server]:
    """Run ``server`` on a loop thread of its own (for synchronous tests, like a remote host)."""
    loop_thread = LoopThread(name="test-remote-server")
    try:
        yield loop_thread.run(server.start())
    finally:
        loop_thread.run(server.aclose())
        loop_thread.stop()


async def until(predicate: Callable[[], bool], limit: float = 10.0) -> None:
    """Poll ``predicate`` from an async test until true; fail (TimeoutError) after ``limit`` s."""
    async with asyncio.timeout(limit):
        while not predicate():
            await asyncio.sleep(0.01)


def gone(pid: int) -> bool:
    """Whether process ``pid`` has exited (a zombie waiting to be reaped counts)."""
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def cost(
    cpu_pct: float = 12.5, mem_pct: float = 3.0, swap: float | None = 0.0, cpus: int = 8
) -> ProcessCost:
    """A process tree's cost as the kernel's meter gives it: ``cpu_pct`` of ``cpus`` CPUs, 300 MB
    resident (``mem_pct`` of the machine), ``swap`` bytes swapped."""
    return ProcessCost(
        cores=cpu_pct * cpus / 100,
        cpu_pct=cpu_pct,
        cpus=cpus,
        rss_bytes=300e6,
        mem_pct=mem_pct,
        swap_bytes=swap,
        processes=2,
    )
