"""The listeners of a hub: called in order for every new item; one that raises is logged, and the
others still get the item."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from typing import Generic, TypeVar

__all__ = ["Listeners"]

log = logging.getLogger(__name__)

T = TypeVar("T")


class Listeners(Generic[T]):
    """An ordered list of ``listener(item)`` callables."""

    def __init__(self) -> None:
        self._listeners: list[Callable[[T], None]] = []

    def add(self, listener: Callable[[T], None]) -> None:
        """Call ``listener`` for every later item."""
        self._listeners.append(listener)

    def remove(self, listener: Callable[[T], None]) -> None:
        """Stop calling ``listener``; unknown listeners are ignored."""
        with contextlib.suppress(ValueError):
            self._listeners.remove(listener)

    def clear(self) -> None:
        """Forget every listener."""
        self._listeners.clear()

    def notify(self, item: T) -> None:
        """Hand ``item`` to every listener (a copy of the list: a listener may remove itself)."""
        for listener in list(self._listeners):
            try:
                listener(item)
            except Exception:
                log.exception("listener %r failed on %r", listener, item)
