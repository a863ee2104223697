"""Figure 1: WebSocket fan-out to thousands of viewers, against a bare ``websockets`` server.

At each N the same swarm of viewer processes connects to the baseline (``baseline_server``:
nothing but ``websockets.broadcast()`` of a same-size message at the same rate) and to
``iostat-widget serve``, in alternating rounds (baseline, product, product, baseline, …) so a
change in the shared machine's load weighs on both alike. Latency is receive time minus the
sample's own ``t`` (one machine, one clock), for every (viewer, sample) pair of the samples taken
in a window that starts after every viewer is connected and the connect-time history has passed,
so both servers are compared in the same steady state. Every viewer checks its numbering: any
sample it missed is counted as lost.

One slow tick moves every delivery of that tick, so the p99 ratio comes with a bootstrap interval
that resamples whole ticks (:mod:`.bootstrap`): a target on its upper bound holds only when noise
cannot hide a loss.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

from websockets.asyncio.client import connect

from .bootstrap import RatioInterval, percentile_ratio
from .config import Config
from .procs import PYTHON, Child, percentile
from .report import FigureResult, Row, Target
from .swarmctl import Swarm, SwarmReport

__all__ = ["Measurement", "measure", "payload_size", "row_names", "run"]

RSS_LIMIT_MB = 250.0
#: Half the viewers offer the compact form: the product then fans out both forms every tick.
COMPACT_SHARE = 0.5


@dataclass
class Measurement:
    """One server at one N, over one or more rounds (each a fresh server and swarm)."""

    reports: list[SwarmReport] = field(default_factory=list)
    ticks: list[list[float]] = field(default_factory=list)  #: each tick's latencies, ms
    cpu_seconds: float = 0.0
    client_cpu_seconds: float = 0.0
    seconds: float = 0.0
    rss_mb: float = 0.0

    @property
    def failed(self) -> int:
        return sum(r.failed + r.closed_early for r in self.reports)

    @property
    def lost(self) -> int:
        return sum(r.lost for r in self.reports)

    @property
    def cpu_percent(self) -> float:
        return self.cpu_seconds / self.seconds * 100.0 if self.seconds else float("nan")

    @property
    def cpu_per_delivery_us(self) -> float:
        """Server CPU over the windows per (viewer, sample) delivered in them, µs."""
        deliveries = len(self.latencies)
        return self.cpu_seconds / deliveries * 1e6 if deliveries else float("nan")

    @property
    def latencies(self) -> list[float]:
        return [ms for r in self.reports for ms in r.latencies_ms]

    def p(self, q: float) -> float:
        return percentile(self.latencies, q)

    def summary(self) -> str:
        r = self.reports
        first = [a for report in r for a, _ in report.spread_ms.values()]
        last = [b for report in r for _, b in report.spread_ms.values()]
        errors = sorted({e for report in r for e in report.errors})
        return (
            f"{sum(x.connected for x in r):,} connections ({sum(x.compact for x in r):,} given "
            f"the compact form) over {len(r)} round(s), ramp "
            f"{'/'.join(f'{x.ramp_seconds:.1f}' for x in r)} s, {self.failed} failed; "
            f"{sum(x.expected for x in r)} samples in {self.seconds:.1f} s, "
            f"{len(self.latencies):,} deliveries, p50/p90/p99/max {self.p(50):.1f}/"
            f"{self.p(90):.1f}/{self.p(99):.1f}/{max(self.latencies, default=0):.1f} ms; per "
            f"sample, first delivery median {percentile(first, 50):.1f} ms (max "
            f"{max(first, default=0):.1f}), last delivery median {percentile(last, 50):.1f} ms "
            f"(max {max(last, default=0):.1f}); lost {self.lost}, numbering gaps "
            f"{sum(x.gaps for x in r)}, duplicates {sum(x.duplicates for x in r)}; server CPU "
            f"{self.cpu_percent:.1f} % of a core, viewers' CPU {self.client_cpu_seconds:.1f} s "
            f"({self.client_cpu_seconds / max(len(self.latencies), 1) * 1e6:.0f} µs per "
            f"delivery); RSS {self.rss_mb:.0f} MB"
            + (f"; errors: {'; '.join(errors[:3])}" if errors else "")
        )


def _names(n: int) -> dict[str, str]:
    return {
        "p50": f"1. fan-out latency p50, ms, N={n:,}",
        "p99": f"1. fan-out latency p99, ms, N={n:,}",
        "low": f"1. fan-out p99 ratio, 95 % CI low, N={n:,}",
        "high": f"1. fan-out p99 ratio, 95 % CI high, N={n:,}",
        "failed": f"1. failed connections, N={n:,}",
        "lost": f"1. lost samples, N={n:,}",
        "rss": f"1. server RSS, MB, N={n:,}",
        "cpu": f"1. server CPU, % of a core, N={n:,}",
        "per": f"1. server CPU per delivery, µs, N={n:,}",
    }


def row_names(config: Config) -> list[str]:
    return [name for n in config.fanout_clients for name in _names(n).values()]


def payload_size() -> int:
    """Bytes of a sample as a plain ``/iostat`` viewer gets it from a live server here.

    The baseline sends exactly as many; asking a running server (rather than the sampler) keeps
    this right whatever the server trims from or adds to a sample on the way out.
    """
    argv = [PYTHON, "-m", "iostat_widget", "serve", "--port", "0", "--interval", "0.2"]
    with Child([*argv, "--history", "1"], "payload-probe") as child:
        url = child.wait_for(r"stream:\s+(ws://\S+)").group(1)
        return asyncio.run(_probe(url))


async def _probe(url: str, count: int = 5) -> int:
    async with connect(url, compression=None, close_timeout=1) as websocket:
        sizes = []
        for _ in range(count):
            message = await asyncio.wait_for(websocket.recv(), 10)
            sizes.append(len(message.encode() if isinstance(message, str) else message))
    return sorted(sizes)[count // 2]


def _server(kind: str, size: int, interval: float) -> tuple[Child, str]:
    every = f"{interval:g}"
    if kind == "baseline":
        argv = [
            PYTHON,
            "-m",
            "benchmarks.baseline_server",
            "--interval",
            every,
            "--size",
            str(size),
        ]
        child = Child([*argv, "--max-seconds", "1800"], "baseline-server")
        port = child.wait_for(r"listening (\d+)").group(1)
        return child, f"ws://127.0.0.1:{port}/"
    argv = [PYTHON, "-m", "iostat_widget", "serve", "--port", "0", "--interval", every]
    # One sample of history, not 60: the window below starts after it anyway, and the baseline
    # has none, so the ramp-up costs both servers about the same.
    child = Child([*argv, "--history", "1"], "iostat-serve")
    return child, child.wait_for(r"stream:\s+(ws://\S+)").group(1)


def measure(kind: str, n: int, rate: float, config: Config, size: int, into: Measurement) -> None:
    """One round: connect n viewers to a fresh server sampling ``rate`` times a second, wait
    for steady state, measure ``fanout_ticks / fanout_rounds`` ticks."""
    seconds = config.fanout_ticks / config.fanout_rounds / rate
    child, url = _server(kind, size, 1.0 / rate)
    with (
        child,
        Swarm(
            url,
            n,
            processes=config.fanout_processes,
            concurrency=config.fanout_concurrency,
            max_seconds=300 + seconds,
            compact_share=COMPACT_SHARE,
        ) as swarm,
    ):
        swarm.ready(timeout=60 + n / 40)
        if not child.alive():
            raise RuntimeError(f"{kind} server died during the ramp:\n{child.tail()}")
        time.sleep(config.fanout_settle)
        cpu0, client0, t0 = child.cpu_seconds(), swarm.cpu_seconds(), time.time()
        rss = child.rss()
        end = time.monotonic() + seconds
        while (left := end - time.monotonic()) > 0:
            time.sleep(min(left, 1.0))
            rss = max(rss, child.rss())
        cpu1, client1, t1 = child.cpu_seconds(), swarm.cpu_seconds(), time.time()
        time.sleep(config.fanout_settle)  # the window's last samples land
        report = swarm.finish(t0, t1, timeout=120)
        into.reports.append(report)
        into.ticks.extend(report.ticks_ms.values())
    into.cpu_seconds += cpu1 - cpu0
    into.client_cpu_seconds += client1 - client0
    into.seconds += t1 - t0
    into.rss_mb = max(into.rss_mb, rss / 2**20)


def _interval(prod: Measurement, base: Measurement, resamples: int) -> RatioInterval | None:
    try:
        return percentile_ratio(prod.ticks, base.ticks, 99.0, resamples=resamples)
    except ValueError:  # a side with no delivery: the p99 rows say so already
        return None


def run(config: Config) -> FigureResult:
    size = payload_size()
    rows: list[Row] = []
    rates = ", ".join(
        f"{rate:g} Hz at N={n:,}"
        for n, rate in zip(config.fanout_clients, config.fanout_rates, strict=True)
    )
    resamples = 200 if config.quick else 400
    notes = [
        f"Servers on 127.0.0.1 sampling at {rates} (about as many deliveries a second at each "
        f"N); viewers in {config.fanout_processes} separate "
        f"processes (`benchmarks/swarm.py`, minimal RFC 6455 client `benchmarks/rawws.py`: it "
        "answers pings, parses each frame and its JSON; a `websockets` client costs several "
        "times more CPU per message, which on 2 cores would land in the latency of both "
        f"servers), connecting {config.fanout_concurrency} at a time per process. Per N, "
        f"{config.fanout_rounds} round(s) per server in the order baseline, product, product, "
        f"baseline, … (each a fresh server and swarm), {config.fanout_ticks} ticks measured per "
        f"server in all, each window starting {config.fanout_settle:g} s after the last "
        "viewer connected.",
        f"Baseline: `benchmarks/baseline_server.py`, a bare `websockets` server broadcasting a "
        f"schema-valid {size}-byte sample (the size of a real sample here) with "
        "`websockets.broadcast()`; same compression, ping and max_size settings as the product. "
        "Product: `iostat-widget serve --interval 1/rate --history 1` (the one history sample a "
        "viewer gets on connect falls before the window). Half the viewers offer the compact "
        "form (`iostat.compact.v1`): the product sends them compact samples and the others JSON "
        "objects, two broadcasts a tick; the baseline, which selects no subprotocol, sends "
        "everyone its one message. A compact viewer reads `seq` and `t` off the schema message's "
        "base, as cheaply as a JSON viewer reads them.",
        "Latency = receive time in the viewer (when its socket is read) minus the sample's `t`, "
        "over every (viewer, sample) pair in the window; the viewers share the 2 cores with the "
        "server, so N deliveries per second also wait for the viewers' reads, the same for "
        "both servers.",
        "p99 ratio interval: product p99 / baseline p99 over all deliveries, and its 95 % "
        f"bootstrap interval from {resamples} resamples of whole ticks (`benchmarks/bootstrap.py`:"
        " the deliveries of one tick share its delays, so the tick is the unit resampled). The "
        "target is on the interval's high end: the product is shown to be within 5 % of the bare "
        "broadcast only if noise cannot explain a larger ratio.",
        "Lost = (viewer, sample) pairs in the window that never arrived, counting every number "
        "between the first and last sample any viewer saw; failed = connections that could not "
        "open or closed before the end. Server CPU is psutil user+system over the window; RSS "
        "is the largest seen in it.",
    ]
    largest = max(config.fanout_clients)
    for n, rate in zip(config.fanout_clients, config.fanout_rates, strict=True):
        base, prod = Measurement(), Measurement()
        for round_ in range(config.fanout_rounds):  # A B B A …: drift in machine load cancels
            pair = [("baseline", base), ("product", prod)]
            for kind, into in pair if round_ % 2 == 0 else pair[::-1]:
                measure(kind, n, rate, config, size, into)
        names = _names(n)
        label = "bare websockets"
        interval = _interval(prod, base, resamples)
        rows += [
            Row(names["p50"], prod.p(50), base.p(50), label),
            Row(names["p99"], prod.p(99), base.p(99), label, Target("<=", 1.05, "ratio")),
            Row(names["low"], interval.low if interval else None, missing="no deliveries"),
            Row(
                names["high"],
                interval.high if interval else None,
                target=Target("<=", 1.05),
                missing="no deliveries",
            ),
            Row(names["failed"], prod.failed, base.failed, label, Target("==", 0)),
            Row(names["lost"], prod.lost, base.lost, label, Target("==", 0)),
            Row(
                names["rss"],
                prod.rss_mb,
                base.rss_mb,
                label,
                Target("<=", RSS_LIMIT_MB, unit="MB") if n == largest else None,
            ),
            Row(names["cpu"], prod.cpu_percent, base.cpu_percent, label),
            Row(
                names["per"],
                prod.cpu_per_delivery_us,
                base.cpu_per_delivery_us,
                label,
                Target("<=", 1.1, "ratio"),
            ),
        ]
        if interval is not None:
            notes.append(f"N={n:,} p99 ratio: {interval.text()}")
        for kind, m in (("baseline", base), ("product", prod)):
            notes.append(f"N={n:,} {kind}: {m.summary()}")
    return FigureResult(rows, notes)
