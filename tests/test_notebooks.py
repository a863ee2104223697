"""The course notebooks: each runs top to bottom in a kernel, and each is committed clean.

Notebooks run from a temporary copy of ``notebooks/`` (relative links and reads work, nothing is
written back). Only cells tagged ``raises-exception`` may fail, and each of those must fail.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

pytestmark = pytest.mark.notebooks

NOTEBOOK_DIR = Path(__file__).resolve().parent.parent / "notebooks"
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("*.ipynb"))
COURSE = [
    "00_index.ipynb",
    "01_tail_streaming.ipynb",
    "02_long_polling.ipynb",
    "03_websocket.ipynb",
    "04_live_monitor.ipynb",
    "05_overhead_at_scale.ipynb",
]
BUDGET = 60.0  # seconds a notebook may take, top to bottom, on a 2-core machine


def test_the_course_is_all_there() -> None:
    assert [path.name for path in NOTEBOOKS] == COURSE


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.stem)
def test_notebook_runs_top_to_bottom(path: Path, tmp_path: Path) -> None:
    committed = path.read_bytes()
    workdir = tmp_path / "notebooks"
    shutil.copytree(NOTEBOOK_DIR, workdir, ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    notebook = nbformat.read(workdir / path.name, as_version=4)
    client = NotebookClient(
        notebook,
        timeout=120,
        kernel_name="python3",
        allow_errors=False,  # cells tagged raises-exception are still allowed to raise
        resources={"metadata": {"path": str(workdir)}},
    )
    started = time.monotonic()
    client.execute()
    elapsed = time.monotonic() - started
    assert elapsed < BUDGET, f"{path.name} took {elapsed:.1f} s"

    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert code and all(cell.execution_count is not None for cell in code)
    for cell in code:
        failed = any(output.output_type == "error" for output in cell.outputs)
        expected = "raises-exception" in cell.metadata.get("tags", [])
        assert failed == expected, f"{path.name}: {cell.source[:60]!r} failed={failed}"
    assert any(output for cell in code for output in cell.outputs), "no cell showed anything"
    assert path.read_bytes() == committed  # the run wrote nothing back


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.stem)
def test_notebook_is_committed_without_outputs(path: Path) -> None:
    notebook = nbformat.read(path, as_version=4)
    nbformat.validate(notebook)
    assert "widgets" not in notebook.metadata
    assert notebook.metadata["kernelspec"]["name"] == "python3"
    for cell in notebook.cells:
        assert "widgets" not in cell.metadata and "execution" not in cell.metadata
        if cell.cell_type == "code":
            assert cell.outputs == [], f"{path.name}: outputs in {cell.source[:60]!r}"
            assert cell.execution_count is None, f"{path.name}: {cell.source[:60]!r}"
