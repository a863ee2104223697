"""What every live widget does the same way: hold the kernel runtime and run tasks on its loop.

A widget's feeds run as asyncio tasks on the runtime's background loop. Starting claims the
runtime (starting it if needed) and schedules the tasks; stopping cancels them, waits for them to
end, and lets the runtime go (the last user stops its thread). A failed start leaves nothing.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
from collections.abc import Callable, Coroutine, Sequence
from typing import Any

from .runtime import KernelRuntime

__all__ = ["BackgroundTasks", "Work"]

Work = Coroutine[Any, Any, None]
"""A feed's reading loop, to run as one task."""


class BackgroundTasks:
    """A widget's claim on the kernel runtime and the tasks it runs there."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.runtime: KernelRuntime | None = None
        self.tasks: list[asyncio.Task[None]] = []

    @property
    def running(self) -> bool:
        """Whether the tasks were started and not stopped."""
        return self.runtime is not None

    def start(self, make: Callable[[KernelRuntime], Sequence[Work]]) -> bool:
        """Claim the runtime and run what ``make(runtime)`` returns; False if already running."""
        if self.runtime is not None:
            return False
        runtime = KernelRuntime.acquire()
        work: Sequence[Work] = ()
        try:
            work = make(runtime)
            runtime.loop_thread.run(self._create(work))
        except BaseException:
            for coroutine in work:
                coroutine.close()  # never scheduled: no "never awaited" warning
            runtime.loop_thread.run(self._cancel())
            runtime.release()
            raise
        self.runtime = runtime
        return True

    async def _create(self, work: Sequence[Work]) -> None:
        loop = asyncio.get_running_loop()
        self.tasks = [loop.create_task(coroutine, name=self.name) for coroutine in work]

    async def _cancel(self) -> None:
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
