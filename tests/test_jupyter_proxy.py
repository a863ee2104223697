"""The jupyter-server-proxy registration: found through its entry point, accepted by
jupyter-server-proxy's own settings class, and its command really starts a working server.
"""

from __future__ import annotations

import json
import socket
import subprocess
import time
import urllib.request
import warnings
import xml.etree.ElementTree as ET
from importlib.metadata import entry_points
from pathlib import Path

import pytest
from jupyter_server_proxy.config import (  # type: ignore[import-untyped]
    ServerProcess,
    get_entrypoint_server_processes,
)

from iostat_widget.jupyter_proxy import ICON_PATH, LAUNCHER_CATEGORY, setup_iostat_widget

from .browser import JupyterLab, http_json, launch_chromium

NAME = "iostat-widget"  # the entry point's name is the URL path: <jupyter url>/iostat-widget/
PAGE = Path(__file__).resolve().parents[1] / "js"


def test_settings_are_accepted_by_jupyter_server_proxy() -> None:
    config = setup_iostat_widget()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # an unknown or misspelt key only warns there
        process = ServerProcess(name=NAME, **config)
    assert process.command[-2:] == ["--port", "{port}"]
    assert process.command[1:5] == ["-m", "iostat_widget", "serve", "--host"]
    assert process.absolute_url is False and process.timeout == 20
    assert process.new_browser_tab is True
    assert process.launcher_entry.enabled and process.launcher_entry.title == "iostat monitor"
    assert Path(process.launcher_entry.icon_path) == ICON_PATH
    # With the other tools (Terminal, Text File...), not in the Notebook section by the kernels.
    assert process.launcher_entry.category == LAUNCHER_CATEGORY == "Other"


def test_icon_is_an_svg_file_inside_the_package() -> None:
    assert ICON_PATH.is_file() and ICON_PATH.parent.parent.name == "iostat_widget"
    root = ET.parse(ICON_PATH).getroot()
    assert root.tag == "{http://www.w3.org/2000/svg}svg" and root.get("viewBox")


def test_entry_point_resolves_to_the_setup_function() -> None:
    found = [ep for ep in entry_points(group="jupyter_serverproxy_servers") if ep.name == NAME]
    assert len(found) == 1 and found[0].load() is setup_iostat_widget
    # What jupyter-server-proxy itself builds at start-up (it warns and drops a broken entry).
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        processes = {p.name: p for p in get_entrypoint_server_processes()}
    assert processes[NAME].launcher_entry.title == "iostat monitor"
    assert processes[NAME].launcher_entry.category == "Other"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def get(url: str) -> tuple[int, str, bytes]:
    with urllib.request.urlopen(url, timeout=5) as response:
        return response.status, response.headers["Content-Type"], response.read()


@pytest.mark.slow
def test_command_starts_a_server_that_answers() -> None:
    port = free_port()
    command = [part.replace("{port}", str(port)) for part in setup_iostat_widget()["command"]]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 15
        while True:
            assert process.poll() is None, process.communicate()[0]
            try:
                status, content_type, body = get(f"http://127.0.0.1:{port}/healthz")
                break
            except OSError:
                assert time.monotonic() < deadline, "no answer on /healthz within 15 s"
                time.sleep(0.1)
        assert status == 200 and content_type == "application/json"
        assert json.loads(body)["status"] == "ok"
        # The page the launcher opens is served by the same process.
        status, content_type, body = get(f"http://127.0.0.1:{port}/")
        assert status == 200 and body == (PAGE / "index.html").read_bytes()
    finally:
        process.terminate()
        output, _ = process.communicate(timeout=10)
    assert process.returncode == 0, output
    assert f"ws://127.0.0.1:{port}/iostat" in output


@pytest.mark.slow
def test_jupyter_serves_the_tile_in_the_other_section(jupyter_lab: JupyterLab) -> None:
    """What JupyterLab's launcher reads at start-up: ``/server-proxy/servers-info``."""
    info = http_json(f"{jupyter_lab.base}/server-proxy/servers-info?token={jupyter_lab.token}")
    (entry,) = [p["launcher_entry"] for p in info["server_processes"] if p["name"] == NAME]
    assert entry["enabled"] and entry["title"] == "iostat monitor"
    assert entry["category"] == "Other"


# The launcher's sections: each title and the labels of its cards.
LAUNCHER_SECTIONS = """() => [...document.querySelectorAll(".jp-Launcher-section")].map((s) => [
    s.querySelector(".jp-Launcher-sectionTitle").textContent.trim(),
    [...s.querySelectorAll(".jp-LauncherCard-label")].map((c) => c.textContent.trim()),
])"""


@pytest.mark.browser
def test_launcher_shows_the_tile_with_the_other_tools(
    jupyter_lab: JupyterLab, tmp_path: Path
) -> None:
    """In Chromium: the tile is in the launcher's "Other" section, not beside the kernels."""
    with launch_chromium(tmp_path / "profile") as context:
        page = context.new_page()
        page.goto(f"{jupyter_lab.base}/lab?reset&token={jupyter_lab.token}")
        page.wait_for_selector(".jp-LauncherCard-label >> text=iostat monitor", timeout=60_000)
        sections = dict(page.evaluate(LAUNCHER_SECTIONS))
    # A tile that opens a new browser tab is labelled "iostat monitor [↗]".
    where = [
        title
        for title, labels in sections.items()
        if any(label.startswith("iostat monitor") for label in labels)
    ]
    assert where == ["Other"], sections
