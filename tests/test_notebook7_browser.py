"""Notebook 04 in Notebook 7 (Chromium, light and dark): after Run All a live monitor is on screen.

Notebook 7 sends each cell's id with its execute request, as JupyterLab does, and renders widgets
with the same manager, but it is its own front end: this test runs the README's notebook there
the way a user would (Run → Run All Cells), then checks what is on screen: no widget that could
not be shown, the last monitor's status line reading ``live`` with a count that keeps rising, and
its chart still drawing new points.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from .browser import free_port, http_json, launch_chromium, stop_process, watch_page

pytestmark = [pytest.mark.browser, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[1]
NOTEBOOK = REPO / "notebooks" / "04_live_monitor.ipynb"
ARTIFACTS = REPO / "test-artifacts"
TOKEN = "iostat-widget-test"
LINE_PATH = ".bqplot svg path.line"  # a chart's line; the last one is the kept monitor's

#: The last status line's text, and the `d` of the last chart line, on the page now.
LAST = f"""() => {{
    const lines = [...document.querySelectorAll(".iostat-status-line")];
    const paths = document.querySelectorAll({LINE_PATH!r});
    return [
        lines.length ? lines[lines.length - 1].textContent.replace(/\\s+/g, " ").trim() : "",
        paths.length ? paths[paths.length - 1].getAttribute("d") : null,
    ];
}}"""


def _start(tmp_path: Path, theme: str) -> tuple[subprocess.Popen[bytes], str]:
    env = {**os.environ}
    for name in ("JUPYTER_CONFIG_DIR", "JUPYTER_RUNTIME_DIR", "JUPYTERLAB_SETTINGS_DIR"):
        env[name] = str(tmp_path / name.lower())
    # The theme as a user would have set it in Settings → Theme.
    themes = Path(env["JUPYTERLAB_SETTINGS_DIR"]) / "@jupyterlab" / "apputils-extension"
    themes.mkdir(parents=True)
    name = "JupyterLab Dark" if theme == "dark" else "JupyterLab Light"
    (themes / "themes.jupyterlab-settings").write_text(json.dumps({"theme": name}))
    env["JUPYTERLAB_WORKSPACES_DIR"] = str(tmp_path / "workspaces")
    env["IPYTHONDIR"] = str(tmp_path / "ipython")
    port = free_port()
    command = [
        sys.executable,
        "-m",
        "notebook",
        "--no-browser",
        "--allow-root",
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={TOKEN}",
        f"--ServerApp.root_dir={tmp_path}",
        "--JupyterNotebookApp.expose_app_in_browser=True",
    ]
    with (tmp_path / "notebook.log").open("wb") as log:
        process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        if process.poll() is not None:
            raise AssertionError((tmp_path / "notebook.log").read_text())
        try:
            http_json(f"{base}/api/status?token={TOKEN}")
            return process, base
        except OSError:
            if time.monotonic() > deadline:
                stop_process(process)
                raise AssertionError("Notebook 7 did not start within 30 s") from None
            time.sleep(0.2)


@pytest.mark.parametrize("theme", ["light", "dark"])
def test_run_all_of_notebook_04_in_notebook_7_ends_with_a_live_monitor(
    tmp_path: Path, theme: str
) -> None:
    # Notebook 7 is in the test extras: missing, it is a broken environment, not a reason to skip
    # (PackageNotFoundError fails the test).
    version = importlib.metadata.version("notebook")
    assert int(version.split(".")[0]) >= 7, f"Notebook {version}: the test extras ask for 7"
    shutil.copy(NOTEBOOK, tmp_path / NOTEBOOK.name)
    process, base = _start(tmp_path, theme)
    try:
        with launch_chromium(tmp_path / "profile") as context:
            page = context.new_page()
            page.set_viewport_size({"width": 1400, "height": 1000})
            watch = watch_page(page)
            page.goto(f"{base}/notebooks/{NOTEBOOK.name}?token={TOKEN}")
            page.wait_for_function(
                """() => {
                    const panel = window.jupyterapp && window.jupyterapp.shell.currentWidget;
                    const kernel = panel && panel.sessionContext && panel.sessionContext.session
                        && panel.sessionContext.session.kernel;
                    return !!kernel && kernel.status === "idle";
                }""",
                timeout=60_000,
            )
            execute = "(args) => window.jupyterapp.commands.execute(args[0], args[1])"
            # Run → Run All Cells, and wait until every cell has run.
            page.evaluate(
                f"async (args) => {{ await ({execute})(args); }}", ["notebook:run-all-cells", {}]
            )
            page.wait_for_function(
                """() => {
                    const kernel = window.jupyterapp.shell.currentWidget.sessionContext
                        .session.kernel;
                    return kernel.status === "idle";
                }""",
                timeout=120_000,
            )
            page.wait_for_function(f"() => document.querySelector({LINE_PATH!r})", timeout=30_000)
            first = page.evaluate(LAST)
            time.sleep(4.5)  # the notebook's monitor samples at 1 Hz
            last = page.evaluate(LAST)
            text = page.inner_text("body")
            ARTIFACTS.mkdir(exist_ok=True)
            page.screenshot(path=ARTIFACTS / f"notebook7-{theme}.png", full_page=False)
        assert "Error displaying widget" not in text
        status, path = last
        assert " · live · " in status, f"the last status line reads {status!r}"
        counts = [int(s.split(" · ")[2].split()[0]) for s in (first[0], status)]
        assert counts[1] > counts[0], f"the sample count did not rise: {first[0]!r} → {status!r}"
        assert path is not None and path != first[1], "the last chart drew nothing new in 4.5 s"
        # Notebook 7.6's own settings loader throws this on every page, the file browser too,
        # where no widget is: not ours. Anything else fails the test.
        theirs = "TypeError: Cannot read properties of undefined (reading 'schema')"
        assert [e for e in watch.page_errors if e != theirs] == [], watch.page_errors
    finally:
        stop_process(process)
