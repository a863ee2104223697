"""What a displayed monitor leaves for the saved notebook's picture: its windows, kept in a file.

:class:`WindowsKeeper` writes a monitor's windows with
:func:`~iostat_widget.saved_picture.write_windows` at most every ``every`` seconds while new samples
come, and once more when the monitor stops, so the Jupyter server's pre-save hook
(:mod:`iostat_widget.jupyter_save`) draws what the monitor showed at most ``every`` seconds
before the save. Only a monitor that was displayed keeps a file (nothing else can be saved).
Writing costs one JSON dump of the windows (about a millisecond for 60 samples); failures are
counted (``failed``) and logged at debug level, never raised into the kernel.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from ..saved_picture import picture_directory, prune_windows, write_windows
from .feed import Feed
from .window_export import windows_runs

__all__ = ["WindowsKeeper"]

log = logging.getLogger(__name__)

#: Windows files older than this are removed when a monitor first writes: a week, seconds.
_STALE_FILES = 7 * 24 * 3600.0


class WindowsKeeper:
    """Keeps one monitor's windows in ``directory`` (default
    :func:`~iostat_widget.saved_picture.picture_directory`; none there: keeps nothing).

    ``clock`` is monotonic seconds (injectable); ``every`` the most often it writes, seconds.
    """

    def __init__(
        self,
        directory: Path | None = None,
        every: float = 2.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.directory = directory
        self.every = every
        self.clock = clock
        self.model_id: str | None = None  #: the widget's, once displayed (see :meth:`show`)
        self.written = 0  #: files written
        self.failed = 0  #: writes that failed
        self._last = -float("inf")
        self._written: tuple[object, ...] | None = None  #: what the last write held
        self._pruned = False

    @property
    def shown(self) -> bool:
        """Whether the monitor was displayed (a notebook may save it)."""
        return self.model_id is not None

    def show(self, model_id: str) -> None:
        """The monitor, widget ``model_id``, was displayed: from now on its windows are kept."""
        self.model_id = model_id

    def changed(self, title: str, feeds: Sequence[Feed]) -> None:
        """New samples: write if ``every`` seconds have passed since the last write."""
        if self.shown and self.clock() - self._last >= self.every:
            self.write(title, feeds)

    def flush(self, title: str, feeds: Sequence[Feed]) -> None:
        """Write what is not written yet (the monitor stops): whatever the windows hold now,
        even samples no update has drawn yet."""
        if self.shown and _newest(feeds) != self._written:
            self.write(title, feeds)

    def write(self, title: str, feeds: Sequence[Feed]) -> None:
        """Write the windows now (if displayed). Never raises."""
        self._last = self.clock()
        self._written = _newest(feeds)
        directory = self.directory or picture_directory()
        if directory is None or self.model_id is None:
            return
        try:
            write_windows(directory, self.model_id, title, windows_runs(feeds))
            self.written += 1
        except (OSError, ValueError, TypeError) as err:  # TypeError: a value JSON cannot hold
            self.failed += 1
            log.debug("iostat-widget: windows not kept for the saved picture", exc_info=err)
            return
        if not self._pruned:
            self._pruned = True
            prune_windows(directory, _STALE_FILES)


def _newest(feeds: Sequence[Feed]) -> tuple[object, ...]:
    """Which samples the windows end with (each feed's newest, by identity)."""
    return tuple(id(feed.window.newest) for feed in feeds)
