"""sysstat's ``iostat`` output (text or ``-o JSON``) as readings: CPU shares and disk totals.

The formats and rules are described in :mod:`iostat_widget.sources.command_parsers`.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping
from typing import Final

from ..schema import CpuPercent, DiskRates
from .rates import rounded
from .report_parsing import (
    BANNER,
    KIB,
    MIB,
    TIMESTAMP,
    CommandParser,
    Reading,
    byte_rate,
    cpu_shares,
    parse_numbers,
)
from .topology import DeviceRoles, name_roles

__all__ = ["SysstatIostatParser"]

_READ_COLUMNS: Final = {"rkB/s": KIB, "kB_read/s": KIB, "rMB/s": MIB, "MB_read/s": MIB}
_READ_COLUMNS_512: Final = {"rsec/s": 512.0, "Blk_read/s": 512.0}
_WRITE_COLUMNS: Final = {"wkB/s": KIB, "kB_wrtn/s": KIB, "wMB/s": MIB, "MB_wrtn/s": MIB}
_WRITE_COLUMNS_512: Final = {"wsec/s": 512.0, "Blk_wrtn/s": 512.0}
#: Sorts a report's device names into those a total counts and stacked ones.
Roles = Callable[[frozenset[str]], DeviceRoles]


def _column_rate(
    row: Mapping[str, float], kib: Mapping[str, float], s512: Mapping[str, float]
) -> float:
    for columns in (kib, s512):
        for name, factor in columns.items():
            if name in row:
                return byte_rate(row[name] * factor)
    return 0.0


class _Devices:
    """One ``Device`` block: each device's row, totalled over the devices the roles count (the
    same rule as the psutil sampler's: a partition, device-mapper, md, bcache or file-backed
    loop device is counted on the device beneath it)."""

    def __init__(self) -> None:
        self.rows: dict[str, Mapping[str, float]] = {}

    def add(self, name: str, row: Mapping[str, float]) -> None:
        self.rows[name] = row

    def rates(self, roles: Roles) -> DiskRates:
        counted = roles(frozenset(self.rows)).counted
        read = write = reads = writes = 0.0
        has_iops = False
        for name in sorted(counted):
            row = self.rows[name]
            read += _column_rate(row, _READ_COLUMNS, _READ_COLUMNS_512)
            write += _column_rate(row, _WRITE_COLUMNS, _WRITE_COLUMNS_512)
            if "r/s" in row and "w/s" in row:
                has_iops = True
                reads += row["r/s"]
                writes += row["w/s"]
        rates = DiskRates(read_bps=byte_rate(read), write_bps=byte_rate(write))
        if has_iops:
            rates["read_iops"] = rounded(reads, 2)
            rates["write_iops"] = rounded(writes, 2)
        return rates


def _json_numbers(text: str) -> dict[str, float | str]:
    obj = json.loads(text[text.index("{") : text.rindex("}") + 1])
    if not isinstance(obj, dict):
        raise ValueError("not an object")
    out: dict[str, float | str] = {}
    for key, value in obj.items():
        if isinstance(value, str):
            out[key] = value
        elif isinstance(value, int | float) and not isinstance(value, bool):
            if not 0 <= value < math.inf:
                raise ValueError("not a finite, non-negative number")
            out[key] = float(value)
    return out


class SysstatIostatParser(CommandParser):
    """sysstat's ``iostat`` (text or ``-o JSON``): CPU shares and disk totals per report.

    ``roles`` decides which listed devices the disk total counts (default: by their names; the
    ``--source iostat`` sampler passes the machine's sysfs topology).
    """

    def __init__(self, *, skip_first: bool = True, roles: Roles = name_roles) -> None:
        super().__init__(skip_first=skip_first)
        self._roles = roles
        self._cpu_columns: list[str] | None = None  # after "avg-cpu:", the values come next
        self._device_columns: list[str] | None = None  # inside a text Device block
        self._in_devices = False
        self._has_devices: bool | None = None  # learned from the first reports
        self._cpu: CpuPercent | None = None
        self._devices: _Devices | None = None
        self._json = False

    def _feed(self, text: str) -> Reading | None:
        stripped = text.strip()
        if self._json or stripped.startswith('{"sysstat"'):
            self._json = True
            return self._feed_json(stripped)
        tokens = stripped.split()
        if not tokens:
            self._cpu_columns = None
            return self._end()
        head = tokens[0]
        if head == "avg-cpu:":
            self._cpu_columns = [name.lstrip("%") for name in tokens[1:]]
            return self._end()
        if head in ("Device", "Device:"):
            self._device_columns = tokens[1:]
            return self._begin_devices()
        if self._cpu_columns is not None:
            columns, self._cpu_columns = self._cpu_columns, None
            values = parse_numbers(tokens)
            if values is not None and len(values) == len(columns):
                return self._on_cpu(dict(zip(columns, values, strict=True)))
        elif self._in_devices and self._device_columns is not None:
            values = parse_numbers(tokens[1:])
            if values is not None and len(values) == len(self._device_columns):
                self._on_device(head, dict(zip(self._device_columns, values, strict=True)))
                return None
        elif BANNER.match(stripped) or TIMESTAMP.fullmatch(stripped):
            return None
        self.garbage += 1
        return None

    def _feed_json(self, text: str) -> Reading | None:
        if text.startswith('"avg-cpu"'):
            return self._on_cpu(_json_numbers(text))
        if text.startswith('"disk"'):
            return self._begin_devices()
        if text.startswith('{"disk_device"'):
            row = _json_numbers(text)
            name = row.pop("disk_device")
            if not self._in_devices or not isinstance(name, str):
                raise ValueError("a disk outside a disk list")
            self._on_device(name, row)
            return None
        if text.rstrip(",") in ("]", "}", "}}"):
            return self._end()
        if text in ("{", '{"sysstat": {') or text.startswith('"'):
            return None  # the document's frame: host name, date, list openings
        self.garbage += 1
        return None

    def _on_cpu(self, values: Mapping[str, float | str]) -> Reading | None:
        def share(*names: str) -> float:
            return sum(float(values.get(name, 0.0)) for name in names)

        if "idle" not in values:
            raise ValueError("no idle column")
        cpu = cpu_shares(
            share("user", "nice"),
            share("system", "sys"),
            share("idle"),
            share("iowait"),
            share("steal"),
        )
        reading = None
        if self._cpu is not None or self._devices is not None:  # the previous report is over
            if self._devices is None and self._has_devices is None:
                self._has_devices = False
            reading = self._finish()
        self._cpu = cpu
        return reading

    def _begin_devices(self) -> Reading | None:
        reading = self._finish() if self._devices is not None else None
        self._has_devices = True
        self._in_devices = True
        self._devices = _Devices()
        return reading

    def _on_device(self, name: str, row: Mapping[str, float | str]) -> None:
        assert self._devices is not None
        numbers = {key: value for key, value in row.items() if isinstance(value, float)}
        self._devices.add(name, numbers)

    def _end(self) -> Reading | None:
        if self._in_devices or (self._has_devices is False and self._cpu is not None):
            return self._finish()
        return None

    def _finish(self) -> Reading | None:
        cpu, devices = self._cpu, self._devices
        self._cpu, self._devices, self._in_devices = None, None, False
        if cpu is None and devices is None:
            return None
        disk = devices.rates(self._roles) if devices else None
        return self._report(Reading(cpu=cpu, disk=disk))
