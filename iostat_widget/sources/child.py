"""A child process kept running: started without a shell, restarted when it exits, killed on close.

Both command-backed features (the ``iostat``/``vmstat`` sampler and the ``/lines`` stream of any
command) need the same care. The command is fixed when the object is made (an argv list, never a
shell string; no request can change it). Its stdout is read in bounded line pieces, so a child
printing a huge line or a flood costs bounded memory. A child that exits is started again after a
delay that doubles up to a limit (and starts over once a child has run for a while). Closing
terminates it and anything it started (it runs in a session and process group of its own), waits
for it, and kills what does not stop in time, so no process outlives the server.

**stdout is a pseudo-terminal** (see :mod:`.terminal`), as under ``script`` or ``unbuffer``, so a
program that never flushes still sends each line as it ends it; stderr stays a pipe of its own
(its last line is ``last_error``). Where no pseudo-terminal opens, stdout is a pipe.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
import signal
from collections import deque
from collections.abc import Callable, Mapping, Sequence

from ..aio import cancel_and_wait
from .lines import LineSplitter, Piece
from .terminal import TERMINAL_ENV, open_terminal, read_terminal

__all__ = ["ChildProcess", "CommandNotFoundError", "find_command"]

log = logging.getLogger(__name__)

_READ_CHUNK = 64 * 1024
_STDERR_LINE = 200  # characters of a stderr line kept for the log and ``last_error``


class CommandNotFoundError(RuntimeError):
    """The command's program is not on ``PATH``; ``str(err)`` names it and how to get it."""


def find_command(argv: Sequence[str], hint: str = "") -> str:
    """The full path of ``argv[0]``, or :class:`CommandNotFoundError` ("NAME not found; HINT")."""
    if not argv or not argv[0]:
        raise ValueError("the command is empty")
    path = shutil.which(argv[0])
    if path is None:
        raise CommandNotFoundError(f"{argv[0]} not found" + (f"; {hint}" if hint else ""))
    return path


def _signal_group(process: asyncio.subprocess.Process, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signum)


class ChildProcess:
    """Runs ``argv`` and hands every piece of its stdout to ``on_piece``, until :meth:`aclose`.

    ``on_start`` is called each time a new child starts (a parser's state starts over with it).
    ``backoff`` is the first and the longest delay before a restart; a child that ran at least
    ``healthy_after`` seconds is restarted after the first delay again. ``env`` replaces the
    environment (``None``: inherit). With ``use_pty`` (the default) stdout is a pseudo-terminal
    where the platform has one, so the program writes each line as it ends it (see the module);
    ``use_pty=False`` keeps a pipe. Counters: ``starts``, ``exits``, ``last_returncode``;
    ``last_error`` holds the last stderr line or start failure.
    """

    def __init__(
        self,
        argv: Sequence[str],
        on_piece: Callable[[Piece], None],
        *,
        on_start: Callable[[], None] | None = None,
        env: Mapping[str, str] | None = None,
        max_piece: int = 4096,
        backoff: tuple[float, float] = (0.5, 10.0),
        healthy_after: float = 5.0,
        term_timeout: float = 2.0,
        hint: str = "",
        use_pty: bool = True,
    ) -> None:
        if not argv:
            raise ValueError("the command is empty")
        self.argv = list(argv)
        self.on_piece = on_piece
        self.on_start = on_start
        self.env = dict(env) if env is not None else None
        self.max_piece = max_piece
        self.backoff = backoff
        self.healthy_after = healthy_after
        self.term_timeout = term_timeout
        self.hint = hint
        self.use_pty = use_pty
        self.process: asyncio.subprocess.Process | None = None
        self.starts = 0  #: children started
        self.exits = 0  #: children that ended (exited, or were stopped on close)
        self.last_returncode: int | None = None
        self.last_error = ""
        self.stderr_tail: deque[str] = deque(maxlen=5)
        self._task: asyncio.Task[None] | None = None

    @property
    def name(self) -> str:
        """The program's name, for messages."""
        return os.path.basename(self.argv[0])

    @property
    def pid(self) -> int | None:
        """The running child's process id, or ``None`` between children and after close."""
        process = self.process
        return process.pid if process is not None and process.returncode is None else None

    @property
    def running(self) -> bool:
        """Whether the supervising task is running (a child runs, or is about to be restarted)."""
        return self._task is not None and not self._task.done()

    def launch(self) -> None:
        """Check that the program exists, then start supervising on the running loop.

        Raises :class:`CommandNotFoundError` at once if ``argv[0]`` is not on ``PATH``.
        A no-op while already running.
        """
        if self.running:
            return
        find_command(self.argv, self.hint)
        loop = asyncio.get_running_loop()
        self._task = loop.create_task(self._supervise(), name=f"iostat-child-{self.name}")

    async def start(self) -> None:
        """Like :meth:`launch`, as a coroutine (for code that awaits its sources' ``start``)."""
        self.launch()

    async def aclose(self) -> None:
        """Stop supervising; the child (and its process group) is terminated and reaped."""
        task, self._task = self._task, None
        await cancel_and_wait(task)

    async def _supervise(self) -> None:
        loop = asyncio.get_running_loop()
        delay = self.backoff[0]
        while True:
            began = loop.time()
            await self._run_once()
            if loop.time() - began >= self.healthy_after:
                delay = self.backoff[0]
            detail = f": {self.last_error}" if self.last_error else ""
            log.warning(
                "%s ended (status %s)%s; restarting in %.1f s",
                self.name,
                self.last_returncode,
                detail,
                delay,
            )
            await asyncio.sleep(delay)
            delay = min(delay * 2, self.backoff[1])

    def _child_env(self, terminal: bool) -> dict[str, str] | None:
        if not terminal:
            return self.env
        return {**(self.env if self.env is not None else os.environ), **TERMINAL_ENV}

    async def _run_once(self) -> None:
        terminal = open_terminal() if self.use_pty else None
        try:
            try:
                process = await asyncio.create_subprocess_exec(
                    *self.argv,
                    stdin=asyncio.subprocess.DEVNULL,
                    stdout=terminal[1] if terminal is not None else asyncio.subprocess.PIPE,
                    stderr=asyncio.subprocess.PIPE,
                    env=self._child_env(terminal is not None),
                    start_new_session=True,  # its own session and group: close stops it all
                )
            finally:
                if terminal is not None:
                    os.close(terminal[1])  # the child has its own copy; its exit is our EOF
        except BaseException as err:
            if terminal is not None:
                os.close(terminal[0])
            if not isinstance(err, OSError):
                raise
            self.last_error = f"cannot start {self.name}: {err.strerror or err}"
            self.last_returncode = None
            return
        stderr: asyncio.Future[None] | None = None
        try:
            self.process = process
            self.starts += 1
            self.last_error = ""
            if self.on_start is not None:
                self.on_start()
            assert process.stderr is not None
            stderr = asyncio.ensure_future(self._pump(process.stderr, self._on_stderr))
            if terminal is not None:
                await read_terminal(
                    terminal[0], LineSplitter(self.max_piece), self.on_piece, self.name
                )
            else:
                assert process.stdout is not None
                await self._pump(process.stdout, self.on_piece)
            with contextlib.suppress(TimeoutError):  # stdout closed: the child is finishing
                await asyncio.wait_for(process.wait(), self.term_timeout)
        finally:
            try:
                await asyncio.shield(self._stop(process))
                await cancel_and_wait(stderr)
            finally:
                if terminal is not None:
                    os.close(terminal[0])
            self.exits += 1
            self.last_returncode = process.returncode

    async def _pump(self, stream: asyncio.StreamReader, handle: Callable[[Piece], None]) -> None:
        splitter = LineSplitter(self.max_piece)
        while chunk := await stream.read(_READ_CHUNK):
            for piece in splitter.feed(chunk):
                handle(piece)
        for piece in splitter.flush():
            handle(piece)

    def _on_stderr(self, piece: Piece) -> None:
        text = piece.text.strip()[:_STDERR_LINE]
        if text:
            self.stderr_tail.append(text)
            self.last_error = text
            log.info("%s: %s", self.name, text)

    async def _stop(self, process: asyncio.subprocess.Process) -> None:
        """Terminate the child's group, wait ``term_timeout``, then kill it; always reap."""
        if process.returncode is None:
            _signal_group(process, signal.SIGTERM)
            try:
                await asyncio.wait_for(process.wait(), self.term_timeout)
            except TimeoutError:
                _signal_group(process, signal.SIGKILL)
                await process.wait()
        _signal_group(process, signal.SIGKILL)  # anything it started and left behind
