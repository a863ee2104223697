"""The hub: one sampler for the whole server, a history ring, and fan-out to every transport.

Sampling the machine once and sending the same encoded bytes to everyone is what makes the cost of
a viewer nearly nothing. The sampler runs only while someone is watching (plus a short linger, so
long-poll clients that reconnect between requests do not restart it every time).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import Counter, deque
from collections.abc import Callable

from ..aio import cancel_and_wait
from ..compact import CompactEncoder, CompactSchema
from ..schema import Sample, encode_sample, lean_sample
from ..sources.base import NoReading, Sampler
from ..sources.top_processes import TopSampler
from ..top_schema import MAX_TOP_ROWS, TopRow
from .listeners import Listeners

__all__ = ["EncodedSample", "Hub", "Listener"]

log = logging.getLogger(__name__)


class EncodedSample:
    """One sample as it travels: its number, its time, and its texts, each encoded at most once.

    ``lean`` is the JSON of the lean sample JSON viewers get; ``detail`` the JSON of the whole
    sample (per-device maps, IOPS, interrupts, available memory) for the detail stream: both are
    encoded on first use (a tick nobody reads them in never encodes them) and kept.
    ``compact`` is the lean sample in the compact form (:mod:`~iostat_widget.compact`, a JSON
    array) and ``schema`` the schema it was written against, the same object from tick to tick
    until it changes (its ``text`` is the schema message). ``sample`` is the sample itself, for
    ``/metrics`` (which need not decode what was just encoded). ``top`` is the JSON of the lean
    sample plus its ``top`` key (the busiest processes, see :meth:`Hub.acquire_top`), only while
    some viewer asks for it, else ``None``. ``formats`` names the texts encoded so far.
    Not a WebSocket frame: the transports put these texts in frames of their own.
    """

    __slots__ = (
        "_detail",
        "_lean",
        "_lean_sample",
        "compact",
        "sample",
        "schema",
        "seq",
        "t",
        "top",
    )

    def __init__(
        self,
        sample: Sample,
        lean: Sample,
        compact: tuple[CompactSchema, str],
        top: str | None = None,
    ) -> None:
        self.seq: int = sample["seq"]
        self.t: float = sample["t"]
        self.sample = sample
        self.schema, self.compact = compact
        self.top = top
        self._lean_sample = lean
        self._lean: str | None = None
        self._detail: str | None = None

    @property
    def lean(self) -> str:
        """JSON of the lean sample (encoded on first use)."""
        if self._lean is None:
            self._lean = encode_sample(self._lean_sample)
        return self._lean

    @property
    def detail(self) -> str:
        """JSON of the whole sample (encoded on first use)."""
        if self._detail is None:
            self._detail = encode_sample(self.sample)
        return self._detail

    @property
    def formats(self) -> tuple[str, ...]:
        """The texts encoded so far: ``"compact"``, then ``"lean"``, ``"detail"``, ``"top"``."""
        done = (("lean", self._lean), ("detail", self._detail), ("top", self.top))
        return ("compact", *(name for name, text in done if text is not None))


Listener = Callable[[EncodedSample], None]


def _encoded(sample: Sample, rows: list[TopRow] | None, compact: CompactEncoder) -> EncodedSample:
    lean = lean_sample(sample)
    table = None if rows is None else encode_sample(Sample(**lean, top=rows))
    return EncodedSample(sample, lean, compact.encode(lean), table)


class Hub:
    """Drives one sampler at a fixed interval and hands each encoded sample to every listener.

    ``acquire()``/``release()`` count the clients; sampling starts with the first and stops
    ``linger`` seconds after the last one left. ``clock`` and ``sleep`` are injectable for tests.

    The busy table: ``acquire_top(n)``/``release_top(n)`` count the viewers that ask for the
    ``n`` busiest processes (they hold the sampler with ``acquire()`` too). While at least one
    asks, each tick reads every process once with ``top`` (a
    :class:`~iostat_widget.sources.top_processes.TopSampler`, default: this platform's reader)
    and encodes one more text, the lean sample with the table of the **largest** ``n`` asked
    (:attr:`EncodedSample.top`), shared by every viewer that asked; the first tick after nobody
    asked primes a reading and carries an empty table. While nobody asks, no process is read and
    nothing more is encoded.
    """

    def __init__(
        self,
        sampler: Sampler,
        *,
        interval: float = 1.0,
        history: int = 60,
        linger: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
        top: TopSampler | None = None,
    ) -> None:
        if not interval > 0:
            raise ValueError(f"interval must be positive, got {interval!r}")
        if history < 1:
            raise ValueError(f"history must be at least 1, got {history!r}")
        self.sampler = sampler
        self.interval = float(interval)
        self.linger = linger
        self._clock = clock
        self._history: deque[EncodedSample] = deque(maxlen=history)
        self._listeners: Listeners[EncodedSample] = Listeners()
        self._demand = 0
        self.top_sampler = top if top is not None else TopSampler()
        self._top_asked: Counter[int] = Counter()  #: n → viewers asking for the n busiest
        self._next_seq = 0
        self._task: asyncio.Task[None] | None = None
        self._idle_timer: asyncio.TimerHandle | None = None
        self._tick: asyncio.Future[None] | None = None  # done at each new sample, and on close
        self.errors = 0  #: sampler calls that raised (logged and skipped)
        self.no_reading = 0  #: ticks the sampler had nothing for (skipped quietly)
        self._compact = CompactEncoder(self.interval)  # keeps the compact form's schema

    # -- state -------------------------------------------------------------------------------
    @property
    def seq(self) -> int:
        """Number of the newest sample, or -1 before the first."""
        return self._next_seq - 1

    @property
    def clients(self) -> int:
        """How many clients currently hold the sampler running."""
        return self._demand

    @property
    def sampling(self) -> bool:
        """Whether the sampler task is running."""
        return self._task is not None and not self._task.done()

    @property
    def newest(self) -> EncodedSample | None:
        """The newest sample kept, or ``None`` before the first."""
        return self._history[-1] if self._history else None

    def history_after(self, seq: int) -> list[EncodedSample]:
        """Samples kept in the ring with a number above ``seq``, oldest first."""
        if self._history and self._history[0].seq > seq:
            return list(self._history)
        return [encoded for encoded in self._history if encoded.seq > seq]

    # -- listeners and demand -----------------------------------------------------------------
    def add_listener(self, listener: Listener) -> None:
        """Call ``listener(encoded)`` on the event loop for every new sample."""
        self._listeners.add(listener)

    def remove_listener(self, listener: Listener) -> None:
        """Stop calling ``listener``; unknown listeners are ignored."""
        self._listeners.remove(listener)

    def acquire(self) -> None:
        """A client arrived: make sure the sampler runs."""
        self._demand += 1
        if self._idle_timer is not None:
            self._idle_timer.cancel()
            self._idle_timer = None
        if not self.sampling:
            self._task = asyncio.get_running_loop().create_task(self._run(), name="iostat-hub")

    def release(self) -> None:
        """A client left: stop sampling once nobody has been watching for ``linger`` seconds."""
        self._demand = max(self._demand - 1, 0)
        if self._demand == 0 and self._idle_timer is None:
            loop = asyncio.get_running_loop()
            self._idle_timer = loop.call_later(self.linger, self._stop_if_idle)

    @property
    def top_size(self) -> int:
        """The largest ``n`` any viewer asks for now (0: nobody asks, no process is read)."""
        return max(self._top_asked, default=0)

    def acquire_top(self, n: int) -> None:
        """A viewer asks for the ``n`` busiest processes with each sample (1 to 25).

        Raises:
            ValueError: ``n`` outside 1 to :data:`~iostat_widget.top_schema.MAX_TOP_ROWS`.
        """
        if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= MAX_TOP_ROWS:
            raise ValueError(f"n must be an integer from 1 to {MAX_TOP_ROWS}, got {n!r}")
        self._top_asked[n] += 1

    def release_top(self, n: int) -> None:
        """That viewer no longer asks; the table stops at the first tick nobody asks."""
        if self._top_asked[n] <= 1:
            del self._top_asked[n]
        else:
            self._top_asked[n] -= 1

    def _stop_if_idle(self) -> None:
        self._idle_timer = None
        if self._demand == 0 and self._task is not None:
            self._task.cancel()
            self._task = None

    async def next_samples(self, after: int, max_wait: float) -> list[EncodedSample]:
        """Samples newer than ``after``, waiting up to ``max_wait`` s for the next one if none yet.

        Every waiter shares one future per tick, so a thousand waiting requests cost one wake-up
        each and no polling.
        """
        found = self.history_after(after)
        if found or max_wait <= 0:
            return found
        if self._tick is None or self._tick.done():
            self._tick = asyncio.get_running_loop().create_future()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(self._tick), max_wait)
        return self.history_after(after)

    # -- the sampling loop --------------------------------------------------------------------
    async def _run(self) -> None:
        try:
            self.sampler.prime()
        except Exception:
            self.errors += 1
            log.exception("sampler failed to take its baseline reading")
        deadline = self._clock() + self.interval
        while True:
            await asyncio.sleep(max(deadline - self._clock(), 0.0))
            self._publish_one()
            deadline += self.interval
            if self._clock() > deadline:  # fell behind (suspended machine, busy loop): skip ahead
                deadline = self._clock() + self.interval

    def _publish_one(self) -> None:
        try:
            sample = self.sampler.sample(self._next_seq)
            encoded = _encoded(sample, self._top_rows(), self._compact)
        except NoReading as reason:
            self.no_reading += 1
            log.debug("no reading this tick: %s", reason)
            return
        except Exception:
            self.errors += 1
            log.exception("sampler failed; skipping this tick")
            return
        self._next_seq += 1
        self._history.append(encoded)
        self._listeners.notify(encoded)
        self._wake_waiters()

    def _top_rows(self) -> list[TopRow] | None:
        """The busy table for this tick while someone asks (``[]`` on the tick that primes),
        else ``None``; a reading that fails is logged and counted, and the tick goes on."""
        size = self.top_size
        if not size:
            if self.top_sampler.primed:
                self.top_sampler.reset()  # the next asker's first tick primes anew
            return None
        try:
            return self.top_sampler.top(size)
        except Exception:
            self.errors += 1
            log.exception("reading the processes failed; this tick has no busy table")
            return None

    def _wake_waiters(self) -> None:
        if self._tick is not None and not self._tick.done():
            self._tick.set_result(None)

    async def aclose(self) -> None:
        """Stop sampling now, answer every waiting :meth:`next_samples`, forget the listeners."""
        self._wake_waiters()
        if self._idle_timer is not None:
            self._idle_timer.cancel()
            self._idle_timer = None
        task, self._task = self._task, None
        await cancel_and_wait(task)
        self._listeners.clear()
