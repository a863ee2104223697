"""Two asyncio idioms every server and source here needs, written once.

``cancel_and_wait`` ends a background task and waits until it has finished cleaning up;
``Service`` turns ``start()``/``aclose()`` into ``async with`` (and ``await``) for any of them.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Generator
from types import TracebackType
from typing import Any, Self

__all__ = ["Service", "cancel_and_wait"]


async def cancel_and_wait(task: asyncio.Task[Any] | asyncio.Future[Any] | None) -> None:
    """Cancel ``task`` (if any, and not done) and wait for it to end; its cancellation is not
    re-raised here."""
    if task is None:
        return
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


class Service:
    """Base for things that ``start()`` and ``aclose()``: ``async with thing:`` runs both,
    ``await thing`` starts it and returns it."""

    async def start(self) -> Self:
        """Begin serving; return self."""
        raise NotImplementedError

    async def aclose(self) -> None:
        """Stop and release everything."""
        raise NotImplementedError

    async def __aenter__(self) -> Self:
        return await self.start()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    def __await__(self) -> Generator[Any, None, Self]:
        return self.start().__await__()
