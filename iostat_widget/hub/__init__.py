"""Hub: one source per server, recent history, fan-out to every subscriber (samples and lines)."""

from .hub import Frame, Hub, Listener
from .line_fanout import LineFanout, LineSubscriber

__all__ = ["Frame", "Hub", "LineFanout", "LineSubscriber", "Listener"]
