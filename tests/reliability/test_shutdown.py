"""Closing monitors and shutting kernels down leaves no thread, task or socket behind.

A notebook user re-runs cells all day: every ``Monitor`` created and closed, connected or still
retrying, must take its task, connection and (when last) the loop thread and embedded server with
it. And a kernel asked to shut down while a monitor is live must exit promptly and cleanly: a
background thread that kept it alive would turn "restart kernel" into a hang.
"""

from __future__ import annotations

import asyncio
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest
from jupyter_client.manager import KernelManager

from iostat_widget import Monitor
from iostat_widget.widget.runtime import KernelRuntime

from .support import (
    WAIT,
    blocking_raw_websocket,
    free_port,
    reset,
    runtime_task_names,
    synthetic_server,
)

pytestmark = pytest.mark.timeout(120)

CYCLES = 20


def loop_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "iostat-widget-loop"]


def wait_for(condition: Callable[[], bool], what: str, limit: float = WAIT) -> None:
    deadline = time.monotonic() + limit
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for: {what}"
        time.sleep(0.01)


def tcp(port: int) -> list[str]:
    """This process's TCP connections to or from ``port``, as ``status`` strings."""
    return [
        c.status
        for c in psutil.Process().net_connections("tcp")
        if port in (c.laddr.port if c.laddr else 0, c.raddr.port if c.raddr else 0)
    ]


@pytest.fixture
def black_hole() -> Iterator[int]:
    """A port that accepts TCP connections and never answers: a handshake that hangs."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(16)  # never accept(): the kernel completes TCP, nobody speaks HTTP
        yield int(listener.getsockname()[1])


async def test_monitors_closed_in_every_state_leave_nothing(black_hole: int) -> None:
    assert loop_threads() == [] and KernelRuntime.current() is None
    fds_before = psutil.Process().num_fds()
    async with synthetic_server(interval=0.05) as server:
        anchor = Monitor(url=server.url)  # keeps the loop thread up, so its tasks can be read
        try:
            wait_for(lambda: anchor.state == "live", "anchor live")
            thread = loop_threads()
            tasks = runtime_task_names()
            fds = psutil.Process().num_fds()
            assert tasks.count("iostat-monitor") == 1 and tcp(server.port) == ["ESTABLISHED"]
            for cycle in range(CYCLES):
                live = Monitor(url=server.url)
                wait_for(lambda m=live: len(m.window) >= 2, "second monitor fed")  # type: ignore[misc]
                retrying = Monitor(url=f"ws://127.0.0.1:{free_port()}/iostat")
                wait_for(lambda m=retrying: m.state == "reconnecting", "retrying")  # type: ignore[misc]
                hanging = Monitor(url=f"ws://127.0.0.1:{black_hole}/iostat")  # mid-handshake
                assert runtime_task_names().count("iostat-monitor") == 4
                started = time.monotonic()
                for monitor in (
                    (hanging, retrying, live) if cycle % 2 else (live, hanging, retrying)
                ):
                    monitor.close()
                    assert monitor.state == "stopped"
                assert time.monotonic() - started < 5.0  # not the 5 s open timeout of the hung one
                assert runtime_task_names() == tasks, cycle
                assert loop_threads() == thread
                wait_for(lambda: tcp(server.port) == ["ESTABLISHED"], "one connection left")
            assert psutil.Process().num_fds() <= fds
        finally:
            runtime = KernelRuntime.current()
            anchor.close()
        assert runtime is not None
        assert loop_threads() == [] and KernelRuntime.current() is None
        assert runtime.loop_thread.loop.is_closed()
        assert asyncio.all_tasks(runtime.loop_thread.loop) == set()
        wait_for(lambda: not tcp(server.port) or set(tcp(server.port)) <= {"TIME_WAIT"}, "closed")
    assert psutil.Process().num_fds() <= fds_before


def test_embedded_monitors_opened_and_closed_leave_nothing() -> None:
    assert loop_threads() == [] and KernelRuntime.current() is None
    fds_before = psutil.Process().num_fds()
    for _ in range(CYCLES // 2):
        first, second = Monitor(interval=0.05), Monitor(interval=0.05)
        runtime = KernelRuntime.current()
        assert runtime is not None and runtime.server is not None
        port = runtime.server.port
        pair = (first, second)
        wait_for(lambda pair=pair: all(len(m.window) >= 2 for m in pair), "fed")  # type: ignore[misc]
        assert len(loop_threads()) == 1
        first.close()
        assert runtime.server is not None  # still serving the second
        second.close()
        assert loop_threads() == [] and KernelRuntime.current() is None
        assert runtime.loop_thread.loop.is_closed()
        assert asyncio.all_tasks(runtime.loop_thread.loop) == set()
        assert "LISTEN" not in tcp(port) and "ESTABLISHED" not in tcp(port)
    assert psutil.Process().num_fds() <= fds_before


def test_closing_the_last_monitor_while_a_viewer_of_its_server_is_stalled() -> None:
    """A frozen browser tab on the embedded server must not make ``close()`` hang or raise.

    The stalled viewer never answers the closing handshake; websockets waits its close timeout
    (10 s by default) for it, as long as the runtime waits for the server to close.
    """
    assert loop_threads() == [] and KernelRuntime.current() is None
    monitor = Monitor(interval=0.05)
    runtime = KernelRuntime.current()
    assert runtime is not None and runtime.server is not None
    stalled = blocking_raw_websocket(runtime.server.port, rcvbuf=4096)
    try:
        wait_for(lambda: len(monitor.window) >= 3, "fed")
        started = time.monotonic()
        error: BaseException | None = None
        try:
            monitor.close()
        except BaseException as exc:  # reported below, after checking what was left behind
            error = exc
        took = time.monotonic() - started
        left = [t.name for t in loop_threads()]
    finally:
        reset(stalled)
        if loop_threads():  # do not leave the thread to the next test
            runtime.loop_thread.stop()
    assert error is None, f"close() raised {error!r} after {took:.1f} s"
    assert left == [], f"{left} still running after close()"
    assert took < 5.0, f"close() took {took:.1f} s"


KERNEL_CODE = """
import time
from iostat_widget import Monitor
m = Monitor(interval=0.1)
remote = Monitor(url=m.stream.url)
deadline = time.monotonic() + 30
while not (m.state == remote.state == "live" and len(remote.window) >= 3):
    assert time.monotonic() < deadline, (m.state, remote.state)
    time.sleep(0.05)
print("PORT", m.stream.url.rsplit(":", 1)[1].split("/")[0])
"""


@pytest.mark.parametrize("how", ["closed", "still-live", "stalled-viewer"])
def test_kernel_with_a_monitor_shuts_down_promptly(tmp_path: Path, how: str) -> None:
    """Shutdown with the monitor closed, still live, or live with a viewer that never reads."""
    close_first = how == "closed"
    log = tmp_path / "kernel.log"
    manager = KernelManager(kernel_name="python3")
    with log.open("wb") as output:
        manager.start_kernel(stdout=output, stderr=output)
    process = manager.provisioner.process  # type: ignore[union-attr]
    client = manager.client()
    client.start_channels()
    stalled: socket.socket | None = None
    try:
        client.wait_for_ready(timeout=60)
        code = KERNEL_CODE + ("m.close(); remote.close()\nprint('CLOSED')\n" if close_first else "")
        printed: list[str] = []

        def hook(message: dict[str, Any]) -> None:
            if message["msg_type"] == "stream":
                printed.append(message["content"]["text"])

        reply = client.execute_interactive(code, timeout=60, output_hook=hook)
        assert reply["content"]["status"] == "ok", reply["content"]
        if how == "stalled-viewer":
            port = int("".join(printed).split("PORT ", 1)[1].split()[0])
            stalled = blocking_raw_websocket(port, rcvbuf=4096)
        started = time.monotonic()
        manager.request_shutdown()
        while manager.is_alive() and time.monotonic() - started < 20:
            time.sleep(0.05)
        took = time.monotonic() - started
        alive = manager.is_alive()
    finally:
        if stalled is not None:
            reset(stalled)
        client.stop_channels()
        if manager.is_alive():
            manager.shutdown_kernel(now=True)  # only after a failure: the test is over
        manager.cleanup_resources()
    print(f"kernel exited {took:.2f} s after the shutdown request", file=sys.stderr)
    assert not alive, "the kernel did not exit within 20 s"
    assert took < 5.0, f"kernel took {took:.1f} s to exit"
    assert process.wait(WAIT) == 0
    text = log.read_text(errors="replace")
    assert "Traceback" not in text, text
