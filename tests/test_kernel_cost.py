"""This kernel's cost on a sample: attached by the monitor, read by the charts and the headline."""

from __future__ import annotations

import math

from iostat_widget.sources.synthetic import synthetic_sample
from iostat_widget.widget.kernel_cost import attach_cost, cost_of, kernel_cpu, kernel_mem

from .helpers import cost


def test_a_sample_without_a_cost_reads_nan() -> None:
    sample = synthetic_sample(0, 1_800_000_000.0)
    assert cost_of(sample) is None
    assert math.isnan(kernel_cpu(sample)) and math.isnan(kernel_mem(sample))


def test_an_attached_cost_is_read_back() -> None:
    sample = synthetic_sample(0, 1_800_000_000.0)
    attach_cost(sample, cost(cpu_pct=25.0, mem_pct=4.5))
    assert kernel_cpu(sample) == 25.0 and kernel_mem(sample) == 4.5
    assert cost_of(sample) == cost(cpu_pct=25.0, mem_pct=4.5)
