"""Figure 7: what watching many machines from one notebook costs the kernel.

One ``Monitor(urls=[...])`` over N servers at 1 Hz (in a process of their own: only the kernel
is measured), against the same kernel idle. Kernel CPU is psutil user+system of the kernel
process over the window, as in figure 4.
"""

from __future__ import annotations

import time

import psutil

from .config import Config
from .kernel_client import Kernel
from .procs import PYTHON, Child
from .report import FigureResult, Row, Target

__all__ = ["row_names", "run"]

LIMIT = 5.0  # % of a core

SETUP = """
import time
from iostat_widget import Monitor
from iostat_widget.widget.runtime import KernelRuntime

_hosts = []

def _hosts_start(urls):
    m = Monitor(urls=urls)
    _hosts.append(m)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not all(len(f.window) for f in m.feeds):
        time.sleep(0.05)
    return sum(1 for f in m.feeds if f.state == "live")

def _hosts_stop():
    while _hosts:
        _hosts.pop().close()
"""


def _name(hosts: int) -> str:
    return f"7. kernel CPU, Monitor(urls=[{hosts} hosts]) at 1 Hz, % of a core"


def row_names(config: Config) -> list[str]:
    return [_name(config.hosts)]


def _cpu(kernel: Kernel) -> float:
    times = psutil.Process(kernel.pid).cpu_times()
    return float(times.user + times.system)


def _window(kernel: Kernel, seconds: float) -> float:
    cpu0, t0 = _cpu(kernel), time.monotonic()
    time.sleep(seconds)
    return (_cpu(kernel) - cpu0) / (time.monotonic() - t0) * 100.0


def run(config: Config) -> FigureResult:
    argv = [PYTHON, "-m", "benchmarks.many_servers", "--count", str(config.hosts)]
    with Child([*argv, "--max-seconds", "900"], "many-servers") as servers, Kernel() as kernel:
        ports = servers.wait_for(r"ports ([\d,]+)", timeout=60).group(1).split(",")
        urls = [f"ws://127.0.0.1:{port}/iostat" for port in ports]
        kernel.run(SETUP)
        time.sleep(config.kernel_settle)
        idle = _window(kernel, config.kernel_seconds)
        live = kernel.evaluate(f"_hosts_start({urls!r})", timeout=60)
        if live != len(urls):
            raise RuntimeError(f"only {live} of {len(urls)} hosts live after 30 s")
        try:
            time.sleep(config.kernel_settle)
            watching = _window(kernel, config.kernel_seconds)
            updates = kernel.evaluate("_hosts[0].updates")
        finally:
            kernel.run("_hosts_stop()")
    row = Row(_name(len(urls)), watching, idle, "idle kernel", Target("<=", LIMIT, unit="%"))
    notes = [
        f"{len(urls)} servers (synthetic samples, 1 Hz) in one process of their own; one "
        f"`Monitor(urls=[...])` in a python3 ipykernel: one line per host in the CPU chart, a "
        f"host column in the table. Window {config.kernel_seconds:g} s, after "
        f"{config.kernel_settle:g} s of settling; idle kernel {idle:.3f} % of a core; "
        f"{updates} widget updates sent in all.",
    ]
    return FigureResult([row], notes)
