"""Binder: a fresh environment built only from ``binder/`` imports the package and runs the monitor.

This does what repo2docker does with the files, minus Docker: a new virtualenv with the Python
that ``runtime.txt`` names, ``pip install -r binder/requirements.txt`` from the repository root,
then ``binder/postBuild`` from the root, in a copy of the repository. Notebook 04 then runs in a
kernel of that environment.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
BINDER = ROOT / "binder"
COPY_IGNORE = shutil.ignore_patterns(
    ".git", ".venv", "venv", "build", "dist", "*.egg-info", "__pycache__", ".*cache", ".hypothesis"
)

RUN_NOTEBOOK = """
import sys
from pathlib import Path

import nbformat
from nbclient import NotebookClient

path = Path(sys.argv[1])
notebook = nbformat.read(path, as_version=4)
probe = "import sys, iostat_widget\\nprint(sys.prefix)\\nprint(iostat_widget.__file__)"
notebook.cells.insert(0, nbformat.v4.new_code_cell(probe))
NotebookClient(notebook, timeout=120, kernel_name="python3",
               resources={"metadata": {"path": str(path.parent)}}).execute()
print(notebook.cells[0].outputs[0]["text"], end="")
"""


# The tiles jupyter-server-proxy puts in JupyterLab's launcher, read as it reads them at start-up.
LAUNCHER_TILES = """
from jupyter_server_proxy.config import get_entrypoint_server_processes

print(*[p.name for p in get_entrypoint_server_processes() if p.launcher_entry.enabled])
"""


def requirement_names(lines: list[str]) -> set[str]:
    names = set()
    for line in lines:
        line = line.split("#", 1)[0].strip()
        if line:
            match = re.match(r"[A-Za-z0-9._-]+", line)
            assert match, line
            names.add(match.group(0).lower().replace("_", "-"))
    return names


def test_binder_files_pin_python_and_follow_the_package_dependencies() -> None:
    runtime = (BINDER / "runtime.txt").read_text().strip()
    match = re.fullmatch(r"python-3\.(\d+)", runtime)
    assert match and int(match.group(1)) >= 11, runtime
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    # Binder runs JupyterLab with the launcher tile: the `lab` extra, on top of the package's own.
    wanted = project["dependencies"] + project["optional-dependencies"]["lab"]
    listed = requirement_names((BINDER / "requirements.txt").read_text().splitlines())
    assert {"jupyterlab", "jupyter-server-proxy", "ipykernel"} <= listed
    assert requirement_names(wanted) <= listed
    post_build = BINDER / "postBuild"
    assert os.access(post_build, os.X_OK)
    assert "pip install" in post_build.read_text() and not (BINDER / "environment.yml").exists()


@pytest.mark.timeout(900)
def test_a_fresh_binder_environment_runs_the_live_monitor_notebook(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    shutil.copytree(ROOT, repo, ignore=COPY_IGNORE)
    venv = tmp_path / "env"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    bin_dir = venv / "bin"
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("JUPYTER", "PYTHONPATH", "IPYTHONDIR", "VIRTUAL_ENV"))
    }
    env |= {
        "PATH": f"{bin_dir}{os.pathsep}{env.get('PATH', '')}",
        "VIRTUAL_ENV": str(venv),
        "JUPYTER_DATA_DIR": str(tmp_path / "jupyter-data"),  # no user-level kernelspecs
        "JUPYTER_CONFIG_DIR": str(tmp_path / "jupyter-config"),
        "JUPYTER_RUNTIME_DIR": str(tmp_path / "jupyter-runtime"),
        "IPYTHONDIR": str(tmp_path / "ipython"),
    }

    def run(*command: str, cwd: Path = repo, limit: float = 600) -> str:
        done = subprocess.run(
            command, cwd=cwd, env=env, capture_output=True, text=True, timeout=limit
        )
        assert done.returncode == 0, f"{command}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
        return done.stdout

    python = str(bin_dir / "python")
    run(python, "-m", "pip", "install", "-q", "-r", "binder/requirements.txt")
    run("bash", "binder/postBuild")  # finds the environment's python first on PATH

    where = run(python, "-c", "import iostat_widget; print(iostat_widget.__file__)", cwd=tmp_path)
    assert where.startswith(str(venv)) and "site-packages" in where  # installed, not the source
    # JupyterLab is there, and its launcher gets the dashboard's tile.
    assert (bin_dir / "jupyter-lab").is_file()
    tiles = run(python, "-c", LAUNCHER_TILES, cwd=tmp_path).split()
    assert "iostat-widget" in tiles

    notebook = repo / "notebooks" / "04_live_monitor.ipynb"
    probe = run(python, "-c", RUN_NOTEBOOK, str(notebook), cwd=tmp_path, limit=300).splitlines()
    assert probe[0] == str(venv)  # the kernel ran in the Binder environment
    assert probe[1].startswith(str(venv))
