"""Saving a notebook in JupyterLab keeps the monitor's last window as its picture (Chromium)."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import nbformat
import pytest
from playwright.sync_api import Page

from iostat_widget.saved_picture import WIDGET_VIEW

from .browser import JupyterLab, launch_chromium, open_notebook, run_cell, watch_page
from .test_picture import png_size

pytestmark = pytest.mark.browser

NOTEBOOK = "saved_monitor.ipynb"
CPU_PATH = ".bqplot svg path.line"
#: The first output's bundle as JupyterLab holds it (what it sends when it saves).
SHOWN_PICTURE = """() => {
    const cell = window.jupyterapp.shell.currentWidget.content.widgets[0];
    return cell.model.outputs.get(0).data["image/png"] || null;
}"""


def test_saving_in_jupyterlab_keeps_the_last_window(
    jupyter_lab: JupyterLab, tmp_path: Path, pictures_apart: Path
) -> None:
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [
        nbformat.v4.new_code_cell(
            "from iostat_widget import Monitor\n\nmonitor = Monitor(interval=0.25)\nmonitor"
        )
    ]
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3"}
    nbformat.write(notebook, tmp_path / NOTEBOOK)
    pictures = pictures_apart  # the server and its kernels were started with it
    with launch_chromium(tmp_path / "profile") as context:
        page: Page = context.new_page()
        watch = watch_page(page)
        open_notebook(page, jupyter_lab, NOTEBOOK)
        run_cell(page, 0, wait=True)
        page.wait_for_selector(CPU_PATH, timeout=30_000)
        shown = page.evaluate(SHOWN_PICTURE)
        assert shown, "the displayed bundle carries a picture"
        page.wait_for_timeout(3000)  # samples arrive; the kernel keeps its windows
        assert len(list(pictures.glob("*.json"))) == 1
        page.evaluate("() => window.jupyterapp.commands.execute('docmanager:save')")
        page.wait_for_function(
            "() => !window.jupyterapp.shell.currentWidget.context.model.dirty", timeout=10_000
        )
        assert page.evaluate(SHOWN_PICTURE) == shown  # the live notebook shows the live widget
        assert watch.problems == []
    [output] = json.loads((tmp_path / NOTEBOOK).read_text())["cells"][0]["outputs"]
    saved = output["data"]["image/png"]
    assert saved != shown  # the window at save time, not at display time
    assert png_size(base64.b64decode(saved)) == (960, 470)
    assert output["data"][WIDGET_VIEW]["model_id"] == next(pictures.glob("*.json")).stem
