"""The clients the course compares, each measured through a :class:`CountingProxy`.

* :func:`naive_poll` asks for the newest sample every ``period`` seconds, one request at a time,
  as a page re-arming a timer after each answer would. When a round trip takes longer than the
  sample interval, the samples produced meanwhile are never seen: they are counted as lost.
* :func:`long_poll` asks for everything after the last number it has seen and waits for it
  (``/poll?after=SEQ``): nothing is lost, but every answer still costs a whole HTTP exchange.
* :func:`websocket_watch` holds one WebSocket open and is sent each sample as it is taken, as
  JSON objects or, offering ``iostat.compact.v1``, in the compact form.

All three return a :class:`~iostat_widget.course.runs.Run`; a run never outlasts its
``duration`` by more than one request's timeout.
"""

from __future__ import annotations

import asyncio
import json
import math
import time
from collections.abc import Callable, Mapping

from tornado.httpclient import AsyncHTTPClient, HTTPClientError, HTTPResponse
from websockets.asyncio.client import connect
from websockets.typing import Subprotocol

from ..compact import PROTOCOL, CompactDecoder
from ..schema import MAX_MESSAGE_BYTES, Sample, SampleError, decode_sample, validate_sample
from ..server import STREAM_PATH, Server
from .counting_proxy import CountingProxy
from .runs import Run

__all__ = ["decode_poll_body", "long_poll", "naive_poll", "websocket_watch"]

_GRACE = 10.0  # seconds a run may overrun its duration waiting for the server's next answer


def decode_poll_body(body: bytes) -> list[Sample]:
    """The samples of a ``/poll`` answer (a JSON array), oldest first."""
    items = json.loads(body)
    if not isinstance(items, list):
        raise SampleError("poll answer: expected a JSON array")
    return [validate_sample(item) for item in items]


class _Window:
    """A run's steady state: when it began, and the counters to subtract when it ends."""

    def __init__(self, proxy: CountingProxy, server: Server | None) -> None:
        self.proxy, self.server = proxy, server
        self.start = time.monotonic()
        self.counts = proxy.counts
        self.requests = server.long_poll.requests if server is not None else None

    def elapsed(self) -> float:
        return time.monotonic() - self.start

    def close(self, run: Run) -> Run:
        run.duration = self.elapsed()
        run.wire = self.proxy.counts - self.counts
        if self.server is not None and self.requests is not None:
            run.server_requests = self.server.long_poll.requests - self.requests
        return run


async def _get(
    client: AsyncHTTPClient, url: str, headers: Mapping[str, str] | None, limit: float
) -> HTTPResponse | None:
    """The response (any status), or ``None`` when there was none (timeout, refused, reset)."""
    try:
        response: HTTPResponse = await client.fetch(
            url, headers=dict(headers or {}), request_timeout=limit, raise_error=False
        )
    except (HTTPClientError, OSError):
        return None
    return response


async def _fresh(
    client: AsyncHTTPClient,
    url: str,
    headers: Mapping[str, str] | None,
    limit: float,
    since: float,
) -> bool:
    """Whether one request returned a sample taken after ``since``."""
    response = await _get(client, url, headers, limit)
    if response is None or response.code != 200:
        return False
    return decode_poll_body(response.body)[-1]["t"] > since


async def naive_poll(
    proxy: CountingProxy,
    *,
    period: float,
    duration: float,
    server: Server | None = None,
    headers: Mapping[str, str] | None = None,
    wait: float = 0.01,
) -> Run:
    """Every ``period`` s, ``GET /poll?after=-1&timeout=wait`` and keep only the newest sample.

    One request at a time: the next tick after an answer is the next multiple of ``period`` from
    the start, so ticks missed during a slow round trip are skipped, not queued. Setup (not
    counted) polls until a sample taken after the first request arrives: the server's sampler
    runs only while someone asks, and what it kept from before would look falsely stale.
    """
    run = Run("naive polling")
    seen: set[int] = set()
    url = proxy.url_for(f"/poll?after=-1&timeout={wait}")
    limit = wait + _GRACE + 2 * proxy.delay
    client = AsyncHTTPClient(force_instance=True)
    try:
        counts, opened = proxy.counts, time.time()
        for _ in range(max(math.ceil(limit / period), 1)):
            if await _fresh(client, url, headers, limit, opened):
                break
            await asyncio.sleep(period)
        else:
            raise RuntimeError("naive polling setup: the server sent no fresh sample")
        run.setup = proxy.counts - counts
        window = _Window(proxy, server)
        while window.elapsed() < duration:
            response = await _get(client, url, headers, limit)
            arrived = time.time()
            run.requests += 1
            if response is None:
                run.errors += 1
            elif response.code == 200:
                newest = decode_poll_body(response.body)[-1]
                if newest["seq"] in seen:
                    run.duplicates += 1
                else:
                    seen.add(newest["seq"])
                    run.seqs.append(newest["seq"])
                    run.latencies.append(arrived - newest["t"])
                    run.answers.append(1)
            elif response.code == 204:
                run.empty += 1
            else:
                run.errors += 1
            ticks = math.floor(window.elapsed() / period) + 1
            await asyncio.sleep(max(ticks * period - window.elapsed(), 0.0))
    finally:
        client.close()
    return window.close(run)


async def long_poll(
    proxy: CountingProxy,
    *,
    duration: float,
    server: Server | None = None,
    headers: Mapping[str, str] | None = None,
    wait: float = 5.0,
) -> Run:
    """``GET /poll?after=SEQ&timeout=wait`` again and again, SEQ the last number received.

    The first request (``after=-1``, answered with the server's history) is setup, not run.
    """
    run = Run("long polling")
    client = AsyncHTTPClient(force_instance=True)
    limit = wait + _GRACE + 2 * proxy.delay
    try:
        counts = proxy.counts
        first = await _get(client, proxy.url_for(f"/poll?after=-1&timeout={wait}"), headers, limit)
        if first is None or first.code != 200:
            raise RuntimeError("long poll setup failed: no sample within the wait")
        last = decode_poll_body(first.body)[-1]["seq"]
        run.setup = proxy.counts - counts
        window = _Window(proxy, server)
        while window.elapsed() < duration:
            url = proxy.url_for(f"/poll?after={last}&timeout={wait}")
            response = await _get(client, url, headers, limit)
            arrived = time.time()
            run.requests += 1
            if response is not None and response.code == 200:
                samples = decode_poll_body(response.body)
                for sample in samples:
                    run.seqs.append(sample["seq"])
                    run.latencies.append(arrived - sample["t"])
                    last = max(last, sample["seq"])
                if samples:
                    run.answers.append(len(samples))
            elif response is not None and response.code == 204:
                run.empty += 1
            else:
                run.errors += 1
                await asyncio.sleep(0.1)
    finally:
        client.close()
    return window.close(run)


def _decoder(subprotocol: str | None) -> Callable[[str | bytes], Sample | None]:
    """How to read one message of a connection speaking ``subprotocol``: ``None`` for a compact
    schema message, which carries no sample."""
    return CompactDecoder().decode if subprotocol == PROTOCOL else decode_sample


async def websocket_watch(
    proxy: CountingProxy,
    *,
    duration: float,
    server: Server | None = None,
    subprotocol: str | None = None,
) -> Run:
    """Hold one WebSocket to ``/iostat`` open and take every sample pushed to it.

    The handshake, the history burst and the first live sample are setup; the run starts at the
    first sample taken after the connection was opened and ends with the first sample received
    after ``duration`` seconds. ``subprotocol`` is offered in the handshake (``"iostat.compact.v1"``
    asks for the compact form); when the server chooses it, the run's transport names it and its
    schema messages count as bytes, not as samples.
    """
    run = Run("WebSocket", requests=1)
    counts = proxy.counts
    opened = time.time()
    async with connect(
        proxy.url_for(STREAM_PATH, "ws"),
        compression=None,
        max_size=MAX_MESSAGE_BYTES,
        open_timeout=10,
        close_timeout=2,
        subprotocols=[Subprotocol(subprotocol)] if subprotocol else None,
    ) as websocket:
        if websocket.subprotocol:
            run.transport = f"WebSocket ({websocket.subprotocol})"
        decode = _decoder(websocket.subprotocol)
        async with asyncio.timeout(30):  # history, then one live sample: bounded
            while (first := decode(await websocket.recv())) is None or first["t"] <= opened:
                pass
        run.setup = proxy.counts - counts
        window = _Window(proxy, server)
        # The run ends with the first sample received at or after ``duration``: ending on a
        # timer instead could count the bytes of a frame that arrived but was not yet read.
        while True:
            try:
                message = await asyncio.wait_for(
                    websocket.recv(), max(duration - window.elapsed(), 0.0) + _GRACE
                )
            except TimeoutError:
                run.errors += 1  # the server went quiet: end the run without that frame
                break
            arrived = time.time()
            sample = decode(message)
            if sample is None:  # a new compact schema: its bytes count, it is no sample
                continue
            run.seqs.append(sample["seq"])
            run.latencies.append(arrived - sample["t"])
            run.answers.append(1)
            if window.elapsed() >= duration:
                break
        window.close(run)
    return run
