"""The sample schema: the one JSON object every transport carries.

Pure on purpose (no asyncio, no sockets, no widgets): the server encodes with it, every client
validates with it, and hostile input is judged by it alone. A sample that fails validation raises
:class:`SampleError` with a reason, so callers can count and skip it instead of crashing.
"""

from __future__ import annotations

import json
import math
from typing import Any, Final, Literal, NotRequired, TypedDict

from .gpu_schema import GpuFigures, lean_gpus, validate_gpus
from .top_schema import TopRow, validate_top

__all__ = [
    "DETAIL_FIELDS",
    "DETAIL_KEYS",
    "MAX_MESSAGE_BYTES",
    "CpuPercent",
    "DeviceDiskRates",
    "DeviceNetRates",
    "DiskRates",
    "GpuFigures",
    "MemUsage",
    "NetRates",
    "Sample",
    "SampleError",
    "Scope",
    "TopRow",
    "decode_sample",
    "encode_sample",
    "lean_sample",
    "load_message",
    "validate_sample",
]

#: A lean sample is ~240 bytes; a detail sample of a host with a thousand busy disks and paths
#: (a SAN host) about 100 KB. Anything far larger is not a sample and is refused unread.
MAX_MESSAGE_BYTES: Final = 1024 * 1024

_PERCENT_SLACK: Final = 0.5  # counters sampled a tick apart can overshoot 100 % by rounding
_MAX_RATE: Final = 1e15  # bytes/s; a petabyte per second is not a real disk or NIC
_MAX_HOST: Final = 255  # longest DNS name
_MAX_DEVICES: Final = 8192  # disks or interfaces in one sample's detail (SAN hosts: thousands)
_MAX_DEVICE_NAME: Final = 64
#: The per-device detail: only in the detail stream (``/iostat?detail=1``).
DETAIL_KEYS: Final = ("disks", "nics")
#: Figures no chart draws, also left to the detail stream: every byte of the lean sample is sent
#: to every viewer every interval.
DETAIL_FIELDS: Final = {
    "cpu": ("irq",),
    "disk": ("read_iops", "write_iops"),
    "mem": ("avail_bytes",),
}


Scope = Literal["host", "container"]
"""What a sample's numbers cover: the whole machine, or the container the server runs in."""


class CpuPercent(TypedDict):
    """Share of CPU time over the interval, in percent, like iostat's us/sy/id/wa/st columns.

    ``irq`` (hardware + software interrupts) is the part of ``sy`` spent serving interrupts.
    """

    us: float
    sy: float
    id: float
    wa: float
    st: float
    irq: NotRequired[float]


class DiskRates(TypedDict):
    """Bytes per second read from and written to all disks, and operations per second."""

    read_bps: float
    write_bps: float
    read_iops: NotRequired[float]
    write_iops: NotRequired[float]


class NetRates(TypedDict):
    """Bytes per second received and sent on all interfaces over the interval."""

    rx_bps: float
    tx_bps: float


class DeviceDiskRates(DiskRates):
    """One block device's rates in the detail stream.

    ``stacked`` is true for a device that sits on another listed device (a partition, an LVM,
    md RAID or bcache device, a loop device on a file): its traffic is also counted below it, so
    the ``disk`` total leaves it out.
    """

    stacked: NotRequired[bool]


class DeviceNetRates(NetRates):
    """One interface's rates in the detail stream.

    ``virtual`` is true for an interface with no device behind it (bridge, veth, tun/tap, bond,
    VLAN): the ``net`` total leaves it out unless no physical interface exists.
    """

    virtual: NotRequired[bool]


class MemUsage(TypedDict):
    """Memory in use (percent of total, or of the container's limit) and bytes still available."""

    used_pct: float
    avail_bytes: NotRequired[float]


class Sample(TypedDict):
    """One reading of the machine; ``seq`` grows by one per sample and per server."""

    seq: int
    t: float
    date: str
    host: str
    interval: float
    cpu: CpuPercent
    disk: DiskRates
    net: NetRates
    mem: MemUsage
    scope: NotRequired[Scope]
    disks: NotRequired[dict[str, DeviceDiskRates]]
    nics: NotRequired[dict[str, DeviceNetRates]]
    gpu: NotRequired[list[GpuFigures]]
    top: NotRequired[list[TopRow]]


class SampleError(ValueError):
    """Raised for a message that is not a valid sample; ``str(err)`` says what is wrong."""


def _number(value: object, where: str, low: float, high: float) -> float:
    # bool is an int subclass; true/false in a number field is a malformed sample, not 1/0.
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise SampleError(f"{where}: expected a number, got {type(value).__name__}")
    try:
        number = float(value)
    except OverflowError:  # an int with hundreds of digits
        raise SampleError(f"{where}: too large") from None
    if not math.isfinite(number):
        raise SampleError(f"{where}: not a finite number")
    if not low <= number <= high:
        raise SampleError(f"{where}: {number!r} outside [{low}, {high}]")
    return number


def _is_utf8(text: str) -> bool:
    # JSON can carry lone surrogates ("\ud800"); no UTF-8 channel (the widget's) can send them.
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _section(
    obj: dict[str, Any],
    name: str,
    keys: tuple[str, ...],
    high: float,
    optional: tuple[str, ...] = (),
) -> dict[str, float]:
    part = obj.get(name)
    if not isinstance(part, dict):
        raise SampleError(f"{name}: expected an object")
    values = {key: _number(part.get(key), f"{name}.{key}", 0.0, high) for key in keys}
    for key in optional:
        if key in part:
            values[key] = _number(part[key], f"{name}.{key}", 0.0, high)
    return values


def validate_sample(obj: object) -> Sample:
    """Check a decoded message and return a clean :class:`Sample` (unknown keys are dropped).

    The contract's keys are required; later additions (``scope``, ``cpu.irq``, IOPS,
    ``mem.avail_bytes``, ``gpu``, ``top``) are checked when present, so older or simpler servers
    still validate.

    Raises:
        SampleError: (a ``ValueError``) naming the first problem found, e.g.
            ``"cpu.us: 500.0 outside [0.0, 100.5]"``.
    """
    if not isinstance(obj, dict):
        raise SampleError(f"sample: expected an object, got {type(obj).__name__}")
    seq = obj.get("seq")
    if isinstance(seq, bool) or not isinstance(seq, int) or not 0 <= seq < 2**63:
        raise SampleError("seq: expected a non-negative integer")
    date, host = obj.get("date"), obj.get("host")
    if not isinstance(date, str) or not 0 < len(date) <= 40 or not _is_utf8(date):
        raise SampleError("date: expected an ISO-8601 string")
    if not isinstance(host, str) or len(host) > _MAX_HOST or not _is_utf8(host):
        raise SampleError("host: expected a string of at most 255 characters")
    pct = 100.0 + _PERCENT_SLACK
    cpu = _section(obj, "cpu", ("us", "sy", "id", "wa", "st"), pct, ("irq",))
    if cpu["us"] + cpu["sy"] + cpu["id"] + cpu["wa"] + cpu["st"] > pct:
        raise SampleError("cpu: us + sy + id + wa + st is over 100")
    disk = _section(obj, "disk", ("read_bps", "write_bps"), _MAX_RATE, ("read_iops", "write_iops"))
    net = _section(obj, "net", ("rx_bps", "tx_bps"), _MAX_RATE)
    mem = _section(obj, "mem", ("used_pct",), pct)
    sample = Sample(
        seq=seq,
        t=_number(obj.get("t"), "t", 0.0, 1e11),
        date=date,
        host=host,
        interval=_number(obj.get("interval"), "interval", 1e-3, 86400.0),
        cpu=CpuPercent(us=cpu["us"], sy=cpu["sy"], id=cpu["id"], wa=cpu["wa"], st=cpu["st"]),
        disk=DiskRates(read_bps=disk["read_bps"], write_bps=disk["write_bps"]),
        net=NetRates(rx_bps=net["rx_bps"], tx_bps=net["tx_bps"]),
        mem=MemUsage(used_pct=mem["used_pct"]),
    )
    if "irq" in cpu:
        sample["cpu"]["irq"] = cpu["irq"]
    if "read_iops" in disk:
        sample["disk"]["read_iops"] = disk["read_iops"]
    if "write_iops" in disk:
        sample["disk"]["write_iops"] = disk["write_iops"]
    mem_part = obj["mem"]
    if "avail_bytes" in mem_part:
        sample["mem"]["avail_bytes"] = _number(mem_part["avail_bytes"], "mem.avail_bytes", 0, 1e18)
    if "scope" in obj:
        scope = obj["scope"]
        if scope not in ("host", "container"):
            raise SampleError("scope: expected 'host' or 'container'")
        sample["scope"] = scope
    if "disks" in obj:
        disk_keys = ("read_bps", "write_bps", "read_iops", "write_iops")
        disks = {}
        for name, (r, flag) in _devices(obj, "disks", disk_keys, "stacked").items():
            device = DeviceDiskRates(
                read_bps=r["read_bps"],
                write_bps=r["write_bps"],
                read_iops=r["read_iops"],
                write_iops=r["write_iops"],
            )
            if flag is not None:
                device["stacked"] = flag
            disks[name] = device
        sample["disks"] = disks
    if "nics" in obj:
        nics = {}
        for name, (r, flag) in _devices(obj, "nics", ("rx_bps", "tx_bps"), "virtual").items():
            nic = DeviceNetRates(rx_bps=r["rx_bps"], tx_bps=r["tx_bps"])
            if flag is not None:
                nic["virtual"] = flag
            nics[name] = nic
        sample["nics"] = nics
    if "gpu" in obj:  # NVIDIA GPUs, where the machine has some (see gpu_schema)
        sample["gpu"] = validate_gpus(obj["gpu"], SampleError)
    if "top" in obj:  # the busiest processes, for viewers that asked (see top_schema)
        sample["top"] = validate_top(obj["top"], SampleError)
    return sample


def _devices(
    obj: dict[str, Any], name: str, keys: tuple[str, ...], flag: str
) -> dict[str, tuple[dict[str, float], bool | None]]:
    """A per-device map: each device's numbers, and its optional boolean ``flag``."""
    part = obj[name]
    if not isinstance(part, dict) or len(part) > _MAX_DEVICES:
        raise SampleError(f"{name}: expected an object of at most {_MAX_DEVICES} devices")
    devices = {}
    for device, rates in part.items():
        if not 0 < len(device) <= _MAX_DEVICE_NAME or not _is_utf8(device):
            raise SampleError(f"{name}: device names are 1 to {_MAX_DEVICE_NAME} characters")
        if not isinstance(rates, dict):
            raise SampleError(f"{name}.{device}: expected an object")
        marked = rates.get(flag)
        if marked is not None and not isinstance(marked, bool):
            raise SampleError(f"{name}.{device}.{flag}: expected true or false")
        numbers = {
            key: _number(rates.get(key), f"{name}.{device}.{key}", 0.0, _MAX_RATE) for key in keys
        }
        devices[device] = (numbers, marked)
    return devices


def load_message(message: str | bytes, error: type[ValueError] = ValueError) -> object:
    """JSON of one wire message, refusing oversized or unparsable ones with ``error``."""
    if len(message) > MAX_MESSAGE_BYTES:
        raise error(f"message: {len(message)} bytes is over {MAX_MESSAGE_BYTES}")
    try:
        return json.loads(message)
    except (ValueError, UnicodeDecodeError) as err:  # JSONDecodeError is a ValueError
        raise error(f"message: not JSON ({err})") from None
    except RecursionError:
        raise error("message: nested too deeply") from None


def decode_sample(message: str | bytes) -> Sample:
    """Parse one wire message (JSON text) into a validated :class:`Sample`."""
    return validate_sample(load_message(message, SampleError))


def encode_sample(sample: Sample) -> str:
    """Encode compactly (no spaces); the result is sent as-is to every client."""
    return json.dumps(sample, separators=(",", ":"), allow_nan=False)


def lean_sample(sample: Sample) -> Sample:
    """The sample as every viewer gets it: without the per-device maps and the detail-only
    figures (:data:`DETAIL_KEYS`, :data:`DETAIL_FIELDS`, the GPUs' names), which ``?detail=1``
    adds back."""
    lean: dict[str, Any] = {k: v for k, v in sample.items() if k not in DETAIL_KEYS}
    for section, fields in DETAIL_FIELDS.items():
        part = lean[section]
        if any(field in part for field in fields):
            lean[section] = {k: v for k, v in part.items() if k not in fields}
    if "gpu" in lean:
        lean["gpu"] = lean_gpus(lean["gpu"])
    return lean  # type: ignore[return-value]
