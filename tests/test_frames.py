"""Frame headers read by hand, checked against the ``websockets`` library's own framing."""

from __future__ import annotations

import pytest
from websockets.frames import Frame, Opcode

from iostat_widget.course import parse_frames, read_header, split_frames


def wire(payload: bytes, *, mask: bool = False, opcode: Opcode = Opcode.TEXT) -> bytes:
    return Frame(opcode, payload).serialize(mask=mask)


@pytest.mark.parametrize("size", [0, 48, 125, 126, 300, 65_535, 65_536])
@pytest.mark.parametrize("mask", [False, True], ids=["server", "client"])
def test_read_header_agrees_with_the_library(size: int, mask: bool) -> None:
    frame = wire(b"x" * size, mask=mask)
    bits = read_header(frame)
    (parsed,) = parse_frames(frame, from_client=mask)
    assert (bits.header, bits.payload) == (parsed.header, parsed.payload)
    assert bits.fin and bits.rsv == (False, False, False) and bits.masked is mask
    assert (bits.opcode, bits.kind) == (1, "text")
    assert bits.length_field == (size if size <= 125 else 126 if size < 65_536 else 127)


def test_two_bytes_of_header_up_to_125_bytes_of_payload() -> None:
    assert read_header(wire(b"y" * 125)).header == 2
    assert read_header(wire(b"y" * 126)).header == 4


def test_rows_say_each_header_byte() -> None:
    frame = wire(b"z" * 300, mask=True)
    bits = read_header(frame)
    rows = bits.rows(frame)
    assert [row["byte"] for row in rows] == [str(n) for n in range(bits.header)]  # 2 + 2 + 4
    assert [row["bits"] for row in rows] == [f"{byte:08b}" for byte in frame[: bits.header]]
    assert rows[0]["hex"] == "0x81" and "opcode=1 (text)" in rows[0]["says"]
    assert "MASK=1" in rows[1]["says"] and "follows in 2 bytes" in rows[1]["says"]
    assert [row["says"].split(",")[0] for row in rows[2:]] == ["payload length"] * 2 + [
        "mask key"
    ] * 4
    short = wire(b"ok")
    (first, second) = read_header(short).rows(short)
    assert "FIN=1" in first["says"] and "length=2 (≤ 125" in second["says"]


def test_read_header_kinds_rsv_and_short_input() -> None:
    close = wire(b"\x03\xe8", opcode=Opcode.CLOSE)
    assert read_header(close).kind == "close" and read_header(close).opcode == 8
    assert read_header(bytes([0x4F, 0x00])).rsv == (True, False, False)
    assert read_header(bytes([0x0F, 0x00])).kind == "reserved"
    assert not read_header(bytes([0x01, 0x00])).fin
    with pytest.raises(ValueError, match="at least 2 bytes"):
        read_header(b"\x81")
    with pytest.raises(ValueError, match="announces 4 bytes"):
        read_header(wire(b"x" * 200)[:3])


def test_split_frames_gives_each_frame_its_own_bytes() -> None:
    frames = [wire(b"a" * 10), wire(b"b" * 300), wire(b"\x03\xe8", opcode=Opcode.CLOSE)]
    split = split_frames(b"".join(frames) + frames[0][:5], from_client=False)  # a cut-off tail
    assert [raw for _, raw in split] == frames
    assert [info.size for info, _ in split] == [len(frame) for frame in frames]
    assert [info.opcode for info, _ in split] == ["TEXT", "TEXT", "CLOSE"]
