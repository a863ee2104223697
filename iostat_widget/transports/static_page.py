"""The browser page's files, served from memory on the stream's port.

Every file is read once at start-up from one folder and served by exact name: no URL is ever
turned into a path, so no request can read any other file. A strict Content-Security-Policy keeps
the page to its own scripts even if a value slipped past escaping.
"""

from __future__ import annotations

import mimetypes
from http import HTTPStatus
from importlib import resources
from pathlib import Path
from urllib.parse import urlsplit

from websockets.asyncio.server import ServerConnection
from websockets.http11 import Request, Response

from .endpoint import Endpoint
from .http_routes import bytes_response

__all__ = ["PageFiles", "StaticPage", "default_page_root"]

_MAX_FILE = 2 * 1024 * 1024
_SUFFIXES = {".html", ".js", ".css", ".svg", ".png", ".ico", ".json"}
_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self' ws: wss:; base-uri 'none'; form-action 'none'; frame-ancestors 'self'"
)


def default_page_root() -> Path | None:
    """Where the page lives: inside the installed package, or ``js/`` in a source checkout."""
    packaged = Path(str(resources.files("iostat_widget"))) / "static"
    if (packaged / "index.html").is_file():
        return packaged
    checkout = Path(__file__).resolve().parents[2] / "js"
    return checkout if (checkout / "index.html").is_file() else None


class PageFiles(Endpoint):
    """Some of the page's files, each at ``/NAME``; guarded or public as the page decides."""

    def __init__(self, files: dict[str, tuple[bytes, str]], *, public: bool) -> None:
        super().__init__(frozenset(files))
        self.files = files
        self.public = public

    async def respond(self, connection: ServerConnection, request: Request) -> Response:
        """The file, with a strict Content-Security-Policy."""
        body, content_type = self.files[urlsplit(request.path).path]
        response = bytes_response(body, content_type, HTTPStatus.OK)
        response.headers["Content-Security-Policy"] = _CSP
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "no-referrer"
        return response


class StaticPage:
    """The page's files from ``root``: ``/`` is ``index.html``, ``/NAME`` each other file.

    Two endpoints: :attr:`index` (``/``, ``/index.html``) is guarded like the data, so a visitor
    without the token gets a plain "missing or wrong token" instead of a page that cannot
    connect; :attr:`assets` (scripts, styles, icons) is public, since it holds no data and a
    browser behind a proxy that rewrites ``Host`` sends an ``Origin`` that cannot match.
    """

    def __init__(self, root: Path) -> None:
        self.root = root
        self.files: dict[str, tuple[bytes, str]] = {}
        for path in sorted(root.iterdir()):
            if path.suffix in _SUFFIXES and path.is_file() and path.stat().st_size <= _MAX_FILE:
                content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
                if content_type.startswith("text/") or content_type.endswith("javascript"):
                    content_type += "; charset=utf-8"
                self.files["/" + path.name] = (path.read_bytes(), content_type)
        if "/index.html" in self.files:
            self.files["/"] = self.files["/index.html"]
        pages = {"/", "/index.html"}
        self.index = PageFiles(
            {name: file for name, file in self.files.items() if name in pages}, public=False
        )
        self.assets = PageFiles(
            {name: file for name, file in self.files.items() if name not in pages}, public=True
        )

    def endpoints(self) -> list[Endpoint]:
        """The index and the assets, for the server's list."""
        return [self.index, self.assets]
