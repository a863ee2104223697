"""The 2010 write-up's scale table, recomputed from bytes measured on real sockets.

The write-up multiplied a message size by 10,000 clients (or frames) per second and quoted the
result in 1024-based units (871 B -> "66 Mbps", 2 B -> "156 Kbps"). :func:`at_scale` does the
same arithmetic for any measured size and gives both those units and SI ones, so a measured row
and the write-up's rows can be read side by side.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "WRITEUP_CLIENTS",
    "WRITEUP_FRAME_BYTES",
    "WRITEUP_POLL_BYTES",
    "ScaleRow",
    "at_scale",
    "binary_rate",
]

#: The write-up's figures: one polling request+response, one WebSocket frame, clients per second.
WRITEUP_POLL_BYTES = 871
WRITEUP_FRAME_BYTES = 2
WRITEUP_CLIENTS = 10_000


@dataclass(frozen=True)
class ScaleRow:
    """Traffic when ``clients`` each move ``bytes_per_message`` bytes ``per_second`` times."""

    label: str
    bytes_per_message: float
    clients: int
    per_second: float

    @property
    def bytes_per_second(self) -> float:
        return self.bytes_per_message * self.clients * self.per_second

    @property
    def bits_per_second(self) -> float:
        return 8.0 * self.bytes_per_second

    @property
    def megabits_si(self) -> float:
        """Mbit/s with 1 Mbit = 1,000,000 bits."""
        return self.bits_per_second / 1e6

    def row(self) -> dict[str, float | str]:
        """A table row: per message, per second, and the rate in both unit systems."""
        return {
            "": self.label,
            "bytes/message": round(self.bytes_per_message, 1),
            "bytes/s": round(self.bytes_per_second),
            "bits/s": round(self.bits_per_second),
            "as the write-up writes it": binary_rate(self.bits_per_second),
            "Mbit/s (SI)": round(self.megabits_si, 3),
        }


def at_scale(
    label: str,
    bytes_per_message: float,
    *,
    clients: int = WRITEUP_CLIENTS,
    per_second: float = 1.0,
) -> ScaleRow:
    """The row for ``clients`` messages of ``bytes_per_message`` each, ``per_second`` times."""
    if bytes_per_message < 0 or clients < 0 or per_second < 0:
        raise ValueError("sizes and rates must not be negative")
    return ScaleRow(label, float(bytes_per_message), clients, float(per_second))


def binary_rate(bits_per_second: float) -> str:
    """A rate in 1024-based units, rounded like the write-up: ``"66 Mbps"``, ``"156 Kbps"``."""
    units = ("bps", "Kbps", "Mbps", "Gbps")
    value, step = bits_per_second, 0
    while value >= 1024 and step < len(units) - 1:
        value /= 1024
        step += 1
    return f"{value:.0f} {units[step]}"
