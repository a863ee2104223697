"""``MonitorText`` in real JupyterLab, in Chromium: the age counts up in the browser with no kernel
message, ``live`` turns ``stale`` after 3 intervals and back on the next update, ``stopped`` does
not tick, heartbeats keep a stale line from reading "no kernel", and once the kernel is shut down
the line says so. Read off the DOM; screenshots in light and dark theme, narrow and wide.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page

from .browser import JupyterLab, http_json, launch_chromium, open_notebook, watch_page

pytestmark = pytest.mark.browser

REPO = Path(__file__).resolve().parents[1]
ARTIFACTS = REPO / "test-artifacts"
NOTEBOOK = "monitor_text_check.ipynb"
URL = "ws://db-1.example.org:8765/iostat"
INTERVAL = 0.5  # seconds: stale after 1.5 s, "no kernel" after max(1.5, 3) + 2 = 5 s of silence
LINE = ".iostat-status-line"

CELLS = [
    "from iostat_widget.widget.monitor_text import MonitorText, feed_status\n\n"
    "bar = MonitorText()\nbar",
    f'bar.show([feed_status("{URL}", "live", samples=4, age=0.0, interval={INTERVAL})])',
    f'bar.show([feed_status("{URL}", "live", samples=5, age=0.05, interval={INTERVAL})])',
    # the kernel's heartbeat, from a thread as the monitor's background loop would send it
    "import threading\n\nquiet = threading.Event()\n\n\ndef beat():\n"
    f"    while not quiet.wait({INTERVAL}):\n        bar.heartbeat()\n\n\n"
    "threading.Thread(target=beat, daemon=True).start()",
    f'bar.show([feed_status("{URL}", "stopped", samples=6, age=0.2, interval={INTERVAL})])',
    # what the screenshots show: every kind of line, a long label, a token, an error
    "bar.show([\n"
    '    feed_status("ws://db-1.example.org:8765/iostat", "live", samples=84, age=0.3,'
    " interval=60),\n"
    '    feed_status("ws://web-2.example.org:8765/iostat", "live", samples=40, age=7.0,'
    " interval=1),\n"
    '    feed_status("wss://a-very-long-host-name.cluster-7.internal.example.org:8765/iostat'
    '?token=s3cret", "reconnecting", samples=12, invalid=2, age=42.0, interval=1,'
    " error=\"connection refused: [Errno 111] Connect call failed ('10.0.0.7', 8765)\"),\n"
    '    feed_status("embedded", "stopped", samples=300, age=0.9, interval=1, errors=1,'
    ' error="update failed: ValueError: <b>not markup</b>"),\n'
    "])",
    "quiet.set()\n"
    f'bar.show([feed_status("{URL}", "live", samples=7, age=0.0, interval={INTERVAL})])',
]

#: Every comm message the page receives from the kernel, on the page's clock (performance.now).
RECORD_MESSAGES = """() => {
    const kernel = window.jupyterapp.shell.currentWidget.sessionContext.session.kernel;
    window.statusMessages = [];
    kernel.anyMessage.connect((_, args) => {
        if (args.direction === "recv" && args.msg.header.msg_type === "comm_msg") {
            window.statusMessages.push(performance.now());
        }
    });
}"""

#: The status lines every 50 ms for `ms` ms: [{t (ms, page clock), state, text}].
SAMPLE_LINES = """async (ms) => {
    const out = [];
    const end = performance.now() + ms;
    while (performance.now() < end) {
        const t = performance.now();
        for (const line of document.querySelectorAll(".iostat-status-line")) {
            out.push({ t, state: line.dataset.state, text: line.textContent });
        }
        await new Promise((resolve) => setTimeout(resolve, 50));
    }
    return out;
}"""

FIRST_LINE = "() => document.querySelector('.iostat-status-line')"


@pytest.fixture
def lab_page(tmp_path: Path) -> Iterator[Page]:
    with launch_chromium(tmp_path / "profile") as context:
        page = context.new_page()
        page.set_viewport_size({"width": 1400, "height": 900})
        yield page


def write_notebook(root: Path) -> None:
    """``CELLS`` as an nbformat 4 notebook (written as JSON: nbformat's API is untyped)."""
    cells: list[dict[str, Any]] = [
        {"cell_type": "code", "id": f"cell-{i}", "metadata": {}, "source": source,
         "outputs": [], "execution_count": None}
        for i, source in enumerate(CELLS)
    ]  # fmt: skip
    notebook = {
        "nbformat": 4,
        "nbformat_minor": 5,
        "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3"}},
        "cells": cells,
    }
    (root / NOTEBOOK).write_text(json.dumps(notebook, indent=1))


def run_cell(page: Page, index: int) -> float:
    """Run cell ``index`` until the kernel replies; the page's clock (ms) when it was sent."""
    return float(
        page.evaluate(
            f"""async () => {{
                const panel = window.jupyterapp.shell.currentWidget;
                panel.content.activeCellIndex = {index};
                const sent = performance.now();
                await window.jupyterapp.commands.execute("notebook:run-cell");
                return sent;
            }}"""
        )
    )


def messages_since(page: Page, t: float) -> list[float]:
    """When comm messages arrived after ``t`` (page clock, ms)."""
    return [float(x) for x in page.evaluate(f"window.statusMessages.filter((x) => x > {t})")]


def age_of(text: str) -> float:
    match = re.search(r"age (\d+(?:\.\d)?) s", text)
    assert match, text
    return float(match.group(1))


def wait_line(page: Page, condition: str, timeout: float = 5_000) -> dict[str, Any]:
    """Wait until the first line satisfies ``condition`` (JS over ``line``); its state and text."""
    page.wait_for_function(
        f"() => {{ const line = ({FIRST_LINE})(); return !!line && ({condition}); }}",
        timeout=timeout,
    )
    found: dict[str, Any] = page.evaluate(
        f"() => {{ const line = ({FIRST_LINE})();"
        " return { t: performance.now(), state: line.dataset.state, text: line.textContent }; }"
    )
    return found


def set_theme(page: Page, dark: bool) -> None:
    theme = "JupyterLab Dark" if dark else "JupyterLab Light"
    page.evaluate(
        f"() => window.jupyterapp.commands.execute('apputils:change-theme', {{theme: '{theme}'}})"
    )
    page.wait_for_function(
        f"() => document.body.dataset.jpThemeLight === '{'false' if dark else 'true'}'",
        timeout=10_000,
    )
    page.wait_for_timeout(300)  # the theme's stylesheet swaps in after the flag


def overflow(page: Page) -> dict[str, float]:
    """How far the status lines reach past its output area, and the output's width (px)."""
    result: dict[str, float] = page.evaluate(
        """() => {
            const bar = document.querySelector(".iostat-monitor-text");
            const output = bar.closest(".jp-OutputArea-output");
            const lines = [...bar.querySelectorAll(".iostat-status-line")];
            const right = Math.max(...lines.map((l) => l.getBoundingClientRect().right));
            return {
                output_width: output.getBoundingClientRect().width,
                past_output: right - output.getBoundingClientRect().right,
                scroll_excess: Math.max(bar.scrollWidth - bar.clientWidth,
                    output.scrollWidth - output.clientWidth),
            };
        }"""
    )
    return result


def screenshot(page: Page, name: str) -> Path:
    output = page.locator(".jp-OutputArea-output", has=page.locator(".iostat-monitor-text"))
    output.scroll_into_view_if_needed()
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    output.screenshot(path=path)
    return path


def test_monitor_text_keeps_time_in_the_browser_and_notices_a_gone_kernel(
    jupyter_lab: JupyterLab, lab_page: Page, tmp_path: Path
) -> None:
    write_notebook(tmp_path)  # the fixture's JupyterLab serves tmp_path
    page = lab_page
    watch = watch_page(page)
    open_notebook(page, jupyter_lab, NOTEBOOK)
    page.evaluate(RECORD_MESSAGES)

    run_cell(page, 0)
    page.wait_for_selector(".iostat-monitor-text", state="attached", timeout=30_000)

    # -- live at age 0: the age counts up with no message from the kernel, then reads stale
    sent = run_cell(page, 1)
    wait_line(page, "line.dataset.state === 'live'")
    arrived = messages_since(page, sent)[0]
    samples = page.evaluate(SAMPLE_LINES, 2200)
    assert messages_since(page, arrived) == [], "the kernel sent something while ages counted"
    ages = [(s["t"] - arrived, age_of(s["text"]), s["state"]) for s in samples]
    shown = [age for _, age, _ in ages]
    assert shown == sorted(shown), shown  # never backwards
    assert len(set(shown)) >= 7, shown  # 250 ms ticks over 2.2 s
    for elapsed, age, state in ages:
        assert abs(age - elapsed / 1000) <= 0.4, (elapsed, age)  # one tick + rounding
        assert state == ("live" if age <= 3 * INTERVAL else "stale"), (elapsed, age, state)
    stale_at = min(t for t, _, state in ages if state == "stale") / 1000
    assert 3 * INTERVAL <= stale_at <= 3 * INTERVAL + 0.6, stale_at  # one tick + load
    assert samples[-1]["text"].startswith(f"{URL} · stale · 4 samples · age ")

    # -- a new update: live again, with a small age
    run_cell(page, 2)
    back = wait_line(page, "line.dataset.state === 'live'")
    assert "5 samples" in back["text"] and age_of(back["text"]) < 0.5, back
    feeds_at = messages_since(page, sent)[-1]

    # -- heartbeats only: stale (the age is real), but never "no kernel" past the 5 s limit
    run_cell(page, 3)
    page.wait_for_function(f"() => performance.now() > {feeds_at} + 5800", timeout=10_000)
    beating = wait_line(page, "true")
    assert beating["state"] == "stale", beating
    assert len(messages_since(page, feeds_at)) >= 8, "heartbeats did not arrive"

    # -- stopped: no ticking age (while beats keep coming)
    run_cell(page, 4)
    stopped = wait_line(page, "line.dataset.state === 'stopped'")
    lines = page.evaluate(SAMPLE_LINES, 1200)
    assert {line["text"] for line in lines} == {stopped["text"]} == {f"{URL} · stopped · 6 samples"}

    # -- every kind of line, light and dark, wide and narrow
    run_cell(page, 5)
    page.wait_for_function("() => document.querySelectorAll('.iostat-status-line').length === 4")
    texts = [line["text"] for line in page.evaluate(SAMPLE_LINES, 60)]
    assert texts[1].startswith("ws://web-2.example.org:8765/iostat · stale · 40 samples"), texts
    assert "token=***" in texts[2] and "s3cret" not in texts[2], texts
    assert texts[3].endswith("update failed: ValueError: <b>not markup</b>"), texts  # as text
    assert page.locator(".iostat-monitor-text b").count() == 4  # only the state words are bold
    shots, widths = [], {}
    page.evaluate(
        "() => { window.jupyterapp.shell.collapseLeft(); window.jupyterapp.shell.collapseRight(); }"
    )
    for dark in (False, True):
        set_theme(page, dark)
        for width in (1400, 600):
            page.set_viewport_size({"width": width, "height": 900})
            page.wait_for_timeout(300)
            reach = overflow(page)
            widths[width] = reach["output_width"]
            assert reach["past_output"] <= 0.5 and reach["scroll_excess"] <= 0, (width, reach)
            shots.append(screenshot(page, f"status-bar-{'dark' if dark else 'light'}-{width}"))
    assert 440 <= widths[600] <= 520, widths  # the narrow case is a ~500 px output
    set_theme(page, False)
    page.set_viewport_size({"width": 1400, "height": 900})

    # -- the kernel goes away: within max(3 * 0.5, 3) + 2 = 5 s of its last message, "no kernel"
    run_cell(page, 6)
    wait_line(page, "line.dataset.state === 'live' && line.textContent.includes('7 samples')")
    page.wait_for_timeout(700)  # a beat already on its way when `quiet` was set lands by now
    last = page.evaluate("window.statusMessages[window.statusMessages.length - 1]")
    shutdown = page.evaluate(
        """async () => {
            const t = performance.now();
            await window.jupyterapp.commands.execute("kernelmenu:shutdown");
            return t;
        }"""
    )
    gone = wait_line(page, "line.dataset.state === 'no kernel'", timeout=10_000)
    lab = jupyter_lab
    assert http_json(f"{lab.base}/api/kernels?token={lab.token}") == [], "the kernel is still up"
    silent = (gone["t"] - last) / 1000
    assert 5.0 <= silent <= 5.8, silent  # the limit plus one 250 ms tick, a poll, some load
    assert (gone["t"] - shutdown) / 1000 <= 6.0
    assert re.search(
        r"· no kernel · 7 samples · age \d\.\d s · kernel not responding", gone["text"]
    )
    page.set_viewport_size({"width": 600, "height": 900})
    for dark in (False, True):
        set_theme(page, dark)
        shots.append(screenshot(page, f"status-bar-no-kernel-{'dark' if dark else 'light'}-600"))
    assert all(shot.stat().st_size > 1000 for shot in shots)
    print(  # what was measured, for the log (pytest -s)
        f"stale after {stale_at:.2f} s; no kernel {silent:.2f} s after the last message,"
        f" {(gone['t'] - shutdown) / 1000:.2f} s after shutdown; output widths {widths}"
    )
    assert watch.problems == []
