"""``GET /metrics``: Prometheus text that parses back to the newest sample and server counters."""

from __future__ import annotations

import asyncio

import prometheus_client
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.parser import text_string_to_metric_families
from websockets.asyncio.client import connect

from iostat_widget.schema import GpuFigures, Sample
from iostat_widget.server import Server
from iostat_widget.sources.synthetic import SyntheticSampler, synthetic_sample

from .helpers import http_get

FAST = 0.05
T0 = 1_800_000_000.0
TOKEN = "prometheus-scrape-token"

Series = dict[tuple[str, tuple[tuple[str, str], ...]], float]


async def scrape(
    port: int, path: str = "/metrics", headers: dict[str, str] | None = None
) -> tuple[int, dict[str, str], str]:
    """One GET with extra headers; returns status, headers, body text."""
    status, fields, body = await http_get(port, path, headers)
    return status, fields, body.decode()


def series(text: str) -> Series:
    """Every sample line, keyed by name and sorted labels."""
    return {
        (point.name, tuple(sorted(point.labels.items()))): point.value
        for family in text_string_to_metric_families(text)
        for point in family.samples
    }


def value(points: Series, name: str, **labels: str) -> float:
    return points[(name, tuple(sorted(labels.items())))]


def synthetic_server(token: str | None = None) -> Server:
    sampler = SyntheticSampler(host="db-1", interval=FAST, clock=lambda: T0, scope="container")
    return Server("127.0.0.1", 0, interval=FAST, sampler=sampler, linger=0.2, token=token)


def expected_sample(points: Series) -> Sample:
    seq = int(value(points, "iostat_sample_seq", host="db-1", scope="container"))
    return synthetic_sample(seq, T0, host="db-1", interval=FAST, scope="container")


async def test_values_equal_the_newest_sample_with_no_prior_client() -> None:
    async with synthetic_server() as server:
        assert server.hub.seq == -1 and not server.hub.sampling  # nobody has connected
        status, headers, body = await scrape(server.port)
        assert status == 200 and headers["content-type"] == CONTENT_TYPE_LATEST
        points = series(body)
        sample = expected_sample(points)
        assert sample["seq"] >= 0
        key = {"host": "db-1", "scope": "container"}
        cpu, disk, net, mem = sample["cpu"], sample["disk"], sample["net"], sample["mem"]
        modes = {"us": cpu["us"], "sy": cpu["sy"], "id": cpu["id"], "wa": cpu["wa"]}
        modes |= {"st": cpu["st"], "irq": cpu.get("irq")}
        for mode, share in modes.items():
            assert value(points, "iostat_cpu_percent", mode=mode, **key) == share
        directions = {
            ("iostat_disk_bytes_per_second", "read"): disk["read_bps"],
            ("iostat_disk_bytes_per_second", "write"): disk["write_bps"],
            ("iostat_disk_ops_per_second", "read"): disk.get("read_iops"),
            ("iostat_disk_ops_per_second", "write"): disk.get("write_iops"),
            ("iostat_net_bytes_per_second", "rx"): net["rx_bps"],
            ("iostat_net_bytes_per_second", "tx"): net["tx_bps"],
        }
        for (name, direction), rate in directions.items():
            assert value(points, name, direction=direction, **key) == rate
        assert value(points, "iostat_memory_used_percent", **key) == mem["used_pct"] == 42.5
        assert value(points, "iostat_memory_available_bytes", **key) == mem.get("avail_bytes")
        assert value(points, "iostat_sample_timestamp_seconds", **key) == T0
        assert value(points, "iostat_clients") == 0
        assert value(points, "iostat_samples_skipped_total") == 0
        assert value(points, "iostat_sampler_errors_total") == 0
        assert server.hub.clients == 0  # the scrape released the hub it held


async def test_metric_types_and_help_follow_prometheus_conventions() -> None:
    async with synthetic_server() as server:
        _, _, body = await scrape(server.port)
    families = {family.name: family for family in text_string_to_metric_families(body)}
    assert families["iostat_samples_skipped"].type == "counter"
    assert families["iostat_sampler_errors"].type == "counter"
    gauges = {name for name, family in families.items() if family.type == "gauge"}
    assert {"iostat_cpu_percent", "iostat_memory_used_percent", "iostat_clients"} <= gauges
    assert all(family.documentation for family in families.values())
    assert "iostat_" not in prometheus_client.generate_latest(prometheus_client.REGISTRY).decode()


async def test_clients_count_connected_websockets() -> None:
    async with synthetic_server() as server, connect(server.url) as ws:
        await asyncio.wait_for(ws.recv(), 5)
        _, _, body = await scrape(server.port)
        assert value(series(body), "iostat_clients") == 1
        assert server.hub.clients == 1  # the scrape's hold is released again


async def test_a_scrape_after_sampling_stopped_waits_for_a_fresh_sample() -> None:
    async with synthetic_server() as server:
        first = expected_sample(series((await scrape(server.port))[2]))["seq"]
        async with asyncio.timeout(5):
            while server.hub.sampling:  # linger 0.2 s, then the sampler stops
                await asyncio.sleep(0.02)
        second = expected_sample(series((await scrape(server.port))[2]))["seq"]
        assert second > first


class FailingSampler:
    """A source whose every reading fails, as a broken sensor would."""

    def prime(self) -> None:
        """Nothing to prime."""

    def sample(self, seq: int) -> Sample:
        raise OSError("sensor gone")


async def test_a_failing_sampler_still_scrapes_its_error_count() -> None:
    server = Server("127.0.0.1", 0, interval=FAST, sampler=FailingSampler(), linger=0.2)
    async with server:
        status, _, body = await scrape(server.port)  # waits two intervals at most, then answers
    points = series(body)
    assert status == 200 and value(points, "iostat_sampler_errors_total") >= 1
    assert not any(name.startswith("iostat_cpu") for name, _ in points)  # no sample, no series


async def test_token_is_required_when_set() -> None:
    async with synthetic_server(token=TOKEN) as server:
        status, headers, body = await scrape(server.port)
        assert status == 401 and headers["www-authenticate"] == "Bearer" and TOKEN not in body
        wrong = {"Authorization": "Bearer not-the-token"}
        assert (await scrape(server.port, headers=wrong))[0] == 401
        bearer = {"Authorization": f"Bearer {TOKEN}"}
        status, _, body = await scrape(server.port, headers=bearer)
        assert status == 200 and "iostat_cpu_percent" in body
        assert (await scrape(server.port, f"/metrics?token={TOKEN}"))[0] == 200


async def test_per_device_series_carry_the_stacked_and_virtual_marks() -> None:
    sampler = SyntheticSampler(host="db-1", interval=FAST, clock=lambda: T0, detail=True)
    async with Server("127.0.0.1", 0, interval=FAST, sampler=sampler, linger=0.2) as server:
        _, _, body = await scrape(server.port)
    points = series(body)
    key = {"host": "db-1", "scope": "host"}
    seq = int(value(points, "iostat_sample_seq", **key))
    disks = {"sda": 1000 * (seq % 3), "sdb": 0}
    for device, read in disks.items():
        labels = {**key, "device": device, "stacked": "false"}
        assert (
            value(points, "iostat_device_disk_bytes_per_second", direction="read", **labels) == read
        )
    nic = {**key, "device": "eth0", "virtual": "false"}
    assert value(points, "iostat_device_net_bytes_per_second", direction="rx", **nic) == 100 * seq


class ManyDisks(SyntheticSampler):
    """A host with more disks than a detail message could carry before."""

    def sample(self, seq: int) -> Sample:
        sample = super().sample(seq)
        rates = {"read_bps": 1.0, "write_bps": 2.0, "read_iops": 0, "write_iops": 0}
        sample["disks"] = {f"sd{n:04d}": dict(rates) for n in range(3000)}  # type: ignore[misc]
        return sample


async def test_a_host_with_thousands_of_disks_keeps_its_totals_in_metrics() -> None:
    sampler = ManyDisks(host="san-1", interval=FAST, clock=lambda: T0)
    async with Server("127.0.0.1", 0, interval=FAST, sampler=sampler, linger=0.2) as server:
        _, _, body = await scrape(server.port)
    points = series(body)
    key = {"host": "san-1", "scope": "host"}
    assert value(points, "iostat_cpu_percent", mode="us", **key) >= 0
    sda = {**key, "device": "sd2999", "stacked": "false", "direction": "write"}
    assert value(points, "iostat_device_disk_bytes_per_second", **sda) == 2.0


class MigGpus(SyntheticSampler):
    """Two GPUs, the second in MIG mode: no utilization to report."""

    def sample(self, seq: int) -> Sample:
        sample = super().sample(seq)
        sample["gpu"] = [
            GpuFigures(index=0, name="NVIDIA H200", util_pct=37.0, mem_used_pct=25.0),
            GpuFigures(index=1, name="NVIDIA A100 MIG", mem_used_pct=50.0),
        ]
        return sample


async def test_gpu_series_are_labelled_by_index_and_name_and_only_where_measured() -> None:
    sampler = MigGpus(host="gpu-1", interval=FAST, clock=lambda: T0)
    async with Server("127.0.0.1", 0, interval=FAST, sampler=sampler, linger=0.2) as server:
        _, _, body = await scrape(server.port)
    points = series(body)
    first = {"host": "gpu-1", "scope": "host", "gpu": "0", "name": "NVIDIA H200"}
    mig = {"host": "gpu-1", "scope": "host", "gpu": "1", "name": "NVIDIA A100 MIG"}
    assert points[("iostat_gpu_utilization_percent", tuple(sorted(first.items())))] == 37.0
    assert points[("iostat_gpu_memory_used_percent", tuple(sorted(first.items())))] == 25.0
    assert points[("iostat_gpu_memory_used_percent", tuple(sorted(mig.items())))] == 50.0
    utilization = [labels for name, labels in points if name == "iostat_gpu_utilization_percent"]
    assert len(utilization) == 1  # MIG: no utilization series, rather than a 0
    families = {family.name: family for family in text_string_to_metric_families(body)}
    assert families["iostat_gpu_utilization_percent"].type == "gauge"


async def test_no_gpu_no_gpu_series() -> None:
    async with synthetic_server() as server:
        _, _, body = await scrape(server.port)
    assert "iostat_cpu_percent" in body and "iostat_gpu" not in body
