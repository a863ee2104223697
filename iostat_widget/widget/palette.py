"""The widget's colours, shared by the charts' lines and the legends and figures that name them.

CSS colour strings, chosen to read on JupyterLab's light and dark themes alike (mid tones: bqplot
takes one colour per line, not one per theme). The CPU chart's fills are opaque because the us
area is drawn over the us+sy area: translucent fills would mix into a third colour.
"""

from __future__ import annotations

from typing import Final

__all__ = [
    "HOSTS",
    "KERNEL_LINE",
    "LINES",
    "SYSTEM_FILL",
    "SYSTEM_LINE",
    "USER_FILL",
    "USER_LINE",
    "host_colour",
]

USER_LINE: Final = "#2563eb"
USER_FILL: Final = "#6f9ef0"
SYSTEM_LINE: Final = "#d97706"
SYSTEM_FILL: Final = "#f5b545"
#: A chart's lines for one host, in the order of its rows (read/write, rx/tx, used).
LINES: Final = ("#2563eb", "#ea580c", "#16a34a")
#: This kernel's own cost, drawn over the machine's lines in the CPU and memory charts.
KERNEL_LINE: Final = "#db2777"
#: One colour per host when a monitor watches several (hosts past eight reuse them).
HOSTS: Final = (
    "#2563eb",
    "#ea580c",
    "#16a34a",
    "#db2777",
    "#7c3aed",
    "#0891b2",
    "#a16207",
    "#64748b",
)


def host_colour(number: int) -> str:
    """The line colour of host ``number`` (its place among the monitor's feeds)."""
    return HOSTS[number % len(HOSTS)]
