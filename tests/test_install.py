"""Installing the package: light, and polite to the Jupyter already there.

The package needs no JupyterLab and no Jupyter server: its widgets' front ends ship prebuilt in
their own wheels, and ``iostat-widget serve`` is a plain process. JupyterLab and the launcher tile
(jupyter-server-proxy) come with the ``lab`` and ``launcher`` extras. The fast tests read
pyproject.toml and the package's imports; the slow one builds the wheel, installs it alone into a
fresh virtualenv from the package index, and runs the server and a kernel's ``Monitor`` there.
"""

from __future__ import annotations

import ast
import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
import urllib.request
import zipfile
from importlib.metadata import packages_distributions
from pathlib import Path

import pytest

import iostat_widget

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "iostat_widget"
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
PROJECT = PYPROJECT["project"]

# Distributions that only a Jupyter front end or server brings; none is a dependency.
JUPYTER = {"jupyterlab", "jupyter-server", "jupyter-server-proxy", "notebook", "voila"}
# Import names of those, and of the kernel side that a Jupyter installs around the package.
JUPYTER_MODULES = {
    "jupyterlab",
    "jupyter_server",
    "jupyter_server_proxy",
    "notebook",
    "voila",
    "ipykernel",
    "jupyter_client",
}
# The one module written for jupyter-server-proxy, which imports it through its entry point.
PROXY_MODULE = PACKAGE / "jupyter_proxy.py"
# The one module that imports NVIDIA's binding (the `gpu` extra), inside a function that gives
# no GPUs when the import fails.
GPU_MODULE = PACKAGE / "sources" / "gpu.py"
# The modules that draw a record's chart and build its DataFrame: they may import what the
# ``record`` extra brings, inside functions only, so that importing them needs neither.
RECORD_MODULES = {PACKAGE / "record.py", PACKAGE / "picture.py"}
# Looks up Jupyter's runtime directory with jupyter_core, lazily, where a notebook can be saved
# (a kernel or a Jupyter server, both of which bring it), and does without it elsewhere.
SAVED_PICTURE_MODULE = PACKAGE / "saved_picture.py"
COPY_IGNORE = shutil.ignore_patterns(
    ".git", ".venv", "venv", "build", "dist", "*.egg-info", "__pycache__", ".*cache", ".hypothesis",
    "test-artifacts", "notebooks", "docs", "benchmarks",
)  # fmt: skip


def name_of(requirement: str) -> str:
    """A requirement's distribution name, normalized (PEP 503)."""
    match = re.match(r"[A-Za-z0-9._-]+", requirement)
    assert match, requirement
    return re.sub(r"[-_.]+", "-", match.group(0)).lower()


def names(requirements: list[str]) -> set[str]:
    return {name_of(r) for r in requirements}


def third_party_imports(path: Path) -> set[str]:
    """Top-level names of the absolute imports in one source file, the package's own left out."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    return found - set(sys.stdlib_module_names) - {"__future__", "iostat_widget"}


SOURCES = sorted(PACKAGE.rglob("*.py"))


def test_no_jupyter_front_end_or_server_is_a_dependency() -> None:
    assert not names(PROJECT["dependencies"]) & JUPYTER


def test_the_extras_bring_the_launcher_and_jupyterlab() -> None:
    extras = {
        extra: names(requirements)
        for extra, requirements in PROJECT["optional-dependencies"].items()
    }
    assert extras["launcher"] == {"jupyter-server-proxy"}
    assert extras["lab"] == {"jupyterlab", "jupyter-server-proxy"}
    assert extras["gpu"] == {"nvidia-ml-py"}
    # The test environment has everything: the launcher tests, the JupyterLab browser tests and
    # the real binding (with no driver on the test machine).
    assert extras["lab"] | extras["gpu"] | {"notebook", "voila", "ipykernel"} <= extras["test"]
    entry = PROJECT["entry-points"]["jupyter_serverproxy_servers"]["iostat-widget"]
    assert entry == "iostat_widget.jupyter_proxy:setup_iostat_widget"


def test_the_version_is_written_once() -> None:
    assert "version" not in PROJECT and "version" in PROJECT["dynamic"]
    source = ROOT / PYPROJECT["tool"]["hatch"]["version"]["path"]
    assert source == PACKAGE / "_version.py"
    assert f'__version__ = "{iostat_widget.__version__}"' in source.read_text()


def test_the_walk_over_sources_sees_the_imports() -> None:
    # Guards the two tests below: the walk finds the modules and the imports they make.
    assert PROXY_MODULE in SOURCES and GPU_MODULE in SOURCES and len(SOURCES) > 20
    assert {"websockets", "tornado", "ipywidgets"} <= set().union(
        *map(third_party_imports, SOURCES)
    )


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_import_is_a_declared_dependency(path: Path) -> None:
    """Nothing the package imports may arrive only because a Jupyter happened to bring it."""
    declared = names(PROJECT["dependencies"])
    modules = third_party_imports(path)
    if path == PROXY_MODULE:  # jupyter-server-proxy loads this one: it may use what it brings
        declared |= names(PROJECT["optional-dependencies"]["launcher"])
        modules -= {"jupyter_server_proxy"}
    if path == GPU_MODULE:  # imports pynvml lazily, and does without it
        declared |= names(PROJECT["optional-dependencies"]["gpu"])
    if path in RECORD_MODULES:
        declared |= names(PROJECT["optional-dependencies"]["record"])
    if path == SAVED_PICTURE_MODULE:
        tree = ast.parse(path.read_text())
        top = [n for n in tree.body if isinstance(n, ast.Import | ast.ImportFrom)]
        assert "jupyter_core" not in set().union(*map(_imported, top))  # lazily, in a function
        modules -= {"jupyter_core"}
    distributions = packages_distributions()
    for module in modules:
        assert module not in JUPYTER_MODULES, f"{path.name} imports {module}"
        providers = {name_of(d) for d in distributions.get(module, [])}
        assert providers, f"{path.name} imports {module}, which no installed distribution provides"
        assert providers & declared, f"{path.name} imports {module} ({providers}): not declared"


def test_the_record_extra_brings_pandas_and_matplotlib_imported_only_when_used() -> None:
    extras = PROJECT["optional-dependencies"]
    assert names(extras["record"]) == {"pandas", "matplotlib"} <= names(extras["test"])
    for path in RECORD_MODULES:
        tree = ast.parse(path.read_text())
        top = [n for n in tree.body if isinstance(n, ast.Import | ast.ImportFrom)]
        assert not {"pandas", "matplotlib"} & set().union(*map(_imported, top)), path.name
    code = (
        "import sys, iostat_widget.record, iostat_widget.picture\n"
        "print(' '.join(sorted({m.split('.')[0] for m in sys.modules})))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert not {"pandas", "matplotlib", "IPython"} & set(done.stdout.split())


def _imported(node: ast.Import | ast.ImportFrom) -> set[str]:
    if isinstance(node, ast.Import):
        return {alias.name.split(".")[0] for alias in node.names}
    return {node.module.split(".")[0]} if node.module and node.level == 0 else set()


def test_the_server_and_the_command_line_import_no_widget_or_jupyter_library() -> None:
    code = (
        "import sys, iostat_widget, iostat_widget.server, iostat_widget.cli\n"
        "print(' '.join(sorted({m.split('.')[0] for m in sys.modules})))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    loaded = set(done.stdout.split())
    assert "websockets" in loaded and "iostat_widget" in loaded
    heavy = JUPYTER_MODULES | {"ipywidgets", "bqplot", "anywidget", "IPython", "traitlets"}
    assert not loaded & heavy
    assert "pynvml" not in loaded  # imported when a sampler starts, and only if installed


KERNEL_CHECK = """
import sys
from jupyter_client.manager import start_new_kernel

code = '''
import sys, time
from iostat_widget import Monitor
m = Monitor(interval=0.2)
deadline = time.monotonic() + 30
while len(m.window) < 3 and time.monotonic() < deadline:
    time.sleep(0.05)
print(sys.prefix)
print(len(m.window), m.state)
m.close()
'''
manager, client = start_new_kernel(kernel_name="python3", startup_timeout=60)
try:
    out = []
    reply = client.execute_interactive(
        code, timeout=60, output_hook=lambda msg: out.append(msg["content"])
    )
    assert reply["content"]["status"] == "ok", out
    print("".join(c.get("text", "") for c in out), end="")
finally:
    client.stop_channels()
    manager.shutdown_kernel(now=True)
"""


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_the_wheel_alone_installs_without_jupyter_and_serves(tmp_path: Path) -> None:
    """Build the wheel, install it with only its own dependencies (from the package index) into
    a fresh virtualenv: no JupyterLab arrives, ``iostat-widget serve`` answers ``/healthz``, and,
    once ipykernel is added, a kernel's ``Monitor()`` receives samples."""
    source = tmp_path / "source"
    shutil.copytree(ROOT, source, ignore=COPY_IGNORE)
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("JUPYTER", "PYTHONPATH", "IPYTHONDIR", "VIRTUAL_ENV"))
    }
    env |= {
        "JUPYTER_DATA_DIR": str(tmp_path / "jupyter-data"),  # no user-level kernelspecs
        "JUPYTER_CONFIG_DIR": str(tmp_path / "jupyter-config"),
        "JUPYTER_RUNTIME_DIR": str(tmp_path / "jupyter-runtime"),
        "IPYTHONDIR": str(tmp_path / "ipython"),
    }

    def run(*command: str | Path, limit: float = 180) -> str:
        done = subprocess.run(
            command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=limit
        )
        assert done.returncode == 0, f"{command}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
        return done.stdout

    # The wheel: typed, licensed, the page inside, the version from its one source.
    run(sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", tmp_path / "dist", source)
    (wheel,) = (tmp_path / "dist").glob("iostat_widget-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        files = set(archive.namelist())
        (metadata,) = [n for n in files if n.endswith(".dist-info/METADATA")]
        info = archive.read(metadata).decode()
    dist_info = metadata.rsplit("/", 1)[0]
    assert {"iostat_widget/py.typed", "iostat_widget/static/index.html"} <= files
    # The server extension that fills a saved monitor's picture, enabled where Jupyter runs.
    config = "etc/jupyter/jupyter_server_config.d/iostat_widget.json"
    assert f"{dist_info.removesuffix('.dist-info')}.data/data/{config}" in files
    assert f"{dist_info}/licenses/LICENSE" in files and "License-Expression: BSD-3-Clause" in info
    assert f"\nVersion: {iostat_widget.__version__}\n" in info
    unconditional = [
        name_of(line.removeprefix("Requires-Dist:").strip())
        for line in info.splitlines()
        if line.startswith("Requires-Dist:") and "extra ==" not in line
    ]
    assert unconditional and not set(unconditional) & JUPYTER

    venv = tmp_path / "venv"
    run(sys.executable, "-m", "venv", venv)
    python = venv / "bin" / "python"
    run(python, "-m", "pip", "install", "-q", wheel)

    def importable(modules: set[str]) -> set[str]:
        code = f"import importlib.util as u; print(*filter(u.find_spec, {sorted(modules)!r}))"
        return set(run(python, "-c", code).split())

    assert importable(JUPYTER_MODULES | {"ipywidgets", "bqplot", "iostat_widget"}) == {
        "ipywidgets",
        "bqplot",
        "iostat_widget",
    }

    server = subprocess.Popen(
        [venv / "bin" / "iostat-widget", "serve", "--port", "0"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert server.stdout is not None
        health = ""
        for line in server.stdout:
            if line.strip().startswith("health:"):
                health = line.split()[-1]
                break
        assert re.fullmatch(r"http://127\.0\.0\.1:\d+/healthz", health), health
        with urllib.request.urlopen(health, timeout=10) as response:
            assert response.status == 200
            body = json.loads(response.read())
        assert body["status"] == "ok" and body["version"] == iostat_widget.__version__
    finally:
        server.terminate()
        output, _ = server.communicate(timeout=15)
    assert server.returncode == 0, output

    # Any Jupyter kernel will do for the widget: add one, and nothing else.
    run(python, "-m", "pip", "install", "-q", "ipykernel")
    assert importable(JUPYTER_MODULES) == {"ipykernel", "jupyter_client"}
    prefix, received = run(python, "-c", KERNEL_CHECK, limit=150).splitlines()
    assert prefix == str(venv)  # the kernel ran in the fresh environment
    count, state = received.split()
    assert int(count) >= 3 and state == "live"
