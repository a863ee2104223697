"""Shared fixtures: an in-process server on loopback fed by the deterministic sampler."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from iostat_widget.saved_picture import DIRECTORY_ENV
from iostat_widget.server import Server
from iostat_widget.sources.synthetic import SyntheticSampler

from .browser import jupyter_lab  # noqa: F401  (a fixture of the browser tests)
from .kernels import kernel  # noqa: F401  (a real kernel, one per test module)
from .page_fixtures import chromium, page, servers  # noqa: F401  (fixtures of the page tests)

FAST = 0.05  # seconds between samples in tests: 20 Hz keeps tests short and bounded


@pytest.fixture(autouse=True)
def pictures_apart(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """Displayed monitors keep their windows in the test's directory, not the user's Jupyter
    runtime directory (kernels and servers the test starts inherit it)."""
    directory = tmp_path / "iostat-widget-pictures"
    monkeypatch.setenv(DIRECTORY_ENV, str(directory))
    return directory


@pytest.fixture
async def server() -> AsyncIterator[Server]:
    async with Server(
        "127.0.0.1", 0, interval=FAST, sampler=SyntheticSampler(interval=FAST), linger=0.2
    ) as running:
        yield running
