"""Recording a stretch of time: the samples a server sends from ``start()`` to ``stop()``, with
this kernel process's CPU and memory at each, as a :class:`~iostat_widget.record.Record`.

It reads what a ``Monitor`` reads, the same way: a
:class:`~iostat_widget.clients.stream.SampleStream` run as a task on the kernel runtime's
background loop (:class:`~.background.BackgroundTasks`), from the embedded server (started on
first use, shared with every monitor in the kernel) or from ``url``. So it keeps recording
while the calling thread is busy, holds the GIL or blocks: the loop thread gets its turn every
few milliseconds. The history a server replays on connect is left out (samples dated at or
before ``start()``), and ``stop()`` waits, at most two intervals and a second, for the sample
that covers its moment, so the record covers the whole stretch.

Times are epoch seconds (``time.time()``, the clock samples are dated by: a remote server with a
skewed clock shifts the cut-offs by the skew).
"""

from __future__ import annotations

import math
import threading
import time

from ..clients.stream import SampleStream
from ..record import KernelReading, Record
from ..schema import Sample
from ..sources.process_cost import CostMeter, ProcessCost
from .background import BackgroundTasks, Work
from .runtime import KernelRuntime

__all__ = ["Recorder"]


class Recorder:
    """Records samples from ``url`` (None: the kernel's embedded server, started with
    ``interval`` seconds between samples unless a monitor already started it) between
    :meth:`start` and :meth:`stop`.

    Raises:
        ValueError: ``interval`` is not a positive number, or ``url`` is not ws:// or wss://.
    """

    def __init__(self, url: str | None = None, *, interval: float = 1.0) -> None:
        if not (isinstance(interval, int | float) and 0 < interval < math.inf):
            raise ValueError(f"interval must be a positive number of seconds, got {interval!r}")
        if url is not None:
            SampleStream(url)  # refuse a bad URL now
        self.url = url
        self.interval = float(interval)
        self.background = BackgroundTasks("iostat-record")
        self.stream: SampleStream | None = None
        self._server_interval: float | None = None
        self._lock = threading.Lock()
        self._samples: list[Sample] = []
        self._kernel: list[KernelReading] = []
        self._start = 0.0
        self._end: float | None = None
        self._covered = threading.Event()  #: a sample dated at or after ``_end`` came
        self._meter = CostMeter()  #: this kernel process and its children
        self._cost: ProcessCost | None = None  #: the newest figure, for samples close together

    @property
    def recording(self) -> bool:
        """Whether :meth:`start` was called and :meth:`stop` not yet."""
        return self.background.running

    def start(self) -> None:
        """Start recording now (starting the embedded server if needed); a no-op if recording."""
        if self.recording:
            return
        with self._lock:
            self._samples, self._kernel, self._end = [], [], None
        self._covered.clear()
        self._start = math.inf  # no sample counts until the server is there

        def make(runtime: KernelRuntime) -> list[Work]:
            url = self.url
            if url is None:
                url = runtime.embedded_url(self.interval)
                if runtime.server is not None:
                    self._server_interval = runtime.server.hub.interval
            self.stream = SampleStream(url)
            return [self._consume(self.stream)]

        self.background.start(make)
        # From here: starting the embedded server and connecting is not part of the record.
        self._meter.reset()
        self._cost = None
        self._meter.measure(soon=True)  # the first reading: the kernel's cost counts from here
        self._start = time.time()

    async def _consume(self, stream: SampleStream) -> None:
        async for sample in stream:
            if sample["t"] <= self._start or self._covered.is_set():
                continue  # replayed history, or past the end
            # Samples in a burst (a reconnect) share the newest figure: CPU seconds tick in
            # 1/100 s, so readings closer than the meter's minimum would be mostly rounding.
            self._cost = self._meter.measure(soon=self._cost is None) or self._cost
            cost = self._cost
            reading = KernelReading(
                t=time.time(),
                cpu_pct=100.0 * cost["cores"] if cost is not None else 0.0,
                rss_bytes=cost["rss_bytes"] if cost is not None else 0.0,
            )
            with self._lock:
                self._samples.append(sample)
                self._kernel.append(reading)
                if self._end is not None and sample["t"] >= self._end:
                    self._covered.set()

    def _wait_limit(self) -> float:
        """Seconds :meth:`stop` waits for the sample covering its moment."""
        with self._lock:
            known = [s["interval"] for s in self._samples[-1:]]
        return 2 * max([self.interval, self._server_interval or 0.0, *known]) + 1.0

    def stop(self) -> Record:
        """Stop recording and return the :class:`~iostat_widget.record.Record` from
        :meth:`start` to now (the last sample may end up to one interval after now).

        Raises:
            RuntimeError: not recording.
        """
        if not self.recording:
            raise RuntimeError("not recording: call start() first")
        end = time.time()
        with self._lock:
            self._end = end
            if self._samples and self._samples[-1]["t"] >= end:
                self._covered.set()
        self._covered.wait(self._wait_limit())
        self.background.stop()
        with self._lock:
            samples, kernel = list(self._samples), list(self._kernel)
        return Record(samples, start=self._start, end=end, kernel=kernel)
