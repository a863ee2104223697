"""Clients: read a server's sample stream (the kernel side of the widget, or your own code)."""

from .stream import SampleStream, StreamState, stream

__all__ = ["SampleStream", "StreamState", "stream"]
