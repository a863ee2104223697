"""Monitor in a real ipykernel: the chart's model keeps receiving updates while a cell is busy.

This is what a notebook user sees through the comm channel, without a browser: the messages the
kernel sends to the front end, read off the kernel's IOPub socket.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from jupyter_client.blocking.client import BlockingKernelClient
from jupyter_client.manager import start_new_kernel

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def kernel() -> Iterator[BlockingKernelClient]:
    manager, client = start_new_kernel(kernel_name="python3", startup_timeout=60)
    try:
        yield client
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)


def run(client: BlockingKernelClient, code: str, limit: float = 60.0) -> list[dict[str, Any]]:
    """Execute ``code``; return every IOPub message until it is idle again.

    Messages from the widget's background thread are kept whatever parent they carry: they are
    exactly the ones that must keep flowing while the cell runs.
    """
    msg_id = client.execute(code)
    messages = []
    deadline = time.monotonic() + limit
    while True:
        message = client.get_iopub_msg(timeout=max(deadline - time.monotonic(), 0.1))
        messages.append(message)
        if message["parent_header"].get("msg_id") != msg_id:
            continue
        if message["msg_type"] == "error":
            raise AssertionError("\n".join(message["content"]["traceback"]))
        if message["msg_type"] == "status" and message["content"]["execution_state"] == "idle":
            return messages


def chart_updates(messages: list[dict[str, Any]], comm_id: str) -> list[dict[str, Any]]:
    return [
        m
        for m in messages
        if m["msg_type"] == "comm_msg"
        and m["content"]["comm_id"] == comm_id
        and m["content"]["data"].get("method") == "update"
        and {"x", "y"} <= set(m["content"]["data"]["state"])
    ]


def stdout(messages: list[dict[str, Any]]) -> str:
    return "".join(m["content"]["text"] for m in messages if m["msg_type"] == "stream")


def test_monitor_keeps_updating_during_a_busy_cell(kernel: BlockingKernelClient) -> None:
    shown = run(
        kernel, "from iostat_widget import Monitor\nm = Monitor(interval=0.2, window=10)\nm"
    )
    opened: dict[str, list[str]] = {}
    for m in shown:
        if m["msg_type"] == "comm_open":
            model = m["content"]["data"]["state"]["_model_name"]
            opened.setdefault(model, []).append(m["content"]["comm_id"])
    assert {"LinesModel", "FigureModel", "HTMLModel", "VBoxModel"} <= set(opened)
    views = [m for m in shown if m["msg_type"] in ("display_data", "execute_result")]
    assert views and "application/vnd.jupyter.widget-view+json" in views[0]["content"]["data"]

    busy = run(kernel, "import time\nend = time.time() + 3\nwhile time.time() < end: pass")
    cpu_lines, *hidden_lines = opened["LinesModel"]  # the CPU chart is built first
    updates = chart_updates(busy, cpu_lines)
    # 3 s at 5 Hz is 15 ticks; the background loop must deliver most of them during the cell.
    assert len(updates) >= 12, f"only {len(updates)} chart updates during a 3 s busy cell"
    assert all(m["buffers"] for m in updates)  # numpy arrays travel as binary buffers
    sizes = {tuple(len(b) for b in m["buffers"]) for m in updates[-3:]}
    assert len(sizes) == 1  # the window (10) is full by now: arrays stop growing
    assert len(hidden_lines) == 3  # disk, net, memory charts exist but start hidden ...
    assert not [m for comm in hidden_lines for m in chart_updates(busy, comm)]  # ... and cost 0

    closed = run(
        kernel, "m.close()\nimport threading\nprint(sorted(t.name for t in threading.enumerate()))"
    )
    assert "iostat-widget-loop" not in stdout(closed)
