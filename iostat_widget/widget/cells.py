"""Which notebook cell is running, so that re-running a cell can replace what it made.

JupyterLab and Notebook 7 put the cell's id in each ``execute_request``'s metadata (``cellId``);
ipykernel keeps that request as the parent message of the code it runs
(``get_ipython().kernel.get_parent("shell")``, a context variable in ipykernel 7, falling back
to the shell's own context on other threads). :func:`current_cell` reads it: the cell's id and
the id of this run of it (the request's ``msg_id``), or ``None`` outside a kernel, in a front end
that sends no ``cellId``, or when anything about it is not as expected. :class:`CellRegistry`
remembers, per cell, what its latest run made (weakly), and hands back what an earlier run made
when a new run makes something.
"""

from __future__ import annotations

import sys
import threading
import weakref
from typing import Any, Generic, NamedTuple, TypeVar

__all__ = ["CellRegistry", "CellRun", "current_cell"]

T = TypeVar("T")


class CellRun(NamedTuple):
    """One execution of one cell: the cell's ``cellId`` and the execute request's ``msg_id``."""

    cell: str
    run: str


def current_cell() -> CellRun | None:
    """The cell running now and this run of it, or ``None`` (see the module docstring)."""
    ipython = sys.modules.get("IPython")  # never import IPython: outside a kernel, do nothing
    if ipython is None:
        return None
    try:
        shell = ipython.get_ipython()
        get_parent = getattr(getattr(shell, "kernel", None), "get_parent", None)
        if get_parent is None:
            return None
        parent: Any = get_parent("shell")
        cell = parent.get("metadata", {}).get("cellId")
        run = parent.get("header", {}).get("msg_id")
    except Exception:  # an unexpected kernel: no cell, nothing replaced
        return None
    if isinstance(cell, str) and cell and isinstance(run, str) and run:
        return CellRun(cell, run)
    return None


class CellRegistry(Generic[T]):
    """Per cell, the objects its latest run made, held weakly."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._cells: dict[str, tuple[str, list[weakref.ref[T]]]] = {}

    def claim(self, made: T, where: CellRun) -> list[T]:
        """Record that run ``where`` made ``made``; return what earlier runs of the same cell
        made (still alive), which the caller replaces. Objects of the same run are kept
        together: a cell may make several."""
        with self._lock:
            run, refs = self._cells.get(where.cell, (where.run, []))
            earlier: list[T] = []
            if run != where.run:
                earlier = [obj for ref in refs if (obj := ref()) is not None]
                refs = []
            refs.append(weakref.ref(made))
            self._cells[where.cell] = (where.run, refs)
            return earlier

    def forget(self, made: T) -> None:
        """Drop ``made`` wherever it is recorded (it was closed)."""
        with self._lock:
            for cell, (run, refs) in list(self._cells.items()):
                kept = [ref for ref in refs if (obj := ref()) is not None and obj is not made]
                if kept:
                    self._cells[cell] = (run, kept)
                else:
                    del self._cells[cell]
