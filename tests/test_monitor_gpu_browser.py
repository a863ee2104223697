"""``Monitor(charts=("cpu", "gpu"))`` in real JupyterLab, in Chromium, on a server whose samples
carry two GPUs (the synthetic sampler's): the GPU chart and its button appear once the samples
do (made on the kernel's background loop), each GPU draws its two lines, nothing is printed into
the cell and the page logs no error. Screenshotted, light theme, for the README."""

from __future__ import annotations

import shutil
from pathlib import Path

import nbformat
import pytest

from .browser import launch_chromium, open_notebook, run_cell, running_jupyter_lab, watch_page

pytestmark = pytest.mark.browser

REPO = Path(__file__).resolve().parents[1]
README_IMAGE = REPO / "docs" / "images" / "monitor-gpus.png"
NOTEBOOK = "monitor_gpus.ipynb"
CELL = """\
from iostat_widget import Monitor
from iostat_widget.server import Server
from iostat_widget.sources.synthetic import SyntheticSampler
from iostat_widget.widget.loop_thread import LoopThread

# A server whose samples carry two GPUs, on a thread of its own, as another machine would be.
serving = LoopThread(name="gpu-demo-server")
sampler = SyntheticSampler(host="gpu-node", gpus=2, interval=0.5)
server = serving.run(Server("127.0.0.1", 0, interval=0.5, sampler=sampler).start())
monitor = Monitor(url=server.url, charts=("cpu", "gpu"), window=40, rows=3)
monitor"""

#: JS: per bqplot figure, how many lines have a drawn path.
LINES = """() => [...document.querySelectorAll(".jp-OutputArea-output .bqplot")].map(
    (figure) => [...figure.querySelectorAll("path.line")].filter(
        (path) => (path.getAttribute("d") || "").length > 20).length)"""
BUTTONS = """() => [...document.querySelectorAll(".jp-OutputArea-output .widget-toggle-button")]
    .map((button) => button.textContent.trim())"""
ERRORS = """() => [...document.querySelectorAll(
    '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]')]
    .map((node) => node.textContent)"""


def test_gpu_chart_and_button_appear_and_draw(tmp_path: Path) -> None:
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell(CELL)]
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3"}
    nbformat.write(notebook, tmp_path / NOTEBOOK)
    with running_jupyter_lab(tmp_path) as lab, launch_chromium(tmp_path / "profile") as context:
        page = context.new_page()
        page.set_viewport_size({"width": 1100, "height": 1000})
        watch = watch_page(page)
        open_notebook(page, lab, NOTEBOOK)
        run_cell(page, 0, wait=True)
        page.wait_for_function(f"() => ({LINES})().length === 2", timeout=30_000)
        page.wait_for_function(f"() => ({LINES})()[1] === 4", timeout=30_000)  # 2 GPUs x 2
        assert page.evaluate(BUTTONS) == ["CPU", "Disk", "Network", "Memory", "GPU"]
        assert page.evaluate(LINES)[0] >= 2  # the CPU chart's us and sy
        legend = page.locator(".jp-OutputArea-output .widget-html").all_inner_texts()
        assert any("GPU 0" in text and "GPU 1" in text for text in legend)
        page.wait_for_timeout(8_000)  # a fuller window for the picture
        assert page.evaluate(ERRORS) == []
        assert watch.problems == []
        shot = tmp_path / "monitor-gpus.png"
        page.locator(".jp-OutputArea-output").first.screenshot(path=shot)
        README_IMAGE.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(shot, README_IMAGE)
