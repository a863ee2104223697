"""Access rules, pure: token, origin, client cap, and which binds need a token."""

from __future__ import annotations

from http import HTTPStatus

import pytest

from iostat_widget.transports.access import (
    AccessPolicy,
    bind_problem,
    is_loopback,
    new_token,
)

TOKEN = "s3cret-token-value"


def test_no_token_policy_lets_scripts_in() -> None:
    assert AccessPolicy.build().check("/iostat", {"host": "127.0.0.1:1"}) is None


@pytest.mark.parametrize(
    ("target", "headers", "allowed"),
    [
        (f"/iostat?token={TOKEN}", {}, True),
        ("/iostat", {"authorization": f"Bearer {TOKEN}"}, True),
        ("/iostat", {"authorization": f"bearer {TOKEN}"}, True),
        ("/iostat", {}, False),
        ("/iostat?token=", {}, False),
        ("/iostat?token=s3cret-token-valuX", {}, False),
        (f"/iostat?token={TOKEN}x", {}, False),
        ("/iostat", {"authorization": f"Basic {TOKEN}"}, False),
        (f"/iostat?token=wrong&token={TOKEN}", {}, True),  # the last value counts, like a form
        (f"/iostat?token={TOKEN}", {"authorization": "Bearer wrong"}, False),  # header wins
    ],
)
def test_token(target: str, headers: dict[str, str], allowed: bool) -> None:
    denied = AccessPolicy.build(TOKEN).check(target, headers)
    assert (denied is None) is allowed
    if denied is not None:
        assert denied.status == HTTPStatus.UNAUTHORIZED and TOKEN not in denied.reason


def test_what_is_not_guarded_needs_neither_token_nor_origin() -> None:
    # A proxy that rewrites Host makes the browser's Origin differ from it: the page's files
    # and the health check still load (they carry no data); the data endpoints refuse.
    policy = AccessPolicy.build(TOKEN)
    behind_proxy = {"origin": "https://hub.example", "host": "127.0.0.1:8765"}
    assert policy.check("/app.js", behind_proxy, guarded=False) is None
    denied = policy.check("/iostat?token=" + TOKEN, behind_proxy)
    assert denied is not None and denied.status == HTTPStatus.FORBIDDEN


@pytest.mark.parametrize(
    ("origin", "host", "extra", "allowed"),
    [
        (None, "127.0.0.1:8765", (), True),  # not a browser
        ("http://127.0.0.1:8765", "127.0.0.1:8765", (), True),
        ("https://LOCALHOST:8765", "localhost:8765", (), True),
        ("http://evil.example", "127.0.0.1:8765", (), False),
        ("http://127.0.0.1:9999", "127.0.0.1:8765", (), False),  # other port, other origin
        ("null", "127.0.0.1:8765", (), False),
        ("file://", "127.0.0.1:8765", (), False),
        ("https://hub.example:443", "127.0.0.1:8765", ("https://hub.example:443",), True),
        ("http://evil.example", "127.0.0.1:8765", ("*",), True),
    ],
)
def test_origin(origin: str | None, host: str, extra: tuple[str, ...], allowed: bool) -> None:
    policy = AccessPolicy.build(allow_origins=extra)
    headers = {"host": host} | ({"origin": origin} if origin is not None else {})
    denied = policy.check("/iostat", headers)
    assert (denied is None) is allowed
    if denied is not None:
        assert denied.status == HTTPStatus.FORBIDDEN


def test_client_cap() -> None:
    policy = AccessPolicy.build(max_clients=3)
    assert policy.check("/iostat", {}, active=2) is None
    denied = policy.check("/iostat", {}, active=3)
    assert denied is not None and denied.status == HTTPStatus.SERVICE_UNAVAILABLE


def test_bad_settings_are_refused() -> None:
    with pytest.raises(ValueError, match="max_clients"):
        AccessPolicy.build(max_clients=0)
    with pytest.raises(ValueError, match="at least 8"):
        AccessPolicy.build(token="short")
    with pytest.raises(ValueError, match="not an origin"):
        AccessPolicy.build(allow_origins=["example.com"])


@pytest.mark.parametrize(
    "origin", ["http://a.example/path", "https://a.example/?x=1", "http://a.example#top"]
)
def test_an_allowed_origin_with_a_path_is_refused(origin: str) -> None:
    # A browser's Origin is scheme://host[:port]: an entry with more could never match.
    with pytest.raises(ValueError, match="not an origin"):
        AccessPolicy.build(allow_origins=[origin])


def test_an_allowed_origin_may_end_in_a_slash() -> None:
    policy = AccessPolicy.build(allow_origins=["https://Hub.example:8443/"])
    assert policy.origin_ok("https://hub.example:8443", "127.0.0.1:1")


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.8.9.1", True),
        ("::1", True),
        ("[::1]", True),
        ("localhost", True),
        ("0.0.0.0", False),
        ("::", False),
        ("", False),
        ("10.0.0.5", False),
        ("example.com", False),
    ],
)
def test_is_loopback(host: str, loopback: bool) -> None:
    assert is_loopback(host) is loopback


def test_bind_problem() -> None:
    assert bind_problem("127.0.0.1", None, False) is None
    assert bind_problem("0.0.0.0", TOKEN, False) is None
    assert bind_problem("0.0.0.0", None, True) is None
    problem = bind_problem("0.0.0.0", None, False)
    assert problem is not None and "--token" in problem


def test_new_tokens_are_long_and_different() -> None:
    first, second = new_token(), new_token()
    assert first != second and len(first) >= 40


def test_unparsable_origin_and_target_are_refused_not_raised() -> None:
    policy = AccessPolicy.build(TOKEN)
    assert not policy.origin_ok("http://[", "127.0.0.1:1")
    assert not policy.token_ok("//[?token=" + TOKEN, None)
    denied = policy.check("/iostat", {"origin": "http://[", "host": "127.0.0.1:1"})
    assert denied is not None and denied.status == HTTPStatus.FORBIDDEN
