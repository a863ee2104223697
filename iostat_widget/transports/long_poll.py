"""Long polling at ``GET /poll?after=SEQ&timeout=S``: the pre-WebSocket way, kept for fallback.

The reply holds every kept sample numbered above ``after`` (with per-device maps when
``detail=1``, with the busy table of the ``N`` busiest processes when ``top=N``, as on ``/iostat``:
see :mod:`.top_query`) (a JSON array, oldest first), sent as
soon as there is at least one, or ``204 No Content`` after ``timeout`` seconds. Asking with the
last number seen means nothing is lost between requests, the fix the course shows for naive
polling. Waiters share the hub's one wake-up per tick: no per-request timers or loops.
"""

from __future__ import annotations

import math
from http import HTTPStatus
from urllib.parse import parse_qs, urlsplit

from websockets.asyncio.server import ServerConnection
from websockets.http11 import Request, Response

from ..hub.hub import Hub
from .endpoint import Endpoint
from .http_routes import bytes_response, text_response
from .top_query import TopQueryError, asked_top

__all__ = ["MAX_POLL_TIMEOUT", "POLL_PATH", "LongPoll"]

POLL_PATH = "/poll"

#: Longest a request may wait; beyond it proxies and browsers start cutting connections.
MAX_POLL_TIMEOUT = 30.0


class LongPollError(ValueError):
    """A query parameter that is not acceptable; the message is sent back with a 400."""


def _parameter(query: dict[str, list[str]], name: str, default: float) -> float:
    values = query.get(name)
    if not values:
        return default
    try:
        value = float(values[-1])
    except ValueError:
        raise LongPollError(f"{name} must be a number") from None
    if not math.isfinite(value):
        raise LongPollError(f"{name} must be finite")
    return value


class LongPoll(Endpoint):
    """The ``/poll`` endpoint (guarded, a viewer); counts requests so the course can show what
    polling costs."""

    viewer = True

    def __init__(self, hub: Hub, *, default_timeout: float = 25.0) -> None:
        super().__init__(frozenset({POLL_PATH}))
        self.hub = hub
        self.default_timeout = min(default_timeout, MAX_POLL_TIMEOUT)
        self.requests = 0
        self.waiting = 0

    @property
    def clients(self) -> int:
        """Requests waiting for a sample now."""
        return self.waiting

    def status(self) -> dict[str, int]:
        """``polling``: requests waiting now."""
        return {"polling": self.waiting}

    async def respond(self, connection: ServerConnection, request: Request) -> Response:
        """Answer one long-poll request: 200 with a JSON array, 204, or 400 for a bad query."""
        self.requests += 1
        query = parse_qs(urlsplit(request.path).query)
        try:
            after = int(_parameter(query, "after", -1))
            detail = _parameter(query, "detail", 0) != 0
            wait = _parameter(query, "timeout", self.default_timeout)
            top = asked_top(query)
        except (LongPollError, TopQueryError) as err:
            return text_response(f"bad request: {err}\n", HTTPStatus.BAD_REQUEST)
        wait = min(max(wait, 0.0), MAX_POLL_TIMEOUT)
        self.hub.acquire()
        if top:  # the table is read at the ticks a poll waits for (a poller asks again at once)
            self.hub.acquire_top(top)
        self.waiting += 1
        try:
            found = await self.hub.next_samples(after, wait)
        finally:
            self.waiting -= 1
            if top:
                self.hub.release_top(top)
            self.hub.release()
        if not found:
            return text_response("", HTTPStatus.NO_CONTENT)
        if top:
            texts = (kept.top or kept.lean for kept in found)
        else:
            texts = (kept.detail if detail else kept.lean for kept in found)
        body = "[" + ",".join(texts) + "]"  # the payloads are JSON already
        return bytes_response(body.encode(), "application/json")
