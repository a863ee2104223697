"""The Monitor widget in real JupyterLab, in Chromium: it draws, updates, and keeps updating while
another cell keeps the kernel busy. What the user sees, read off the DOM.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import nbformat
import pytest
from playwright.sync_api import BrowserContext, Page

from .browser import JupyterLab, launch_chromium, open_notebook, run_cell, watch_page

pytestmark = pytest.mark.browser

REPO = Path(__file__).resolve().parents[1]
ARTIFACTS = REPO / "test-artifacts"
README_IMAGE = REPO / "docs" / "images" / "monitor.png"
NOTEBOOK = "live_monitor_check.ipynb"
BUSY_SECONDS = 10
CPU_PATH = ".bqplot svg path.line"  # the first: the CPU chart's stacked us/sy outline

# Count distinct `d` values of the CPU path, sampling every 100 ms for `ms` milliseconds.
COUNT_PATHS = """async ([selector, ms]) => {
    const seen = new Set();
    const end = Date.now() + ms;
    while (Date.now() < end) {
        const path = document.querySelector(selector);
        if (path) seen.add(path.getAttribute("d"));
        await new Promise((resolve) => setTimeout(resolve, 100));
    }
    seen.delete(null);
    return seen.size;
}"""


@pytest.fixture
def lab_page(tmp_path: Path) -> Iterator[Page]:
    with launch_chromium(tmp_path / "profile") as context:
        yield new_page(context)


def new_page(context: BrowserContext) -> Page:
    page = context.new_page()
    page.set_viewport_size({"width": 1200, "height": 900})
    return page


def write_notebook(root: Path) -> None:
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [
        nbformat.v4.new_code_cell(
            "from iostat_widget import Monitor\n\nmonitor = Monitor()\nmonitor"
        ),
        nbformat.v4.new_code_cell(
            f"import time\n\nend = time.time() + {BUSY_SECONDS}\nwhile time.time() < end:\n    pass"
        ),
    ]
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3"}
    nbformat.write(notebook, root / NOTEBOOK)


def test_monitor_draws_updates_and_keeps_going_during_a_busy_cell(
    jupyter_lab: JupyterLab, lab_page: Page, tmp_path: Path
) -> None:
    write_notebook(tmp_path)  # the fixture's JupyterLab serves tmp_path
    page = lab_page
    watch = watch_page(page)
    open_notebook(page, jupyter_lab, NOTEBOOK)

    run_cell(page, 0, wait=True)
    page.wait_for_selector(CPU_PATH, timeout=30_000)
    assert page.evaluate(COUNT_PATHS, [CPU_PATH, 5000]) >= 3  # 1 Hz: about 5 in 5 s

    rows = page.locator(".iostat-table tr").all()
    assert len(rows) >= 4  # header + samples so far
    for row in rows[1:]:
        cells = row.locator("td").all_inner_texts()
        assert re.fullmatch(r"\d\d:\d\d:\d\d\.\d{3}", cells[0])  # the full date is its title
        assert re.fullmatch(
            r"\d{4}-\d\d-\d\dT[\d:.]+Z", row.locator("td").first.get_attribute("title") or ""
        )
        us, sy, idle, total = (float(cell) for cell in cells[1:])
        assert 0 <= us <= 100 and 0 <= sy <= 100 and 0 <= idle <= 100
        assert abs(us + sy - total) <= 0.11
    assert "live" in page.locator("text=/samples · age/").first.inner_text()

    run_cell(page, 1, wait=False)  # the kernel is busy for BUSY_SECONDS from now
    page.wait_for_function(
        "() => window.jupyterapp.shell.currentWidget.sessionContext.session.kernel.status"
        " === 'busy'",
        timeout=10_000,
    )
    changes = page.evaluate(COUNT_PATHS, [CPU_PATH, BUSY_SECONDS * 1000 - 500])
    expected = BUSY_SECONDS - 1  # ticks at 1 Hz in the window sampled
    assert changes >= 0.8 * expected, f"{changes} chart states during a busy cell"

    output = page.locator(".jp-OutputArea-output").first
    output.scroll_into_view_if_needed()
    ARTIFACTS.mkdir(exist_ok=True)
    output.screenshot(path=ARTIFACTS / "monitor.png")
    README_IMAGE.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(ARTIFACTS / "monitor.png", README_IMAGE)
    assert watch.problems == []
