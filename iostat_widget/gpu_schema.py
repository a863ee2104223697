"""The sample's optional ``gpu`` key: one entry per NVIDIA GPU, checked like the rest of a sample.

Pure, like :mod:`.schema` (which uses it): no NVML, no I/O. A headline figure, so it travels in
the lean sample too, where each device costs about 45 bytes: its name is left to the detail stream
(``/iostat?detail=1``) and ``/metrics``.
"""

from __future__ import annotations

import math
from typing import Final, NotRequired, TypedDict

__all__ = ["MAX_GPUS", "GpuFigures", "lean_gpus", "validate_gpus"]

#: More GPUs than one machine has (NVML numbers them from 0; 8 or 16 per node is usual).
MAX_GPUS: Final = 64
_MAX_NAME: Final = 96
_PERCENT_HIGH: Final = 100.5  # like the CPU's shares: rounding may overshoot 100 a little


class GpuFigures(TypedDict):
    """One GPU as NVML numbers and reads it.

    - ``index``: NVML's device index (0, 1, …; ``nvidia-smi``'s numbering).
    - ``name``: the product name (``"NVIDIA H200"``); detail stream only.
    - ``util_pct``: percent of the last sample period (1/6 s to 1 s, by product) in which a
      kernel ran on the GPU; absent where NVML does not support it (a GPU in MIG mode).
    - ``mem_used_pct``: percent of the GPU's memory allocated; absent where not readable.
    """

    index: int
    name: NotRequired[str]
    util_pct: NotRequired[float]
    mem_used_pct: NotRequired[float]


class _Invalid(ValueError):
    pass


def _percent(value: object, where: str, error: type[ValueError]) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise error(f"{where}: expected a number, got {type(value).__name__}")
    number = float(value)
    if not math.isfinite(number) or not 0.0 <= number <= _PERCENT_HIGH:
        raise error(f"{where}: {number!r} outside [0.0, {_PERCENT_HIGH}]")
    return number


def validate_gpus(part: object, error: type[ValueError] = _Invalid) -> list[GpuFigures]:
    """A clean copy of a sample's ``gpu`` list (unknown keys dropped).

    Raises:
        error: (a ``ValueError``; :class:`~.schema.SampleError` from the schema) naming the first
            problem, e.g. ``"gpu[1].util_pct: 250.0 outside [0.0, 100.5]"``, for a list longer
            than :data:`MAX_GPUS`, a device index out of range or repeated, a name that is not
            1-96 characters of UTF-8, a percentage outside 0-100.5.
    """
    if not isinstance(part, list) or len(part) > MAX_GPUS:
        raise error(f"gpu: expected a list of at most {MAX_GPUS} devices")
    gpus: list[GpuFigures] = []
    seen: set[int] = set()
    for number, entry in enumerate(part):
        where = f"gpu[{number}]"
        if not isinstance(entry, dict):
            raise error(f"{where}: expected an object")
        index = entry.get("index")
        if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < MAX_GPUS:
            raise error(f"{where}.index: expected an integer from 0 to {MAX_GPUS - 1}")
        if index in seen:
            raise error(f"{where}.index: {index} is listed twice")
        seen.add(index)
        gpu = GpuFigures(index=index)
        if "name" in entry:
            name = entry["name"]
            if not isinstance(name, str) or not 0 < len(name) <= _MAX_NAME or not _utf8(name):
                raise error(f"{where}.name: expected 1 to {_MAX_NAME} characters")
            gpu["name"] = name
        if "util_pct" in entry:
            gpu["util_pct"] = _percent(entry["util_pct"], f"{where}.util_pct", error)
        if "mem_used_pct" in entry:
            gpu["mem_used_pct"] = _percent(entry["mem_used_pct"], f"{where}.mem_used_pct", error)
        gpus.append(gpu)
    return gpus


def lean_gpus(gpus: list[GpuFigures]) -> list[GpuFigures]:
    """The list as every viewer gets it: the figures without the names."""
    lean = []
    for gpu in gpus:
        figures = GpuFigures(index=gpu["index"])
        if "util_pct" in gpu:
            figures["util_pct"] = gpu["util_pct"]
        if "mem_used_pct" in gpu:
            figures["mem_used_pct"] = gpu["mem_used_pct"]
        lean.append(figures)
    return lean


def _utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
