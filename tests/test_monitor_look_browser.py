"""How ``Monitor()`` looks and behaves in real JupyterLab, in Chromium, in light and dark theme
and at 600 and 1400 px output widths (issue 11): every chart draws with nothing printed into any
cell, the age counts up in the browser and ``stop()`` freezes it, a re-run cell leaves one live
monitor, and the layout holds (no scrollbar, no overlapping or repeated tick labels, legends off
the plot, a lone sample drawn, a compact time column, "1 sample"). Read off the DOM; every
combination is screenshotted, two of them for the README.

One JupyterLab server, kernel and browser page serve the whole module; each combination switches
theme and viewport in place and starts from a kernel without monitors. Faults are collected, not
raised one by one, so a failure lists everything that is wrong in that combination.
"""

from __future__ import annotations

import itertools
import json
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Error, Page
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from .browser import (
    PageWatch,
    launch_chromium,
    open_notebook,
    run_cell,
    running_jupyter_lab,
    watch_page,
)
from .test_lab_browser import NOTEBOOK
from .test_monitor_text_browser import set_theme

pytestmark = pytest.mark.browser

REPO = Path(__file__).resolve().parents[1]
ARTIFACTS = REPO / "test-artifacts"
README_IMAGES = {
    ("light", 1400): REPO / "docs" / "images" / "monitor-light-wide.png",
    ("dark", 600): REPO / "docs" / "images" / "monitor-dark-narrow.png",
}
INTERVAL = 0.5  # seconds between samples of the embedded server
WINDOW = 20  # samples on the charts: a 9.5 s time axis
HEIGHT = 1700  # viewport height (px): the whole four-chart monitor fits at 600 px wide
TOLERANCE = 60  # px the output area's width may miss its target by

RESET, MAIN, COUNT, SMALL, STOP = range(5)
CELLS = [
    # every monitor in the kernel, found without trusting the package's own bookkeeping
    "import gc\n\nfrom iostat_widget import Monitor\n\n\n"
    "def monitors():\n"
    "    return [o for o in gc.get_objects() if type(o) is Monitor]  # no weak proxies\n\n\n"
    "def running():\n"
    "    return sum(1 for monitor in monitors() if monitor.running)\n\n\n"
    "for each in monitors():\n"
    "    each.close()\n"
    "print('running monitors:', running())",
    f"monitor = Monitor(charts=('cpu', 'disk', 'net', 'mem'), window={WINDOW}, rows=5,"
    f" interval={INTERVAL})\nmonitor",
    "print('running monitors:', running())",
    "small = Monitor(window=1, charts=('cpu', 'mem'))\nsmall",
    "monitor.stop()\nsmall.stop()\nprint('running monitors:', running())",
]

#: A status line as the monitor writes it: where, state, "N samples", then the age while running.
STATUS = re.compile(
    r"^(?P<label>\S+) · (?P<state>live|stale|connecting|reconnecting|stopped|no kernel)"
    r" · (?P<samples>\d+) (?P<word>samples?)(?: · age (?P<age>[^·]+?))?(?: · .*)?$"
)

#: JS: the output element of cell `index`: the first with a widget, else the first (or null).
OUTPUT = """(index) => {
    const panel = window.jupyterapp.shell.currentWidget;
    const cell = panel.content.widgets[index];
    return cell.node.querySelector(".jp-OutputArea-output:has(.jupyter-widgets)")
        || cell.node.querySelector(".jp-OutputArea-output");
}"""

#: The status lines in `root`: elements whose text reads like one (``MonitorText``'s lines, or the
#: blocks of an HTML widget), by their text content, so off-screen cells count too.
LINES_IN = """(root) => [...root.querySelectorAll(".iostat-status-line, .widget-html-content > *")]
    .map((line) => line.textContent.replace(/\\s+/g, " ").trim())
    .filter((line) => /^\\S+ · [a-z ]+ · \\d+ samples?/.test(line))"""

#: The status texts of cell `index`'s output.
STATUS_TEXTS = f"""(index) => {{
    const output = ({OUTPUT})(index);
    return output ? ({LINES_IN})(output) : [];
}}"""

#: Start recording cell `index`'s status texts every 25 ms, with whether its CPU chart (the first
#: figure) shows a drawn line or area (wider than 1 px) at that moment.
RECORD = f"""(index) => {{
    window.lookRecord = [];
    const statusTexts = {STATUS_TEXTS};
    const output = {OUTPUT};
    window.lookTimer = setInterval(() => {{
        const out = output(index);
        const figure = out && out.querySelector(".bqplot.figure");
        const paths = figure ? [...figure.querySelectorAll("path.line, path.area")] : [];
        const drawn = paths.some((p) => (p.getAttribute("d") || "").length > 0
            && p.getBoundingClientRect().width > 1);
        window.lookRecord.push({{ t: performance.now(), texts: statusTexts(index), drawn }});
    }}, 25);
}}"""

STOP_RECORD = "() => { clearInterval(window.lookTimer); return window.lookRecord; }"

#: Everything that was printed as an error into any cell: stderr streams and tracebacks, from the
#: notebook's model and from the DOM.
ERRORS = """() => {
    const panel = window.jupyterapp.shell.currentWidget;
    const found = [];
    panel.content.widgets.forEach((cell, i) => {
        if (cell.model.type !== "code") return;
        for (const out of cell.model.outputs.toJSON()) {
            if (out.output_type === "error") {
                found.push(`cell ${i}: ${out.ename}: ${out.evalue}`);
            } else if (out.output_type === "stream" && out.name === "stderr") {
                found.push(`cell ${i}: stderr: ${String(out.text).slice(0, 400)}`);
            }
        }
    });
    const shown = document.querySelectorAll(
        '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]');
    for (const node of shown) found.push(`on the page: ${node.innerText.slice(0, 400)}`);
    return found;
}"""

#: Geometry of the monitor in cell `index`'s output: overflow of the output and of the widget's
#: root, and per chart its tick labels, legend boxes, plot area, figure box and drawn paths.
MEASURE = f"""(index) => {{
    const box = (e) => {{
        const r = e.getBoundingClientRect();
        return {{ left: r.left, top: r.top, right: r.right, bottom: r.bottom }};
    }};
    const output = ({OUTPUT})(index);
    const root = output.querySelector(".widget-vbox") || output.firstElementChild;
    const charts = [...output.querySelectorAll(".bqplot.figure")].map((figure) => {{
        const axes = [...figure.querySelectorAll("g.axis")];
        const labels = (anchor) => {{
            const axis = axes.find((a) => a.getAttribute("text-anchor") === anchor);
            if (!axis) return [];
            return [...axis.querySelectorAll(".tick text")]
                .filter((t) => t.textContent !== "" && t.getBoundingClientRect().width > 0)
                .map((t) => ({{ text: t.textContent, box: box(t) }}));
        }};
        const header = figure.previousElementSibling;
        const legends = [...figure.querySelectorAll(".g_legend")].filter(
            (g) => g.getBoundingClientRect().width > 0);
        if (header && header.classList.contains("widget-html")) legends.push(header);
        const plot = figure.querySelector("rect.plotarea_background");
        const paths = [...figure.querySelectorAll("path.line, path.area")];
        return {{
            name: header && header.classList.contains("widget-html")
                ? header.innerText.split("\\n")[0].trim() : "",
            figure: box(figure),
            plot: plot ? box(plot) : null,
            x: labels("middle"),
            y: labels("end"),
            legends: legends.map(box),
            drawn: paths.filter((p) => (p.getAttribute("d") || "").length > 0
                && p.getBoundingClientRect().width > 1).length,
        }};
    }});
    const table = [...output.querySelectorAll(".iostat-table tr")].slice(1)
        .map((row) => row.querySelector("td").textContent);
    const place = (selector) => {{
        const node = output.querySelector(selector);
        return node ? box(node) : null;
    }};
    return {{
        headline: place(".iostat-figures"),
        tableBox: place(".iostat-table"),
        width: output.getBoundingClientRect().width,
        output: {{ scroll: output.scrollWidth, client: output.clientWidth }},
        root: root ? {{ scroll: root.scrollWidth, client: root.clientWidth }} : null,
        charts,
        table,
    }};
}}"""

#: `count` measurements of cell `index`'s monitor, `every` ms apart.
SNAPSHOTS = f"""async ([index, count, every]) => {{
    const measure = {MEASURE};
    const out = [];
    for (let i = 0; i < count; i++) {{
        if (i) await new Promise((resolve) => setTimeout(resolve, every));
        out.push(measure(index));
    }}
    return out;
}}"""


@dataclass
class Faults:
    """What is wrong, collected so that one failure shows all of it."""

    found: list[str] = field(default_factory=list)

    def check(self, ok: bool, what: str) -> None:
        if not ok:
            self.found.append(what)


@dataclass
class Lab:
    """The module's JupyterLab, page and the page's problems."""

    page: Page
    watch: PageWatch
    offset: float  #: viewport width minus the output area's width (px), side panels collapsed


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    root = tmp_path_factory.mktemp("monitor-look")
    write_notebook(root)
    # One server and one kernel for the whole module.
    with running_jupyter_lab(root) as jupyter, launch_chromium(root / "profile") as context:
        page = context.new_page()
        page.set_viewport_size({"width": 1400, "height": HEIGHT})
        watch = watch_page(page)
        open_notebook(page, jupyter, NOTEBOOK)
        page.evaluate(
            "() => { window.jupyterapp.shell.collapseLeft();"
            " window.jupyterapp.shell.collapseRight(); }"
        )
        run_cell(page, RESET, wait=True)
        page.wait_for_timeout(300)
        width = page.evaluate(f"(i) => ({OUTPUT})(i).getBoundingClientRect().width", RESET)
        yield Lab(page, watch, 1400 - width)


def write_notebook(root: Path) -> None:
    """``CELLS`` as a notebook (nbformat 4, as JSON: nbformat's API is untyped), named as
    ``open_notebook`` expects."""
    cell: dict[str, Any] = {
        "cell_type": "code",
        "metadata": {},
        "outputs": [],
        "execution_count": None,
    }
    notebook = {
        "nbformat": 4,
        "nbformat_minor": 5,
        "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3"}},
        "cells": [{**cell, "id": f"cell-{i}", "source": src} for i, src in enumerate(CELLS)],
    }
    (root / NOTEBOOK).write_text(json.dumps(notebook))


def statuses(page: Page, index: int) -> list[re.Match[str]]:
    """The status lines of cell ``index``'s output, parsed (an unparsable one fails the test)."""
    texts: list[str] = page.evaluate(STATUS_TEXTS, index)
    parsed = [STATUS.match(text) for text in texts]
    assert all(parsed), texts
    return [match for match in parsed if match]


def wait_status(page: Page, index: int, condition: str, timeout: float = 10_000) -> None:
    """Wait until every status line of cell ``index`` satisfies ``condition`` (JS over the
    ``line``'s text); there must be at least one."""
    try:
        page.wait_for_function(
            f"""() => {{
                const lines = ({STATUS_TEXTS})({index});
                return lines.length > 0 && lines.every((line) => {condition});
            }}""",
            timeout=timeout,
        )
    except PlaywrightTimeout:
        texts = page.evaluate(STATUS_TEXTS, index)
        raise AssertionError(
            f"cell {index}: no status {condition} in {timeout} ms: {texts}"
        ) from None


def output_text(page: Page, index: int) -> str:
    text: str = page.evaluate(
        f"(i) => {{ const o = ({OUTPUT})(i); return o ? o.textContent : ''; }}", index
    )
    return text.strip()


def scroll_to(page: Page, index: int) -> None:
    """Bring cell ``index`` into view (off-screen cells are not laid out)."""
    page.evaluate(
        "(i) => window.jupyterapp.shell.currentWidget.content.widgets[i].node"
        ".scrollIntoView({block: 'start'})",
        index,
    )
    page.wait_for_timeout(100)


def intersect(a: dict[str, float], b: dict[str, float]) -> bool:
    """Whether two boxes overlap by more than half a pixel each way."""
    return (
        a["left"] < b["right"] - 0.5
        and b["left"] < a["right"] - 0.5
        and a["top"] < b["bottom"] - 0.5
        and b["top"] < a["bottom"] - 0.5
    )


def layout_faults(layout: dict[str, Any]) -> dict[str, str]:
    """Fault 5 in one measurement: {what is wrong: the details}."""
    found: dict[str, str] = {}

    def check(ok: bool, what: str, details: object) -> None:
        if not ok:
            found[what] = str(details)

    for name in ("output", "root"):
        part = layout[name]
        scrolls = part is None or part["scroll"] > part["client"]
        check(not scrolls, f"horizontal scrollbar in the {name}", part)
    check(len(layout["charts"]) > 0, "no charts", layout["charts"])
    for number, chart in enumerate(layout["charts"]):
        name = f"chart {number} ({chart['name'] or 'untitled'})"
        y, x, figure, plot = chart["y"], chart["x"], chart["figure"], chart["plot"]
        check(len(y) >= 2, f"{name}: fewer than 2 y tick labels", y)
        overlapping = [
            (a["text"], b["text"])
            for i, a in enumerate(y)
            for b in y[i + 1 :]
            if intersect(a["box"], b["box"])
        ]
        check(not overlapping, f"{name}: y tick labels overlap", overlapping)
        texts = [tick["text"] for tick in x]
        check(len(texts) >= 1, f"{name}: no time tick labels", texts)
        check(len(set(texts)) == len(texts), f"{name}: repeated time labels", texts)
        outside = [
            tick["text"]
            for tick in x
            if tick["box"]["left"] < figure["left"] - 0.5
            or tick["box"]["right"] > figure["right"] + 0.5
        ]
        check(not outside, f"{name}: time labels cut at the figure's edge", outside)
        covered = plot is None or any(intersect(box, plot) for box in chart["legends"])
        check(not covered, f"{name}: a legend over the plot area", (chart["legends"], plot))
        check(chart["drawn"] > 0, f"{name}: nothing drawn", chart["drawn"])
    # Page order: headline figures above every chart, the table under every chart.
    headline, table = layout["headline"], layout["tableBox"]
    tops = [chart["figure"]["top"] for chart in layout["charts"]]
    bottoms = [chart["figure"]["bottom"] for chart in layout["charts"]]
    check(
        headline is not None and all(headline["bottom"] <= top + 0.5 for top in tops),
        "headline figures not above the charts",
        (headline, tops),
    )
    check(
        table is not None and all(table["top"] >= bottom - 0.5 for bottom in bottoms),
        "table not under the charts",
        (table, bottoms),
    )
    times = layout["table"]
    compact = times and all(re.fullmatch(r"\d\d:\d\d:\d\d\.\d{3}", t) for t in times)
    check(bool(compact), "table times not HH:MM:SS.mmm", times)
    return found


def check_layout(
    page: Page, index: int, where: str, faults: Faults, seconds: float = 1.2
) -> dict[str, Any]:
    """Fault 5 on the monitor in cell ``index``, measured every 100 ms for ``seconds`` (several
    samples' updates): what is wrong in two measurements in a row (not a frame caught mid-redraw)
    is a fault. Returns the last measurement."""
    scroll_to(page, index)
    layouts: list[dict[str, Any]] = page.evaluate(SNAPSHOTS, [index, round(seconds * 10) + 1, 100])
    found = [layout_faults(layout) for layout in layouts]
    lasting: dict[str, str] = {}
    for before, after in itertools.pairwise(found):
        lasting.update({what: after[what] for what in after.keys() & before.keys()})
    for what, details in lasting.items():
        faults.check(False, f"{where}: {what}: {details}")
    return layouts[-1]


def check_errors(page: Page, where: str, faults: Faults) -> None:
    """Fault 1: nothing printed as an error into any cell."""
    errors = page.evaluate(ERRORS)
    faults.check(errors == [], f"{where}: error output in the notebook: {errors}")


def screenshot(page: Page, index: int, name: str) -> Path:
    scroll_to(page, index)
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.locator(".jp-Notebook .jp-Cell").nth(index).locator(
        ".jp-OutputArea-output"
    ).first.screenshot(path=path)
    return path


@pytest.mark.parametrize(
    ("theme", "width"), [("light", 1400), ("light", 600), ("dark", 600), ("dark", 1400)]
)
def test_monitor_looks_right_and_stays_honest(lab: Lab, theme: str, width: int) -> None:
    page, faults = lab.page, Faults()
    where = f"{theme} {width}px"
    for seen_before in (lab.watch.console_errors, lab.watch.page_errors, lab.watch.dialogs):
        seen_before.clear()  # this combination's problems only
    try:
        set_theme(page, theme == "dark")
        page.set_viewport_size({"width": round(width + lab.offset), "height": HEIGHT})
        page.wait_for_timeout(300)
        run_cell(page, RESET, wait=True)
        reset = output_text(page, RESET).splitlines()
        assert "running monitors: 0" in reset, reset  # (anything else: check_errors says)

        # -- a fresh monitor (a fresh embedded server): its first sample, then the age ticking
        scroll_to(page, MAIN)
        page.evaluate(RECORD, MAIN)
        run_cell(page, MAIN, wait=True)
        wait_status(page, MAIN, "/· [4-9]\\d* samples|· \\d\\d+ samples/.test(line)")
        page.wait_for_timeout(1000)  # two more samples, and the age between them
        record: list[dict[str, Any]] = page.evaluate(STOP_RECORD)
        seen = [(r, STATUS.match(r["texts"][0])) for r in record if r["texts"]]
        parsed = [(r, m) for r, m in seen if m]
        faults.check(len(parsed) == len(seen), f"{where}: unreadable status {seen[-1:]}")
        words = {(int(m["samples"]), m["word"]) for _, m in parsed}
        faults.check((1, "samples") not in words, f"{where}: the status said '1 samples'")
        first = [r for r, m in parsed if m["samples"] == "1"]
        faults.check(bool(first), f"{where}: never read '1 sample': {sorted(words)}")
        faults.check(
            any(r["drawn"] for r in first),
            f"{where}: the first sample was not drawn before the second came",
        )
        # fault 2: between two samples the browser counts the age up (a 250 ms tick)
        ages: dict[int, list[str]] = {}
        for _, m in parsed:
            if m["state"] == "live" and m["age"]:
                ages.setdefault(int(m["samples"]), []).append(m["age"])
        ticking = [n for n, shown in ages.items() if len(set(shown)) >= 2]
        faults.check(len(ticking) >= 2, f"{where}: the age does not count up: {ages}")
        lines = statuses(page, MAIN)
        faults.check(
            len(lines) == 1 and lines[0]["state"] == "live" and lines[0]["age"] is not None,
            f"{where}: status {[line[0] for line in lines]}",
        )
        check_errors(page, f"{where}, all four charts", faults)

        # -- fault 3: the same cell again: one output, one live status, one monitor running
        run_cell(page, MAIN, wait=True)
        wait_status(page, MAIN, "/· live · \\d+ samples/.test(line)")
        page.wait_for_timeout(2 * INTERVAL * 1000)  # the old monitor would still tick by now
        outputs = page.locator(".jp-Notebook .jp-Cell").nth(MAIN).locator(".jp-OutputArea-output")
        faults.check(outputs.count() == 1, f"{where}: {outputs.count()} outputs after a re-run")
        live = page.evaluate(
            f"""() => ({LINES_IN})(document.querySelector(".jp-Notebook"))
                .filter((line) => / · live · /.test(line)).length"""
        )
        faults.check(live == 1, f"{where}: {live} status lines say live after a re-run")
        run_cell(page, COUNT, wait=True)
        counted = output_text(page, COUNT)
        faults.check(counted == "running monitors: 1", f"{where}: after a re-run, {counted}")

        # -- fault 5: the four-chart layout at this width
        layout = check_layout(page, MAIN, f"{where}, all four charts", faults)
        faults.check(
            abs(layout["width"] - width) <= TOLERANCE,
            f"{where}: the output area is {layout['width']:.0f} px wide",
        )

        clean = not faults.found  # so far: the four-chart monitor may go into the README

        # -- fault 1: a window of one sample, CPU and memory: draws, counts, prints nothing
        run_cell(page, SMALL, wait=True)
        try:
            wait_status(page, SMALL, "/· live · ([2-9]|\\d\\d+) samples/.test(line)")
        except AssertionError as stuck:  # the rest still says what it can
            faults.found.append(f"{where}, window=1: {stuck}")
        else:
            page.wait_for_timeout(300)
            check_layout(page, SMALL, f"{where}, window=1", faults, seconds=3)
        check_errors(page, f"{where}, window=1", faults)

        # what it looks like, some seconds in (the charts fuller)
        shot = screenshot(page, MAIN, f"monitor-look-{theme}-{width}")
        assert shot.stat().st_size > 10_000
        if clean and (theme, width) in README_IMAGES:
            shutil.copyfile(shot, README_IMAGES[(theme, width)])

        # -- fault 2: stopped, the line says so and no age ticks
        run_cell(page, STOP, wait=True)
        faults.check(
            output_text(page, STOP) == "running monitors: 0",
            f"{where}: after stop(), {output_text(page, STOP)}",
        )
        wait_status(page, MAIN, "/· stopped ·/.test(line)")
        wait_status(page, SMALL, "/· stopped ·/.test(line)")
        stopped: dict[int, set[str]] = {MAIN: set(), SMALL: set()}
        for _ in range(6):  # 1.2 s: several of the front end's 250 ms ticks
            for index, texts in stopped.items():
                texts.update(line[0] for line in statuses(page, index))
            page.wait_for_timeout(200)
        for texts in stopped.values():
            faults.check(len(texts) == 1, f"{where}: a stopped line changed: {sorted(texts)}")
            faults.check(
                not any(" · age " in text for text in texts),
                f"{where}: an age while stopped: {sorted(texts)}",
            )
        check_errors(page, f"{where}, after stop()", faults)
        faults.check(lab.watch.problems == [], f"{where}: page problems {lab.watch.problems}")
    except (AssertionError, Error) as error:  # a wait that timed out: the faults so far, too
        faults.found.append(f"{where}: stopped early: {type(error).__name__}: {error}")
    assert not faults.found, "\n".join(faults.found)
