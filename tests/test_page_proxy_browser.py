"""The page behind a reverse proxy, in a real browser, and what it does with a token.

A proxy such as nginx with its default ``proxy_set_header Host $proxy_host`` (or
jupyter-server-proxy with a Host override) forwards the browser's requests with
``Host: 127.0.0.1:<server port>`` while the browser's ``Origin`` is the proxy's own address: the
server rightly refuses the stream from that origin, and the page must say why and how to fix it.
The proxy here is a small tornado application on loopback that does exactly that.

A page opened with someone else's ``?token=`` (Jupyter's own, from the launcher) must not pass
it on to a server that does not ask for one: every URL the page builds is recorded and checked.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from playwright.sync_api import Page, WebSocket, expect
from tornado import httpserver, iostream, netutil, tcpclient, web, websocket
from tornado.httpclient import AsyncHTTPClient, HTTPRequest
from tornado.httputil import HTTPServerRequest
from websockets.asyncio.client import ClientConnection
from websockets.asyncio.client import connect as ws_connect
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.typing import Subprotocol

from .browser import watch_page
from .page_fixtures import WAIT_MS, ServerThread

pytestmark = pytest.mark.browser

ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"
JUPYTER_TOKEN = "jupyter-own-token-0123456789abcdef0123456789abcdef"  # not this server's
# Hop-by-hop headers, and Host: the proxy's client writes the upstream's own Host, as nginx's
# default ``proxy_set_header Host $proxy_host`` does.
NOT_FORWARDED = {"host", "connection", "upgrade", "keep-alive", "transfer-encoding", "te"}
PASSED_BACK = ("Content-Type", "Content-Security-Policy", "Cache-Control", "X-Content-Type-Options")

expect.set_options(timeout=WAIT_MS)


@dataclass(frozen=True)
class Forwarded:
    """One request the proxy passed on: its target, the browser's Origin, the server's answer."""

    target: str
    origin: str | None
    status: int


class RecordingTCPClient(tcpclient.TCPClient):
    """Keeps the upstream connections it opens, so closing the proxy can cut a waiting poll."""

    def __init__(self) -> None:
        super().__init__()
        self.streams: set[iostream.IOStream] = set()

    async def connect(self, *args: Any, **kwargs: Any) -> iostream.IOStream:
        stream = await super().connect(*args, **kwargs)
        self.streams.add(stream)
        return stream


class HostRewritingProxy:
    """``127.0.0.1:<port>`` → the server, with the upstream's Host and the browser's Origin."""

    def __init__(self, target_port: int = 0, *, add_origin: bool = False) -> None:
        self.target = f"127.0.0.1:{target_port}"
        self.add_origin = add_origin  # give polls without an Origin the proxy's own
        self.seen: list[Forwarded] = []
        self.port = 0
        self._server: httpserver.HTTPServer | None = None
        self._client: AsyncHTTPClient | None = None
        self._sockets: set[ForwardSocket] = set()
        self.pending: set[asyncio.Future[None]] = set()  # sends and closes under way
        self._tcp = RecordingTCPClient()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        self._client = AsyncHTTPClient(force_instance=True, max_clients=50)
        self._tcp = RecordingTCPClient()
        self._client.tcp_client = self._tcp  # type: ignore[attr-defined]
        app = web.Application(
            [(r".*/iostat", ForwardSocket, {"proxy": self}), (r".*", Forward, {"proxy": self})]
        )
        self._server = httpserver.HTTPServer(app)
        sockets = netutil.bind_sockets(0, "127.0.0.1")
        self.port = int(sockets[0].getsockname()[1])
        self._server.add_sockets(sockets)

    async def aclose(self) -> None:
        """Stop listening, cut the open streams and connections (a long poll may be waiting)."""
        if self._server is not None:
            self._server.stop()
        for handler in list(self._sockets):
            handler.close()
        for stream in self._tcp.streams:
            stream.close()
        if self._client is not None:
            self._client.close()
        if self._server is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._server.close_all_connections(), 2)

    def headers_for(self, request: HTTPServerRequest) -> dict[str, str]:
        headers = {k: v for k, v in request.headers.get_all() if k.lower() not in NOT_FORWARDED}
        polling = request.path.endswith("/poll")
        if self.add_origin and polling and "Origin" not in request.headers:
            headers["Origin"] = self.url
        return headers

    def origins(self, path: str) -> set[str | None]:
        """The Origin headers seen on requests for ``path`` (any query)."""
        return {f.origin for f in self.seen if f.target.split("?")[0].endswith(path)}


class Forward(web.RequestHandler):
    """Plain HTTP: the page's files, /healthz, /poll."""

    def initialize(self, proxy: HostRewritingProxy) -> None:
        self.proxy = proxy

    def compute_etag(self) -> None:
        return None  # pass the server's answer on as it is

    async def get(self) -> None:
        proxy = self.proxy
        assert proxy._client is not None
        upstream = HTTPRequest(
            f"http://{proxy.target}{self.request.uri}",
            headers=proxy.headers_for(self.request),
            follow_redirects=False,
            request_timeout=40,  # longer than a long poll
        )
        response = await proxy._client.fetch(upstream, raise_error=False)
        status = 502 if response.code == 599 else response.code
        origin = upstream.headers.get("Origin")
        proxy.seen.append(Forwarded(self.request.uri or "", origin, status))
        self.clear()
        self.set_status(status)
        for name in PASSED_BACK:
            if name in response.headers:
                self.set_header(name, response.headers[name])
        self.finish(response.body or b"")


class ForwardSocket(websocket.WebSocketHandler):
    """The stream: the handshake goes upstream first, so a refusal reaches the browser as is."""

    def initialize(self, proxy: HostRewritingProxy) -> None:
        self.proxy = proxy
        self.upstream: ClientConnection | None = None
        self.pump: asyncio.Task[None] | None = None

    def check_origin(self, origin: str) -> bool:
        return True  # the server behind decides

    async def get(self, *args: str, **kwargs: str) -> None:
        origin = self.request.headers.get("Origin")
        headers = {"Origin": origin} if origin else {}
        target = f"ws://{self.proxy.target}{self.request.uri}"
        offered = self.request.headers.get("Sec-WebSocket-Protocol", "")
        subprotocols = [Subprotocol(p.strip()) for p in offered.split(",") if p.strip()] or None
        status = 101
        try:
            self.upstream = await ws_connect(
                target, additional_headers=headers, open_timeout=5, subprotocols=subprotocols
            )
        except InvalidStatus as error:
            status = error.response.status_code
        except (OSError, TimeoutError):
            status = 502
        self.proxy.seen.append(Forwarded(self.request.uri or "", origin, status))
        if self.upstream is None:
            self.set_status(status)
            self.finish()
            return
        await super().get(*args, **kwargs)

    def select_subprotocol(self, subprotocols: list[str]) -> str | None:
        """What the server behind chose (passed through, as a proxy passes headers)."""
        return self.upstream.subprotocol if self.upstream is not None else None

    def open(self, *args: str, **kwargs: str) -> None:
        self.proxy._sockets.add(self)
        self.pump = asyncio.ensure_future(self._pump())

    async def _pump(self) -> None:
        assert self.upstream is not None
        with contextlib.suppress(ConnectionClosed, websocket.WebSocketClosedError):
            async for message in self.upstream:
                await self.write_message(message)
        self.close()

    def on_message(self, message: str | bytes) -> None:
        if self.upstream is not None:
            self.proxy.pending.add(asyncio.ensure_future(self.upstream.send(message)))

    def on_close(self) -> None:
        self.proxy._sockets.discard(self)
        if self.upstream is not None:
            self.proxy.pending.add(asyncio.ensure_future(self.upstream.close()))
        if self.pump is not None:
            self.pump.cancel()


@contextlib.contextmanager
def proxy_to(
    servers: ServerThread, page: Page, target_port: int = 0, *, add_origin: bool = False
) -> Iterator[HostRewritingProxy]:
    """A proxy in front of ``target_port`` (or of a server started later: set ``target``)."""
    proxy = HostRewritingProxy(target_port, add_origin=add_origin)
    servers.loop_thread.run(proxy.start(), 5)
    try:
        yield proxy
    finally:
        page.goto("about:blank")
        while servers.running:  # the servers first: that ends a long poll the proxy waits on
            servers.stop()
        servers.loop_thread.run(proxy.aclose(), 5)


def wait_until(page: Page, condition: Callable[[], bool], what: str, timeout: float = 10) -> None:
    """Poll ``condition`` from here: the page's CSP forbids the eval ``wait_for_function`` needs."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out after {timeout} s waiting for {what}"
        page.wait_for_timeout(50)


def received(page: Page) -> int:
    return int(page.locator("#received").inner_text())


@dataclass
class Traffic:
    """Every URL the page asked for: requests (fetches, files) and WebSockets."""

    requests: list[str]
    sockets: list[str]

    @property
    def all(self) -> list[str]:
        return [*self.requests, *self.sockets]


def record_traffic(page: Page) -> Traffic:
    traffic = Traffic([], [])
    page.on("request", lambda request: traffic.requests.append(request.url))

    def on_socket(ws: WebSocket) -> None:
        traffic.sockets.append(ws.url)

    page.on("websocket", on_socket)
    return traffic


# A refused handshake and a refused fetch are logged by Chromium itself; no script can stop that.
REFUSED_LOGS = (
    r"^WebSocket connection to 'ws://[^']+/iostat[^']*' failed: ",
    r"^Failed to load resource: the server responded with a status of 40[13] ",
)


def problem_text(page: Page) -> str:
    return page.locator("#problem").inner_text()


def shoot(page: Page, name: str) -> None:
    """The page light and dark, narrow and wide, into test-artifacts/."""
    ARTIFACTS.mkdir(exist_ok=True)
    for scheme in ("light", "dark"):
        page.emulate_media(color_scheme=scheme)
        for width in (400, 1400):
            page.set_viewport_size({"width": width, "height": 700})
            page.screenshot(path=ARTIFACTS / f"{name}-{scheme}-{width}.png", full_page=True)
    page.emulate_media(color_scheme="light")
    page.set_viewport_size({"width": 1100, "height": 720})


# -- a proxy that rewrites Host ------------------------------------------------------------------


def test_page_behind_a_host_rewriting_proxy_says_why_and_how(
    servers: ServerThread, page: Page
) -> None:
    server = servers.start()
    with proxy_to(servers, page, server.port) as proxy:
        watch = watch_page(page)
        page.goto(proxy.url + "/")
        problem = page.locator("#problem")
        expect(problem).to_be_visible()
        expect(problem).to_contain_text(f"refused the WebSocket from origin {proxy.url}")
        expect(problem).to_contain_text(f"--allow-origin {proxy.url}")
        # A same-origin fetch carries no Origin: the poll gets through and the numbers move.
        expect(page.locator("#transport")).to_have_text("long polling")
        expect(page.locator("#state")).to_have_text("live")
        start = received(page)
        wait_until(page, lambda: received(page) >= start + 5, "5 more samples")
        expect(page.locator("#note")).to_be_hidden()  # the problem says more than the note
        assert proxy.origins("/iostat") == {proxy.url}
        assert 403 in {f.status for f in proxy.seen if f.target.startswith("/iostat")}
        shoot(page, "proxy-refused-websocket")
        assert watch.problems_except(*REFUSED_LOGS) == []


def test_page_behind_a_proxy_refusing_everything_says_refused(
    servers: ServerThread, page: Page
) -> None:
    # Every request reaches the server with the proxy's origin (as a browser that sends Origin on
    # every fetch would): the poll is refused too, and the page says so instead of "connecting".
    server = servers.start()
    with proxy_to(servers, page, server.port, add_origin=True) as proxy:
        watch = watch_page(page)
        page.goto(proxy.url + "/")
        expect(page.locator("#state")).to_have_text("refused")
        expect(page.locator("#problem")).to_contain_text(
            f"refused the stream from origin {proxy.url}"
        )
        expect(page.locator("#problem")).to_contain_text(f"--allow-origin {proxy.url}")
        assert received(page) == 0
        assert 403 in {f.status for f in proxy.seen if f.target.startswith("/poll")}
        shoot(page, "proxy-refused-all")
        assert watch.problems_except(*REFUSED_LOGS) == []


def test_page_behind_the_proxy_goes_live_once_its_origin_is_allowed(
    servers: ServerThread, page: Page
) -> None:
    with proxy_to(servers, page) as proxy:
        server = servers.start(allow_origins=[proxy.url])
        proxy.target = f"127.0.0.1:{server.port}"
        watch = watch_page(page)
        page.goto(proxy.url + "/")
        expect(page.locator("#transport")).to_have_text("WebSocket")
        expect(page.locator("#state")).to_have_text("live")
        wait_until(page, lambda: received(page) >= 10, "10 samples")
        expect(page.locator("#problem")).to_be_hidden()
        expect(page.locator("#note")).to_be_hidden()
        assert {f.status for f in proxy.seen if f.target.startswith("/iostat")} == {101}
        assert watch.problems == []


# -- whose token the page sends --------------------------------------------------------------


def carrying_token(traffic: Traffic, page_url: str) -> list[str]:
    """URLs the page built that carry a token (the page's own address aside)."""
    return [url for url in traffic.all if url != page_url and "token=" in url]


def test_page_keeps_a_foreign_token_from_a_server_that_wants_none(
    servers: ServerThread, page: Page
) -> None:
    # Opened from Jupyter's launcher, the page's URL carries Jupyter's own token.
    server = servers.start()
    traffic = record_traffic(page)
    watch = watch_page(page)
    url = f"{server.http_url}/?token={JUPYTER_TOKEN}"
    page.goto(url)
    expect(page.locator("#transport")).to_have_text("WebSocket")
    expect(page.locator("#state")).to_have_text("live")
    wait_until(page, lambda: received(page) >= 5, "5 samples")
    assert any(ws.endswith("/iostat") for ws in traffic.sockets)
    assert carrying_token(traffic, url) == []
    expect(page.locator("#problem")).to_be_hidden()
    assert watch.problems == []


def test_page_keeps_its_token_from_other_hosts(servers: ServerThread, page: Page) -> None:
    own = servers.start(token="own-server-token-1234")
    origin = own.http_url
    other = servers.start(allow_origins=[origin])
    traffic = record_traffic(page)
    watch = watch_page(page)
    url = f"{own.page_url}&hosts=127.0.0.1:{other.port}"
    page.goto(url)
    expect(page.locator("#hosts tr")).to_have_count(2)
    for row in page.locator("#hosts tr").all():
        expect(row.locator(".state")).to_have_text("live")
    own_ws = [u for u in traffic.sockets if f":{own.port}/" in u]
    other_ws = [u for u in traffic.sockets if f":{other.port}/" in u]
    assert own_ws and all(u.endswith("?token=own-server-token-1234") for u in own_ws)
    assert other_ws and not any("token" in u for u in other_ws)
    assert not any("token" in u for u in traffic.all if f":{other.port}/" in u)
    assert watch.problems == []


def test_page_passes_its_token_to_a_server_that_wants_it(servers: ServerThread, page: Page) -> None:
    server = servers.start(token="page-token-5678")
    traffic = record_traffic(page)
    watch = watch_page(page)
    page.goto(server.page_url)
    expect(page.locator("#transport")).to_have_text("WebSocket")
    expect(page.locator("#state")).to_have_text("live")
    wait_until(page, lambda: received(page) >= 5, "5 samples")
    assert traffic.sockets and all(
        u.endswith("/iostat?token=page-token-5678") for u in traffic.sockets
    )
    # The health check is asked without it, with the page's origin.
    origin = quote(server.http_url, safe="")
    assert f"{server.http_url}/healthz?origin={origin}" in traffic.requests, traffic.requests
    assert watch.problems == []


def test_page_sends_no_token_when_the_health_check_does_not_ask(
    servers: ServerThread, page: Page
) -> None:
    # A /healthz that does not say token_required (not this project's current server): the page
    # keeps its token, and the refusal that follows is explained.
    server = servers.start(token="page-token-9012")
    page.route(re.compile(r"/healthz(\?.*)?$"), lambda route: route.fulfill(status=404, body="no"))
    traffic = record_traffic(page)
    watch = watch_page(page)
    page.goto(server.page_url)
    expect(page.locator("#state")).to_have_text("refused")
    expect(page.locator("#problem")).to_contain_text("This server wants a token")
    expect(page.locator("#problem")).to_contain_text("kept the ?token=")
    assert traffic.sockets
    assert carrying_token(traffic, server.page_url) == []
    assert watch.problems_except(*REFUSED_LOGS, r"status of 404") == []


def test_page_says_when_its_server_is_down(servers: ServerThread, page: Page) -> None:
    server = servers.start()
    port = server.port
    watch = watch_page(page)
    page.goto(server.http_url + "/")
    expect(page.locator("#state")).to_have_text("live")
    expect(page.locator("#problem")).to_be_hidden()
    servers.stop()
    expect(page.locator("#problem")).to_contain_text(f"No answer from 127.0.0.1:{port}")
    servers.start(port=port)
    expect(page.locator("#state")).to_have_text("live")
    expect(page.locator("#problem")).to_be_hidden()
    refused = r"net::ERR_CONNECTION_REFUSED$"
    assert watch.problems_except(refused) == []
