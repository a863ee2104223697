"""Hub: one sampler per server, a ring of recent samples, fan-out to every transport."""

from .hub import Frame, Hub, Listener

__all__ = ["Frame", "Hub", "Listener"]
