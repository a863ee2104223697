"""Token redaction, pure: text, log records, and a module that loads nothing else."""

from __future__ import annotations

import logging
import subprocess
import sys

import pytest

from iostat_widget.redaction import TokenRedactor, without_token


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("GET /iostat?token=abc123 HTTP/1.1", "GET /iostat?token=*** HTTP/1.1"),
        ("/poll?after=3&token=abc&timeout=1", "/poll?after=3&token=***&timeout=1"),
        ("Authorization: Bearer abc.def", "Authorization: Bearer ***"),
        ("nothing secret here", "nothing secret here"),
    ],
)
def test_without_token(text: str, expected: str) -> None:
    assert without_token(text) == expected


def test_redactor_blanks_message_and_arguments() -> None:
    record = logging.LogRecord(
        "x", logging.INFO, __file__, 1, "< GET %s token=%s", ("/a?token=k1", "k2"), None
    )
    assert TokenRedactor().filter(record)
    assert record.getMessage() == "< GET /a?token=*** token=***"


def test_importing_redaction_loads_nothing_else_of_the_package() -> None:
    code = (
        "import sys, iostat_widget.redaction; "
        "print(sorted(m for m in sys.modules if m.startswith('iostat_widget')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    loaded = set(eval(out.stdout))
    assert loaded - {"iostat_widget", "iostat_widget._version"} == {"iostat_widget.redaction"}
