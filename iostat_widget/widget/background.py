"""What every live widget does the same way: hold the kernel runtime and run tasks on its loop.

A widget's feeds run as asyncio tasks on the runtime's background loop, and it may have one timer
there too (a plain ``call_later`` chain, no task and no thread: ``tick()`` runs on the loop and
returns the seconds until it should run again). Starting claims the runtime (starting it if
needed) and schedules the tasks and the timer; stopping cancels them, waits for the tasks to end,
and lets the runtime go (the last user stops its thread). A failed start leaves nothing.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
from collections.abc import Callable, Coroutine, Sequence
from typing import Any

from .runtime import KernelRuntime

__all__ = ["BackgroundTasks", "Tick", "Work"]

Work = Coroutine[Any, Any, None]
"""A feed's reading loop, to run as one task."""

Tick = Callable[[], float | None]
"""A timer callback: runs on the loop, returns seconds until the next call (``None``: no more)."""

log = logging.getLogger(__name__)


class BackgroundTasks:
    """A widget's claim on the kernel runtime and the tasks it runs there."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.runtime: KernelRuntime | None = None
        self.tasks: list[asyncio.Task[None]] = []
        self._tick: Tick | None = None  # touched only on the loop
        self._timer: asyncio.Handle | None = None

    @property
    def running(self) -> bool:
        """Whether the tasks were started and not stopped."""
        return self.runtime is not None

    def start(
        self, make: Callable[[KernelRuntime], Sequence[Work]], tick: Tick | None = None
    ) -> bool:
        """Claim the runtime and run what ``make(runtime)`` returns, and ``tick`` as a timer
        (first called at once); False if already running."""
        if self.runtime is not None:
            return False
        runtime = KernelRuntime.acquire()
        work: Sequence[Work] = ()
        try:
            work = make(runtime)
            runtime.loop_thread.run(self._create(work, tick))
        except BaseException:
            for coroutine in work:
                coroutine.close()  # never scheduled: no "never awaited" warning
            runtime.loop_thread.run(self._cancel())
            runtime.release()
            raise
        self.runtime = runtime
        return True

    async def _create(self, work: Sequence[Work], tick: Tick | None) -> None:
        loop = asyncio.get_running_loop()
        self.tasks = [loop.create_task(coroutine, name=self.name) for coroutine in work]
        if tick is not None:
            self._tick = tick
            self._timer = loop.call_soon(self._fire, tick)

    def _fire(self, tick: Tick) -> None:
        """Run the timer's callback (on the loop) and arm the next call. A callback that raises
        is logged at debug and tried again a second later: nothing reaches a notebook cell."""
        self._timer = None
        if self._tick is not tick:
            return  # stopped meanwhile
        try:
            after = tick()
        except Exception:
            log.debug("%s: timer callback failed", self.name, exc_info=True)
            after = 1.0
        if after is not None and self._tick is tick:
            loop = asyncio.get_running_loop()
            self._timer = loop.call_later(max(after, 0.0), self._fire, tick)

    def move_timer(self, after: float) -> None:
        """Call the timer's callback ``after`` seconds from now instead of when it was due (on
        the loop; a no-op without a timer). Cheaper than a wake-up that finds nothing to do."""
        tick = self._tick
        if tick is None:
            return
        if self._timer is not None:
            self._timer.cancel()
        self._timer = asyncio.get_running_loop().call_later(max(after, 0.0), self._fire, tick)

    async def _cancel(self) -> None:
        self._tick = None
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        tasks, self.tasks = self.tasks, []
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def stop(self) -> bool:
        """Cancel the tasks, wait for them, and let the runtime go; False if not running."""
        runtime, self.runtime = self.runtime, None
        if runtime is None:
            return False
        try:
            runtime.loop_thread.run(self._cancel())
        except (concurrent.futures.TimeoutError, RuntimeError):
            pass  # the loop is already gone (interpreter shutdown): nothing left to cancel
        finally:
            runtime.release()
        return True

    def on_loop(self, callback: Callable[[], None]) -> None:
        """Run ``callback`` on the loop thread while running (widgets are only touched there),
        else right here."""
        runtime = self.runtime
        if runtime is not None:
            runtime.loop_thread.loop.call_soon_threadsafe(callback)
        else:
            callback()
