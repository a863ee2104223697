"""What a kernel shares between its monitors: one background loop and at most one embedded server.

Reference-counted: the first monitor starts the loop thread (and, if it has no URL, the embedded
server on 127.0.0.1 with an OS-chosen port); the last one to close stops both, so closing every
monitor leaves no thread, task or socket behind.
"""

from __future__ import annotations

import atexit
import threading
from typing import ClassVar

from ..server import Server
from .loop_thread import LoopThread

__all__ = ["KernelRuntime"]


class KernelRuntime:
    """Process-wide loop thread and embedded server, shared by every monitor in the kernel."""

    _lock: ClassVar[threading.Lock] = threading.Lock()
    _current: ClassVar[KernelRuntime | None] = None

    def __init__(self) -> None:
        self.loop_thread = LoopThread()
        self.server: Server | None = None
        self.users = 0

    @classmethod
    def acquire(cls) -> KernelRuntime:
        """The running runtime (started if needed), counted as one more user."""
        with cls._lock:
            if cls._current is None:
                cls._current = KernelRuntime()
            cls._current.users += 1
            return cls._current

    @classmethod
    def current(cls) -> KernelRuntime | None:
        """The runtime if one is running (for tests and diagnostics)."""
        return cls._current

    def embedded_url(self, interval: float) -> str:
        """URL of the embedded server, started on first use with ``interval``."""
        with self._lock:
            if self.server is None:
                self.server = self.loop_thread.run(
                    Server("127.0.0.1", 0, interval=interval).start()
                )
            return self.server.url

    def release(self) -> None:
        """One user fewer; the last one stops the embedded server and the loop thread."""
        with self._lock:
            self.users -= 1
            if self.users > 0:
                return
            if KernelRuntime._current is self:
                KernelRuntime._current = None
            server, self.server = self.server, None
        try:
            if server is not None:
                self.loop_thread.run(server.aclose())
        finally:
            self.loop_thread.stop()


@atexit.register
def _stop_at_exit() -> None:
    runtime = KernelRuntime._current
    if runtime is not None:
        runtime.users = 1
        runtime.release()
