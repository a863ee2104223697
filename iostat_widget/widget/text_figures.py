"""A monitor's headline figures and table of recent samples, as the HTML its text widget shows.

:class:`TextFigures` re-renders only what new samples change: the table writes each sample's row
once and keeps it while the sample is shown; with several hosts, only the headline rows of hosts
that ticked are written again. The busiest processes' table (``top``) goes above the samples'
table, from the first host's newest sample. The HTML itself comes from :mod:`.table` and
:mod:`.top_table`.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any

from ..schema import Sample
from ..sources.process_cost import ProcessCost
from .table import (
    headline_row,
    render_headline,
    render_headline_rows,
    render_table,
    render_table_rows,
    table_row,
)
from .top_table import render_top
from .window import SampleWindow

__all__ = ["TextFigures"]


class TextFigures:
    """The headline (``headline``) and table (``table``) HTML of ``hosts``' samples: ``rows``
    rows, newest first (every host's, by time, with a host column when there are several), and
    the ``top`` busiest processes above them (0: none)."""

    def __init__(self, hosts: Sequence[str], rows: int, top: int = 0) -> None:
        self.hosts = list(hosts)
        self.rows = rows
        self.top = top
        self._several = len(self.hosts) > 1
        self._top_table = render_top(None, top) if top else ""
        self._headline_rows = [headline_row(n, None, host) for n, host in enumerate(self.hosts)]
        self._written_rows: dict[int, tuple[Sample, str]] = {}  #: id(sample): (sample, its row)
        self.headline = render_headline([None] * len(self.hosts), self.hosts)  #: HTML
        self.table = self._top_table + render_table([], show_host=self._several)  #: HTML

    def update(
        self,
        windows: Sequence[SampleWindow],
        changed: Collection[int],
        kernel: ProcessCost | None = None,
    ) -> None:
        """New samples in the feeds numbered ``changed`` of ``windows`` (one per host);
        ``kernel``: this kernel's newest cost, for its headline figure."""
        newest = windows[0].newest
        if self.top and 0 in changed:
            self._top_table = render_top(newest, self.top)
        self.table = self._top_table + self._render_table(windows)
        if not self._several:
            self.headline = render_headline([newest], self.hosts, kernel)
            return
        for number in changed:  # re-render only the rows of hosts that ticked
            host = self.hosts[number]
            self._headline_rows[number] = headline_row(number, windows[number].newest, host)
        self.headline = render_headline_rows(self._headline_rows, kernel)

    def _table_rows(self, windows: Sequence[SampleWindow]) -> list[Any]:
        if not self._several:
            return list(windows[0].rows(self.rows))
        rows = [sample for window in windows for sample in window.rows(self.rows)]
        return sorted(rows, key=lambda sample: sample["t"], reverse=True)[: self.rows]

    def _render_table(self, windows: Sequence[SampleWindow]) -> str:
        """The table, each row written once: a new sample adds one row, the rest are kept."""
        written: dict[int, tuple[Sample, str]] = {}
        for sample in self._table_rows(windows):
            # The cache holds the sample too, so no other sample can have its id meanwhile.
            kept = self._written_rows.get(id(sample))
            written[id(sample)] = kept or (sample, table_row(sample, show_host=self._several))
        self._written_rows = written
        return render_table_rows([row for _, row in written.values()], self._several)
