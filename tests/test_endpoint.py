"""Endpoints and the router, on the wire: guarded unless public, one endpoint per path."""

from __future__ import annotations

from http import HTTPStatus

import pytest
from websockets.asyncio.server import ServerConnection, serve
from websockets.http11 import Request, Response

from iostat_widget.transports.access import AccessPolicy
from iostat_widget.transports.endpoint import Endpoint
from iostat_widget.transports.http_routes import Router, text_response

from .helpers import http_get

TOKEN = "s3cret-token-value"


class Secret(Endpoint):
    """A new endpoint written without a thought about access."""

    def __init__(self) -> None:
        super().__init__(frozenset({"/secret"}))

    async def respond(self, connection: ServerConnection, request: Request) -> Response:
        return text_response("the machine's data\n", HTTPStatus.OK)


class Hello(Secret):
    public = True

    def __init__(self) -> None:
        Endpoint.__init__(self, frozenset({"/hello"}))


async def statuses(router: Router, *requests: tuple[str, dict[str, str]]) -> list[int]:
    async def nothing(connection: ServerConnection) -> None:
        return None

    async with serve(nothing, "127.0.0.1", 0, process_request=router.process_request) as server:
        port = next(iter(server.sockets)).getsockname()[1]
        return [(await http_get(port, path, headers))[0] for path, headers in requests]


async def test_an_endpoint_is_guarded_unless_it_says_it_is_public() -> None:
    router = Router([Secret(), Hello()], AccessPolicy.build(TOKEN))
    evil = {"Origin": "http://evil.example"}
    got = await statuses(
        router,
        ("/secret", {}),
        (f"/secret?token={TOKEN}", {}),
        (f"/secret?token={TOKEN}", evil),
        ("/hello", evil),
        ("/nowhere", {}),
    )
    assert got == [401, 200, 403, 200, 404]
    assert router.denied == 2


def test_two_endpoints_cannot_answer_one_path() -> None:
    with pytest.raises(ValueError, match="/secret"):
        Router([Secret(), Secret()])


def test_the_base_endpoint_answers_nothing_by_itself() -> None:
    endpoint = Endpoint(frozenset({"/x"}))
    assert not endpoint.public and not endpoint.viewer and not endpoint.websocket
    assert endpoint.clients == 0 and endpoint.status() == {}
