"""Figure 6: sample → pixel latency in Chromium, on the served page and in JupyterLab.

A script injected before the page loads watches the DOM for the newest sample's date (the
served page's first table row, or the ``Monitor`` table in JupyterLab, both print it to the
millisecond) and, when a new one appears, waits for the next animation frame: the pixels of the
frame that carried the change are on screen by then, so ``next frame - t`` is an upper bound of
sample → pixel, within one frame (16.7 ms at 60 Hz). Nothing here depends on how the page draws.
Baselines: for the served page, the same samples' age when its WebSocket delivered them; for
JupyterLab, the served page (what the Jupyter path adds over a plain page).
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tests.browser import CHROMIUM, CHROMIUM_ARGS  # one definition of the browser we drive

from .config import Config
from .procs import PYTHON, Child, free_port, percentile
from .report import FigureResult, Row, Target

__all__ = ["row_names", "run"]

TOKEN = "iostat-widget-benchmark"
PAGE_LIMIT_MS = 20.0  # p99 on the served page
LAB_LIMIT_MS = 50.0  # p99 in JupyterLab: the 2010 write-up's WebSocket figure

WATCH = """
(() => {
  const bench = (window.__bench = { pixel: [], received: [], last: null });
  const now = () => performance.timeOrigin + performance.now();
  const Native = window.WebSocket;
  window.WebSocket = class extends Native {
    constructor(...args) {
      super(...args);
      this.addEventListener("message", (event) => {
        try { bench.received.push(now() - 1000 * JSON.parse(event.data).t); } catch (e) {}
      });
    }
  };
  const newest = () => {
    const page = document.querySelector("#rows tr td.time");
    if (page && page.title) return page.title;
    const widget = document.querySelector(".iostat-table tr:nth-child(2) td:first-child");
    return widget ? widget.title || widget.textContent : null;
  };
  const check = () => {
    const date = newest();
    if (!date || date === bench.last) return;
    bench.last = date;
    const t = Date.parse(date);
    requestAnimationFrame(() => bench.pixel.push(now() - t));
  };
  const start = () => new MutationObserver(check).observe(document.body, {
    subtree: true, childList: true, characterData: true, attributes: true,
    attributeFilter: ["title"],
  });
  if (document.body) start(); else document.addEventListener("DOMContentLoaded", start);
})();
"""

NAMES = {
    ("page", 50): "6. sample → pixel latency p50, served page, ms",
    ("page", 99): "6. sample → pixel latency p99, served page, ms",
    ("lab", 50): "6. sample → pixel latency p50, JupyterLab Monitor, ms",
    ("lab", 99): "6. sample → pixel latency p99, JupyterLab Monitor, ms",
}


def row_names(config: Config) -> list[str]:
    return list(NAMES.values())


@contextmanager
def _browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        try:
            # bypass_csp: the served page forbids eval, which Playwright needs to poll a condition
            page = browser.new_page(viewport={"width": 1280, "height": 900}, bypass_csp=True)
            page.add_init_script(WATCH)
            yield page
        finally:
            browser.close()


def _collect(page: Any, config: Config) -> tuple[list[float], list[float]]:
    page.wait_for_function("window.__bench && window.__bench.pixel.length > 0", timeout=60_000)
    time.sleep(config.pixel_settle)
    page.evaluate("window.__bench.pixel.length = 0; window.__bench.received.length = 0")
    time.sleep(config.pixel_seconds)
    pixel, received = page.evaluate("[window.__bench.pixel, window.__bench.received]")
    return [float(x) for x in pixel], [float(x) for x in received]


def _served_page(config: Config) -> tuple[list[float], list[float]]:
    argv = [PYTHON, "-m", "iostat_widget", "serve", "--port", "0", "--interval", "1"]
    with Child(argv, "pixel-serve") as server, _browser() as page:
        base = server.wait_for(r"(http://127\.0\.0\.1:\d+)/healthz").group(1)
        page.goto(base + "/")
        return _collect(page, config)


def _lab_env(root: Path) -> dict[str, str]:
    env = {name: str(root / name.lower()) for name in ("JUPYTER_CONFIG_DIR", "JUPYTER_RUNTIME_DIR")}
    env["JUPYTERLAB_SETTINGS_DIR"] = str(root / "settings")
    env["JUPYTERLAB_WORKSPACES_DIR"] = str(root / "workspaces")
    env["IPYTHONDIR"] = str(root / "ipython")
    notification = root / "settings" / "@jupyterlab" / "apputils-extension"
    notification.mkdir(parents=True)
    (notification / "notification.jupyterlab-settings").write_text(
        '{"fetchNews": "false", "checkForUpdates": false}', encoding="utf-8"
    )
    return env


def _notebook(path: Path) -> None:
    source = "from iostat_widget import Monitor\nm = Monitor(interval=1.0)\nm"
    cell: dict[str, Any] = {"cell_type": "code", "metadata": {}, "source": source}
    cell.update(outputs=[], execution_count=None)
    kernelspec = {"name": "python3", "display_name": "Python 3"}
    notebook: dict[str, Any] = {"cells": [cell], "metadata": {"kernelspec": kernelspec}}
    notebook.update(nbformat=4, nbformat_minor=5)
    path.write_text(json.dumps(notebook), encoding="utf-8")


def _jupyterlab(config: Config) -> tuple[list[float], list[float]]:
    root = Path(tempfile.mkdtemp(prefix="bench-lab-"))
    port = free_port()
    try:
        _notebook(root / "bench.ipynb")
        argv = [
            *(PYTHON, "-m", "jupyterlab", "--no-browser", "--allow-root"),
            *("--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}"),
            *("--ServerApp.port_retries=0", f"--IdentityProvider.token={TOKEN}"),
            *(f"--ServerApp.root_dir={root}", "--LabApp.news_url=None"),
            "--LabApp.expose_app_in_browser=True",
            "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        ]
        with Child(argv, "pixel-lab", env=_lab_env(root)) as lab:
            lab.wait_for(r"Jupyter Server .* is running at", timeout=60)
            try:
                with _browser() as page:
                    page.goto(f"http://127.0.0.1:{port}/lab/tree/bench.ipynb?reset&token={TOKEN}")
                    page.wait_for_function(
                        "window.jupyterapp && jupyterapp.shell.currentWidget && "
                        "jupyterapp.shell.currentWidget.context && "
                        "jupyterapp.shell.currentWidget.context.path === 'bench.ipynb'",
                        timeout=90_000,
                    )
                    page.evaluate(
                        "async () => { const panel = jupyterapp.shell.currentWidget;"
                        " await panel.sessionContext.ready; panel.content.activeCellIndex = 0;"
                        " await jupyterapp.commands.execute('notebook:run-cell'); }"
                    )
                    return _collect(page, config)
            finally:
                for child in lab.process.children(recursive=True):  # the notebook's kernel
                    child.kill()
    finally:
        shutil.rmtree(root, ignore_errors=True)


def run(config: Config) -> FigureResult:
    if not (CHROMIUM.is_file() and os.access(CHROMIUM, os.X_OK)):
        reason = f"{CHROMIUM} is missing (Debian: `apt-get install -y chromium`)"
        rows = [Row(name, None, missing="not measured") for name in NAMES.values()]
        return FigureResult(rows, [f"Not measured: {reason}."])
    page_pixel, page_received = _served_page(config)
    lab_pixel, _ = _jupyterlab(config) if config.pixel_lab else ([], [])
    rows = []
    for q in (50, 99):
        page_q = percentile(page_pixel, q)
        target = Target("<=", PAGE_LIMIT_MS, unit="ms") if q == 99 else None
        rows.append(
            Row(NAMES["page", q], page_q, percentile(page_received, q), "page received", target)
        )
    for q in (50, 99):
        if not config.pixel_lab:
            rows.append(Row(NAMES["lab", q], None, missing="not measured"))
            continue
        target = Target("<=", LAB_LIMIT_MS, unit="ms") if q == 99 else None
        rows.append(
            Row(
                NAMES["lab", q],
                percentile(lab_pixel, q),
                percentile(page_pixel, q),
                "served page",
                target,
            )
        )
    notes = [
        f"Debian's Chromium, headless, through Playwright; `iostat-widget serve --interval 1` and "
        f"its page at `/`; JupyterLab with a notebook running `Monitor(interval=1.0)` (embedded "
        f"server in the kernel). {config.pixel_seconds:g} s per page after "
        f"{config.pixel_settle:g} s of settling; {len(page_pixel)} and {len(lab_pixel)} samples.",
        "Pixel time = the animation frame after the DOM showed the sample's date, minus the "
        "sample's `t`: an upper bound, at most one frame late. Same machine, same clock.",
        f"Served page: received by its WebSocket p50/p99 {percentile(page_received, 50):.1f}/"
        f"{percentile(page_received, 99):.1f} ms, pixel p50/p99/max "
        f"{percentile(page_pixel, 50):.1f}/{percentile(page_pixel, 99):.1f}/"
        f"{max(page_pixel, default=0):.1f} ms. JupyterLab: pixel p50/p99/max "
        f"{percentile(lab_pixel, 50):.1f}/{percentile(lab_pixel, 99):.1f}/"
        f"{max(lab_pixel, default=0):.1f} ms (kernel → comm → Jupyter server → browser).",
    ]
    if not config.pixel_lab:
        notes.append("JupyterLab not measured in --quick: starting it takes about 20 s.")
    return FigureResult(rows, notes)
