"""The page tests' shared harness: in-process servers on a loop thread, and a Chromium page.

Its fixtures (``chromium``, ``page``, ``servers``) reach the tests through ``conftest.py``.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import pytest
from playwright.sync_api import BrowserContext, Page

from iostat_widget.server import Server
from iostat_widget.sources.base import Sampler
from iostat_widget.sources.synthetic import SyntheticSampler
from iostat_widget.widget.loop_thread import LoopThread

from .browser import launch_chromium

__all__ = ["INTERVAL", "WAIT_MS", "ServerThread", "chromium", "page", "servers"]

INTERVAL = 0.1  # seconds between samples: fast enough to see many updates in a second
WAIT_MS = 10_000  # longest wait for any one thing the page should show


class ServerThread:
    """In-process servers on a loop thread of their own, so the sync browser API can run here."""

    def __init__(self) -> None:
        self.loop_thread = LoopThread(name="page-test-servers")
        self.running: list[Server] = []

    @property
    def server(self) -> Server | None:
        """The server started last that is still running."""
        return self.running[-1] if self.running else None

    def start(
        self,
        port: int = 0,
        sampler: Sampler | None = None,
        interval: float = INTERVAL,
        token: str | None = None,
        allow_origins: Sequence[str] = (),
        compact: bool = True,
    ) -> Server:
        sampler = sampler if sampler is not None else SyntheticSampler(interval=interval)
        server = Server(
            "127.0.0.1",
            port,
            interval=interval,
            sampler=sampler,
            linger=0.5,
            token=token,
            allow_origins=allow_origins,
            compact=compact,
        )
        self.loop_thread.run(server.start(), 5)
        self.running.append(server)
        return server

    def stop(self, server: Server | None = None) -> None:
        """Stops ``server``, or the one started last."""
        server = server if server is not None else self.server
        if server is not None:
            self.running.remove(server)
            self.loop_thread.run(server.aclose(), 5)

    def close(self) -> None:
        while self.running:
            self.stop()
        self.loop_thread.stop(5)


@pytest.fixture(scope="module")
def chromium(tmp_path_factory: pytest.TempPathFactory) -> Iterator[BrowserContext]:
    with launch_chromium(tmp_path_factory.mktemp("chromium-profile")) as context:
        yield context


@pytest.fixture
def servers() -> Iterator[ServerThread]:
    running = ServerThread()
    try:
        yield running
    finally:
        running.close()


@pytest.fixture
def page(chromium: BrowserContext) -> Iterator[Page]:
    opened = chromium.new_page()
    opened.set_default_timeout(WAIT_MS)
    try:
        yield opened
    finally:
        opened.close()
