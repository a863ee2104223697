"""``GET /metrics``: the newest sample in Prometheus's text format, for existing monitoring.

A Prometheus server (or anything that reads its exposition format) keeps history and alerts; this
route lets it read the same numbers the widget shows without a WebSocket client. The collector is
registered in a registry of its own per server, never prometheus_client's global one, so several
servers in one process (tests, notebooks) never mix their metrics.

The sampler only runs while somebody is watching, so a scrape counts as a client: it holds the
hub while it reads (then the hub's linger keeps sampling a few seconds more), and when sampling
was idle it waits for a fresh sample (for up to two intervals, or 0.5 s if that is longer)
instead of serving an old one.
"""

from __future__ import annotations

from collections.abc import Iterable

from prometheus_client.exposition import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.metrics_core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector, CollectorRegistry
from websockets.asyncio.server import ServerConnection
from websockets.http11 import Request, Response

from ..hub.hub import Hub
from ..schema import Sample, SampleError, validate_sample
from .endpoint import Endpoint
from .http_routes import bytes_response
from .websocket import SampleSocket

__all__ = ["METRICS_PATH", "IostatCollector", "Metrics"]

METRICS_PATH = "/metrics"

_LABELS = ("host", "scope")
#: Shortest wait for a fresh sample, so a very short interval on a busy machine still gets one.
_MIN_WAIT = 0.5


def _gauge(name: str, doc: str, extra: str | None = None) -> GaugeMetricFamily:
    labels = [*_LABELS, extra] if extra else list(_LABELS)
    return GaugeMetricFamily(name, doc, labels=labels)


def _directions(name: str, doc: str, key: list[str], values: dict[str, float]) -> GaugeMetricFamily:
    family = _gauge(name, doc, "direction")
    for direction, value in values.items():
        family.add_metric([*key, direction], value)
    return family


class IostatCollector(Collector):
    """Turns the hub's newest sample and the server's counters into metric families.

    Sample metrics carry ``host`` and ``scope`` labels (the machine, or the container, measured);
    the server's own counters (clients, skipped samples, sampler errors) carry none, so they exist
    even before the first sample.
    """

    def __init__(self, hub: Hub, fanout: SampleSocket) -> None:
        self.hub = hub
        self.fanout = fanout

    def newest(self) -> Sample | None:
        """The newest sample in the hub's ring, or None before the first."""
        newest = self.hub.newest
        if newest is None:
            return None
        try:
            # The sample itself, not its JSON: a host with a thousand disks makes a detail
            # message larger than a client accepts, and its totals must still be scraped.
            return validate_sample(newest.sample)
        except SampleError:  # a sampler's bad sample is skipped, not raised
            return None

    def collect(self) -> Iterable[Metric]:
        """Every metric family, newest sample first, then the server's counters."""
        sample = self.newest()
        if sample is not None:
            yield from self._sample_families(sample)
        clients = GaugeMetricFamily(
            "iostat_clients", "WebSocket clients connected to the sample stream"
        )
        clients.add_metric([], self.fanout.count)
        yield clients
        yield CounterMetricFamily(
            "iostat_samples_skipped",
            "Samples not sent to a WebSocket client whose send buffer was full",
            value=self.fanout.skipped,
        )
        yield CounterMetricFamily(
            "iostat_sampler_errors",
            "Sampler calls that raised (logged and skipped)",
            value=self.hub.errors,
        )

    @staticmethod
    def _sample_families(sample: Sample) -> Iterable[Metric]:
        key = [sample["host"], sample.get("scope", "host")]
        shares = sample["cpu"]
        modes = {"us": shares["us"], "sy": shares["sy"], "id": shares["id"]}
        modes |= {"wa": shares["wa"], "st": shares["st"]}
        if "irq" in shares:
            modes["irq"] = shares["irq"]
        cpu = _gauge("iostat_cpu_percent", "Percent of CPU time over the interval by mode", "mode")
        for mode, value in modes.items():
            cpu.add_metric([*key, mode], value)
        yield cpu
        disk = sample["disk"]
        yield _directions(
            "iostat_disk_bytes_per_second",
            "Bytes per second read from and written to the disks (stacked devices counted once)",
            key,
            {"read": disk["read_bps"], "write": disk["write_bps"]},
        )
        if "read_iops" in disk and "write_iops" in disk:
            yield _directions(
                "iostat_disk_ops_per_second",
                "Read and write operations per second on the disks (stacked devices counted once)",
                key,
                {"read": disk["read_iops"], "write": disk["write_iops"]},
            )
        yield _directions(
            "iostat_net_bytes_per_second",
            "Bytes per second received and sent on the physical interfaces (else all but lo)",
            key,
            {"rx": sample["net"]["rx_bps"], "tx": sample["net"]["tx_bps"]},
        )
        used = _gauge(
            "iostat_memory_used_percent",
            "Memory in use, percent of the total (or of the container's limit)",
        )
        used.add_metric(key, sample["mem"]["used_pct"])
        yield used
        if "avail_bytes" in sample["mem"]:
            avail = _gauge(
                "iostat_memory_available_bytes",
                "Bytes of memory still available (under the limit, in container scope)",
            )
            avail.add_metric(key, sample["mem"]["avail_bytes"])
            yield avail
        seq = _gauge("iostat_sample_seq", "Number of the newest sample (grows by one)")
        seq.add_metric(key, sample["seq"])
        yield seq
        when = _gauge(
            "iostat_sample_timestamp_seconds", "When the newest sample was taken (Unix time)"
        )
        when.add_metric(key, sample["t"])
        yield when
        yield from IostatCollector._device_families(sample, key)
        yield from IostatCollector._gpu_families(sample, key)

    @staticmethod
    def _device_families(sample: Sample, key: list[str]) -> Iterable[Metric]:
        """Per block device and per interface, marked as the totals count them."""
        labels = [*_LABELS, "device", "direction", "stacked"]
        disks = sample.get("disks", {})
        if disks:
            family = GaugeMetricFamily(
                "iostat_device_disk_bytes_per_second",
                "Bytes per second read and written by one block device; stacked=true: its traffic"
                " is also counted on the device beneath it",
                labels=labels,
            )
            for name, disk in sorted(disks.items()):
                stacked = "true" if disk.get("stacked") else "false"
                family.add_metric([*key, name, "read", stacked], disk["read_bps"])
                family.add_metric([*key, name, "write", stacked], disk["write_bps"])
            yield family
        nics = sample.get("nics", {})
        if nics:
            family = GaugeMetricFamily(
                "iostat_device_net_bytes_per_second",
                "Bytes per second received and sent on one interface; virtual=true: no device"
                " behind it",
                labels=[*_LABELS, "device", "direction", "virtual"],
            )
            for name, nic in sorted(nics.items()):
                virtual = "true" if nic.get("virtual") else "false"
                family.add_metric([*key, name, "rx", virtual], nic["rx_bps"])
                family.add_metric([*key, name, "tx", virtual], nic["tx_bps"])
            yield family

    @staticmethod
    def _gpu_families(sample: Sample, key: list[str]) -> Iterable[Metric]:
        """Per NVIDIA GPU (``gpu``: NVML's index), each figure only where the GPU reports it."""
        gpus = sample.get("gpu", [])
        if not gpus:
            return
        labels = [*_LABELS, "gpu", "name"]
        util = GaugeMetricFamily(
            "iostat_gpu_utilization_percent",
            "Percent of the time a kernel ran on the GPU (NVML; none for a GPU in MIG mode)",
            labels=labels,
        )
        memory = GaugeMetricFamily(
            "iostat_gpu_memory_used_percent",
            "Percent of the GPU's memory allocated (NVML)",
            labels=labels,
        )
        for gpu in gpus:
            device = [*key, str(gpu["index"]), gpu.get("name", "")]
            if "util_pct" in gpu:
                util.add_metric(device, gpu["util_pct"])
            if "mem_used_pct" in gpu:
                memory.add_metric(device, gpu["mem_used_pct"])
        yield util
        yield memory


class Metrics(Endpoint):
    """``/metrics`` over one server's hub and sample socket: guarded (it is the machine's data),
    and a scrape is not a viewer (it holds the hub only while it reads)."""

    def __init__(self, hub: Hub, fanout: SampleSocket) -> None:
        super().__init__(frozenset({METRICS_PATH}))
        self.hub = hub
        self.registry = CollectorRegistry(auto_describe=False)  # per server, never the global one
        self.collector = IostatCollector(hub, fanout)
        self.registry.register(self.collector)
        self.scrapes = 0  #: requests answered

    async def respond(self, connection: ServerConnection, request: Request) -> Response:
        """Answer one scrape with every metric in the Prometheus text format."""
        self.scrapes += 1
        was_sampling = self.hub.sampling
        self.hub.acquire()
        try:
            if not was_sampling or self.hub.seq < 0:  # idle: the newest sample is old or missing
                wait = max(self.hub.interval * 2, _MIN_WAIT)
                await self.hub.next_samples(self.hub.seq, max_wait=wait)
            body = generate_latest(self.registry)
        finally:
            self.hub.release()
        return bytes_response(body, CONTENT_TYPE_LATEST)
