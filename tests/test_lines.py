"""The line splitter on its own: chunking, long lines, UTF-8 cuts, no event loop involved."""

from __future__ import annotations

from itertools import pairwise

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from iostat_widget.sources.lines import MAX_PIECE, LineSplitter, Piece


def split_all(chunks: list[bytes], max_piece: int = MAX_PIECE) -> list[Piece]:
    """Feed every chunk, then flush: the pieces a whole stream turns into."""
    splitter = LineSplitter(max_piece)
    pieces = [piece for chunk in chunks for piece in splitter.feed(chunk)]
    return pieces + splitter.flush()


def join_lines(pieces: list[Piece]) -> list[bytes]:
    """Reassemble lines from pieces (a line ends at each piece with ``end``)."""
    lines: list[bytes] = []
    current = b""
    for piece in pieces:
        current += piece.data
        if piece.end:
            lines.append(current)
            current = b""
    assert current == b"", "every line must be finished after flush"
    return lines


def cut(data: bytes, points: list[int]) -> list[bytes]:
    """``data`` cut at the given offsets (any order, duplicates allowed)."""
    bounds = [0, *sorted(p % (len(data) + 1) for p in points), len(data)]
    return [data[a:b] for a, b in pairwise(bounds)]


def test_whole_lines_come_out_as_single_pieces() -> None:
    assert split_all([b"one\ntwo\n"]) == [Piece(b"one\n", True), Piece(b"two\n", True)]


def test_unfinished_line_is_held_until_its_newline() -> None:
    splitter = LineSplitter()
    assert splitter.feed(b"hel") == []
    assert splitter.pending == 3
    assert splitter.feed(b"lo\nwor") == [Piece(b"hello\n", True)]
    assert splitter.feed(b"ld\n") == [Piece(b"world\n", True)]
    assert splitter.pending == 0


def test_flush_finishes_an_unfinished_line_without_adding_bytes() -> None:
    splitter = LineSplitter()
    splitter.feed(b"last words")
    assert splitter.flush() == [Piece(b"last words", True)]
    assert splitter.flush() == []


def test_flush_in_the_middle_of_a_long_line_ends_it_with_an_empty_piece() -> None:
    splitter = LineSplitter(max_piece=4)
    assert splitter.feed(b"abcd") == [Piece(b"abcd", False)]
    assert splitter.mid_line
    assert splitter.flush() == [Piece(b"", True)]
    assert not splitter.mid_line


def test_long_line_is_cut_into_bounded_pieces_in_order() -> None:
    line = bytes(range(256)).replace(b"\n", b"-") * 40 + b"\n"  # 10 KiB of every byte value
    pieces = split_all([line], max_piece=1000)
    assert all(len(p.data) <= 1000 for p in pieces)
    assert [p.end for p in pieces] == [False] * (len(pieces) - 1) + [True]
    assert b"".join(p.data for p in pieces) == line


def test_three_mebibyte_line_is_streamed_in_one_mebibyte_pieces() -> None:
    line = b"x" * (3 * MAX_PIECE) + b"\n"
    chunks = [line[i : i + 65536] for i in range(0, len(line), 65536)]
    pieces = split_all(chunks)
    assert [len(p.data) for p in pieces] == [MAX_PIECE] * 3 + [1]
    assert join_lines(pieces) == [line]


def test_cut_never_splits_a_utf8_character() -> None:
    line = "€".encode() * 10 + b"\n"  # 3-byte characters, pieces of at most 5 bytes
    pieces = split_all([line], max_piece=5)
    assert all("\ufffd" not in p.text for p in pieces)
    assert "".join(p.text for p in pieces) == "€" * 10 + "\n"


def test_invalid_utf8_becomes_replacement_characters_and_nul_passes() -> None:
    pieces = split_all([b"ok \xff\xfe bad\x00nul\n"])
    assert [p.text for p in pieces] == ["ok \ufffd\ufffd bad\x00nul\n"]


def test_discard_first_drops_the_start_of_an_unseen_line() -> None:
    splitter = LineSplitter(discard_first=True)
    assert splitter.feed(b"tail of a line") == []
    assert splitter.feed(b" still\nnext\n") == [Piece(b"next\n", True)]


def test_max_piece_must_leave_room_for_one_character() -> None:
    with pytest.raises(ValueError, match="at least 4"):
        LineSplitter(max_piece=3)


# Bytes that stress the rules: newlines, multi-byte characters, their fragments, junk, NUL.
ATOMS = [
    b"\n",
    b"a",
    b"\x00",
    b"\xff",
    b"\x80",
    b"\xc3",
    b"\xe2\x82",
    b"\xe2\x82\xac",
    b"\xf0\x9f\x98\x80",
]
streams = st.one_of(
    st.binary(max_size=300),
    st.lists(st.sampled_from(ATOMS), max_size=200).map(b"".join),
)
cut_points = st.lists(st.integers(min_value=0, max_value=10_000), max_size=30)


@settings(max_examples=300, deadline=None)
@given(data=streams, points=cut_points, max_piece=st.integers(min_value=4, max_value=40))
def test_any_chunking_gives_the_same_pieces(data: bytes, points: list[int], max_piece: int) -> None:
    assert split_all(cut(data, points), max_piece) == split_all([data], max_piece)


@settings(max_examples=300, deadline=None)
@given(data=streams, points=cut_points, max_piece=st.integers(min_value=4, max_value=40))
def test_lines_are_the_split_of_the_whole(data: bytes, points: list[int], max_piece: int) -> None:
    parts = data.split(b"\n")
    expected = [part + b"\n" for part in parts[:-1]] + ([parts[-1]] if parts[-1] else [])
    lines = join_lines(split_all(cut(data, points), max_piece))
    assert lines == expected
    assert b"".join(lines) == data  # every byte exactly once, in order


@settings(max_examples=300, deadline=None)
@given(data=streams, points=cut_points, max_piece=st.integers(min_value=4, max_value=40))
def test_pieces_are_bounded_and_decode_like_the_whole(
    data: bytes, points: list[int], max_piece: int
) -> None:
    pieces = split_all(cut(data, points), max_piece)
    assert all(len(p.data) <= max_piece for p in pieces)
    assert all(p.data for p in pieces if not p.end)
    assert "".join(p.text for p in pieces) == data.decode("utf-8", errors="replace")
