"""A pseudo-terminal for a child's stdout, so that it writes each line as it ends it.

A program writing to a pipe usually keeps its output in a 4-8 KiB buffer (the C library's stdio,
Python's ``print``), so its lines would come minutes late; on a terminal it writes each line as
it ends it (as under ``script`` or ``unbuffer``). The terminal is in raw mode, so the bytes read
are the program's own (no ``"\n"`` made ``"\r\n"``, no echo); it is not the child's controlling
terminal, and reports a window of 50 rows by 200 columns. A program that checks ``isatty`` may
still behave differently than on a pipe, so its environment gets :data:`TERMINAL_ENV`
(``TERM=dumb``, ``NO_COLOR=1``, ``S_COLORS=never`` for sysstat, ``PAGER=cat``): no colours,
cursor moves or pager. Where there is no pseudo-terminal (Windows, or none left to open),
:func:`open_terminal` gives ``None`` and the caller reads a pipe.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import os
import struct
import sys
from collections.abc import Callable
from typing import Final

if sys.platform != "win32":
    import fcntl
    import pty
    import termios
    import tty

from .lines import LineSplitter, Piece

__all__ = ["TERMINAL_ENV", "open_terminal", "read_terminal"]

log = logging.getLogger(__name__)

_READ_CHUNK = 64 * 1024
#: What a program that sees a terminal is told about it: plain text, no pager.
TERMINAL_ENV: Final = {"TERM": "dumb", "NO_COLOR": "1", "S_COLORS": "never", "PAGER": "cat"}
_WINDOW: Final = (50, 200)  # rows, columns


def open_terminal() -> tuple[int, int] | None:
    """A pseudo-terminal's ``(master, slave)`` fds, slave in raw mode; ``None`` where none opens."""
    if sys.platform == "win32":
        return None
    try:
        master, slave = pty.openpty()
    except OSError as err:
        log.warning("no pseudo-terminal (%s); reading the command through a pipe", err)
        return None
    try:
        tty.setraw(slave)  # the bytes as written: no "\r\n" for "\n", no echo, no signals
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", *_WINDOW, 0, 0))
        os.set_blocking(master, False)
    except OSError as err:
        os.close(master)
        os.close(slave)
        log.warning("cannot set up a pseudo-terminal (%s); reading through a pipe", err)
        return None
    return master, slave


async def read_terminal(
    fd: int, splitter: LineSplitter, handle: Callable[[Piece], None], name: str
) -> None:
    """Read a terminal's master end (non-blocking ``fd``) until every slave end is closed,
    handing each line piece of ``splitter`` to ``handle`` (``name``: the program, for the log).

    One bounded read per wake-up, so a flood yields to the loop and waits in the kernel's
    buffer (the child blocks) rather than in memory. Linux reports the closed slave as EIO
    (after the bytes still buffered), other systems as end of file: both end the stream.
    """
    loop = asyncio.get_running_loop()
    readable = asyncio.Event()
    loop.add_reader(fd, readable.set)
    try:
        while True:
            await readable.wait()
            readable.clear()
            try:
                chunk = os.read(fd, _READ_CHUNK)
            except BlockingIOError:
                continue
            except OSError as err:
                if err.errno != errno.EIO:
                    log.warning("reading %s's output failed: %s", name, err)
                break
            if not chunk:
                break
            for piece in splitter.feed(chunk):
                handle(piece)
    finally:
        loop.remove_reader(fd)
    for piece in splitter.flush():
        handle(piece)
