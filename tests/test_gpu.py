"""GPU figures through NVIDIA's management library: 0, 1 and 8 devices, a device that fails mid-run,
MIG devices without utilization, a driver missing at start or gone after it, all against
:class:`~tests.fake_nvml.FakeNvml`; and the real binding on this machine, which has no driver."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import pynvml
import pytest

from iostat_widget.schema import encode_sample, lean_sample, validate_sample
from iostat_widget.sources.gpu import GpuReader, gpu_figures, open_gpus
from iostat_widget.sources.psutil_sampler import PsutilSampler
from iostat_widget.sources.synthetic import synthetic_sample

from .fake_nvml import GPU_IS_LOST, FakeGpu, FakeNvml, GiB


def reader(nvml: FakeNvml) -> GpuReader:
    opened = open_gpus(nvml)
    assert opened is not None
    return opened


def test_figures_are_percentages_rounded_to_a_tenth() -> None:
    assert gpu_figures(2, "A100", 99, 1 * GiB, 3 * GiB) == {
        "index": 2,
        "name": "A100",
        "util_pct": 99.0,
        "mem_used_pct": 33.3,
    }
    # Unsupported (None) or unknowable (no memory) figures are absent, never 0.
    assert gpu_figures(0, "A100 MIG", None, 0, 0) == {"index": 0, "name": "A100 MIG"}


def test_no_gpu_offers_no_reader_and_shuts_the_library_down() -> None:
    nvml = FakeNvml([])
    assert open_gpus(nvml) is None
    assert nvml.calls == {"nvmlInit": 1, "nvmlDeviceGetCount": 1, "nvmlShutdown": 1}


def test_no_driver_offers_no_reader_and_raises_nothing() -> None:
    nvml = FakeNvml([FakeGpu()], init_error=9)  # NVML_ERROR_DRIVER_NOT_LOADED
    assert open_gpus(nvml) is None
    assert "nvmlDeviceGetCount" not in nvml.calls


def test_one_gpu() -> None:
    gpus = reader(FakeNvml([FakeGpu(name=b"NVIDIA H200", util=37, used=35 * GiB)]))
    assert gpus.count == 1
    assert gpus.read() == [
        {"index": 0, "name": "NVIDIA H200", "util_pct": 37.0, "mem_used_pct": 25.0}
    ]


def test_eight_gpus_in_order_with_names_read_once() -> None:
    nvml = FakeNvml([FakeGpu(util=10 * i, used=i * GiB, total=8 * GiB) for i in range(8)])
    gpus = reader(nvml)
    for _ in range(3):
        figures = gpus.read()
        assert figures is not None
        assert [g["index"] for g in figures] == list(range(8))
        assert [g.get("util_pct") for g in figures] == [10.0 * i for i in range(8)]
        assert [g.get("mem_used_pct") for g in figures] == [12.5 * i for i in range(8)]
    assert nvml.calls["nvmlDeviceGetName"] == 8  # a device's name does not change
    assert nvml.calls["nvmlDeviceGetHandleByIndex"] == 8


def test_a_gpu_failing_mid_run_is_skipped_counted_and_read_again_later(
    caplog: pytest.LogCaptureFixture,
) -> None:
    devices = [FakeGpu(util=i) for i in range(8)]
    gpus = reader(FakeNvml(devices))
    assert gpus.read() is not None and gpus.errors == 0
    devices[3].failing = GPU_IS_LOST
    with caplog.at_level(logging.WARNING, "iostat_widget.sources.gpu"):
        for _ in range(2):
            figures = gpus.read()
            assert figures is not None
            assert [g["index"] for g in figures] == [0, 1, 2, 4, 5, 6, 7]
    assert gpus.errors == 2
    assert len([r for r in caplog.records if "GPU 3" in r.getMessage()]) == 1  # said once
    devices[3].failing = None
    figures = gpus.read()
    assert figures is not None and [g.get("util_pct") for g in figures] == list(range(8))


def test_mig_devices_report_no_utilization_rather_than_zero() -> None:
    gpus = reader(FakeNvml([FakeGpu(util=None, used=70 * GiB), FakeGpu(util=0, used=0)]))
    assert gpus.read() == [
        {"index": 0, "name": "NVIDIA H200", "mem_used_pct": 50.0},
        {"index": 1, "name": "NVIDIA H200", "util_pct": 0.0, "mem_used_pct": 0.0},
    ]
    assert gpus.errors == 0  # not supported is an answer, not an error


def test_a_driver_gone_after_start_gives_no_figures_and_raises_nothing() -> None:
    nvml = FakeNvml([FakeGpu(), FakeGpu()])
    gpus = reader(nvml)
    nvml.gone = True
    assert gpus.read() is None
    nvml.gone = False  # the driver back (reloaded)
    figures = gpus.read()
    assert figures is not None and len(figures) == 2


def test_close_shuts_the_library_down_once() -> None:
    nvml = FakeNvml([FakeGpu()])
    gpus = reader(nvml)
    gpus.close()
    gpus.close()
    assert nvml.calls["nvmlShutdown"] == 1
    assert gpus.read() is None


@pytest.mark.parametrize("count", [0, 1, 8])
def test_the_sampler_carries_the_gpus_in_the_lean_sample(count: int, tmp_path: Path) -> None:
    nvml = FakeNvml([FakeGpu(util=50, used=70 * GiB) for _ in range(count)])
    sampler = PsutilSampler(host="h", root=tmp_path, environ={}, gpus=lambda: open_gpus(nvml))
    sample = validate_sample(sampler.sample(0))
    if count == 0:
        assert "gpu" not in sample
        return
    assert sample["gpu"] == [
        {"index": i, "name": "NVIDIA H200", "util_pct": 50.0, "mem_used_pct": 50.0}
        for i in range(count)
    ]
    lean = lean_sample(sample)
    assert lean["gpu"] == [
        {"index": i, "util_pct": 50.0, "mem_used_pct": 50.0} for i in range(count)
    ]
    # A headline figure, but a small one: under 50 bytes a device (8 GPUs: about 400 bytes).
    without = {k: v for k, v in lean.items() if k != "gpu"}
    added = len(encode_sample(lean)) - len(encode_sample(without))  # type: ignore[arg-type]
    assert added <= 10 + 49 * count


def test_the_sampler_survives_a_failing_gpu_and_a_lost_driver(tmp_path: Path) -> None:
    devices = [FakeGpu(), FakeGpu()]
    nvml = FakeNvml(devices)
    sampler = PsutilSampler(root=tmp_path, environ={}, gpus=lambda: open_gpus(nvml))
    sampler.prime()
    devices[0].failing = GPU_IS_LOST
    first = validate_sample(sampler.sample(0))
    assert [g["index"] for g in first["gpu"]] == [1]
    nvml.gone = True
    second = validate_sample(sampler.sample(1))
    assert "gpu" not in second
    assert nvml.calls["nvmlInit"] == 1  # opened once, not per start


def test_synthetic_samples_can_carry_gpus() -> None:
    sample = synthetic_sample(5, 1_800_000_000.0, gpus=2)
    assert validate_sample(sample) == sample
    assert [g["index"] for g in sample["gpu"]] == [0, 1]
    assert "gpu" not in synthetic_sample(5, 1_800_000_000.0)


def test_without_the_binding_installed_there_are_no_gpus(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pynvml", None)  # `import pynvml` raises ImportError
    assert open_gpus() is None


def test_the_real_binding_without_a_driver_gives_no_gpu_key_and_no_error() -> None:
    """This machine has the binding installed and no NVIDIA driver: nothing is offered."""
    with pytest.raises(pynvml.NVMLError):  # the premise: no driver here
        pynvml.nvmlInit()
    assert open_gpus() is None
    sample = validate_sample(PsutilSampler().sample(0))  # the default: the real binding
    assert "gpu" not in sample
