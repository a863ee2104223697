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

from iostat_widget.jupyter_proxy import ICON_PATH, setup_iostat_widget

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
