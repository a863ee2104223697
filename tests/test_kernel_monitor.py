"""Monitor in a real ipykernel: the chart's model keeps receiving updates while a cell is busy,
no update ever prints a traceback into a cell, re-running a cell replaces its monitor, and a
frozen server turns the monitor stale.

This is what a notebook user sees through the comm channel, without a browser: the messages the
kernel sends to the front end, read off the kernel's IOPub socket. Execute requests carry a
``cellId`` in their metadata, as JupyterLab and Notebook 7 send them.
"""

from __future__ import annotations

import os
import signal
import time
from typing import Any

import pytest
from jupyter_client.blocking.client import BlockingKernelClient

from .kernels import chart_updates, evaluate, run, stdout
from .test_cli import start_serve

pytestmark = pytest.mark.slow


def problems(messages: list[dict[str, Any]]) -> list[str]:
    """Everything a user would see as a failure: error outputs, and tracebacks or exceptions
    printed on stdout/stderr (a callback failing on the background loop lands in some cell)."""
    found = []
    for m in messages:
        if m["msg_type"] == "error":
            found.append("\n".join(m["content"]["traceback"]))
        elif m["msg_type"] == "stream":
            text = m["content"]["text"]
            if "Traceback" in text or "Exception" in text or "Error" in text:
                found.append(text)
    return found


KERNEL_CONNECTIONS = """
import psutil
from iostat_widget.widget.runtime import KernelRuntime
def _connections():
    runtime = KernelRuntime.current()
    if runtime is None or runtime.server is None:
        return [0, 0]
    port = runtime.server.port
    sockets = psutil.Process().net_connections("tcp")
    clients = [c for c in sockets if c.status == "ESTABLISHED" and c.raddr and c.raddr.port == port]
    return [len(clients), runtime.server.hub.clients]
"""


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


def test_every_window_and_chart_combination_draws_without_a_traceback(
    kernel: BlockingKernelClient,
) -> None:
    shown = run(
        kernel,
        "from iostat_widget import Monitor\n"
        "a = Monitor(window=1, charts=('cpu', 'disk', 'net', 'mem'))\n"
        "b = Monitor(window=2)\n"
        "c = Monitor(charts=('cpu', 'disk', 'net', 'mem'))\n"
        "display(a, b, c)",
    )
    try:
        busy = run(kernel, "import time\ntime.sleep(5)")
        assert problems(shown + busy) == []
        lines = [
            m["content"]["comm_id"]
            for m in shown
            if m["msg_type"] == "comm_open"
            and m["content"]["data"]["state"]["_model_name"] == "LinesModel"
        ]
        drawn = {comm for comm in lines if chart_updates(busy, comm)}
        assert len(drawn) >= 4 + 1 + 4  # every visible chart of a, b and c got data
        summary = evaluate(
            kernel, "[(m.state, len(m.window) > 0, getattr(m, 'errors', None)) for m in (a, b, c)]"
        )
        assert summary == [["live", True, 0]] * 3
    finally:
        run(kernel, "for m in (a, b, c): m.close()")


def test_rerunning_a_cell_replaces_its_monitor(kernel: BlockingKernelClient) -> None:
    run(kernel, KERNEL_CONNECTIONS)
    cell = "from iostat_widget import Monitor\nm = Monitor(interval=0.2)\nm"
    for _ in range(3):
        assert problems(run(kernel, cell, cell_id="cell-rerun")) == []
    time.sleep(1.0)
    assert evaluate(kernel, "_connections()") == [1, 1]  # one live WebSocket, not three
    assert evaluate(kernel, "m.state") == "live"

    # Two monitors made by one run of a cell both stay; another cell's monitor is its own.
    run(kernel, "m2 = Monitor(interval=0.2)\nm3 = Monitor(interval=0.2)", cell_id="cell-two")
    run(kernel, "other = Monitor(interval=0.2)", cell_id="cell-other")
    time.sleep(1.0)
    assert evaluate(kernel, "_connections()") == [4, 4]
    run(kernel, "m2 = Monitor(interval=0.2)\nm3 = Monitor(interval=0.2)", cell_id="cell-two")
    time.sleep(1.0)
    assert evaluate(kernel, "_connections()") == [4, 4]

    # Without a cellId (a script, an old front end) nothing is replaced.
    run(kernel, "loose = Monitor(interval=0.2)")
    time.sleep(1.0)
    assert evaluate(kernel, "_connections()") == [5, 5]

    run(kernel, "Monitor.close_all()")
    assert evaluate(kernel, "[KernelRuntime.current() is None, m.state, loose.state]") == [
        True,
        "stopped",
        "stopped",
    ]


async def test_a_frozen_server_turns_the_monitor_stale_and_back(
    kernel: BlockingKernelClient,
) -> None:
    interval = 0.5
    process, url = await start_serve("--interval", str(interval))
    try:
        run(kernel, f"from iostat_widget import Monitor\nr = Monitor(url={url!r})")
        wait = (
            "import time as _t\n_end = _t.monotonic() + {limit}\n"
            "while r.state != {state!r} and _t.monotonic() < _end: _t.sleep(0.02)\n"
        )
        run(kernel, wait.format(limit=20, state="live") + "while len(r.window) < 3: _t.sleep(0.02)")
        assert evaluate(kernel, "r.state") == "live"

        os.kill(process.pid, signal.SIGSTOP)
        frozen = time.monotonic()
        run(kernel, wait.format(limit=10, state="stale"))
        took = time.monotonic() - frozen
        assert evaluate(kernel, "r.state") == "stale"
        assert took <= 3 * interval + 1.0, f"stale after {took:.2f} s"
        assert evaluate(kernel, "r.text.feeds[0]['state']") == "stale"

        os.kill(process.pid, signal.SIGCONT)
        run(kernel, wait.format(limit=10, state="live"))
        assert evaluate(kernel, "r.state") == "live"
        assert evaluate(kernel, "r.text.feeds[0]['state']") == "live"
    finally:
        os.kill(process.pid, signal.SIGCONT)
        run(kernel, "r.close()")
        process.terminate()
        await process.wait()


def test_a_child_burning_a_core_shows_in_the_kernels_cpu_line(
    kernel: BlockingKernelClient,
) -> None:
    run(
        kernel,
        "import subprocess, sys, time as _t\nfrom iostat_widget import Monitor\n"
        "k = Monitor(interval=0.5)\n_end = _t.monotonic() + 20\n"
        "while (len(k.window) < 2 or k.kernel_cost is None) and _t.monotonic() < _end:\n"
        "    _t.sleep(0.02)",
    )
    try:
        run(
            kernel,
            "_seq = k.window.newest['seq']\n"
            "burner = subprocess.Popen([sys.executable, '-c', 'while True: pass'])\n"
            "_end = _t.monotonic() + 20\n"
            "while k.window.newest['seq'] < _seq + 3 and _t.monotonic() < _end: _t.sleep(0.02)\n"
            "_t.sleep(0.1)",  # the update drawing the third sample
        )
        figures = evaluate(
            kernel,
            "[s['kernel']['cpu_pct'] for s in k.window.rows(60) if _seq < s['seq'] <= _seq + 3"
            " and 'kernel' in s]",
        )
        cpus = evaluate(kernel, "k.kernel_meter.cpus")
        # One core busy is 100/N % of the machine's N CPUs, the CPU chart's scale.
        assert len(figures) == 3 and max(figures) >= 80 / cpus, (figures, cpus)
        drawn = evaluate(kernel, "[v for v in k.lines.y[2].tolist() if v == v]")
        assert max(figures) in drawn  # the line in the CPU chart shows it
        assert "this kernel" in evaluate(kernel, "k.headline")
    finally:
        run(kernel, "burner.kill()\nburner.wait()\nk.close()")
