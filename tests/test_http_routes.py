"""Plain HTTP on the WebSocket port: health check, 404, and 426 for a plain GET of the stream."""

from __future__ import annotations

import asyncio
import json

from websockets.asyncio.client import connect

from iostat_widget.server import Server


async def http_get(port: int, path: str) -> tuple[int, dict[str, str], bytes]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".encode())
    await writer.drain()
    async with asyncio.timeout(5):
        raw = await reader.read()
    writer.close()
    head, _, body = raw.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode().split("\r\n")
    headers = {k.lower(): v.strip() for k, v in (h.split(":", 1) for h in header_lines)}
    return int(status_line.split()[1]), headers, body


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
