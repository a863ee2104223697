"""Drives Debian's Chromium through Playwright for the browser tests (a helper, not tests).

``playwright install`` cannot download a browser on every machine, and CI should not depend on
it, so the tests launch the distribution's Chromium. When it is missing they skip with the way to
install it, except under CI, where they fail: a broken image must never look like passing tests.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import pytest
from playwright.sync_api import BrowserContext, ConsoleMessage, Dialog, Error, Page, sync_playwright

from .helpers import unavailable

__all__ = [
    "CHROMIUM",
    "CHROMIUM_ARGS",
    "JupyterLab",
    "PageWatch",
    "free_port",
    "http_json",
    "jupyter_lab",
    "launch_chromium",
    "open_notebook",
    "require_chromium",
    "run_cell",
    "running_jupyter_lab",
    "stop_process",
    "watch_page",
]

CHROMIUM = Path("/usr/bin/chromium")

#: Quiet, reproducible, offline: no GPU, no background updates or sync, no first-run UI.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def require_chromium(executable: Path = CHROMIUM) -> Path:
    """The Chromium executable; skips the test without it, or fails it when ``CI`` is set."""
    if executable.is_file() and os.access(executable, os.X_OK):
        return executable
    message = f"{executable} is missing; install it with `apt-get install -y chromium`"
    unavailable(message, "browser tests")


@contextmanager
def launch_chromium(profile_dir: Path) -> Iterator[BrowserContext]:
    """Chromium with a fresh profile in ``profile_dir``, closed on exit.

    A persistent context is how Playwright takes an explicit ``--user-data-dir``; the directory
    should be new for each launch so no state leaks between runs.
    """
    executable = require_chromium()
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            profile_dir,
            executable_path=executable,
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": 1100, "height": 720},
            device_scale_factor=1,
            color_scheme="light",
            locale="en-US",
            timezone_id="UTC",
        )
        try:
            yield context
        finally:
            context.close()


@dataclass
class PageWatch:
    """What went wrong on a page: console errors, uncaught exceptions, and any dialog opened."""

    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)

    @property
    def problems(self) -> list[str]:
        """Every problem seen, for one assert that shows them all."""
        return self.problems_except()

    def problems_except(self, *expected: str) -> list[str]:
        """Problems, leaving out console errors matching any of the ``expected`` regexes.

        Chromium itself logs each refused connection as a console error, which no page script can
        prevent; a test that stops the server on purpose names exactly those as expected.
        """
        console = [t for t in self.console_errors if not any(re.search(e, t) for e in expected)]
        return [
            *(f"console: {text}" for text in console),
            *(f"exception: {text}" for text in self.page_errors),
            *(f"dialog: {text}" for text in self.dialogs),
        ]


def watch_page(page: Page) -> PageWatch:
    """Start recording ``page``'s problems; dialogs are dismissed so none can block the page."""
    watch = PageWatch()

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            watch.console_errors.append(message.text)

    def on_page_error(error: Error) -> None:
        watch.page_errors.append(f"{error.name}: {error.message}")

    def on_dialog(dialog: Dialog) -> None:
        watch.dialogs.append(f"{dialog.type}: {dialog.message}")
        dialog.dismiss()

    page.on("console", on_console)
    page.on("pageerror", on_page_error)
    page.on("dialog", on_dialog)
    return watch


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def http_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=5) as response:
        return json.load(response)


class JupyterLab(NamedTuple):
    """A running JupyterLab server: where it is and the token it accepts."""

    base: str
    token: str


@pytest.fixture
def jupyter_lab(tmp_path: Path) -> Iterator[JupyterLab]:
    """A JupyterLab server on loopback with fresh config, state and workspaces, per test."""
    with running_jupyter_lab(tmp_path) as lab:
        yield lab


@contextmanager
def running_jupyter_lab(tmp_path: Path) -> Iterator[JupyterLab]:
    """A JupyterLab server on loopback rooted at ``tmp_path``, with fresh config, state and
    workspaces there; stopped on exit (for a module-wide server, outside the fixture)."""
    port, token = free_port(), "iostat-widget-test"
    env = {**os.environ}
    for name in ("JUPYTER_CONFIG_DIR", "JUPYTER_RUNTIME_DIR", "JUPYTERLAB_SETTINGS_DIR"):
        env[name] = str(tmp_path / name.lower())
    # No "get notified about news?" toast over the notebook.
    notification = Path(env["JUPYTERLAB_SETTINGS_DIR"]) / "@jupyterlab" / "apputils-extension"
    notification.mkdir(parents=True)
    (notification / "notification.jupyterlab-settings").write_text(
        '{"fetchNews": "false", "checkForUpdates": false}'
    )
    env["JUPYTERLAB_WORKSPACES_DIR"] = str(tmp_path / "workspaces")
    env["IPYTHONDIR"] = str(tmp_path / "ipython")
    command = [
        sys.executable,
        "-m",
        "jupyterlab",
        "--no-browser",
        "--allow-root",
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={tmp_path}",
        "--LabApp.news_url=None",
        "--LabApp.expose_app_in_browser=True",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
    ]
    log = (tmp_path / "jupyter.log").open("wb")
    process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            assert process.poll() is None, (tmp_path / "jupyter.log").read_text()
            try:
                http_json(f"{base}/api/status?token={token}")
                break
            except OSError:
                assert time.monotonic() < deadline, "JupyterLab did not start within 30 s"
                time.sleep(0.2)
        yield JupyterLab(base, token)
    finally:
        stop_process(process)
        log.close()


def stop_process(process: subprocess.Popen[bytes]) -> None:
    """Terminate a server the test started; kill it if it has not ended 15 s later."""
    process.terminate()
    try:
        process.wait(15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(5)


def run_cell(page: Page, index: int, wait: bool) -> None:
    """Run cell ``index`` of the current notebook; with ``wait``, until the kernel replies (else
    return at once, to watch what happens while it runs)."""
    script = f"""async () => {{
        const panel = window.jupyterapp.shell.currentWidget;
        panel.content.activeCellIndex = {index};
        const done = window.jupyterapp.commands.execute("notebook:run-cell");
        if ({"true" if wait else "false"}) await done;
    }}"""
    page.evaluate(script)


def open_notebook(page: Page, lab: JupyterLab, notebook: str) -> None:
    """Open ``notebook`` (a path under Lab's root) in a fresh workspace and wait until it is the
    current tab and its kernel is idle (``app.restored`` resolves before the URL's notebook)."""
    page.goto(f"{lab.base}/lab/tree/{notebook}?reset&token={lab.token}")
    page.wait_for_function(
        """(path) => {
            const panel = window.jupyterapp && window.jupyterapp.shell.currentWidget;
            const kernel = panel && panel.sessionContext && panel.sessionContext.session
                && panel.sessionContext.session.kernel;
            return !!panel && !!panel.context && panel.context.path === path
                && !!kernel && kernel.status === "idle";
        }""",
        arg=notebook,
        timeout=60_000,
    )
