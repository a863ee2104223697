"""WebSocket frames in bytes captured off the wire: how big is each frame's header, really?

The course decodes the first two bytes of a frame by hand (FIN, opcode, MASK, length); this module
cross-checks that reading with the ``websockets`` library's own frame parser over every frame in
a capture, so the per-sample framing cost in the tables is counted, not assumed.
"""

from __future__ import annotations

from dataclasses import dataclass

from websockets.exceptions import ProtocolError
from websockets.frames import Frame, Opcode
from websockets.streams import StreamReader

__all__ = ["FrameInfo", "parse_frames", "split_http_head"]


@dataclass(frozen=True)
class FrameInfo:
    """One frame's layout: header bytes (with any mask key) and payload bytes."""

    opcode: str  #: TEXT, BINARY, CLOSE, PING, PONG, CONT
    fin: bool
    masked: bool
    header: int
    payload: int

    @property
    def size(self) -> int:
        """Bytes the frame takes on the wire."""
        return self.header + self.payload


def split_http_head(raw: bytes) -> tuple[bytes, bytes]:
    """``(head, rest)``: an HTTP message's start line and headers up to the blank line, then
    what follows it (a WebSocket's frames after its upgrade, or a response's body)."""
    head, sep, rest = raw.partition(b"\r\n\r\n")
    if not sep:
        raise ValueError("no end of HTTP headers in the capture")
    return head + sep, rest


def parse_frames(data: bytes, *, from_client: bool) -> list[FrameInfo]:
    """Every complete frame in ``data`` (frame bytes only); a cut-off last frame is left out.

    ``from_client`` says which side sent them: client frames must be masked, server frames not.
    """
    reader = StreamReader()
    reader.feed_data(bytes(data))
    reader.feed_eof()
    frames: list[FrameInfo] = []
    while reader.buffer:
        before = len(reader.buffer)
        parser = Frame.parse(reader.read_exact, mask=from_client, max_size=None)
        try:
            while True:
                next(parser)
        except StopIteration as done:
            frame: Frame = done.value
        except EOFError:
            break  # the capture ended inside this frame
        except ProtocolError as err:
            where = len(data) - before
            raise ValueError(f"not a valid WebSocket frame at byte {where}: {err}") from None
        consumed = before - len(reader.buffer)
        frames.append(
            FrameInfo(
                opcode=Opcode(frame.opcode).name,
                fin=frame.fin,
                masked=from_client,
                header=consumed - len(frame.data),
                payload=len(frame.data),
            )
        )
    return frames
