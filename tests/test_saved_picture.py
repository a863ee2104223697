"""The saved notebook's picture of a monitor: windows files, and filling a notebook's outputs."""

from __future__ import annotations

import base64
import contextlib
import json
import os
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from iostat_widget.saved_picture import (
    DIRECTORY_ENV,
    WIDGET_VIEW,
    PictureCache,
    Runs,
    fill_pictures,
    picture_directory,
    prune_windows,
    read_windows,
    windows_path,
    write_windows,
)
from iostat_widget.sources.synthetic import synthetic_sample

from .test_picture import png_size

T0 = 1_700_000_000.0


def runs(*counts: int) -> Runs:
    return [
        (f"host{n}", [dict(synthetic_sample(i, T0 + i)) for i in range(count)])  # type: ignore[misc]
        for n, count in enumerate(counts)
    ]


def widget_output(model_id: str, picture: str = "display-time") -> dict[str, Any]:
    return {
        "output_type": "display_data",
        "metadata": {},
        "data": {
            "text/plain": "Monitor(...)",
            "image/png": picture,
            WIDGET_VIEW: {"version_major": 2, "version_minor": 0, "model_id": model_id},
        },
    }


def notebook(*outputs: dict[str, Any]) -> dict[str, Any]:
    cell = {"cell_type": "code", "source": "m", "metadata": {}, "outputs": list(outputs)}
    return {"cells": [{"cell_type": "markdown", "source": "x", "metadata": {}}, cell]}


class Drawn:
    """A stand-in for matplotlib: records what it was asked to draw."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, list[int]]] = []

    def __call__(self, runs: Runs, title: str) -> dict[str, str]:
        self.calls.append((title, [len(samples) for _, samples in runs]))
        return {"image/png": f"{title}:{len(self.calls)}"}


def test_windows_round_trip_through_a_private_directory(tmp_path: Path) -> None:
    directory = tmp_path / "pictures"
    path = write_windows(directory, "4f2a9c", "Monitor (embedded)", runs(3, 1))
    assert path == directory / "4f2a9c.json" and path.is_file()
    assert directory.stat().st_mode & 0o777 == 0o700
    title, back = read_windows(path)
    assert title == "Monitor (embedded)"
    assert [(label, [s["seq"] for s in samples]) for label, samples in back] == [
        ("host0", [0, 1, 2]),
        ("host1", [0]),
    ]
    assert back[0][1][2] == json.loads(json.dumps(runs(3)[0][1][2]))
    assert [p.name for p in directory.iterdir()] == ["4f2a9c.json"]  # no temporary left


@pytest.mark.parametrize("model_id", ["", "../../etc/x", "a/b", "a.json", "x" * 65, "ü"])
def test_a_model_id_that_could_name_another_file_is_refused(tmp_path: Path, model_id: str) -> None:
    with pytest.raises(ValueError, match="not a widget model id"):
        windows_path(tmp_path, model_id)
    with pytest.raises(ValueError, match="not a widget model id"):
        write_windows(tmp_path, model_id, "t", [])
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "text",
    [
        "",
        "not json",
        "[]",
        '{"runs": []}',
        '{"title": 3, "runs": []}',
        '{"title": "t"}',
        '{"title": "t", "runs": [["a"]]}',
        '{"title": "t", "runs": [[1, []]]}',
        '{"title": "t", "runs": [["a", [{"seq": 1}]]]}',
        '{"title": "t", "runs": [["a", [{"t": "now"}]]]}',
        '{"title": "t", "runs": [["a", 5]]}',
    ],
)
def test_a_file_that_is_not_windows_is_a_value_error(tmp_path: Path, text: str) -> None:
    path = tmp_path / "bad.json"
    path.write_text(text)
    with pytest.raises(ValueError, match=r"bad\.json: "):
        read_windows(path)


@settings(max_examples=60, deadline=None)
@given(st.binary(max_size=300))
def test_any_bytes_are_windows_or_a_value_error(raw: bytes) -> None:
    import tempfile

    with tempfile.TemporaryDirectory() as name:
        path = Path(name) / "x.json"
        path.write_bytes(raw)
        with contextlib.suppress(ValueError):  # anything else fails the test
            read_windows(path)


def test_fill_gives_each_monitor_output_its_picture_and_leaves_the_rest(tmp_path: Path) -> None:
    write_windows(tmp_path, "aaa", "Monitor (a)", runs(5))
    write_windows(tmp_path, "ccc", "Monitor (c)", runs(2, 2))
    (tmp_path / "bad.json").write_text("{")
    other = {"output_type": "display_data", "data": {"image/png": "keep"}, "metadata": {}}
    nb = notebook(
        widget_output("aaa"),
        widget_output("bbb"),
        other,
        widget_output("bad"),
        widget_output("ccc"),
    )
    draw = Drawn()
    filled, failed = fill_pictures(nb, tmp_path, PictureCache(draw))
    assert (filled, failed) == (2, 1)
    outputs = nb["cells"][1]["outputs"]
    assert [o["data"]["image/png"] for o in outputs] == [
        "Monitor (a):1",
        "display-time",  # no windows file: a kernel elsewhere, or never displayed here
        "keep",
        "display-time",  # unreadable: the output keeps what it had
        "Monitor (c):2",
    ]
    assert draw.calls == [("Monitor (a)", [5]), ("Monitor (c)", [2, 2])]
    assert outputs[0]["data"][WIDGET_VIEW]["model_id"] == "aaa"  # the widget stays first


def test_a_picture_is_drawn_again_only_when_its_windows_change(tmp_path: Path) -> None:
    path = write_windows(tmp_path, "aaa", "Monitor", runs(3))
    os.utime(path, ns=(1, 1_000_000_000))
    draw = Drawn()
    cache = PictureCache(draw)
    for _ in range(3):  # autosaves of a notebook whose monitor has stopped
        fill_pictures(notebook(widget_output("aaa")), tmp_path, cache)
    assert cache.drawn == 1
    write_windows(tmp_path, "aaa", "Monitor", runs(4))
    os.utime(path, ns=(2, 2_000_000_000))
    nb = notebook(widget_output("aaa"))
    fill_pictures(nb, tmp_path, cache)
    assert cache.drawn == 2 and draw.calls[-1] == ("Monitor", [4])
    assert nb["cells"][1]["outputs"][0]["data"]["image/png"] == "Monitor:2"


def test_the_real_picture_is_a_png_of_the_windows(tmp_path: Path) -> None:
    write_windows(tmp_path, "aaa", "Monitor", runs(20))
    nb = notebook(widget_output("aaa"))
    assert fill_pictures(nb, tmp_path, PictureCache()) == (1, 0)
    png = base64.b64decode(nb["cells"][1]["outputs"][0]["data"]["image/png"])
    assert png_size(png) == (960, 470)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=12,
)


@settings(max_examples=80, deadline=None)
@given(json_values)
def test_fill_never_raises_on_any_notebook_shape(content: Any) -> None:
    import tempfile

    with tempfile.TemporaryDirectory() as name:
        filled, failed = fill_pictures(
            content if isinstance(content, dict) else {"cells": content}, Path(name), PictureCache()
        )
    assert (filled, failed) == (0, 0)


def test_old_windows_files_are_pruned(tmp_path: Path) -> None:
    old = write_windows(tmp_path, "old", "t", [])
    new = write_windows(tmp_path, "new", "t", [])
    os.utime(old, (1000.0, 1000.0))
    os.utime(new, (9000.0, 9000.0))
    assert prune_windows(tmp_path, older_than=5000, now=10_000.0) == 1
    assert not old.exists() and new.exists()
    assert prune_windows(tmp_path / "missing", older_than=1) == 0


def test_the_directory_is_configurable_else_in_jupyters_runtime_directory(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv(DIRECTORY_ENV, str(tmp_path / "mine"))
    assert picture_directory() == tmp_path / "mine"
    monkeypatch.delenv(DIRECTORY_ENV)
    monkeypatch.setenv("JUPYTER_RUNTIME_DIR", str(tmp_path / "runtime"))
    assert picture_directory() == tmp_path / "runtime" / "iostat-widget-pictures"


def test_without_jupyter_there_is_no_directory_and_nothing_is_kept(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import sys

    monkeypatch.delenv(DIRECTORY_ENV)
    monkeypatch.setitem(sys.modules, "jupyter_core.paths", None)  # as if not installed
    assert picture_directory() is None
