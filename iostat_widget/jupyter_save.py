"""The Jupyter server extension that puts a monitor's last window in the saved notebook.

Enabled by the ``jupyter_server_config.d/iostat_widget.json`` this package installs (``jupyter
server extension list`` shows it). It registers one pre-save hook on the server's contents
manager: when a notebook is saved, each output showing a monitor whose kernel left its windows in
:func:`~iostat_widget.saved_picture.picture_directory` gets an ``image/png`` of them (see
:mod:`iostat_widget.saved_picture`). The hook never fails a save: without matplotlib, or with an
unreadable file, the output keeps the picture it had.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from .saved_picture import PictureCache, fill_pictures, picture_directory

__all__ = ["PreSaveHook"]

log = logging.getLogger(__name__)


class PreSaveHook:
    """``hook(model=..., path=..., contents_manager=...)`` as jupyter_server calls a pre-save hook:
    fills the pictures of a notebook model's monitors from ``directory`` (default:
    :func:`~iostat_widget.saved_picture.picture_directory`, looked up on each save)."""

    def __init__(self, directory: Path | None = None, cache: PictureCache | None = None) -> None:
        self.directory = directory
        self.cache = cache or PictureCache()
        self.filled = 0  #: outputs given a picture, over the server's life
        self.failed = 0  #: windows files that could not be read or drawn

    def __call__(self, model: dict[str, Any], path: str = "", **_: Any) -> None:
        directory = self.directory or picture_directory()
        content = model.get("content")
        if model.get("type") != "notebook" or directory is None or not isinstance(content, dict):
            return
        try:
            filled, failed = fill_pictures(content, directory, self.cache)
        except Exception:  # a save must never fail for a picture
            log.exception("iostat-widget: pictures not filled in %s", path)
            return
        self.filled += filled
        self.failed += failed


def _jupyter_server_extension_points() -> list[dict[str, str]]:
    return [{"module": "iostat_widget.jupyter_save"}]


def _load_jupyter_server_extension(serverapp: Any) -> None:
    serverapp.contents_manager.register_pre_save_hook(PreSaveHook())
    serverapp.log.debug("iostat-widget: saved notebooks get each monitor's last window")
