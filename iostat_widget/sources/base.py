"""What every source shares: the sampler contract, "no reading this tick", and the sample's date.

The hub, the server and the CLI know samplers through this module alone; it imports no backend
(psutil, cgroup files, child processes), as psutil's ``_common.py`` sits under its platform
modules. A sampler that owns something to start and stop (a child process) says so by having
``start``/``aclose``; :func:`lifecycle_of` gives every sampler that pair, so the server runs them
without asking what kind of sampler it holds.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Protocol, runtime_checkable

from ..schema import Sample

__all__ = ["NoReading", "Sampler", "SamplerLifecycle", "iso_date", "lifecycle_of"]


class NoReading(RuntimeError):
    """A sampler has nothing new this tick (a source between reports): the hub skips the tick
    quietly, and viewers draw a gap rather than a stale value."""


class Sampler(Protocol):
    """What the hub needs from a source: a baseline, then one sample per call."""

    def prime(self) -> None:
        """Take the baseline reading the next :meth:`sample` is measured against."""

    def sample(self, seq: int) -> Sample:
        """Return the activity since the previous call (or :meth:`prime`), numbered ``seq``.

        Raises :class:`NoReading` when there is nothing new this tick.
        """
        ...


@runtime_checkable
class SamplerLifecycle(Protocol):
    """A source that owns a resource for the server's whole run (e.g. a child process)."""

    async def start(self) -> None:
        """Start the resource; raises (e.g. ``CommandNotFoundError``) when it cannot run."""

    async def aclose(self) -> None:
        """Stop it and wait until it is gone."""


class _Nothing:
    async def start(self) -> None:
        return None

    async def aclose(self) -> None:
        return None


def lifecycle_of(sampler: Sampler) -> SamplerLifecycle:
    """``sampler`` itself when it has a start/close, else a lifecycle that does nothing."""
    return sampler if isinstance(sampler, SamplerLifecycle) else _Nothing()


def iso_date(t: float) -> str:
    """ISO-8601 UTC with milliseconds and a ``Z``, e.g. ``2026-11-26T04:15:13.123Z``."""
    return datetime.fromtimestamp(t, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
