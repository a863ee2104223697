"""WebSocket frames in bytes captured off the wire: how big is each frame's header, really?

The course decodes the first bytes of a frame by hand (FIN, RSV, opcode, MASK, length):
:func:`read_header` does that reading bit by bit, for teaching, and :func:`parse_frames`
cross-checks it with the ``websockets`` library's own frame parser over every frame in a capture,
so the per-sample framing cost in the tables is counted, not assumed. Pure: no sockets.
"""

from __future__ import annotations

from dataclasses import dataclass

from websockets.exceptions import ProtocolError
from websockets.frames import Frame, Opcode
from websockets.streams import StreamReader

__all__ = [
    "FrameInfo",
    "HeaderBits",
    "parse_frames",
    "read_header",
    "split_frames",
    "split_http_head",
]


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


def split_frames(data: bytes, *, from_client: bool) -> list[tuple[FrameInfo, bytes]]:
    """:func:`parse_frames`, each frame with its own bytes as they were on the wire (header,
    then payload, still masked if the client masked it)."""
    frames, start = [], 0
    for info in parse_frames(data, from_client=from_client):
        frames.append((info, bytes(data[start : start + info.size])))
        start += info.size
    return frames


_OPCODES = {0: "continuation", 1: "text", 2: "binary", 8: "close", 9: "ping", 10: "pong"}


@dataclass(frozen=True)
class HeaderBits:
    """A frame header's fields, read bit by bit (RFC 6455, section 5.2).

    ``length_field`` is the 7-bit field of byte 1; ``payload`` the payload length it gives (read
    from the next 2 or 8 bytes when it is 126 or 127); ``header`` the header's size in bytes,
    the 4-byte mask key included.
    """

    fin: bool
    rsv: tuple[bool, bool, bool]
    opcode: int
    masked: bool
    length_field: int
    payload: int
    header: int

    @property
    def kind(self) -> str:
        """The opcode's name (``"text"``, ``"close"``…), ``"reserved"`` for an unused one."""
        return _OPCODES.get(self.opcode, "reserved")

    def rows(self, frame: bytes) -> list[dict[str, str]]:
        """One row per header byte of ``frame`` (the frame these bits were read from): the
        byte in hex and in bits, and what it says."""
        rsv = "".join(str(int(bit)) for bit in self.rsv)
        said = [
            f"FIN={int(self.fin)} ({'last' if self.fin else 'not the last'} fragment), "
            f"RSV1-3={rsv} (no extension), opcode={self.opcode} ({self.kind})",
            f"MASK={int(self.masked)} ({'masked' if self.masked else 'not masked'}), "
            f"length={self.length_field}"
            + (
                f" (≤ 125: the payload length itself, a {self.header}-byte header)"
                if self.length_field <= 125
                else f" (the length follows in {2 if self.length_field == 126 else 8} bytes)"
            ),
        ]
        extended = self.header - 2 - (4 if self.masked else 0)
        said += [f"payload length, byte {n + 1} of {extended}" for n in range(extended)]
        said += [f"mask key, byte {n + 1} of 4" for n in range(4 if self.masked else 0)]
        return [
            {"byte": str(n), "hex": f"{frame[n]:#04x}", "bits": f"{frame[n]:08b}", "says": text}
            for n, text in enumerate(said)
        ]


def read_header(frame: bytes) -> HeaderBits:
    """The header at the start of ``frame``, read by hand from its bits.

    Raises:
        ValueError: when ``frame`` is shorter than the header it announces.
    """
    if len(frame) < 2:
        raise ValueError("a frame header takes at least 2 bytes")
    first, second = frame[0], frame[1]
    length_field = second & 0x7F
    masked = bool(second >> 7)
    extended = {126: 2, 127: 8}.get(length_field, 0)
    header = 2 + extended + (4 if masked else 0)
    if len(frame) < header:
        raise ValueError(f"the header announces {header} bytes, the frame has {len(frame)}")
    payload = int.from_bytes(frame[2 : 2 + extended], "big") if extended else length_field
    return HeaderBits(
        fin=bool(first >> 7),
        rsv=(bool(first & 0x40), bool(first & 0x20), bool(first & 0x10)),
        opcode=first & 0x0F,
        masked=masked,
        length_field=length_field,
        payload=payload,
        header=header,
    )
