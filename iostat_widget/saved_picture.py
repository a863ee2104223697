"""A monitor's picture in the saved notebook: the windows a kernel leaves, drawn when it is saved.

A widget's output in a notebook holds the widget's id and whatever else its bundle had when it was
displayed. The kernel cannot rewrite that output later (a front end takes display updates only
while the cell that displayed it runs), and the front end cannot either, so a picture taken at
display time shows the first instant, not what the monitor showed when the notebook was saved.

So the picture is drawn where the notebook is written: the kernel keeps each displayed monitor's
windows in a small JSON file, ``<directory>/<model id>.json`` (:func:`write_windows`, every few
seconds and when the monitor closes; see :mod:`iostat_widget.widget.saved_windows`), and the
Jupyter server's pre-save hook (:mod:`iostat_widget.jupyter_save`) gives every output that shows
such a widget an ``image/png`` of them (:func:`fill_pictures`). GitHub, nbviewer and PDF exports
then show the last window; JupyterLab still shows the live widget, whose type ranks first.

The directory is ``$IOSTAT_WIDGET_PICTURES`` or ``iostat-widget-pictures`` in Jupyter's runtime
directory, private to the user (0700), shared by the kernels and the server of one machine. A
kernel on another machine leaves the display-time picture in place. Imports no widgets, no
sockets, no asyncio; matplotlib only when drawing (the ``record`` extra).
"""

from __future__ import annotations

import json
import logging
import os
import re
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Final

from .schema import Sample

__all__ = [
    "DIRECTORY_ENV",
    "WIDGET_VIEW",
    "PictureCache",
    "Runs",
    "fill_pictures",
    "picture_directory",
    "prune_windows",
    "read_windows",
    "windows_path",
    "write_windows",
]

log = logging.getLogger(__name__)

DIRECTORY_ENV: Final = "IOSTAT_WIDGET_PICTURES"
WIDGET_VIEW: Final = "application/vnd.jupyter.widget-view+json"
_MODEL_ID = re.compile(r"[0-9A-Za-z_-]{1,64}")

Runs = list[tuple[str, list[Sample]]]
"""Each feed's ``(host label, samples oldest first)``, as :func:`~iostat_widget.picture.window_png`
takes them."""


def picture_directory() -> Path | None:
    """Where the windows files live: ``$IOSTAT_WIDGET_PICTURES``, else
    ``iostat-widget-pictures`` in Jupyter's runtime directory; ``None`` without jupyter_core (no
    Jupyter to save a notebook)."""
    if configured := os.environ.get(DIRECTORY_ENV):
        return Path(configured)
    try:
        from jupyter_core.paths import jupyter_runtime_dir
    except ImportError:
        return None
    return Path(jupyter_runtime_dir()) / "iostat-widget-pictures"


def windows_path(directory: Path, model_id: str) -> Path:
    """``<directory>/<model_id>.json``.

    Raises:
        ValueError: ``model_id`` is not 1 to 64 letters, digits, ``-`` or ``_`` (a widget's id
            is hex; anything else could name a file outside the directory).
    """
    if not _MODEL_ID.fullmatch(model_id):
        raise ValueError(f"not a widget model id: {model_id[:80]!r}")
    return directory / f"{model_id}.json"


def write_windows(directory: Path, model_id: str, title: str, runs: Runs) -> Path:
    """Write the windows of widget ``model_id`` (atomically: a reader sees the old file or the
    new one, never half of one) and return the path.

    Raises:
        ValueError: a bad ``model_id`` (see :func:`windows_path`).
        OSError: the directory cannot be made or written.
    """
    path = windows_path(directory, model_id)
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    text = json.dumps({"title": title, "runs": [[label, list(run)] for label, run in runs]})
    handle, temporary = tempfile.mkstemp(dir=directory, prefix=".", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            file.write(text)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return path


def read_windows(path: Path) -> tuple[str, Runs]:
    """``(title, runs)`` from a file :func:`write_windows` wrote.

    Raises:
        OSError: it cannot be read.
        ValueError: it is not such a file (bad JSON, or not ``{"title": str, "runs": [[str,
            [sample, ...]], ...]}``).
    """
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as err:  # not UTF-8, or not JSON
        raise ValueError(f"{path.name}: {err}") from err
    if not isinstance(data, dict) or not isinstance(title := data.get("title"), str):
        raise ValueError(f"{path.name}: no title")
    runs = data.get("runs")
    if not isinstance(runs, list):
        raise ValueError(f"{path.name}: no runs")
    out: Runs = []
    for run in runs:
        if not (isinstance(run, list) and len(run) == 2 and isinstance(run[0], str)):
            raise ValueError(f"{path.name}: a run is not [label, samples]")
        label, samples = run
        if not isinstance(samples, list) or not all(
            isinstance(s, dict) and isinstance(s.get("t"), int | float) for s in samples
        ):
            raise ValueError(f"{path.name}: {label!r}'s samples are not samples")
        out.append((label, samples))
    return title, out


def prune_windows(directory: Path, older_than: float, now: float | None = None) -> int:
    """Remove windows files not written for ``older_than`` seconds; returns how many went.
    Never raises (a file another process removed first is simply gone)."""
    now = time.time() if now is None else now
    removed = 0
    try:
        paths = list(directory.glob("*.json"))
    except OSError:
        return 0
    for path in paths:
        try:
            if now - path.stat().st_mtime > older_than:
                path.unlink()
                removed += 1
        except OSError:
            continue
    return removed


Draw = Callable[[Runs, str], dict[str, str]]


def _draw(runs: Runs, title: str) -> dict[str, str]:
    from .picture import static_alternative

    return static_alternative(runs, title)


class PictureCache:
    """Pictures drawn from windows files, kept while the file is unchanged (same size and
    modification time): a notebook autosaved every two minutes next to a closed monitor draws
    it once. ``draw(runs, title)`` returns ``{"image/png": base64}`` or ``{}`` (injectable)."""

    def __init__(self, draw: Draw = _draw, keep: int = 64) -> None:
        self.draw = draw
        self.keep = keep
        self._pictures: dict[Path, tuple[tuple[int, int], dict[str, str]]] = {}
        self.drawn = 0  #: pictures drawn (not taken from the cache)

    def picture(self, path: Path) -> dict[str, str]:
        """The picture of ``path``'s windows.

        Raises:
            OSError, ValueError: as :func:`read_windows`.
        """
        stat = path.stat()
        stamp = (stat.st_mtime_ns, stat.st_size)
        kept = self._pictures.get(path)
        if kept is not None and kept[0] == stamp:
            return kept[1]
        title, runs = read_windows(path)
        picture = self.draw(runs, title)
        self.drawn += 1
        if len(self._pictures) >= self.keep:
            self._pictures.pop(next(iter(self._pictures)))
        self._pictures[path] = (stamp, picture)
        return picture


def _widget_outputs(notebook: dict[str, Any]) -> Iterator[tuple[dict[str, Any], str]]:
    cells = notebook.get("cells")
    for cell in cells if isinstance(cells, list) else []:
        outputs = cell.get("outputs") if isinstance(cell, dict) else None
        for output in outputs if isinstance(outputs, list) else []:
            data = output.get("data") if isinstance(output, dict) else None
            if not isinstance(data, dict):
                continue
            view = data.get(WIDGET_VIEW)
            if isinstance(view, dict) and isinstance(model_id := view.get("model_id"), str):
                yield data, model_id


def fill_pictures(
    notebook: dict[str, Any], directory: Path, cache: PictureCache
) -> tuple[int, int]:
    """Give each output of ``notebook`` (nbformat 4 as a dict, changed in place) that shows a
    widget with a windows file in ``directory`` the ``image/png`` of those windows.

    Returns ``(filled, failed)``: outputs given a picture, and windows files that could not be
    read or drawn (logged, and the output keeps what it had). Outputs of other widgets are left
    alone. Never raises: a notebook is saved whatever happens to its pictures.
    """
    filled = failed = 0
    for data, model_id in _widget_outputs(notebook):
        try:
            path = windows_path(directory, model_id)
            if not path.is_file():
                continue
            picture = cache.picture(path)
        except (OSError, ValueError) as err:
            failed += 1
            log.warning("iostat-widget: no picture of widget %s: %s", model_id[:64], err)
            continue
        if picture:
            data.update(picture)
            filled += 1
    return filled, failed
