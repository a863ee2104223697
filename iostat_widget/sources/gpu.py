"""NVIDIA GPUs' utilization and memory, read through NVIDIA's management library (NVML).

The library is reached through its maintained binding, ``nvidia-ml-py`` (module ``pynvml``, the
``gpu`` extra), imported only by :func:`open_gpus` when no binding is given: everything else here
takes any object with the binding's functions (:class:`Nvml`), so tests inject a fake. A machine
without the binding, the driver or a GPU gets no reader, and its samples no ``gpu`` key; nothing
raises. Each NVML call is a few microseconds to a millisecond, so the reading stays in the sampler.
"""

from __future__ import annotations

import contextlib
import logging
from typing import Any, Protocol

from ..gpu_schema import MAX_GPUS, GpuFigures
from .rates import rounded

__all__ = ["GpuReader", "Nvml", "gpu_figures", "open_gpus"]

log = logging.getLogger(__name__)


class Nvml(Protocol):
    """The part of ``pynvml`` a :class:`GpuReader` calls (the module itself, or a fake).

    Every function raises ``NVMLError`` (``.value``: NVML's return code) on failure;
    ``NVML_ERROR_NOT_SUPPORTED`` is the code for a query the device does not answer.
    """

    NVMLError: type[Exception]
    NVML_ERROR_NOT_SUPPORTED: int

    def nvmlInit(self) -> None: ...
    def nvmlShutdown(self) -> None: ...
    def nvmlDeviceGetCount(self) -> int: ...
    def nvmlDeviceGetHandleByIndex(self, index: int, /) -> Any: ...
    def nvmlDeviceGetName(self, handle: Any, /) -> str | bytes: ...
    def nvmlDeviceGetUtilizationRates(self, handle: Any, /) -> Any: ...  # .gpu: percent
    def nvmlDeviceGetMemoryInfo(self, handle: Any, /) -> Any: ...  # .used, .total: bytes


def gpu_figures(index: int, name: str, util: float | None, used: float, total: float) -> GpuFigures:
    """One device's entry in a sample: ``util`` in percent (None: not supported, left out),
    memory ``used`` of ``total`` bytes as a percentage (left out when ``total`` is 0), each
    rounded to 0.1."""
    figures = GpuFigures(index=index, name=name)
    if util is not None:
        figures["util_pct"] = rounded(float(util))
    if total > 0:
        figures["mem_used_pct"] = rounded(100.0 * used / total)
    return figures


class GpuReader:
    """Reads every GPU NVML lists, once per :meth:`read`, over an initialized binding.

    ``count`` is how many devices there were at start (at most :data:`~.gpu_schema.MAX_GPUS`
    are read); ``errors`` counts the device readings that failed and were skipped.
    """

    def __init__(self, nvml: Nvml, count: int) -> None:
        self.nvml = nvml
        self.count = count
        self.errors = 0
        self._devices: dict[int, tuple[Any, str]] = {}  #: index: (handle, name), once read
        self._failing: set[int] = set()  #: devices whose last reading failed (logged once)
        self._closed = False

    def read(self) -> list[GpuFigures] | None:
        """Each device's figures, by index; None when the driver cannot be reached (unloaded
        or reset after start) or the reader is closed.

        A device whose reading fails (fallen off the bus, being reset) is left out of this tick,
        counted in ``errors`` and logged once until it reads again. Utilization or memory the
        device does not support (a GPU in MIG mode has no utilization) is left out of its entry.
        Never raises NVML's errors.
        """
        if self._closed:
            return None
        nvml = self.nvml
        try:
            count = nvml.nvmlDeviceGetCount()
        except nvml.NVMLError as err:
            self._devices.clear()  # handles of a reloaded driver are new ones
            log.debug("GPUs: NVML cannot count devices (%s)", err)
            return None
        gpus = []
        for index in range(min(count, MAX_GPUS)):
            try:
                gpus.append(self._read_one(index))
            except nvml.NVMLError as err:
                self.errors += 1
                self._devices.pop(index, None)
                if index not in self._failing:
                    self._failing.add(index)
                    log.warning("GPU %d: not read (%s)", index, err)
            else:
                self._failing.discard(index)
        return gpus

    def _read_one(self, index: int) -> GpuFigures:
        nvml = self.nvml
        known = self._devices.get(index)
        if known is None:
            handle = nvml.nvmlDeviceGetHandleByIndex(index)
            name = nvml.nvmlDeviceGetName(handle)
            if isinstance(name, bytes):  # older bindings return bytes
                name = name.decode("utf-8", "replace")
            known = self._devices[index] = (handle, name[:96] or f"GPU {index}")
        handle, name = known
        util = self._supported(nvml.nvmlDeviceGetUtilizationRates, handle)
        memory = self._supported(nvml.nvmlDeviceGetMemoryInfo, handle)
        used, total = (memory.used, memory.total) if memory is not None else (0, 0)
        return gpu_figures(index, name, None if util is None else util.gpu, used, total)

    def _supported(self, query: Any, handle: Any) -> Any:
        """``query(handle)``, or None where NVML says the device does not support it."""
        try:
            return query(handle)
        except self.nvml.NVMLError as err:
            if getattr(err, "value", None) == self.nvml.NVML_ERROR_NOT_SUPPORTED:
                return None
            raise

    def close(self) -> None:
        """Shut NVML down (once); later readings give None."""
        if not self._closed:
            self._closed = True
            with contextlib.suppress(self.nvml.NVMLError):
                self.nvml.nvmlShutdown()


def open_gpus(nvml: Nvml | None = None) -> GpuReader | None:
    """A reader over ``nvml`` (default: the ``pynvml`` binding), or None where there is nothing
    to read: the binding not installed, NVML not initializing (no driver, no library), or no GPU.
    Raises nothing for any of those."""
    if nvml is None:
        try:
            import pynvml  # the `gpu` extra; only here, so the package runs without it
        except ImportError:
            return None
        nvml = pynvml
    try:
        nvml.nvmlInit()
    except nvml.NVMLError as err:
        log.debug("GPUs: NVML does not start (%s)", err)
        return None
    try:
        count = nvml.nvmlDeviceGetCount()
    except nvml.NVMLError:
        count = 0
    if count <= 0:
        with contextlib.suppress(nvml.NVMLError):
            nvml.nvmlShutdown()
        return None
    return GpuReader(nvml, count)
