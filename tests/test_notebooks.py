"""The course notebooks: each runs top to bottom in a kernel, and each is committed clean.

Notebooks run from a temporary copy of ``notebooks/`` (relative links and reads work, nothing is
written back). Only cells tagged ``raises-exception`` may fail, and each of those must fail.
"""

from __future__ import annotations

import itertools
import json
import re
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


#: Appended to each notebook's run (never to the file): which widgets are still open once the
#: notebook has run, and whether each Monitor is live: connected and sending the front end updates.
PROBE = """
import json, time
from ipywidgets.widgets.widget import _instances
from iostat_widget import Monitor

monitors = {model_id: w for model_id, w in _instances.items() if isinstance(w, Monitor)}
first = {model_id: w.updates for model_id, w in monitors.items()}
deadline = time.monotonic() + 10
while time.monotonic() < deadline and any(
    w.running and w.updates - first[m] < 2 for m, w in monitors.items()
):
    time.sleep(0.1)
print(json.dumps({
    "open": sorted(_instances),
    "monitors": {
        m: {"state": w.state, "running": w.running, "updates": w.updates - first[m]}
        for m, w in monitors.items()
    },
}))
"""
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
#: Notebooks that must end with a live monitor on screen (the README's main command opens 04).
ENDS_LIVE = {"04_live_monitor.ipynb"}


def shown_widgets(cells: list[nbformat.NotebookNode]) -> list[str]:
    """Model ids of the widgets the cells' outputs show, in order."""
    return [
        output.data[WIDGET_VIEW]["model_id"]
        for cell in cells
        for output in cell.outputs
        if output.output_type in ("display_data", "execute_result") and WIDGET_VIEW in output.data
    ]


def table_headers(cells: list[nbformat.NotebookNode]) -> list[list[str]]:
    """The header cells of every Markdown table the outputs show."""
    headers = []
    for cell in cells:
        for output in cell.outputs:
            text = output.get("data", {}).get("text/markdown", "")
            lines = text.splitlines()
            for line, below in itertools.pairwise(lines):
                if line.startswith("|") and below.startswith("|---"):
                    headers.append([part.strip() for part in line.strip("|").split("|")])
    return headers


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.stem)
def test_notebook_runs_top_to_bottom(path: Path, tmp_path: Path) -> None:
    committed = path.read_bytes()
    workdir = tmp_path / "notebooks"
    shutil.copytree(NOTEBOOK_DIR, workdir, ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    notebook = nbformat.read(workdir / path.name, as_version=4)
    probe = nbformat.v4.new_code_cell(PROBE)
    notebook.cells.append(probe)
    started: dict[int, float] = {}
    client = NotebookClient(
        notebook,
        timeout=120,
        kernel_name="python3",
        allow_errors=False,  # cells tagged raises-exception are still allowed to raise
        resources={"metadata": {"path": str(workdir)}},
        on_cell_start=lambda cell, cell_index: started.setdefault(cell_index, time.monotonic()),
    )
    begun = time.monotonic()
    client.execute()
    elapsed = started[len(notebook.cells) - 1] - begun  # the notebook's own cells, not the probe
    assert elapsed < BUDGET, f"{path.name} took {elapsed:.1f} s"
    notebook.cells.remove(probe)
    (printed,) = [output.text for output in probe.outputs if output.output_type == "stream"]
    after = json.loads(printed)

    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert code and all(cell.execution_count is not None for cell in code)
    for cell in code:
        failed = any(output.output_type == "error" for output in cell.outputs)
        expected = "raises-exception" in cell.metadata.get("tags", [])
        assert failed == expected, f"{path.name}: {cell.source[:60]!r} failed={failed}"
    assert any(output for cell in code for output in cell.outputs), "no cell showed anything"
    assert path.read_bytes() == committed  # the run wrote nothing back

    # No cell closes a widget that an output still shows (Voilà would say "model not found").
    shown = shown_widgets(code)
    assert [model for model in shown if model not in after["open"]] == []
    if path.name in ENDS_LIVE:
        assert shown, f"{path.name} shows no widget"
        last = after["monitors"].get(shown[-1])
        assert last is not None, f"{path.name}: the last widget shown is no Monitor"
        assert last["running"] and last["state"] == "live" and last["updates"] >= 2, last
    # Every latency percentile in a table says its unit.
    for header in table_headers(code):
        bare = [name for name in header if re.fullmatch(r"p\d\d", name)]
        assert bare == [], f"{path.name}: {header} has percentiles without a unit"


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


def markdown_of(path: Path) -> list[str]:
    return [c.source for c in nbformat.read(path, as_version=4).cells if c.cell_type == "markdown"]


@pytest.mark.parametrize("path", NOTEBOOKS[1:], ids=lambda path: path.stem)
def test_each_footer_links_the_course_map_once(path: Path) -> None:
    footer = markdown_of(path)[-1]
    assert footer.count("(00_index.ipynb)") == 1, footer
    assert footer.count("Course map") == 1, footer


def readme_main_command() -> str:
    """The README's "Set up and run it" command: the first line of the bash block after it."""
    readme = (NOTEBOOK_DIR.parent / "README.md").read_text()
    after = readme[readme.index("**Set up and run it**") :]
    match = re.search(r"```bash\n(.+)\n```", after)
    assert match, "README: no bash block after **Set up and run it**"
    return match.group(1)


def test_the_index_gives_the_readme_install_command() -> None:
    command = readme_main_command()
    assert "pip install" in command
    text = "\n".join(markdown_of(NOTEBOOK_DIR / "00_index.ipynb"))
    assert f"```bash\n{command}\n```" in text
    # No other way to install is offered beside it.
    installs = [line for line in text.splitlines() if "pip install" in line]
    assert installs == [command], installs
