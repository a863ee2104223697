"""The busy table's Linux reader: ``/proc`` read directly, agreeing with psutil."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import psutil
import pytest

from iostat_widget.sources.proc_stat import user_hz
from iostat_widget.sources.proc_top import parse_stat, proc_readable, read_proc
from iostat_widget.sources.top_processes import read_processes

linux = pytest.mark.skipif(not proc_readable(), reason="no Linux /proc here")

# Fields 3 to 24 of a stat line: utime 250, stime 50, starttime 1000, rss 300 pages.
TAIL = b"S 1 1 1 0 -1 4194304 10 0 0 0 250 50 0 0 20 0 1 0 1000 123456 300 184467"


@pytest.mark.parametrize(
    "name", [b"bash", b"a b", b"(sd-pam)", b"x) S 1 2 (y", b"", b"<b>\x1b[31m"]
)
def test_the_name_runs_to_the_last_parenthesis(name: bytes) -> None:
    got = parse_stat(b"4242 (" + name + b") " + TAIL + b"\n", 100, 4096)
    assert got == (name.decode(), 3.0, 1000, 300 * 4096)


def test_a_name_that_is_not_utf8_is_replaced_not_dropped() -> None:
    assert parse_stat(b"7 (ab\xff) " + TAIL, 100, 4096)[0] == "ab\ufffd"


@pytest.mark.parametrize("text", [b"", b"7 bash S 1", b"7 (bash) S 1 2 3", b"7 (x) " + b"S z" * 30])
def test_what_is_not_a_stat_line_is_an_error(text: bytes) -> None:
    with pytest.raises(ValueError, match=r"stat line|invalid literal"):
        parse_stat(text, 100, 4096)


def test_a_vanished_or_unreadable_process_is_left_out(tmp_path: Path) -> None:
    (tmp_path / "stat").write_text("cpu 1 2 3 4\nbtime 1700000000\n")
    for pid, stat in [("10", b"10 (ok) " + TAIL), ("11", None), ("12", b"12 garbage")]:
        (tmp_path / pid).mkdir()
        if stat is not None:
            (tmp_path / pid / "stat").write_bytes(stat)
            (tmp_path / pid / "statm").write_text("9000 310 100 1 0 500 0\n")
    (tmp_path / "self").mkdir()
    users: dict[int, str] = {}
    found = read_proc(tmp_path, users)
    assert list(found) == [(10, 1_700_000_000 + 1000 / user_hz())]
    snapshot = found[next(iter(found))]
    assert snapshot.name == "ok" and snapshot.cpu == 300 / user_hz()
    assert snapshot.rss == 310 * os.sysconf("SC_PAGE_SIZE")  # statm's, as psutil reads it
    assert users == {os.getuid(): snapshot.user}  # one lookup per uid, kept


@linux
def test_it_agrees_with_psutil() -> None:
    busy = subprocess.Popen(  # a process that is using CPU while both read
        [sys.executable, "-c", "import time\nend = time.time() + 30\nwhile time.time() < end: pass"]
    )
    try:
        born = psutil.Process(busy.pid).create_time()
        before = read_processes()
        ours = read_proc()
        after = read_processes()
    finally:
        busy.kill()
        busy.wait()
    steady = set(before) & set(after)  # alive through both psutil readings
    assert steady <= set(ours) <= set(before) | set(after) | set(ours) and len(steady) > 2
    tick, page = 1 / user_hz(), os.sysconf("SC_PAGE_SIZE")
    for key in steady:
        mine, first, last = ours[key], before[key], after[key]
        assert first.cpu - tick <= mine.cpu <= last.cpu + tick, key
        low, high = sorted((first.rss, last.rss))
        assert low - page <= mine.rss <= high + page or key[0] == os.getpid(), key
        assert mine.name[:15] == first.name[:15] and mine.user == first.user, key  # comm: 15
    assert (busy.pid, born) in ours  # the same identity as psutil's
