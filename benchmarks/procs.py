"""Start, watch and always stop the processes a benchmark measures.

Servers and client swarms run in processes of their own so the benchmark's bookkeeping never
lands in the CPU time being measured. Every child is registered here and killed on the way out,
whatever happened (error, Ctrl-C, SIGTERM), so a failed run leaves no server holding a port.
"""

from __future__ import annotations

import contextlib
import os
import re
import resource
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import Self

import numpy as np
import psutil

__all__ = [
    "PYTHON",
    "REPO",
    "Child",
    "Closing",
    "free_port",
    "percentile",
    "raise_nofile",
    "register",
    "stop_all",
    "stop_pid",
    "wait_port",
]

REPO = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
_LIVE: dict[int, psutil.Process] = {}


def raise_nofile(want: int = 20_000) -> int:
    """Raise the soft open-files limit towards the hard one (children inherit it)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    new = want if hard == resource.RLIM_INFINITY else min(want, hard)
    if new > soft:
        resource.setrlimit(resource.RLIMIT_NOFILE, (new, hard))
        return new
    return soft


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (linear interpolation); NaN for no values."""
    if not values:
        return float("nan")
    return float(np.percentile(np.asarray(values, dtype=np.float64), q))


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago (for servers that need one given)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_port(port: int, timeout: float = 20.0) -> None:
    """Block until 127.0.0.1:port accepts a TCP connection, or raise TimeoutError."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.5):
            return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listening on 127.0.0.1:{port} after {timeout} s")


class Closing:
    """``with thing:`` calls ``thing.close()`` on the way out, whatever happened."""

    def close(self) -> None:
        """Release everything (subclasses say what)."""
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class Child:
    """A subprocess whose output goes to a log file; stopped on exit of the ``with`` block."""

    def __init__(self, argv: Sequence[str], name: str, env: dict[str, str] | None = None) -> None:
        self.name = name
        self.argv = list(argv)
        self._log = tempfile.NamedTemporaryFile(  # noqa: SIM115 - closed in stop()
            prefix=f"bench-{name}-", suffix=".log", delete=False
        )
        self.log_path = Path(self._log.name)
        self.popen = subprocess.Popen(
            self.argv,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            cwd=REPO,
            env={**os.environ, **(env or {})},
        )
        self.process = register(self.popen.pid)

    @property
    def pid(self) -> int:
        return self.popen.pid

    def output(self) -> str:
        """Everything the child printed so far."""
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def wait_for(self, pattern: str, timeout: float = 20.0) -> re.Match[str]:
        """Wait for a line matching ``pattern`` in the child's output."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            match = re.search(pattern, self.output())
            if match:
                return match
            if self.popen.poll() is not None:
                raise RuntimeError(
                    f"{self.name} exited with {self.popen.returncode}:\n{self.tail()}"
                )
            time.sleep(0.05)
        raise TimeoutError(f"{self.name}: no {pattern!r} after {timeout} s:\n{self.tail()}")

    def tail(self, lines: int = 20) -> str:
        return "\n".join(self.output().splitlines()[-lines:])

    def cpu_seconds(self) -> float:
        """User + system CPU time of the process so far (all its threads)."""
        times = self.process.cpu_times()
        return float(times.user + times.system)

    def rss(self) -> int:
        """Resident set size in bytes."""
        return int(self.process.memory_info().rss)

    def alive(self) -> bool:
        return self.popen.poll() is None

    def stop(self, grace: float = 5.0) -> None:
        """SIGTERM, then SIGKILL after ``grace`` seconds."""
        stop_pid(self.popen.pid, grace)
        self.popen.poll()
        self._log.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
        if exc is None:
            self.log_path.unlink(missing_ok=True)


def register(pid: int) -> psutil.Process:
    """Have :func:`stop_all` stop this child if nothing else does."""
    process = psutil.Process(pid)
    _LIVE[pid] = process
    return process


def stop_pid(pid: int, grace: float = 5.0) -> None:
    """SIGTERM a registered child, SIGKILL it after ``grace`` seconds, and reap it."""
    process = _LIVE.pop(pid, None)
    if process is None:
        return
    with contextlib.suppress(psutil.NoSuchProcess):
        process.terminate()
        try:
            process.wait(grace)
        except psutil.TimeoutExpired:
            process.kill()
            process.wait(grace)


def stop_all() -> None:
    """Stop every child still running (called on every way out of the suite)."""
    for pid in list(_LIVE):
        with contextlib.suppress(psutil.Error, OSError):
            stop_pid(pid, 2.0)
