"""The page's files as the server sends them (no browser): the policy header, every referenced
file, nothing outside the page folder, and static guards on what the page's code may do.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from iostat_widget.server import Server
from iostat_widget.transports.static_page import default_page_root

from .helpers import http_get

PAGE = Path(__file__).resolve().parents[1] / "js"
CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
}
# Static imports of the page's own modules: `import { x } from "./y.js";` or `import "./y.js";`.
IMPORT = re.compile(r"""^\s*(?:import|export)\b[^"';]*?(?:from\s*)?["'](\.[^"']+)["']""", re.M)


class References(HTMLParser):
    """Collects what index.html loads, and anything inline that the CSP would block."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []
        self.inline: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        for name in values:
            if name == "style" or name.startswith("on"):
                self.inline.append(f"<{tag} {name}=...>")
        if tag == "style":
            self.inline.append("<style>")
        if tag == "script":
            self._in_script = "src" not in values
        for name in ("src", "href"):
            if values.get(name):
                self.urls.append(str(values[name]))

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script and data.strip():
            self.inline.append("<script> with inline code")


def page_references() -> References:
    parser = References()
    parser.feed((PAGE / "index.html").read_text())
    return parser


def module_graph() -> set[str]:
    """Every file index.html loads, following the JavaScript modules' static imports."""
    names = {url.removeprefix("./") for url in page_references().urls}
    pending = [name for name in names if name.endswith(".js")]
    while pending:
        source = (PAGE / pending.pop()).read_text()
        for spec in IMPORT.findall(source):
            name = spec.removeprefix("./")
            if name not in names:
                names.add(name)
                pending.append(name)
    return names


async def test_root_serves_index_with_a_strict_policy(server: Server) -> None:
    status, headers, body = await http_get(server.port, "/")
    assert status == 200 and body == (PAGE / "index.html").read_bytes()
    assert headers["content-type"] == "text/html; charset=utf-8"
    policy = {d.split()[0]: d.split()[1:] for d in headers["content-security-policy"].split(";")}
    assert policy["default-src"] == ["'none'"]
    assert policy["script-src"] == ["'self'"] and policy["style-src"] == ["'self'"]
    assert policy["connect-src"] == ["'self'", "ws:", "wss:"]
    assert headers["x-content-type-options"] == "nosniff"


async def test_every_referenced_file_is_served(server: Server) -> None:
    names = module_graph()
    assert {"app.js", "style.css", "samples.js", "chart.js", "connection.js"} <= names
    for name in sorted(names):
        status, headers, body = await http_get(server.port, "/" + name)
        assert status == 200, name
        assert body == (PAGE / name).read_bytes(), name
        assert headers["content-type"] == CONTENT_TYPES[Path(name).suffix], name
        assert "content-security-policy" in headers, name


def test_references_are_relative_so_a_path_prefix_works() -> None:
    # Behind jupyter-server-proxy the page lives at /user/NAME/iostat-widget/: "/app.js" or an
    # absolute URL would miss it, and a CDN is not reachable (nor allowed by the policy).
    for url in page_references().urls:
        assert not url.startswith("/") and "://" not in url, url
    for source in (PAGE / "app.js", PAGE / "connection.js"):
        for spec in IMPORT.findall(source.read_text()):
            assert spec.startswith("./"), spec
    connection = (PAGE / "connection.js").read_text()
    assert 'new URL("iostat", href)' in connection and 'new URL("poll", href)' in connection


def test_page_has_no_inline_code_or_html_injection() -> None:
    assert page_references().inline == []
    forbidden = ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(")
    for path in sorted(PAGE.iterdir()):
        text = path.read_text()
        for word in forbidden:
            assert word not in text, f"{path.name} uses {word}"
        # No remote resources; the SVG namespace is a name, not a download.
        remote = re.findall(r"https?://[^\s\"'`)]+", text)
        assert set(remote) <= {"http://www.w3.org/2000/svg"}, f"{path.name}: {remote}"


@pytest.mark.parametrize(
    "path",
    [
        "/../pyproject.toml",
        "/%2e%2e/pyproject.toml",
        "/..%2fpyproject.toml",
        "/etc/passwd",
        "//etc/passwd",
        "/js/app.js",
        "/./app.js",
        "/tests/conftest.py",
        "/index.html/",
    ],
)
async def test_paths_outside_the_page_are_404(server: Server, path: str) -> None:
    status, _, body = await http_get(server.port, path)
    assert status == 404 and b"not found" in body


def test_default_page_root_finds_the_page() -> None:
    root = default_page_root()
    assert root is not None
    # A source checkout serves js/ itself; an installed wheel ships the same files as static/.
    assert root == PAGE or root.name == "static"
    for name in ("index.html", "app.js", "style.css"):
        assert (root / name).read_bytes() == (PAGE / name).read_bytes()


async def test_server_serves_exactly_the_page_folder(server: Server) -> None:
    assert server.page is not None and server.page.root == default_page_root()
    served = {route.lstrip("/") for route in server.page.files if route != "/"}
    assert served == {p.name for p in PAGE.iterdir() if p.is_file()}
