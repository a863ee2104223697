"""Who may connect: the token, the Origin allow-list and the connection cap.

Pure decisions over header values (no sockets, no framework), shared by the WebSocket server and
the tail server, so both enforce the same rules and the rules are tested on their own. The token
is compared in constant time and never appears in a log line or an error message (see
:mod:`iostat_widget.redaction`).
"""

from __future__ import annotations

import hmac
import ipaddress
import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field
from http import HTTPStatus
from urllib.parse import parse_qs, urlsplit

__all__ = [
    "AccessPolicy",
    "Denied",
    "bind_problem",
    "is_loopback",
    "new_token",
]


def new_token() -> str:
    """A random token good for a URL (32 bytes of entropy)."""
    return secrets.token_urlsafe(32)


def is_loopback(host: str) -> bool:
    """Whether binding ``host`` keeps the server reachable from this machine only."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class Denied:
    """Why a request is refused: the status to answer and a short reason (never the token)."""

    status: HTTPStatus
    reason: str


def _origin_netloc(origin: str) -> str | None:
    try:
        parts = urlsplit(origin)
    except ValueError:  # e.g. "http://[": not an origin at all
        return None
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None
    return parts.netloc.lower()


def _has_path(origin: str) -> bool:
    parts = urlsplit(origin)
    return parts.path not in ("", "/") or bool(parts.query or parts.fragment)


@dataclass(frozen=True)
class AccessPolicy:
    """The rules: a token (or none), extra allowed origins, and a cap on clients.

    Browsers send ``Origin`` on WebSocket and cross-site requests; a page from another site must
    not read this machine's activity through a visitor's browser (cross-site WebSocket
    hijacking), so only the server's own origin and ``allow_origins`` pass (``"*"`` allows any).
    Clients that send no Origin (scripts, the kernel client) are not browsers and pass.
    """

    token: str | None = None
    allow_origins: frozenset[str] = field(default_factory=frozenset)
    max_clients: int = 20_000

    @classmethod
    def build(
        cls, token: str | None = None, allow_origins: Iterable[str] = (), max_clients: int = 20_000
    ) -> AccessPolicy:
        """Normalise origins (``http://Host:1`` → ``host:1``) and check the numbers."""
        if max_clients < 1:
            raise ValueError(f"max_clients must be at least 1, got {max_clients}")
        if token is not None and len(token) < 8:
            raise ValueError("a token must be at least 8 characters")
        allowed = set()
        for origin in allow_origins:
            netloc = "*" if origin == "*" else _origin_netloc(origin)
            if netloc is not None and netloc != "*" and _has_path(origin):
                netloc = None  # a browser's Origin never has a path: this entry could never match
            if netloc is None:
                raise ValueError(f"not an origin (scheme://host[:port]): {origin!r}")
            allowed.add(netloc)
        return cls(token, frozenset(allowed), max_clients)

    def token_ok(self, target: str, authorization: str | None) -> bool:
        """Token from ``?token=`` in the request target or ``Authorization: Bearer …``."""
        if self.token is None:
            return True
        try:
            offered = parse_qs(urlsplit(target).query).get("token", [""])[-1]
        except ValueError:  # an unparsable target carries no token
            offered = ""
        if authorization and authorization.lower().startswith("bearer "):
            offered = authorization[7:].strip()
        return hmac.compare_digest(offered.encode(), self.token.encode())

    def origin_ok(self, origin: str | None, host: str | None) -> bool:
        """Same host as the request's ``Host``, or listed, or no Origin at all."""
        if origin is None or "*" in self.allow_origins:
            return True
        netloc = _origin_netloc(origin)
        if netloc is None:
            return False
        return netloc == (host or "").lower() or netloc in self.allow_origins

    def check(
        self,
        target: str,
        headers: dict[str, str],
        *,
        active: int = 0,
        guarded: bool = True,
    ) -> Denied | None:
        """The first rule a request breaks, or ``None``; ``headers`` keys are lower case.

        ``guarded`` requests (data) must come from an allowed origin and carry the token; the
        others (files of the page, the health check) carry no data and pass both. ``active``
        is the count of clients the request would join (0: it joins none).
        """
        if guarded and not self.origin_ok(headers.get("origin"), headers.get("host")):
            return Denied(HTTPStatus.FORBIDDEN, "origin not allowed")
        if guarded and not self.token_ok(target, headers.get("authorization")):
            return Denied(
                HTTPStatus.UNAUTHORIZED,
                "missing or wrong token: use the URL iostat-widget serve printed (it ends in "
                "?token=...), or send Authorization: Bearer ...",
            )
        if active >= self.max_clients:
            return Denied(HTTPStatus.SERVICE_UNAVAILABLE, "too many clients")
        return None


def bind_problem(host: str, token: str | None, no_token: bool) -> str | None:
    """Why binding ``host`` this way is refused, or ``None`` when it is allowed.

    Past loopback, anyone who can reach the port could watch this machine: a token is required
    unless the operator opts out explicitly (and is warned).
    """
    if is_loopback(host) or token is not None or no_token:
        return None
    return (
        f"binding {host!r} makes this machine's activity reachable from other hosts: "
        "pass --token TOKEN (or --token auto to generate one), or --no-token to allow anyone"
    )
