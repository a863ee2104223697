"""The kernel-side client: an endless, self-healing iterator of validated samples.

A monitor must outlive the server it watches: when the connection drops, ``stream`` backs off
and reconnects by itself, skips the history it has already seen, and counts (never raises) any
message that is not a valid sample. Its ``state`` tells a viewer what is happening.
"""

from __future__ import annotations

from ..compact import PROTOCOL, CompactDecoder
from ..schema import Sample, decode_sample
from .reconnect import ReconnectingStream, StreamState

__all__ = ["SampleStream", "StreamState", "stream"]


class SampleStream(ReconnectingStream[Sample]):
    """Async iterator of samples from ``url``; iterate once (``async for sample in stream``).

    Counters: ``received`` (valid, new samples yielded), ``invalid`` (skipped malformed
    messages), ``duplicates`` (history already seen, skipped after a reconnect), ``reconnects``.
    ``on_state`` is called with the new state on every change, from the iterating task.

    Samples from the server at ``url`` (``ws://host:port/iostat``), forever, reconnecting by
    itself: ``async for sample in stream("ws://127.0.0.1:8765/iostat"): ...``. Reconnect delays
    grow from ``backoff[0]`` to ``backoff[1]`` seconds; a handshake gets ``open_timeout``
    seconds; ``after`` is the ``(seq, t)`` of the newest sample already seen elsewhere.
    It offers the compact form (subprotocol ``iostat.compact.v1``) and reads JSON objects when
    the server chooses none: what it yields is the same either way.

    Raises:
        ValueError: at once, for a URL that is not ws:// or wss://. Nothing is raised while
            iterating: a lost server is retried, a bad message counted and skipped.
    """

    subprotocols = (PROTOCOL,)
    _compact: CompactDecoder | None = None

    def _opened(self, subprotocol: str | None) -> None:
        # The compact form when the server chose it; JSON objects from an older server, or for
        # ?detail=1 and ?top=N, which have no compact form.
        self._compact = CompactDecoder() if subprotocol == PROTOCOL else None

    def _decode(self, message: str | bytes) -> Sample | None:
        if self._compact is not None:
            return self._compact.decode(message)
        return decode_sample(message)


stream = SampleStream
"""``stream(url)`` is :class:`SampleStream`: ``async for sample in stream(url): ...``."""
