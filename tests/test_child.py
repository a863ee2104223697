"""The supervised child process: real programs, on a pseudo-terminal so they print as they go."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import sys
from collections.abc import Sequence
from pathlib import Path

import psutil
from websockets.asyncio.client import connect as ws_connect

from iostat_widget.server import Server
from iostat_widget.sources.child import ChildProcess
from iostat_widget.sources.command_sampler import command_sampler
from iostat_widget.sources.line_feed import CommandLines
from iostat_widget.sources.lines import Piece
from iostat_widget.sources.synthetic import SyntheticSampler

from .helpers import gone, unavailable, until

PY = sys.executable
# A plain environment: nothing that would make a program unbuffered on its own.
PLAIN_ENV = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}


def python(code: str) -> list[str]:
    """``code`` run by this Python, without ``-u``: its stdout is block-buffered on a pipe."""
    return [PY, "-c", code]


def program(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        unavailable(f"{name} is missing; install it with `apt-get install -y {name}`", name)
    return found


def our_children() -> list[psutil.Process]:
    return [p for p in psutil.Process().children(recursive=True) if not gone(p.pid)]


def lines(pieces: Sequence[Piece]) -> list[bytes]:
    return [piece.data for piece in pieces]


class Run:
    """A :class:`ChildProcess` collecting its pieces, closed on leaving the ``async with``."""

    def __init__(self, argv: Sequence[str], **options: object) -> None:
        self.pieces: list[Piece] = []
        options.setdefault("env", PLAIN_ENV)
        self.child = ChildProcess(argv, self.pieces.append, **options)  # type: ignore[arg-type]

    async def __aenter__(self) -> Run:
        await self.child.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.child.aclose()


async def test_an_unflushed_python_program_s_lines_arrive_as_it_prints_them() -> None:
    code = "import time\nprint('one')\ntime.sleep(0.3)\nprint('two')\ntime.sleep(60)\n"
    async with Run(python(code)) as run:
        await until(lambda: len(run.pieces) >= 2, limit=5)
        assert run.child.pid is not None  # still running: nothing waited for it to end
    assert lines(run.pieces) == [b"one\n", b"two\n"]
    assert all(piece.end for piece in run.pieces)


async def test_an_unflushed_perl_program_s_lines_arrive_as_it_prints_them() -> None:
    code = '$| = 0; print "tick 1\\n"; select(undef, undef, undef, 0.3);'
    code += ' print "tick 2\\n"; sleep 60'
    async with Run([program("perl"), "-e", code]) as run:
        await until(lambda: len(run.pieces) >= 2, limit=5)
        assert run.child.pid is not None
    assert lines(run.pieces) == [b"tick 1\n", b"tick 2\n"]


async def test_the_bytes_are_the_program_s_own_no_crlf_added() -> None:
    code = (
        "import os, sys, time\n"
        "sys.stdout.buffer.write(b'a\\nb\\r\\n\\tc\\x1b!\\n')\n"
        "print(sys.stdout.isatty(), os.environ.get('TERM'))\n"
        "time.sleep(60)\n"
    )
    async with Run(python(code)) as run:
        await until(lambda: len(run.pieces) >= 4, limit=5)
    assert lines(run.pieces) == [b"a\n", b"b\r\n", b"\tc\x1b!\n", b"True dumb\n"]


async def test_stderr_lines_go_to_last_error_not_to_the_pieces() -> None:
    code = (
        "import sys, time\n"
        "print('out 1')\n"
        "print('trouble here', file=sys.stderr, flush=True)\n"
        "print('out 2')\n"
        "time.sleep(60)\n"
    )
    async with Run(python(code)) as run:
        await until(lambda: len(run.pieces) >= 2 and run.child.last_error != "", limit=5)
    assert lines(run.pieces) == [b"out 1\n", b"out 2\n"]
    assert run.child.last_error == "trouble here" and list(run.child.stderr_tail) == [
        "trouble here"
    ]


async def test_every_line_printed_before_an_exit_arrives() -> None:
    # The tty's master end reports EIO once the child has gone: that is the end, not an error,
    # and what the child wrote just before is still delivered, an unfinished last line too.
    code = "import sys\nfor i in range(2000): print(f'line {i}')\n"
    code += "print('tail', end='')\nsys.exit(4)"
    async with Run(python(code), backoff=(60.0, 60.0)) as run:
        await until(lambda: run.child.exits == 1, limit=10)
        assert run.child.last_returncode == 4 and run.child.last_error == ""
    expected = [f"line {i}\n".encode() for i in range(2000)] + [b"tail"]
    assert lines(run.pieces) == expected and run.child.starts == 1


async def test_no_file_descriptor_leaks_across_restarts() -> None:
    me = psutil.Process()
    code = "import sys\nprint('hello')\nprint('oops', file=sys.stderr)\nsys.exit(1)"
    async with Run(python(code), backoff=(0.01, 0.01), healthy_after=60.0) as warm:
        await until(lambda: warm.child.exits >= 1, limit=10)  # the loop's own fds are made
    await asyncio.sleep(0.05)
    before = me.num_fds()
    async with Run(python(code), backoff=(0.01, 0.01), healthy_after=60.0) as run:
        await until(lambda: run.child.exits >= 8, limit=20)
    await asyncio.sleep(0.05)  # transports close their pipes on the loop's next turn
    assert me.num_fds() <= before
    assert lines(run.pieces)[:3] == [b"hello\n"] * 3 and run.child.last_error == "oops"


async def test_no_file_descriptor_leaks_when_the_program_cannot_start(tmp_path: Path) -> None:
    broken = tmp_path / "broken"
    broken.write_text("#!/nonexistent/interpreter\n")
    broken.chmod(0o755)  # on PATH terms it exists; starting it fails every time
    me = psutil.Process()
    before = me.num_fds()
    async with Run([str(broken)], backoff=(0.01, 0.01)) as run:
        await until(lambda: run.child.last_error.startswith("cannot start broken"), limit=5)
        await asyncio.sleep(0.2)  # several failed starts
    assert run.child.starts == 0 and me.num_fds() <= before


async def test_close_kills_the_child_and_what_it_started() -> None:
    code = (
        "import subprocess, sys, time\n"
        "grandchild = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'])\n"
        "print(grandchild.pid)\n"
        "time.sleep(60)\n"
    )
    async with Run(python(code)) as run:
        await until(lambda: len(run.pieces) >= 1, limit=5)
        pid = run.child.pid
        assert pid is not None and os.getpgid(pid) == pid  # a process group of its own
        grandchild = int(run.pieces[0].text)
        assert not gone(grandchild)
    assert gone(pid) and our_children() == []
    await until(lambda: gone(grandchild), limit=5)  # killed; its new parent reaps it
    assert run.child.pid is None


async def test_a_huge_line_and_a_flood_cost_bounded_pieces() -> None:
    code = (
        "import sys, time\n"
        "out = sys.stdout.buffer\n"
        "out.write(b'x' * 3_000_000 + b'\\n')\n"
        "for i in range(20000): out.write(b'%d\\n' % i)\n"
        "out.write(b'done\\n')\n"
        "out.flush()  # a binary stream is block-buffered even on a terminal\n"
        "time.sleep(60)\n"
    )
    async with Run(python(code), max_piece=4096) as run:
        await until(lambda: bool(run.pieces) and run.pieces[-1].data == b"done\n", limit=20)
    assert max(len(piece.data) for piece in run.pieces) <= 4096
    long = b"".join(piece.data for piece in run.pieces[: 3_000_001 // 4096 + 1])
    assert long == b"x" * 3_000_000 + b"\n"
    assert lines(run.pieces)[-20001:-1] == [b"%d\n" % i for i in range(20000)]


async def test_without_a_terminal_the_output_comes_through_a_pipe() -> None:
    code = "import sys\nprint(sys.stdout.isatty(), flush=True)\nimport time; time.sleep(60)"
    async with Run(python(code), use_pty=False) as run:
        await until(lambda: len(run.pieces) >= 1, limit=5)
    assert lines(run.pieces) == [b"False\n"]


async def test_lines_endpoint_streams_an_unflushed_program_as_it_prints() -> None:
    code = "import itertools, time\nfor i in itertools.count():\n"
    code += "    print('tick', i)\n    time.sleep(0.2)"
    source = CommandLines(python(code), env=PLAIN_ENV)
    server = Server("127.0.0.1", 0, interval=0.05, sampler=SyntheticSampler(), line_source=source)
    async with server, ws_connect(server.line_url, close_timeout=2) as ws:
        async with asyncio.timeout(5):
            got = [json.loads(await ws.recv())["line"] for _ in range(3)]
    assert got == ["tick 0", "tick 1", "tick 2"]


async def test_the_system_tools_report_on_a_terminal_without_colours() -> None:
    for source in ("iostat", "vmstat"):
        program(source)
        sampler = command_sampler(source, interval=1)
        await sampler.start()  # waits for the first reading after the since-boot one
        try:
            assert sampler.latest is not None, source
        finally:
            await sampler.aclose()
        assert sampler.garbage == 0 and sampler.child.last_error == "", source
    assert our_children() == []
