"""Where the ``/lines`` stream's lines come from: a command's stdout, or a followed file.

The write-up's last step streamed any command's output to the browser. A line source turns bytes
into whole lines (one longer than :data:`~iostat_widget.line_schema.MAX_LINE_BYTES` is cut there
and flagged, the rest of it dropped) and hands each to ``publish(line, truncated)`` on the event
loop. The command or file is fixed when the source is made: no request can change it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shlex
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Protocol

from ..aio import cancel_and_wait
from ..line_schema import MAX_LINE_BYTES
from .child import ChildProcess
from .lines import Piece
from .tail import DEFAULT_POLL_INTERVAL, follow

__all__ = ["CommandLines", "FileLines", "LineAssembler", "LineSource", "Publish"]

log = logging.getLogger(__name__)

Publish = Callable[[str, bool], None]
"""``publish(line, truncated)``: called on the loop for each line, without its newline."""


class LineSource(Protocol):
    """What the ``/lines`` transport needs: start feeding lines, stop."""

    label: str  #: what is streamed, for the start-up message

    async def start(self, publish: Publish) -> None:
        """Begin calling ``publish`` for each line; raise if the source cannot exist."""

    async def aclose(self) -> None:
        """Stop; nothing (process, task, file) is left behind."""


class LineAssembler:
    """Line pieces to lines: a line longer than one piece keeps its first piece, flagged cut."""

    def __init__(self) -> None:
        self._cut = False

    def reset(self) -> None:
        """Start over at a line boundary (a new child's output)."""
        self._cut = False

    def feed(self, piece: Piece) -> tuple[str, bool] | None:
        """``(line, truncated)`` for a piece that starts a line; ``None`` for a long line's rest."""
        if self._cut:
            self._cut = not piece.end
            return None
        if not piece.end:
            self._cut = True
            return piece.text, True
        return piece.text.removesuffix("\n").removesuffix("\r"), False


class CommandLines:
    """The stdout lines of ``argv`` (run without a shell), restarted if it exits.

    stdout is a pseudo-terminal (see :mod:`~iostat_widget.sources.child`), so a program that
    never flushes still sends each line as it prints it.
    """

    def __init__(
        self,
        argv: Sequence[str],
        *,
        backoff: tuple[float, float] = (0.5, 10.0),
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.label = shlex.join(argv)
        self._assembler = LineAssembler()
        self._publish: Publish | None = None
        self.child = ChildProcess(
            argv,
            self._on_piece,
            on_start=self._assembler.reset,
            env=env,
            max_piece=MAX_LINE_BYTES,
            backoff=backoff,
        )

    def _on_piece(self, piece: Piece) -> None:
        line = self._assembler.feed(piece)
        if line is not None and self._publish is not None:
            self._publish(*line)

    async def start(self, publish: Publish) -> None:
        """Start the command (``CommandNotFoundError`` if its program is not on ``PATH``)."""
        self._publish = publish
        await self.child.start()

    async def aclose(self) -> None:
        """Stop the command and wait until it is gone."""
        await self.child.aclose()


class FileLines:
    """The lines of a followed file, like ``tail -F``: its last ``history`` lines, then new ones."""

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        history: int = 20,
        poll_interval: float = DEFAULT_POLL_INTERVAL,
    ) -> None:
        self.path = Path(path)
        self.label = str(self.path)
        self.history = history
        self.poll_interval = poll_interval
        self._task: asyncio.Task[None] | None = None

    async def start(self, publish: Publish) -> None:
        """Start following (a file that does not exist yet is waited for)."""
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(
                self._follow(publish), name="iostat-lines-tail"
            )

    async def _follow(self, publish: Publish) -> None:
        assembler = LineAssembler()
        pieces = follow(
            self.path,
            history=self.history,
            poll_interval=self.poll_interval,
            max_piece=MAX_LINE_BYTES,
        )
        async with contextlib.aclosing(pieces):
            async for piece in pieces:
                line = assembler.feed(piece)
                if line is not None:
                    publish(*line)

    async def aclose(self) -> None:
        """Stop following and close the file."""
        task, self._task = self._task, None
        await cancel_and_wait(task)
