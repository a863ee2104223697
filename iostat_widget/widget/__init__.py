"""Widget: the ``Monitor`` and the kernel-side machinery that feeds it."""

from .line_monitor import LineMonitor
from .monitor import Monitor
from .runtime import KernelRuntime
from .window import SampleWindow

__all__ = ["KernelRuntime", "LineMonitor", "Monitor", "SampleWindow"]
