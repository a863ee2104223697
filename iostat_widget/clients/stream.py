"""The kernel-side client: an endless, self-healing iterator of validated samples.

A monitor must outlive the server it watches: when the connection drops, ``stream()`` backs off
and reconnects by itself, skips the history it has already seen, and counts (never raises) any
message that is not a valid sample. Its ``state`` tells a viewer what is happening.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import AsyncIterator, Callable
from typing import Literal

from websockets.asyncio.client import connect
from websockets.exceptions import InvalidHandshake, InvalidURI, WebSocketException
from websockets.uri import parse_uri

from ..schema import MAX_MESSAGE_BYTES, Sample, SampleError, decode_sample
from ..transports.access import redacted_logger, without_token

__all__ = ["SampleStream", "StreamState", "stream"]

log = logging.getLogger(__name__)

StreamState = Literal["connecting", "live", "reconnecting", "stopped"]


class SampleStream:
    """Async iterator of samples from ``url``; iterate once (``async for sample in stream``).

    Counters: ``received`` (valid, new samples yielded), ``invalid`` (skipped malformed
    messages), ``duplicates`` (history already seen, skipped after a reconnect), ``reconnects``.
    ``on_state`` is called with the new state on every change, from the iterating task.
    """

    def __init__(
        self,
        url: str,
        *,
        on_state: Callable[[StreamState], None] | None = None,
        open_timeout: float = 5.0,
        backoff: tuple[float, float] = (0.1, 2.0),
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
        self.reconnects = 0
        self.last_error: str | None = None
        self._last: tuple[int, float] | None = None  # (seq, t) of the newest sample yielded
        self._iterating = False

    def _set_state(self, state: StreamState) -> None:
        if state != self.state:
            self.state = state
            if self.on_state is not None:
                self.on_state(state)

    def _is_new(self, sample: Sample) -> bool:
        # After a reconnect the server resends its history: skip what was already yielded. A
        # restarted server numbers from 0 again, which shows as a lower seq with a later time.
        if self._last is None:
            return True
        seq, t = self._last
        return sample["seq"] > seq or sample["t"] > t

    def _accept(self, message: str | bytes) -> Sample | None:
        try:
            sample = decode_sample(message)
        except SampleError as err:
            self.invalid += 1
            log.debug("skipped a malformed message: %s", err)
            return None
        if not self._is_new(sample):
            self.duplicates += 1
            return None
        self._last = (sample["seq"], sample["t"])
        self.received += 1
        return sample

    def __aiter__(self) -> AsyncIterator[Sample]:
        if self._iterating:
            raise RuntimeError("a SampleStream can be iterated only once")
        self._iterating = True
        return self._samples()

    async def _samples(self) -> AsyncIterator[Sample]:
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
                    ) as websocket:
                        self._set_state("live")
                        delay = self.backoff[0]
                        async for message in websocket:
                            sample = self._accept(message)
                            if sample is not None:
                                yield sample
                    self.last_error = "server closed the connection"
                except (OSError, TimeoutError, InvalidHandshake, WebSocketException) as err:
                    self.last_error = without_token(f"{type(err).__name__}: {err}")
                self.reconnects += 1
                self._set_state("reconnecting")
                await asyncio.sleep(delay * random.uniform(0.8, 1.2))
                delay = min(delay * 2, self.backoff[1])
        finally:
            self._set_state("stopped")


def stream(
    url: str,
    *,
    on_state: Callable[[StreamState], None] | None = None,
    open_timeout: float = 5.0,
    backoff: tuple[float, float] = (0.1, 2.0),
) -> SampleStream:
    """Samples from the server at ``url``, forever, reconnecting by itself.

    ``async for sample in stream("ws://127.0.0.1:8765/iostat"): ...``. ``on_state`` hears
    connecting/live/reconnecting/stopped; reconnect delays grow from ``backoff[0]`` to
    ``backoff[1]`` seconds. Raises ``ValueError`` at once for a URL that is not ws:// or wss://.
    """
    return SampleStream(url, on_state=on_state, open_timeout=open_timeout, backoff=backoff)
