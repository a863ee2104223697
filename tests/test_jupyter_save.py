"""The server extension: a Jupyter server, with only this package installed, puts each monitor's
last window in the notebook it saves."""

from __future__ import annotations

import base64
import json
import os
import time
import urllib.request
from pathlib import Path
from typing import Any

import nbformat
import pytest
from jupyter_client.manager import start_new_kernel

from iostat_widget.jupyter_save import PreSaveHook
from iostat_widget.saved_picture import (
    DIRECTORY_ENV,
    WIDGET_VIEW,
    PictureCache,
    read_windows,
    write_windows,
)

from .browser import JupyterLab, running_jupyter_lab
from .kernels import run
from .test_picture import png_size
from .test_saved_picture import Drawn, notebook, runs, widget_output

pytestmark = pytest.mark.slow


def test_the_hook_fills_notebooks_and_leaves_other_files(tmp_path: Path) -> None:
    write_windows(tmp_path, "aaa", "Monitor", runs(3))
    hook = PreSaveHook(tmp_path, PictureCache(Drawn()))
    model: dict[str, Any] = {"type": "notebook", "content": notebook(widget_output("aaa"))}
    hook(model=model, path="x.ipynb", contents_manager=None)
    assert model["content"]["cells"][1]["outputs"][0]["data"]["image/png"] == "Monitor:1"
    text = {"type": "file", "format": "text", "content": "aaa"}
    hook(model=text, path="x.txt", contents_manager=None)
    assert text["content"] == "aaa" and hook.filled == 1


def save(lab: JupyterLab, name: str, content: dict[str, Any]) -> None:
    """Save a notebook through the server's contents API, as JupyterLab does."""
    body = json.dumps({"type": "notebook", "format": "json", "content": content}).encode()
    request = urllib.request.Request(
        f"{lab.base}/api/contents/{name}?token={lab.token}", data=body, method="PUT"
    )
    request.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(request, timeout=30) as response:
        assert response.status in (200, 201)


def test_the_installed_server_extension_fills_a_saved_notebook(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(DIRECTORY_ENV)  # the default: in Jupyter's runtime directory
    with running_jupyter_lab(tmp_path) as lab:
        pictures = tmp_path / "jupyter_runtime_dir" / "iostat-widget-pictures"
        write_windows(pictures, "aaa", "Monitor", runs(30))
        nb = nbformat.v4.new_notebook()
        cell = nbformat.v4.new_code_cell("monitor")
        cell.outputs = [nbformat.from_dict(widget_output("aaa")), widget_output("zzz")]
        nb.cells = [cell]
        save(lab, "saved.ipynb", nb)
        outputs = json.loads((tmp_path / "saved.ipynb").read_text())["cells"][0]["outputs"]
        png = base64.b64decode(outputs[0]["data"]["image/png"])
        assert png_size(png) == (960, 470)
        assert outputs[0]["data"][WIDGET_VIEW]["model_id"] == "aaa"
        assert outputs[1]["data"]["image/png"] == "display-time"  # no windows: kept


def test_a_kernels_monitor_is_saved_with_its_last_window(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The whole path but the browser: a monitor displayed in a kernel of this server's machine,
    its output saved a while later, carries the later window, not the display-time one."""
    monkeypatch.delenv(DIRECTORY_ENV)  # the default: in Jupyter's runtime directory
    with running_jupyter_lab(tmp_path) as lab:
        runtime = tmp_path / "jupyter_runtime_dir"
        manager, client = start_new_kernel(
            kernel_name="python3",
            startup_timeout=60,
            env={**os.environ, "JUPYTER_RUNTIME_DIR": str(runtime)},
        )
        try:
            messages = run(
                client,
                "from iostat_widget import Monitor\nmonitor = Monitor(interval=0.2)\nmonitor",
            )
            [shown] = [m for m in messages if m["msg_type"] in ("execute_result", "display_data")]
            data = shown["content"]["data"]
            model_id = data[WIDGET_VIEW]["model_id"]
            kept = runtime / "iostat-widget-pictures" / f"{model_id}.json"
            deadline = time.monotonic() + 30
            while not (kept.is_file() and sum(len(s) for _, s in read_windows(kept)[1]) >= 12):
                assert time.monotonic() < deadline, "no windows file with 12 samples in 30 s"
                time.sleep(0.2)
            nb = nbformat.v4.new_notebook()
            cell = nbformat.v4.new_code_cell("monitor")
            cell.outputs = [nbformat.v4.new_output("display_data", data=data)]
            nb.cells = [cell]
            save(lab, "run.ipynb", nb)
        finally:
            client.stop_channels()
            manager.shutdown_kernel(now=True)
        saved = json.loads((tmp_path / "run.ipynb").read_text())["cells"][0]["outputs"][0]
        picture = base64.b64decode(saved["data"]["image/png"])
        assert png_size(picture) == (960, 470)
        assert saved["data"]["image/png"] != data["image/png"]  # not the display-time one
        assert saved["data"][WIDGET_VIEW]["model_id"] == model_id
