"""The benchmark suite: ``python -m benchmarks [--quick] [--only NAME ...]``.

Each figure the product promises (fan-out, collector cost, bytes on the wire, kernel cost,
latency to the kernel, latency to the pixel) is measured next to a baseline taken in the same
run on the same machine, and written to ``docs/benchmarks.md`` with its target and verdict.
"""

from __future__ import annotations

__all__: list[str] = []
