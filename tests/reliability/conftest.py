"""Marks every test in this folder ``reliability`` so the suite can be selected or left out.

These tests run real servers and hundreds of sockets for tens of seconds; ``-m "not reliability"``
keeps the everyday run short, ``-m reliability`` runs only them.
"""

from __future__ import annotations

from pathlib import Path

import pytest

_HERE = Path(__file__).resolve().parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if _HERE in Path(item.path).resolve().parents:
            item.add_marker(pytest.mark.reliability)
