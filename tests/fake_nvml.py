"""A stand-in for NVIDIA's management library binding (``pynvml``): the functions
:class:`~iostat_widget.sources.gpu.GpuReader` calls, over devices a test describes and changes.

Errors are raised the way the binding raises them: one exception type whose ``value`` is NVML's
return code (the binding's subclasses per code all derive from ``pynvml.NVMLError``).
"""

from __future__ import annotations

from dataclasses import dataclass
from types import SimpleNamespace

__all__ = ["FakeGpu", "FakeNvml", "FakeNvmlError"]

NOT_SUPPORTED = 3  # pynvml.NVML_ERROR_NOT_SUPPORTED
DRIVER_NOT_LOADED = 9  # pynvml.NVML_ERROR_DRIVER_NOT_LOADED
GPU_IS_LOST = 15  # pynvml.NVML_ERROR_GPU_IS_LOST
GiB = 2**30


class FakeNvmlError(Exception):
    """NVML's failure: ``value`` is its return code."""

    def __init__(self, value: int) -> None:
        super().__init__(f"NVML error {value}")
        self.value = value


@dataclass
class FakeGpu:
    """One device: ``util`` None when utilization is not supported (a GPU in MIG mode),
    ``failing`` an NVML return code every call on the device raises (a GPU fallen off the bus)."""

    name: str | bytes = "NVIDIA H200"
    util: int | None = 37
    used: int = 35 * GiB
    total: int = 140 * GiB
    failing: int | None = None


class FakeNvml:
    """The binding's functions over ``gpus``; ``init_error``/``gone`` make the driver missing at
    start or after it; ``calls`` counts each function called."""

    NVMLError = FakeNvmlError
    NVML_ERROR_NOT_SUPPORTED = NOT_SUPPORTED

    def __init__(self, gpus: list[FakeGpu], *, init_error: int | None = None) -> None:
        self.gpus = gpus
        self.init_error = init_error
        self.gone = False
        self.calls: dict[str, int] = {}

    def _call(self, name: str) -> None:
        self.calls[name] = self.calls.get(name, 0) + 1

    def _gpu(self, handle: object) -> FakeGpu:
        assert isinstance(handle, int)
        if self.gone:
            raise FakeNvmlError(DRIVER_NOT_LOADED)
        gpu = self.gpus[handle]
        if gpu.failing is not None:
            raise FakeNvmlError(gpu.failing)
        return gpu

    def nvmlInit(self) -> None:
        self._call("nvmlInit")
        if self.init_error is not None:
            raise FakeNvmlError(self.init_error)

    def nvmlShutdown(self) -> None:
        self._call("nvmlShutdown")

    def nvmlDeviceGetCount(self) -> int:
        self._call("nvmlDeviceGetCount")
        if self.gone:
            raise FakeNvmlError(DRIVER_NOT_LOADED)
        return len(self.gpus)

    def nvmlDeviceGetHandleByIndex(self, index: int) -> object:
        self._call("nvmlDeviceGetHandleByIndex")
        self._gpu(index)
        return index

    def nvmlDeviceGetName(self, handle: object) -> str | bytes:
        self._call("nvmlDeviceGetName")
        return self._gpu(handle).name

    def nvmlDeviceGetUtilizationRates(self, handle: object) -> object:
        self._call("nvmlDeviceGetUtilizationRates")
        gpu = self._gpu(handle)
        if gpu.util is None:
            raise FakeNvmlError(NOT_SUPPORTED)
        return SimpleNamespace(gpu=gpu.util, memory=gpu.util // 2)

    def nvmlDeviceGetMemoryInfo(self, handle: object) -> object:
        self._call("nvmlDeviceGetMemoryInfo")
        gpu = self._gpu(handle)
        return SimpleNamespace(total=gpu.total, used=gpu.used, free=gpu.total - gpu.used)
