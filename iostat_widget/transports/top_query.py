"""``?top=N``: which viewers ask for the busy table, read from a request's query.

One rule for ``/iostat`` and ``/poll``: ``top`` absent or ``0`` asks for no table (a plain
viewer, as ``detail=0`` asks for no detail); ``1`` to ``25``
(:data:`~iostat_widget.top_schema.MAX_TOP_ROWS`) asks for that many of the busiest processes with
each sample; anything else (``abc``, ``-1``, ``2.5``, ``1000``) is refused with a 400 before any
WebSocket handshake (an empty ``top=`` is no value, like an absent one), and so is ``top``
together with ``detail=1`` (the table goes with the lean sample only).
"""

from __future__ import annotations

from http import HTTPStatus
from urllib.parse import parse_qs, urlsplit

from websockets.http11 import Request, Response

from ..top_schema import MAX_TOP_ROWS
from .http_routes import text_response

__all__ = ["TopQueryError", "asked_top", "top_refusal", "wants_detail"]


class TopQueryError(ValueError):
    """A ``top`` the server does not accept; the message is sent back with a 400."""


def wants_detail(query: dict[str, list[str]]) -> bool:
    """Whether the query asks for the detail stream: ``detail`` other than ``""``, ``0``,
    ``false``."""
    return query.get("detail", ["0"])[-1] not in ("", "0", "false")


def asked_top(query: dict[str, list[str]]) -> int:
    """How many of the busiest processes the query asks for: 0 for none, else 1 to 25.

    Raises:
        TopQueryError: ``top`` is not an integer from 0 to 25, or is asked with ``detail=1``.
    """
    values = query.get("top")
    if not values:
        return 0
    text = values[-1]
    if not (text.isascii() and text.isdigit()) or int(text) > MAX_TOP_ROWS:
        raise TopQueryError(f"top must be an integer from 0 to {MAX_TOP_ROWS}")
    n = int(text)
    if n and wants_detail(query):
        raise TopQueryError(
            "top and detail=1 cannot be combined: the table comes with the lean sample"
        )
    return n


def top_refusal(request: Request) -> Response | None:
    """A 400 for a request whose ``top`` is not acceptable, else ``None``."""
    try:
        asked_top(parse_qs(urlsplit(request.path).query))
    except TopQueryError as err:
        return text_response(f"bad request: {err}\n", HTTPStatus.BAD_REQUEST)
    except ValueError:  # an unparsable target: the router answers those
        return None
    return None
