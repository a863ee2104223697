"""How big and how long each benchmark runs: the full suite, or the smoke run inside pytest.

One place for every size and duration, so a reader sees at a glance what a number in
``docs/benchmarks.md`` was measured over, and the quick run stays under a minute.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Config"]


@dataclass(frozen=True)
class Config:
    """Sizes (clients, samples, loops) and durations (seconds) of one benchmark run."""

    quick: bool
    # 1. fan-out
    fanout_clients: tuple[int, ...]
    fanout_processes: int
    fanout_rates: tuple[float, ...]  # samples per second at each N (both servers)
    fanout_ticks: int  # samples measured per server and N, split over the rounds
    fanout_rounds: int  # alternating baseline/product runs per N
    fanout_settle: float
    fanout_concurrency: int  # handshakes in flight per client process
    # 2. collector
    collector_viewers: tuple[int, ...]
    collector_seconds: float
    collector_settle: float
    sampler_loops: int
    spawn_loops: int
    top_processes: int  # processes on the machine for the busy-table row (at least)
    top_loops: int
    # 3. wire
    wire_interval: float
    wire_seconds: float
    # 4. and 5. kernel
    kernel_seconds: float
    kernel_settle: float
    memory_samples: tuple[int, int]
    # 6. pixel
    pixel_seconds: float
    pixel_settle: float
    pixel_lab: bool  # JupyterLab takes ~20 s to start and open: not in the smoke run
    # 7. many hosts
    hosts: int

    @classmethod
    def full(cls) -> Config:
        """The run that writes ``docs/benchmarks.md`` and enforces every target."""
        return cls(
            quick=False,
            fanout_clients=(1_000, 5_000, 10_000),
            fanout_processes=4,
            # About 4,000 to 10,000 deliveries a second: what 2 cores fan out without queueing
            # for long, and 200 ticks per server per N in 50 to 200 s.
            fanout_rates=(4.0, 2.0, 1.0),
            fanout_ticks=200,
            fanout_rounds=4,
            fanout_settle=3.0,
            fanout_concurrency=16,
            collector_viewers=(1, 100),
            collector_seconds=60.0,
            collector_settle=2.5,
            sampler_loops=2_000,
            spawn_loops=40,
            top_processes=500,
            top_loops=100,
            wire_interval=0.1,
            wire_seconds=10.0,
            kernel_seconds=30.0,
            kernel_settle=3.0,
            memory_samples=(1_000, 100_000),
            pixel_seconds=30.0,
            pixel_settle=3.0,
            pixel_lab=True,
            hosts=50,
        )

    @classmethod
    def smoke(cls) -> Config:
        """``--quick``: every figure and row, tiny sizes, well under a minute in total."""
        return cls(
            quick=True,
            fanout_clients=(100,),
            fanout_processes=2,
            fanout_rates=(5.0,),
            fanout_ticks=10,
            fanout_rounds=2,
            fanout_settle=1.0,
            fanout_concurrency=16,
            collector_viewers=(1, 100),
            collector_seconds=1.5,
            collector_settle=0.8,
            sampler_loops=200,
            spawn_loops=3,
            top_processes=20,
            top_loops=3,
            wire_interval=0.04,
            wire_seconds=1.5,
            kernel_seconds=1.0,
            kernel_settle=0.5,
            memory_samples=(200, 5_000),
            pixel_seconds=2.0,
            pixel_settle=1.0,
            pixel_lab=False,
            hosts=5,
        )
