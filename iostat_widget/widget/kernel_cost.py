"""This kernel's own cost, carried on the sample it was measured with.

The monitor measures the kernel's process tree (:class:`~iostat_widget.sources.process_cost.
CostMeter`) when a sample is drawn and attaches the :class:`~iostat_widget.sources.process_cost.
ProcessCost` to that sample (under ``"kernel"``, a key no server sends: the wire's validation
drops unknown keys), so the charts draw it at the sample's time, with the sample's gaps, from the
same window. The getters read it back as the charts' scale: % of the machine's CPUs (one core
busy on 8 CPUs is 12.5 %) and % of its memory; NaN (drawn as nothing) for a sample without it.
"""

from __future__ import annotations

import math
from typing import Any, Final, cast

from ..schema import Sample
from ..sources.process_cost import ProcessCost

__all__ = ["KEY", "attach_cost", "cost_of", "kernel_cpu", "kernel_mem"]

#: The sample key the kernel's cost is kept under.
KEY: Final = "kernel"


def attach_cost(sample: Sample, cost: ProcessCost) -> None:
    """Keep ``cost`` on ``sample`` (the monitor's own copy of it)."""
    cast(dict[str, Any], sample)[KEY] = cost


def cost_of(sample: Sample) -> ProcessCost | None:
    """The cost attached to ``sample``, if any."""
    return cast(dict[str, Any], sample).get(KEY)


def kernel_cpu(sample: Sample) -> float:
    """The kernel's CPU as % of the machine's CPUs (``100 * cores / cpus``); NaN without."""
    cost = cost_of(sample)
    return cost["cpu_pct"] if cost is not None else math.nan


def kernel_mem(sample: Sample) -> float:
    """The kernel's RSS as % of the machine's memory; NaN without."""
    cost = cost_of(sample)
    return cost["mem_pct"] if cost is not None else math.nan
