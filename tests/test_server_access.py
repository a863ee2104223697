"""Access rules on the wire: stream, long poll, page and tail; the CLI's bind check."""

from __future__ import annotations

import asyncio
import json
import logging
import subprocess
import sys
from pathlib import Path
from urllib.parse import quote

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from iostat_widget.server import Server
from iostat_widget.sources.line_feed import FileLines
from iostat_widget.sources.synthetic import SyntheticSampler
from iostat_widget.tail_server import TailServer

from .helpers import http_get

TOKEN = "s3cret-token-value"


def guarded() -> Server:
    return Server("127.0.0.1", 0, interval=0.05, sampler=SyntheticSampler(), token=TOKEN)


async def refused_status(url: str, **options: object) -> int:
    with pytest.raises(InvalidStatus) as refused:
        async with connect(url, **options):  # type: ignore[arg-type]
            pass
    return refused.value.response.status_code


async def test_stream_needs_the_token() -> None:
    async with guarded() as server:
        assert server.url.endswith(f"?token={TOKEN}")
        async with connect(server.url) as ws:
            assert (await asyncio.wait_for(ws.recv(), 5)).startswith("{")
        bare = server.url.split("?")[0]
        assert await refused_status(bare) == 401
        assert await refused_status(bare + "?token=nope") == 401
        headers = {"Authorization": f"Bearer {TOKEN}"}
        async with connect(bare, additional_headers=headers) as ws:
            assert (await asyncio.wait_for(ws.recv(), 5)).startswith("{")
        assert server.router.denied == 2


async def test_poll_and_page_need_the_token_health_does_not() -> None:
    async with guarded() as server:
        status, _, body = await http_get(server.port, "/poll?after=-1&timeout=0")
        assert status == 401 and TOKEN.encode() not in body
        status, _, _ = await http_get(server.port, f"/poll?after=-1&timeout=5&token={TOKEN}")
        assert status == 200
        assert (await http_get(server.port, "/"))[0] == 401
        assert (await http_get(server.port, "/healthz"))[0] == 200


async def test_behind_a_host_rewriting_proxy_the_page_loads_and_the_data_is_refused() -> None:
    # nginx's default `proxy_set_header Host $proxy_host`: the server sees its own address as
    # Host while the browser's Origin is the proxy's. Files of the page and the health check
    # carry no data and load; the data endpoints keep refusing that origin until it is allowed.
    proxy = "https://hub.example"
    behind = {"Origin": proxy}
    async with Server("127.0.0.1", 0, sampler=SyntheticSampler()) as server:
        assert server.page is not None
        for path in ("/app.js", "/style.css", "/healthz"):
            status, _, body = await http_get(server.port, path, behind)
            assert status == 200 and body, path
        status, _, body = await http_get(server.port, "/poll?timeout=0", behind)
        assert status == 403 and b"origin not allowed" in body
        assert (await http_get(server.port, "/metrics", behind))[0] == 403
        assert await refused_status(server.url, origin=proxy) == 403
        # The page can learn why (no browser tells it why a handshake failed).
        asked = f"/healthz?origin={quote(proxy, safe='')}"
        status, _, body = await http_get(server.port, asked, behind)
        assert status == 200 and json.loads(body)["origin_allowed"] is False
        status, _, body = await http_get(server.port, "/healthz?origin=http://127.0.0.1")
        assert json.loads(body)["origin_allowed"] is True
        assert "origin_allowed" not in json.loads((await http_get(server.port, "/healthz"))[2])
    async with Server("127.0.0.1", 0, sampler=SyntheticSampler(), allow_origins=[proxy]) as server:
        assert (await http_get(server.port, "/poll?timeout=0", behind))[0] in (200, 204)
        body = (await http_get(server.port, f"/healthz?origin={proxy}", behind))[2]
        assert json.loads(body)["origin_allowed"] is True
        async with connect(server.url, origin=proxy):  # type: ignore[arg-type]
            pass


async def test_every_endpoint_is_guarded_unless_it_carries_no_data(tmp_path: Path) -> None:
    log = tmp_path / "a.log"
    log.write_text("one\n")
    server = Server(
        "127.0.0.1",
        0,
        sampler=SyntheticSampler(),
        token=TOKEN,
        line_source=FileLines(log),
    )
    async with server:
        public = set()
        for endpoint in server.router.endpoints:
            for path in sorted(endpoint.paths):
                status, _, body = await http_get(server.port, path)
                assert TOKEN.encode() not in body
                if endpoint.public:
                    public.add(path)
                    assert status == 200, path
                else:
                    assert status == 401, path
                    status, _, _ = await http_get(
                        server.port, path, {"Origin": "http://evil.example"}
                    )
                    assert status == 403, path
        assert server.page is not None
        assets = {name for name in server.page.files if name not in ("/", "/index.html")}
        assert public == {"/healthz"} | assets
        assert {"/iostat", "/lines", "/poll", "/metrics", "/"} <= {
            path for endpoint in server.router.endpoints for path in endpoint.paths
        } - public


@pytest.mark.parametrize("path", ["/healthz", "/app.js", "/poll?timeout=0", "/iostat", "/nowhere"])
@pytest.mark.parametrize("header", ["Host", "Origin", "Authorization"])
async def test_a_repeated_access_header_is_a_bad_request_not_an_error(
    path: str, header: str, caplog: pytest.LogCaptureFixture
) -> None:
    # Which of two Origins (or Hosts, or tokens) would count? Neither: 400, and no traceback in
    # the log for anyone who can reach the port to fill it with.
    value = {"Host": "127.0.0.1", "Origin": "http://127.0.0.1", "Authorization": "Bearer x"}[header]
    repeated = {header: value} if header == "Host" else {header: value, header.lower(): value}
    with caplog.at_level(logging.INFO):
        async with guarded() as server:
            status, _, body = await http_get(server.port, path, repeated)
    if path == "/nowhere":
        assert status == 404
    else:
        assert status == 400 and f"repeated {header.lower()} header".encode() in body
    assert [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info] == []


async def test_cross_site_websocket_is_refused() -> None:
    async with Server("127.0.0.1", 0, sampler=SyntheticSampler()) as server:
        evil = {"origin": "http://evil.example"}
        assert await refused_status(server.url, origin=evil["origin"]) == 403
        own = f"http://127.0.0.1:{server.port}"
        async with connect(server.url, origin=own):  # type: ignore[arg-type]
            pass


async def test_client_cap_answers_503() -> None:
    async with Server("127.0.0.1", 0, sampler=SyntheticSampler(), max_clients=2) as server:
        async with connect(server.url), connect(server.url):
            assert await refused_status(server.url) == 503
            status, _, _ = await http_get(server.port, "/poll?timeout=0")
            assert status == 503
        await asyncio.sleep(0.1)
        async with connect(server.url):
            pass


async def test_tail_server_needs_the_token(tmp_path: Path) -> None:
    log = tmp_path / "a.log"
    log.write_text("one\n")
    async with TailServer(log, port=0, token=TOKEN) as server:
        assert server.url.endswith(f"/?token={TOKEN}")
        status, _, body = await http_get(server.port, "/")
        assert status == 401 and TOKEN.encode() not in body
        status, _, _ = await http_get(
            server.port,
            "/",
        )
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        writer.write(f"GET /?token={TOKEN} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        await writer.drain()
        async with asyncio.timeout(5):
            head = await reader.readuntil(b"\r\n\r\n")
            assert head.startswith(b"HTTP/1.1 200")
            assert b"one" in await reader.readuntil(b"one\n")
        writer.close()


@pytest.mark.parametrize("command", ["serve", "tail"])
def test_binding_beyond_loopback_needs_a_token(command: str, tmp_path: Path) -> None:
    args = [sys.executable, "-m", "iostat_widget", command, "--host", "0.0.0.0", "--port", "0"]
    if command == "tail":
        args.append(str(tmp_path / "x.log"))
    result = subprocess.run(args, capture_output=True, text=True, timeout=30, check=False)
    assert result.returncode == 2
    assert "--token" in result.stderr and "Traceback" not in result.stderr


def test_no_token_opt_out_is_loudly_warned() -> None:
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "iostat_widget",
            "serve",
            "--host",
            "0.0.0.0",
            "--port",
            "0",
            "--no-token",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        assert "serving" in process.stdout.readline()
    finally:
        process.terminate()
        _, stderr = process.communicate(timeout=15)
    assert "WARNING" in stderr and "anyone" in stderr


async def test_token_never_reaches_the_logs(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    log = tmp_path / "a.log"
    log.write_text("one\n")
    async with guarded() as server, TailServer(log, port=0, token=TOKEN) as tail:
        async with connect(server.url) as ws:
            await asyncio.wait_for(ws.recv(), 5)
        await refused_status(server.url.split("?")[0] + "?token=wrong-guess-1")
        await http_get(server.port, f"/poll?after=-1&timeout=1&token={TOKEN}")
        await http_get(tail.port, "/?token=wrong-guess-2")
        await http_get(tail.port, "/healthz")
    assert any(
        r.name == "websockets.server" and "/iostat" in r.getMessage() for r in caplog.records
    )
    assert any(r.name == "tornado.access" for r in caplog.records)
    server_side = [r.getMessage() for r in caplog.records if r.name != "websockets.client"]
    assert not [m for m in server_side if TOKEN in m or "wrong-guess" in m]
