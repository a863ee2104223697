"""The page's GPU card: parsed and split into lines under Node (``js/samples.js``,
``js/gpu-view.js``), then in Chromium: shown with one line per GPU for a sampler with GPUs, never
offered for one without."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from iostat_widget.sources.synthetic import SyntheticSampler

from .helpers import run_node
from .page_fixtures import INTERVAL, ServerThread
from .test_page_browser import ARTIFACTS, REPO, open_page, wait_until

JS = Path(__file__).resolve().parents[1] / "js"
README_IMAGE = REPO / "docs" / "images" / "page-gpus.png"


def node(expression: str) -> object:
    """``expression`` evaluated under Node with the page's GPU helpers imported."""
    return run_node(
        f'import {{ parseGpus }} from "{(JS / "samples.js").as_uri()}";\n'
        f'import {{ gpuSeries }} from "{(JS / "gpu-view.js").as_uri()}";\n'
        f"console.log(JSON.stringify({expression}));"
    )


def test_gpus_parse_by_index_and_unreported_figures_are_null() -> None:
    wire = [
        {"index": 1, "util_pct": 40, "mem_used_pct": 10, "name": "x"},
        {"index": 0, "mem_used_pct": 50},  # MIG: no utilization
        {"index": 1, "util_pct": 99},  # repeated: the first one counts
        {"index": -1, "util_pct": 5},
        {"index": 2, "util_pct": "busy", "mem_used_pct": 250},
        "gpu3",
        None,
    ]
    assert node(f"parseGpus({json.dumps(wire)})") == [
        {"index": 0, "util": None, "mem": 50},
        {"index": 1, "util": 40, "mem": 10},
        {"index": 2, "util": None, "mem": None},
    ]
    assert node("[parseGpus(undefined), parseGpus({}), parseGpus([])]") == [None, None, []]


def test_a_missing_gpu_or_figure_breaks_that_gpus_line_only() -> None:
    def sample(t: int, *gpus: dict[str, object]) -> dict[str, object]:
        return {"t": t, "gpu": list(gpus)}

    g0 = {"index": 0, "util": 10, "mem": 1}
    g1 = {"index": 1, "util": 20, "mem": 2}
    runs = [
        [sample(1, g0, g1), sample(2, g1), sample(3, g0, {**g1, "util": None})],
        [sample(5, g0, g1)],
        [{"t": 6, "gpu": None}],
    ]
    indices, series = node(f"gpuSeries({json.dumps(runs)}, 'util')")  # type: ignore[misc]
    assert indices == [0, 1]
    assert series[0] == [[{"t": 1, "pct": 10}], [{"t": 3, "pct": 10}], [{"t": 5, "pct": 10}]]
    assert series[1] == [[{"t": 1, "pct": 20}, {"t": 2, "pct": 20}], [{"t": 5, "pct": 20}]]
    assert node("gpuSeries([[{t: 1, gpu: null}]], 'mem')") == [[], []]


@pytest.mark.browser
def test_the_gpu_card_shows_one_line_per_gpu(servers: ServerThread, page: Page) -> None:
    calls = iter(range(10**6))

    def clock() -> float:  # a minute of samples in six seconds, as the page screenshot does
        return time.time() + (next(calls) - 59) * (1.0 - INTERVAL)

    sampler = SyntheticSampler(interval=1.0, clock=clock, gpus=2)
    server = servers.start(sampler=sampler)
    watch = open_page(page, server.http_url + "/")
    expect(page.locator("#state")).to_have_text("live")
    expect(page.locator("#gpu-card")).to_be_visible()
    expect(page.locator("#gpu-legend li")).to_have_text(["GPU 0", "GPU 1"])
    for chart in ("#gpu-util", "#gpu-mem"):
        lines = page.locator(f"{chart} path.line")
        expect(lines).to_have_count(2)
        wait_until(
            page,
            lambda lines=lines: all(
                d.startswith("M")
                for d in lines.evaluate_all("ps => ps.map(p => p.getAttribute('d'))")
            ),
            f"both lines in {chart}",
        )
    wait_until(page, lambda: int(page.locator("#received").inner_text()) >= 60, "60 samples")
    ARTIFACTS.mkdir(exist_ok=True)
    page.set_viewport_size({"width": 1100, "height": 900})
    page.screenshot(path=ARTIFACTS / "page-gpus.png", full_page=True)
    README_IMAGE.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(ARTIFACTS / "page-gpus.png", README_IMAGE)
    assert README_IMAGE.stat().st_size < 200_000
    assert watch.problems == []


@pytest.mark.browser
def test_no_gpus_no_gpu_card(servers: ServerThread, page: Page) -> None:
    server = servers.start()
    watch = open_page(page, server.http_url + "/")
    expect(page.locator("#state")).to_have_text("live")
    wait_until(page, lambda: int(page.locator("#received").inner_text()) >= 3, "3 samples")
    expect(page.locator("#gpu-card")).to_be_hidden()
    expect(page.locator("#gpu-util svg")).to_have_count(0)
    assert watch.problems == []
