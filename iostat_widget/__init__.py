"""iostat-widget: live system activity streamed over WebSocket into a JupyterLab widget.

``Monitor()`` shows it in a notebook, ``serve()`` runs the server, ``stream(url)`` reads one.
``%load_ext iostat_widget`` adds the ``%%iostat`` cell magic, which records a cell's run and
leaves a static chart of it (:mod:`iostat_widget.widget.magic`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ._version import __version__

__all__ = [
    "LineMonitor",
    "Monitor",
    "Sample",
    "SampleError",
    "SampleStream",
    "Server",
    "__version__",
    "serve",
    "stream",
    "validate_sample",
]

if TYPE_CHECKING:
    from .clients.stream import SampleStream, stream
    from .schema import Sample, SampleError, validate_sample
    from .server import Server, serve
    from .widget.line_monitor import LineMonitor
    from .widget.monitor import Monitor

_LAZY = {
    "LineMonitor": "widget.line_monitor",
    "Monitor": "widget.monitor",
    "Sample": "schema",
    "SampleError": "schema",
    "validate_sample": "schema",
    "SampleStream": "clients.stream",
    "stream": "clients.stream",
    "Server": "server",
    "serve": "server",
}


def __getattr__(name: str) -> Any:
    # Lazy so that `iostat-widget serve` does not import ipywidgets and bqplot.
    if name in _LAZY:
        from importlib import import_module

        return getattr(import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def load_ipython_extension(ipython: Any) -> None:
    """``%load_ext iostat_widget``: register the ``%%iostat`` cell magic."""
    from .widget.magic import load_ipython_extension as load

    load(ipython)
