"""The self-healing WebSocket loop every kernel-side client shares.

A viewer must outlive the server it watches: when the connection drops, the client backs off and
reconnects by itself, and its ``state`` tells a viewer what is happening. After a reconnect a
server resends its history, so items already yielded are skipped by their ``(seq, t)``; what a
message means (a sample, a line) is left to a subclass's ``_decode``.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import AsyncIterator, Callable, Mapping
from typing import Any, Generic, Literal, TypeVar

from websockets.asyncio.client import connect
from websockets.exceptions import InvalidHandshake, InvalidURI, WebSocketException
from websockets.typing import Subprotocol
from websockets.uri import parse_uri

from ..redaction import redacted_logger, without_token
from ..schema import MAX_MESSAGE_BYTES

__all__ = ["ReconnectingStream", "StreamState"]

StreamState = Literal["connecting", "live", "reconnecting", "stopped"]

T = TypeVar("T", bound=Mapping[str, Any])

log = logging.getLogger(__name__)


class ReconnectingStream(Generic[T]):
    """Async iterator of the accepted messages from ``url``; iterate once.

    Counters: ``received`` (items yielded), ``invalid`` (malformed messages skipped),
    ``duplicates`` (history already seen, skipped after a reconnect), ``missed`` (items the
    numbering says never arrived), ``reconnects``. ``last_error`` says why the last connection
    ended. ``on_state`` is called with the new state on every change, from the iterating task.
    ``after`` is the ``(seq, t)`` of the newest item already seen elsewhere (a viewer that
    reconnects): items up to it are skipped.

    A subclass may offer WebSocket ``subprotocols`` (in order of preference); ``subprotocol``
    is the one the server chose for the newest connection (``None``: none, or not yet).
    """

    subprotocols: tuple[str, ...] = ()

    def __init__(
        self,
        url: str,
        *,
        on_state: Callable[[StreamState], None] | None = None,
        open_timeout: float = 5.0,
        backoff: tuple[float, float] = (0.1, 2.0),
        after: tuple[int, float] | None = None,
    ) -> None:
        try:
            parse_uri(url)
        except InvalidURI as err:
            raise ValueError(f"not a WebSocket URL: {url!r} ({err})") from None
        self.url = url
        self.state: StreamState = "connecting"
        self.on_state = on_state
        self.open_timeout = open_timeout
        self.backoff = backoff
        self.received = 0
        self.invalid = 0
        self.duplicates = 0
        self.missed = 0
        self.reconnects = 0
        self.last_error: str | None = None
        self.subprotocol: str | None = None
        self._last = after  # (seq, t) of the newest item yielded
        self._iterating = False

    def _set_state(self, state: StreamState) -> None:
        if state != self.state:
            self.state = state
            if self.on_state is not None:
                self.on_state(state)

    def _opened(self, subprotocol: str | None) -> None:
        """A connection opened speaking ``subprotocol`` (``None``: none), before its first
        message."""

    def _decode(self, message: str | bytes) -> T | None:
        """The item a message carries, or ``None`` for a message that carries none (a compact
        schema); raises ``ValueError`` (naming why) for junk."""
        raise NotImplementedError

    def _accept(self, message: str | bytes) -> T | None:
        """The item a message carries, or ``None`` to skip it (counting why)."""
        try:
            item = self._decode(message)
        except ValueError as err:
            self.invalid += 1
            log.debug("skipped a malformed message: %s", err)
            return None
        if item is None:
            return None
        seq, t = int(item["seq"]), float(item["t"])
        if self._last is not None:
            last_seq, last_t = self._last
            if seq > last_seq:
                self.missed += seq - last_seq - 1
            elif t <= last_t:  # already yielded (a restarted server numbers from 0, later)
                self.duplicates += 1
                return None
        self._last = (seq, t)
        self.received += 1
        return item

    def __aiter__(self) -> AsyncIterator[T]:
        if self._iterating:
            raise RuntimeError(f"a {type(self).__name__} can be iterated only once")
        self._iterating = True
        return self._items()

    async def _items(self) -> AsyncIterator[T]:
        delay = self.backoff[0]
        try:
            while True:
                try:
                    async with connect(
                        self.url,
                        open_timeout=self.open_timeout,
                        max_size=MAX_MESSAGE_BYTES,
                        compression=None,
                        close_timeout=1.0,
                        logger=redacted_logger("websockets.client"),
                        subprotocols=[Subprotocol(name) for name in self.subprotocols] or None,
                    ) as websocket:
                        self.subprotocol = websocket.subprotocol
                        self._opened(websocket.subprotocol)
                        self._set_state("live")
                        delay = self.backoff[0]
                        async for message in websocket:
                            item = self._accept(message)
                            if item is not None:
                                yield item
                    self.last_error = "server closed the connection"
                except (OSError, TimeoutError, InvalidHandshake, WebSocketException) as err:
                    self.last_error = without_token(f"{type(err).__name__}: {err}")
                self.reconnects += 1
                self._set_state("reconnecting")
                await asyncio.sleep(delay * random.uniform(0.8, 1.2))
                delay = min(delay * 2, self.backoff[1])
        finally:
            self._set_state("stopped")
