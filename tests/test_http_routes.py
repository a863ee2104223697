"""Plain HTTP on the WebSocket port: health check, 404, and 426 for a plain GET of the stream."""

from __future__ import annotations

import json

from websockets.asyncio.client import connect

from iostat_widget.server import Server

from .helpers import http_get


async def test_healthz_reports_clients_seq_interval(server: Server) -> None:
    status, headers, body = await http_get(server.port, "/healthz")
    assert status == 200 and headers["content-type"] == "application/json"
    health = json.loads(body)
    assert health["status"] == "ok" and health["clients"] == 0 and health["seq"] == -1
    assert health["interval"] == server.hub.interval
    async with connect(server.url) as ws:
        for _ in range(3):
            await ws.recv()
        status, _, body = await http_get(server.port, "/healthz?verbose=1")
    health = json.loads(body)
    assert status == 200 and health["clients"] == 1 and health["seq"] >= 2


async def test_unknown_path_is_404(server: Server) -> None:
    status, _, body = await http_get(server.port, "/etc/passwd")
    assert status == 404 and b"not found" in body


async def test_plain_get_of_the_stream_asks_for_an_upgrade(server: Server) -> None:
    status, _, _ = await http_get(server.port, "/iostat")
    assert status == 426


async def test_server_urls_and_await_form() -> None:
    server = await Server("127.0.0.1", 0)
    try:
        assert server.url == f"ws://127.0.0.1:{server.port}/iostat"
        assert server.http_url == f"http://127.0.0.1:{server.port}"
    finally:
        await server.aclose()
    ipv6 = Server("::1", 0)
    async with ipv6:
        assert ipv6.url.startswith("ws://[::1]:")


async def test_unparsable_target_is_400_not_500(server: Server) -> None:
    status, _, body = await http_get(server.port, "//[")
    assert status == 400 and b"unparsable" in body
