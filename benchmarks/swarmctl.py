"""Drive swarms of viewer processes (``benchmarks.swarm``) and add up what they saw.

Several client processes share the connections, so the clients' own parsing never competes with
one event loop and the server under test is the only process being measured. Lost samples are
counted against every sample number the swarm saw in the window: a sample no viewer got, or one
that a single viewer missed, both count.
"""

from __future__ import annotations

import concurrent.futures
import json
import subprocess
import tempfile
from dataclasses import dataclass, field
from typing import IO, Any

import psutil

from .procs import PYTHON, REPO, Closing, register, stop_pid

__all__ = ["Swarm", "SwarmReport"]


@dataclass
class SwarmReport:
    """What every viewer of a swarm saw in the measured window."""

    clients: int
    connected: int = 0
    failed: int = 0
    closed_early: int = 0
    compact: int = 0  #: connections the server gave the compact form
    expected: int = 0  #: distinct sample numbers in the window
    lost: int = 0  #: (viewer, sample) pairs in the window that never arrived
    gaps: int = 0  #: numbers missing inside a viewer's whole stream
    duplicates: int = 0
    messages: int = 0
    ramp_seconds: float = 0.0
    errors: list[str] = field(default_factory=list)
    latencies_ms: list[float] = field(default_factory=list)
    #: per sample (tick): every viewer's latency, ms (the unit of the bootstrap)
    ticks_ms: dict[int, list[float]] = field(default_factory=dict)
    #: per sample: its first and last delivery (ms), to tell server delay from queueing
    spread_ms: dict[int, tuple[float, float]] = field(default_factory=dict)


class Swarm(Closing):
    """``processes`` swarm processes holding ``clients`` connections to ``url`` between them."""

    def __init__(
        self,
        url: str,
        clients: int,
        *,
        processes: int = 1,
        concurrency: int = 16,
        max_seconds: float = 600.0,
        client: str = "raw",
        compact_share: float = 0.0,
    ) -> None:
        self.report = SwarmReport(clients)
        processes = max(1, min(processes, clients))
        shares = [clients // processes + (i < clients % processes) for i in range(processes)]
        self._log = tempfile.TemporaryFile()  # noqa: SIM115 - closed in close()
        self._pool = concurrent.futures.ThreadPoolExecutor(max_workers=processes)
        self.children: list[subprocess.Popen[bytes]] = []
        for share in shares:
            child = subprocess.Popen(
                [
                    *(PYTHON, "-m", "benchmarks.swarm", "--url", url, "--count", str(share)),
                    *("--concurrency", str(concurrency), "--max-seconds", str(max_seconds)),
                    *("--client", client, "--compact-share", str(compact_share)),
                ],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=self._log,
                cwd=REPO,
            )
            register(child.pid)
            self.children.append(child)

    def _lines(self, timeout: float, event: str) -> list[dict[str, Any]]:
        def read(child: subprocess.Popen[bytes]) -> dict[str, Any]:
            stdout: IO[bytes] | None = child.stdout
            assert stdout is not None
            line = stdout.readline()
            if not line:
                raise RuntimeError(f"a swarm process exited before '{event}':\n{self._stderr()}")
            obj: dict[str, Any] = json.loads(line)
            if obj.get("event") != event:
                raise RuntimeError(f"swarm said {obj.get('event')!r}, expected {event!r}")
            return obj

        futures = [self._pool.submit(read, child) for child in self.children]
        return [future.result(timeout) for future in futures]

    def cpu_seconds(self) -> float:
        """User + system CPU time used so far by all the swarm's processes."""
        total = 0.0
        for child in self.children:
            times = psutil.Process(child.pid).cpu_times()
            total += times.user + times.system
        return total

    def _stderr(self) -> str:
        self._log.seek(0)
        return self._log.read().decode(errors="replace")[-3000:]

    def ready(self, timeout: float) -> SwarmReport:
        """Wait until every connection is open or has failed."""
        for obj in self._lines(timeout, "ready"):
            self.report.connected += int(obj["connected"])
            self.report.failed += int(obj["failed"])
            self.report.ramp_seconds = max(self.report.ramp_seconds, float(obj["seconds"]))
        return self.report

    def finish(self, t0: float, t1: float, timeout: float = 60.0) -> SwarmReport:
        """Tell the swarm the window [t0, t1) of sample times; collect and add up the answers."""
        for child in self.children:
            assert child.stdin is not None
            child.stdin.write(f"{t0!r} {t1!r}\n".encode())
            child.stdin.flush()
        results = self._lines(timeout, "result")
        union: set[int] = set()
        counts: list[int] = []
        report = self.report
        for obj in results:
            union.update(obj["union"])
            counts.extend(obj["counts"])
            report.closed_early += int(obj["closed_early"])
            report.compact += int(obj["compact"])
            report.gaps += int(obj["gaps"])
            report.duplicates += int(obj["duplicates"])
            report.messages += int(obj["messages"])
            report.errors.extend(obj["errors"])
            for seq, latencies in obj["ticks"]:
                report.ticks_ms.setdefault(seq, []).extend(latencies)
                report.latencies_ms.extend(latencies)
            for seq, first, last in obj["spread"]:
                was = report.spread_ms.get(seq, (first, last))
                report.spread_ms[seq] = (min(was[0], first), max(was[1], last))
        report.expected = max(union) - min(union) + 1 if union else 0
        report.lost = sum(report.expected - count for count in counts)
        return report

    def close(self) -> None:
        """Stop every swarm process (they also stop by themselves after ``finish``)."""
        for child in self.children:
            if child.stdin is not None and not child.stdin.closed:
                child.stdin.close()
            stop_pid(child.pid, 5.0)
            child.poll()
            if child.stdout is not None:
                child.stdout.close()
        self._pool.shutdown(wait=False, cancel_futures=True)
        self._log.close()
