"""``%%iostat`` and a monitor's static picture in real JupyterLab, in Chromium: the magic's cell
shows the chart image and the summary (light and dark theme: the README's screenshots), a
monitor still shows its live widget although its output carries a PNG, and the saved notebook
keeps both pictures."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import nbformat
import pytest
from playwright.sync_api import Page

from .browser import JupyterLab, launch_chromium, open_notebook, run_cell, watch_page

pytestmark = pytest.mark.browser

REPO = Path(__file__).resolve().parents[1]
IMAGES = REPO / "docs" / "images"
NOTEBOOK = "record_check.ipynb"
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
CELLS = [
    "%load_ext iostat_widget",
    "%%iostat rec\n# three seconds of CPU work in this kernel\nimport time\n"
    "deadline = time.monotonic() + 3\nwhile time.monotonic() < deadline:\n    sum(range(1000))",
    "from iostat_widget import Monitor\n\nmonitor = Monitor()\ntime.sleep(3)\nmonitor",
]


@pytest.fixture
def lab_page(tmp_path: Path) -> Iterator[Page]:
    with launch_chromium(tmp_path / "profile") as context:
        page = context.new_page()
        page.set_viewport_size({"width": 1100, "height": 1000})
        yield page


def test_the_record_shows_as_an_image_and_a_monitor_stays_live(
    jupyter_lab: JupyterLab, lab_page: Page, tmp_path: Path
) -> None:
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell(source) for source in CELLS]
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3"}
    nbformat.write(notebook, tmp_path / NOTEBOOK)
    page = lab_page
    watch = watch_page(page)
    open_notebook(page, jupyter_lab, NOTEBOOK)
    for index in range(3):
        run_cell(page, index, wait=True)

    record = page.locator(".jp-Notebook .jp-Cell").nth(1).locator(".jp-OutputArea")
    image = record.locator(".jp-RenderedImage img")
    image.wait_for(timeout=10_000)
    assert image.evaluate("img => img.naturalWidth") == 960
    assert "iostat: 3." in record.inner_text() and "CPU mean" in record.inner_text()

    live = page.locator(".jp-Notebook .jp-Cell").nth(2).locator(".jp-OutputArea")
    live.locator(".bqplot svg").first.wait_for(timeout=30_000)
    assert live.locator(".jp-RenderedImage").count() == 0  # the widget, not its picture

    IMAGES.mkdir(parents=True, exist_ok=True)
    record.scroll_into_view_if_needed()
    record.screenshot(path=IMAGES / "iostat-magic.png")
    page.evaluate(
        "() => window.jupyterapp.commands.execute("
        "'apputils:change-theme', {theme: 'JupyterLab Dark'})"
    )
    page.wait_for_function("() => document.body.dataset.jpThemeLight === 'false'")
    page.wait_for_timeout(500)
    record.scroll_into_view_if_needed()
    record.screenshot(path=IMAGES / "iostat-magic-dark.png")

    page.evaluate("() => window.jupyterapp.commands.execute('docmanager:save')")
    page.wait_for_function(
        "() => !window.jupyterapp.shell.currentWidget.context.model.dirty", timeout=10_000
    )
    saved = json.loads((tmp_path / NOTEBOOK).read_text())
    magic_outputs = saved["cells"][1]["outputs"]
    assert any("image/png" in out.get("data", {}) for out in magic_outputs)
    (shown,) = [out for out in saved["cells"][2]["outputs"] if "data" in out]
    assert {WIDGET_VIEW, "image/png", "text/plain"} <= set(shown["data"])
    assert watch.problems == []
