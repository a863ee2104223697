"""Numbers as text: the widget (``iostat_widget.widget.formats``) prints what the page
(``js/samples.js``) prints. Both read ``fixtures/formats.json``; the JS half runs under Node."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from iostat_widget.widget.formats import format_percent, format_rate, format_time

from .helpers import run_node
from .test_gaps import SAMPLES_JS

FIXTURE = Path(__file__).parent / "fixtures" / "formats.json"
CASES: dict[str, Any] = json.loads(FIXTURE.read_text(encoding="utf-8"))
PYTHON: dict[str, Callable[[Any], str]] = {
    "formatRate": format_rate,
    "formatPercent": format_percent,
    "formatTime": format_time,
}


@pytest.mark.parametrize("name", list(PYTHON))
def test_python_prints_what_the_fixture_says(name: str) -> None:
    got = [[value, PYTHON[name](value)] for value, _ in CASES[name]]
    assert got == CASES[name]


def test_the_page_prints_the_same() -> None:
    script = (
        f"import * as m from {json.dumps(SAMPLES_JS.as_uri())};\n"
        f"const cases = {json.dumps({name: CASES[name] for name in PYTHON})};\n"
        "const out = {};\n"
        "for (const [name, list] of Object.entries(cases))"
        " out[name] = list.map(([value]) => [value, m[name](value)]);\n"
        "console.log(JSON.stringify(out));\n"
    )
    assert run_node(script) == {name: CASES[name] for name in PYTHON}


def test_the_widgets_monitor_text_writes_ages_as_the_page_does() -> None:
    bar = Path(__file__).parents[1] / "iostat_widget" / "widget" / "monitor_text.js"
    script = (
        f"import * as page from {json.dumps(SAMPLES_JS.as_uri())};\n"
        f"import * as bar from {json.dumps(bar.as_uri())};\n"
        f"const cases = {json.dumps(CASES['formatAge'])};\n"
        "const ages = cases.map(([v]) => [v, page.formatAge(v), bar.formatAge(v)]);\n"
        "console.log(JSON.stringify(ages));\n"
    )
    assert run_node(script) == [[value, text, text] for value, text in CASES["formatAge"]]
