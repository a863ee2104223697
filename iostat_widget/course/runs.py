"""What one measured client run saw: which samples, how late, how many requests and bytes.

Every transport in the course is judged with the same record, filled only from what was
measured (sample numbers received, arrival clocks, the proxy's byte counters and the server's
request counter), so the comparison tables and charts never mix a measurement with a guess.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from .counting_proxy import Counts

__all__ = ["Run", "markdown_table", "percentiles_ms"]


def percentiles_ms(
    latencies: Sequence[float], qs: tuple[int, ...] = (50, 90, 99), *, unit: str = ""
) -> dict[str, float]:
    """``{"p50": ms, ...}`` of latencies given in seconds (NaN when there are none).

    ``unit`` is appended to each key: ``unit=" (ms)"`` gives ``{"p50 (ms)": ...}``, the header a
    table shows.
    """
    if not latencies:
        return {f"p{q}{unit}": float("nan") for q in qs}
    values = np.percentile(np.asarray(latencies) * 1000.0, qs)
    return {f"p{q}{unit}": round(float(v), 2) for q, v in zip(qs, values, strict=True)}


def markdown_table(rows: Sequence[Mapping[str, object]]) -> str:
    """A Markdown table of ``rows`` (dicts sharing the first row's keys), for ``Markdown(...)``."""
    if not rows:
        return ""
    keys = list(rows[0])

    def cell(value: object) -> str:
        text = (
            f"{value:,}"
            if isinstance(value, int | float) and not isinstance(value, bool)
            else str(value)
        )
        return text.replace("|", "\\|")

    lines = ["| " + " | ".join(keys) + " |", "|" + "---|" * len(keys)]
    lines += ["| " + " | ".join(cell(row.get(key, "")) for key in keys) + " |" for row in rows]
    return "\n".join(lines)


@dataclass
class Run:
    """One client's measured run; ``duration`` covers the steady state only.

    ``setup`` holds the bytes spent before it (WebSocket handshake, the history a first request
    returns); ``wire`` the bytes during it, headers and framing included.
    """

    transport: str
    duration: float = 0.0
    seqs: list[int] = field(default_factory=list)  #: new sample numbers, in arrival order
    latencies: list[float] = field(default_factory=list)  #: seconds, arrival - sample ``t``
    #: new samples in each answer (poll response or WebSocket message) that brought any, in order
    answers: list[int] = field(default_factory=list)
    duplicates: int = 0  #: answers holding a sample already seen
    empty: int = 0  #: answers holding no sample at all (204 No Content)
    requests: int = 0  #: HTTP requests sent (a WebSocket counts its one handshake)
    server_requests: int | None = None  #: ``/poll`` requests the server counted meanwhile
    errors: int = 0  #: failed requests or connections
    wire: Counts = field(default_factory=Counts)
    setup: Counts = field(default_factory=Counts)

    @property
    def received(self) -> int:
        """New samples received during the run."""
        return len(self.seqs)

    @property
    def span(self) -> int:
        """Samples the server produced from the first to the last one received."""
        return max(self.seqs) - min(self.seqs) + 1 if self.seqs else 0

    @property
    def lost(self) -> int:
        """Samples produced within the span that this client never received."""
        return self.span - len(set(self.seqs))

    def ages_by_place(self) -> dict[int, list[float]]:
        """Latencies (seconds) grouped by a sample's place in its answer: 0 is the newest.

        An answer that carries several samples carries them oldest first; the older ones were
        taken earlier and waited longer for the same answer.
        """
        places: dict[int, list[float]] = {}
        start = 0
        for size in self.answers:
            for place, latency in enumerate(reversed(self.latencies[start : start + size])):
                places.setdefault(place, []).append(latency)
            start += size
        return dict(sorted(places.items()))

    @property
    def newest_latencies(self) -> list[float]:
        """How old the newest sample of each answer was on arrival (what a page that shows only
        the current value would show)."""
        return self.ages_by_place().get(0, [])

    @property
    def bytes_per_sample(self) -> float:
        """Bytes on the wire (both ways) per new sample received."""
        return self.wire.total / self.received if self.received else float("nan")

    @property
    def requests_per_second(self) -> float:
        """Requests per second at the server (the client's own count if no server was given)."""
        count = self.server_requests if self.server_requests is not None else self.requests
        return count / self.duration if self.duration > 0 else float("nan")

    def summary(self, label: str | None = None) -> dict[str, float | int | str]:
        """The numbers a table row shows, first column ``label`` (default: the transport)."""
        return {
            "run" if label is not None else "transport": label or self.transport,
            "seconds": round(self.duration, 2),
            "received": self.received,
            "lost": self.lost,
            "lost %": round(100.0 * self.lost / self.span, 1) if self.span else 0.0,
            "duplicates": self.duplicates,
            "requests/s": round(self.requests_per_second, 1),
            "bytes/sample": round(self.bytes_per_sample, 1),
            **percentiles_ms(self.latencies, unit=" (ms)"),
        }
