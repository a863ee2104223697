"""Puts the live page in JupyterLab's launcher through jupyter-server-proxy.

jupyter-server-proxy calls :func:`setup_iostat_widget` (declared as an entry point), starts
``iostat-widget serve`` on a free port the first time someone opens ``<jupyter url>/iostat-widget/``
and forwards HTTP and WebSocket traffic to it, behind Jupyter's own login. The page finds its stream
relative to its own URL, so the path prefix needs no configuration.

jupyter-server-proxy comes with the package's ``launcher`` (or ``lab``) extra; this module imports
nothing of it, so the package installs and runs without it, and the entry point then goes unread.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

__all__ = ["ICON_PATH", "LAUNCHER_CATEGORY", "LAUNCHER_TITLE", "setup_iostat_widget"]

#: The launcher tile's icon, shipped inside the package.
ICON_PATH = Path(__file__).resolve().parent / "icons" / "iostat.svg"

LAUNCHER_TITLE = "iostat monitor"

#: The launcher section the tile goes in. jupyter-server-proxy's default, "Notebook", puts it
#: beside the kernels; "Other" is where JupyterLab lists its tools (Terminal, Text File, ...).
LAUNCHER_CATEGORY = "Other"


def setup_iostat_widget() -> dict[str, Any]:
    """The server-process settings jupyter-server-proxy expects (see its ``ServerProcess``).

    The command runs with this interpreter, so the server comes from the same environment as the
    Jupyter server; ``{port}`` is filled in by the proxy. The server binds loopback only: the
    proxy is the one way in. ``absolute_url`` is off because the server's routes sit at ``/``.
    """
    return {
        "command": [
            sys.executable,
            "-m",
            "iostat_widget",
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            "{port}",
        ],
        "absolute_url": False,
        "timeout": 20,
        "new_browser_tab": True,
        "launcher_entry": {
            "enabled": True,
            "title": LAUNCHER_TITLE,
            "category": LAUNCHER_CATEGORY,
            "icon_path": str(ICON_PATH),
        },
    }
