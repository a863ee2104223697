"""Which cell is running (``cells.current_cell``) and what its earlier runs made (the registry).
The real ipykernel path is exercised in ``test_kernel_monitor.py``."""

from __future__ import annotations

import gc
import sys
import types
from typing import Any

import pytest

from iostat_widget.widget.cells import CellRegistry, CellRun, current_cell


class FakeKernel:
    def __init__(self, parent: Any) -> None:
        self.parent = parent

    def get_parent(self, channel: str = "shell") -> Any:
        assert channel == "shell"
        return self.parent


def fake_ipython(monkeypatch: pytest.MonkeyPatch, kernel: Any) -> None:
    module = types.ModuleType("IPython")
    shell = types.SimpleNamespace(kernel=kernel) if kernel is not None else None
    module.get_ipython = lambda: shell  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "IPython", module)


def test_outside_a_kernel_there_is_no_cell(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delitem(sys.modules, "IPython", raising=False)
    assert current_cell() is None
    assert "IPython" not in sys.modules  # not imported just to look
    fake_ipython(monkeypatch, None)  # IPython, but a terminal shell: no kernel
    assert current_cell() is None


@pytest.mark.parametrize(
    ("parent", "expected"),
    [
        ({"header": {"msg_id": "m1"}, "metadata": {"cellId": "c1"}}, CellRun("c1", "m1")),
        ({"header": {"msg_id": "m1"}, "metadata": {}}, None),  # a front end without cell ids
        ({"header": {"msg_id": "m1"}, "metadata": {"cellId": ""}}, None),
        ({"header": {}, "metadata": {"cellId": "c1"}}, None),
        ({}, None),  # no request yet
        (None, None),
        ({"header": {"msg_id": "m1"}, "metadata": {"cellId": 7}}, None),
    ],
)
def test_the_cell_comes_from_the_parent_request(
    monkeypatch: pytest.MonkeyPatch, parent: Any, expected: CellRun | None
) -> None:
    fake_ipython(monkeypatch, FakeKernel(parent))
    assert current_cell() == expected


class Made:
    pass


def test_registry_hands_back_what_earlier_runs_made() -> None:
    registry: CellRegistry[Made] = CellRegistry()
    a, b, c, other = Made(), Made(), Made(), Made()
    assert registry.claim(a, CellRun("cell", "run-1")) == []
    assert registry.claim(b, CellRun("cell", "run-1")) == []  # one run, two made: both kept
    assert registry.claim(other, CellRun("other", "run-2")) == []
    assert registry.claim(c, CellRun("cell", "run-3")) == [a, b]
    assert registry.claim(Made(), CellRun("cell", "run-4")) == [c]
    registry.forget(other)
    assert registry.claim(Made(), CellRun("other", "run-5")) == []


def test_registry_holds_weakly() -> None:
    registry: CellRegistry[Made] = CellRegistry()
    registry.claim(Made(), CellRun("cell", "run-1"))
    gc.collect()
    assert registry.claim(Made(), CellRun("cell", "run-2")) == []
