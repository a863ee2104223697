"""The live page in a real browser: it goes live, survives a server restart, falls back to long
polling when the WebSocket is blocked, keeps hostile text as text, and is reachable through
JupyterLab's proxy. Servers run in process on a loop thread, fed by the deterministic sampler.
"""

from __future__ import annotations

import re
import shutil
import socket
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path

import pytest
from playwright.sync_api import Page, WebSocket, WebSocketRoute, expect

from iostat_widget.jupyter_proxy import ICON_PATH
from iostat_widget.schema import Sample
from iostat_widget.sources.synthetic import SyntheticSampler, synthetic_sample

from .browser import (
    CHROMIUM,
    JupyterLab,
    PageWatch,
    http_json,
    require_chromium,
    watch_page,
)
from .page_fixtures import INTERVAL, WAIT_MS, ServerThread

pytestmark = pytest.mark.browser

REPO = Path(__file__).resolve().parents[1]
ARTIFACTS = REPO / "test-artifacts"
README_IMAGE = REPO / "docs" / "images" / "page.png"
HOSTILE = "<img src=x onerror=alert(1)>"

expect.set_options(timeout=WAIT_MS)


class HostileSampler:
    """A sampler whose text fields are markup, as a compromised or odd machine could report."""

    def __init__(self) -> None:
        self.date = "<img src=y onerror=alert(2)>"

    def prime(self) -> None:
        """Nothing to read ahead."""

    def sample(self, seq: int) -> Sample:
        sample = synthetic_sample(seq, time.time(), host=HOSTILE, interval=INTERVAL)
        sample["date"] = self.date
        return sample


def open_page(page: Page, url: str) -> PageWatch:
    watch = watch_page(page)
    page.goto(url)
    return watch


def top_seq(page: Page) -> int:
    return int(page.locator("#rows tr").first.get_attribute("data-seq") or "-1")


def wait_until(page: Page, condition: Callable[[], bool], what: str, timeout: float = 10) -> None:
    """Poll ``condition`` from here: the page's CSP forbids the eval ``wait_for_function`` needs."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out after {timeout} s waiting for {what}"
        page.wait_for_timeout(50)  # lets Playwright dispatch events (routes, dialogs) meanwhile


def received(page: Page) -> int:
    return int(page.locator("#received").inner_text())


def wait_for_new_rows(page: Page, times: int = 3) -> None:
    """The table's newest row changes ``times`` times (each wait is bounded)."""
    for _ in range(times):
        seen = top_seq(page)
        expect(page.locator("#rows tr").first).not_to_have_attribute("data-seq", str(seen))


def chart_path(page: Page) -> str:
    return page.locator("#chart path.total").get_attribute("d") or ""


def test_page_goes_live_over_websocket_and_updates(servers: ServerThread, page: Page) -> None:
    # Samples stamped one second apart but produced ten times faster, the 60th stamped "now":
    # the chart fills with a realistic minute in six seconds for the screenshot.
    calls = iter(range(10**6))

    def clock() -> float:
        return time.time() + (next(calls) - 59) * (1.0 - INTERVAL)

    server = servers.start(sampler=SyntheticSampler(interval=1.0, clock=clock))
    watch = open_page(page, server.http_url + "/")

    expect(page.locator("#transport")).to_have_text("WebSocket")
    expect(page.locator("#state")).to_have_text("live")
    expect(page.locator("#host")).to_have_text("synthetic")
    expect(page.locator("#rows tr")).to_have_count(10)
    first_rows = page.locator("#rows").inner_text()
    first_path = chart_path(page)
    wait_for_new_rows(page)
    assert page.locator("#rows").inner_text() != first_rows
    assert chart_path(page) != first_path and chart_path(page).startswith("M")
    wait_until(page, lambda: received(page) >= 60, "60 samples")
    # Newest first, and total is us + sy as shown.
    seqs = [
        int(s) for s in page.locator("#rows tr").evaluate_all("rs => rs.map(r => r.dataset.seq)")
    ]
    assert seqs == sorted(seqs, reverse=True) and len(set(seqs)) == 10
    cells = page.locator("#rows tr").first.locator("td").all_inner_texts()
    assert abs(float(cells[1]) + float(cells[2]) - float(cells[4])) <= 0.11
    expect(page.locator("#note")).to_be_hidden()
    assert "ago" in page.locator("#age").inner_text()

    ARTIFACTS.mkdir(exist_ok=True)
    README_IMAGE.parent.mkdir(parents=True, exist_ok=True)
    page.set_viewport_size({"width": 1100, "height": 600})
    page.screenshot(path=ARTIFACTS / "page.png", full_page=True)
    shutil.copyfile(ARTIFACTS / "page.png", README_IMAGE)
    assert README_IMAGE.stat().st_size < 150_000
    assert watch.problems == []


@pytest.mark.parametrize("compact", [True, False], ids=["compact", "older-server"])
def test_page_reads_the_compact_form_or_json_from_an_older_server(
    servers: ServerThread, page: Page, compact: bool
) -> None:
    frames: list[str] = []

    def on_socket(socket: WebSocket) -> None:
        socket.on("framereceived", lambda payload: frames.append(str(payload)))

    page.on("websocket", on_socket)
    server = servers.start(compact=compact)
    watch = open_page(page, server.http_url + "/")
    expect(page.locator("#transport")).to_have_text("WebSocket")
    expect(page.locator("#state")).to_have_text("live")
    expect(page.locator("#host")).to_have_text("synthetic")
    wait_for_new_rows(page)
    wait_until(page, lambda: len(frames) > 1, "frames seen")
    assert frames[0].startswith('{"compact":"iostat.compact.v1"' if compact else '{"seq":')
    if compact:
        assert all(frame.startswith("[") and len(frame) <= 125 for frame in frames[1:])
    cells = page.locator("#rows tr").first.locator("td").all_inner_texts()
    assert re.fullmatch(r"\d\d:\d\d:\d\d\.\d{3}", cells[0]), cells  # the date, decoded
    # Chromium logs the refused offer to an older server (the page then asks for JSON).
    refused = "Sent non-empty 'Sec-WebSocket-Protocol' header but no response was received"
    assert [p for p in watch.problems if compact or refused not in p] == []


def test_page_with_a_token_passes_it_on(servers: ServerThread, page: Page) -> None:
    server = servers.start(token="page-token-1234")
    watch = open_page(page, server.page_url)
    expect(page.locator("#transport")).to_have_text("WebSocket")
    expect(page.locator("#state")).to_have_text("live")
    wait_for_new_rows(page)
    assert watch.problems == []
    status = page.request.get(server.http_url + "/").status
    assert status == 401  # the same page without the token is refused


def test_container_scope_is_labelled(servers: ServerThread, page: Page) -> None:
    server = servers.start(sampler=SyntheticSampler(interval=INTERVAL, scope="container"))
    watch = open_page(page, server.page_url)
    expect(page.locator("#host")).to_have_text("synthetic · container")
    assert watch.problems == []


def test_page_reconnects_after_server_restart(servers: ServerThread, page: Page) -> None:
    server = servers.start()
    port = server.port
    watch = open_page(page, server.http_url + "/")
    expect(page.locator("#state")).to_have_text("live")
    wait_until(page, lambda: received(page) >= 30, "30 samples")
    before = top_seq(page)

    servers.stop()
    expect(page.locator("#state")).to_have_text("reconnecting")
    page.wait_for_timeout(1000)  # a few refused attempts while the server is down
    expect(page.locator("#state")).to_have_text("reconnecting")
    servers.start(port=port)

    expect(page.locator("#state")).to_have_text("live")
    expect(page.locator("#transport")).to_have_text("WebSocket")
    # The new server numbers from 0 again: its samples are shown, not skipped as seen before.
    wait_until(page, lambda: top_seq(page) < before, "samples numbered from 0 again")
    wait_for_new_rows(page)
    # The missing stretch is a gap: the total line is drawn as two separate runs.
    assert chart_path(page).count("M") >= 2
    refused = r"^(WebSocket connection to 'ws://[^']+/iostat' failed: .*|Failed to load resource: )"
    refused += r".*net::ERR_CONNECTION_REFUSED$"
    assert watch.problems_except(refused) == []


def test_page_falls_back_to_long_polling_and_returns(servers: ServerThread, page: Page) -> None:
    server = servers.start()
    blocked = True
    attempts: list[str] = []

    def websocket_gate(ws: WebSocketRoute) -> None:
        # Stand-in for a proxy that drops upgrades; later it lets them through.
        attempts.append("blocked" if blocked else "passed")
        if blocked:
            ws.close()
        else:
            ws.connect_to_server()

    page.route_web_socket(re.compile(r"/iostat$"), websocket_gate)
    watch = open_page(page, server.http_url + "/")

    expect(page.locator("#transport")).to_have_text("long polling")
    expect(page.locator("#state")).to_have_text("live")
    expect(page.locator("#note")).to_be_visible()
    expect(page.locator("#note")).to_contain_text("long polling")
    first_path = chart_path(page)
    wait_for_new_rows(page, times=5)
    assert chart_path(page) != first_path
    # Polling continues after the last number seen: consecutive samples, none lost or repeated.
    seqs = [
        int(s) for s in page.locator("#rows tr").evaluate_all("rs => rs.map(r => r.dataset.seq)")
    ]
    assert seqs == list(range(seqs[0], seqs[0] - len(seqs), -1))
    assert attempts and set(attempts) == {"blocked"}

    blocked = False  # the page retries the WebSocket every 10 s and moves back to it
    expect(page.locator("#transport")).to_have_text("WebSocket", timeout=15_000)
    expect(page.locator("#note")).to_be_hidden()
    wait_for_new_rows(page)
    assert attempts[-1] == "passed"
    assert watch.problems == []


def test_hostile_text_is_shown_as_text(servers: ServerThread, page: Page) -> None:
    server = servers.start(sampler=HostileSampler())
    watch = open_page(page, server.http_url + "/")
    expect(page.locator("#state")).to_have_text("live")
    expect(page.locator("#host")).to_have_text(HOSTILE)
    expect(page.locator("#rows tr").first.locator("td").first).to_have_text(
        "<img src=y onerror=alert(2)>"
    )
    wait_for_new_rows(page)  # time for any injected element to load, fail and fire its handler
    assert HOSTILE in page.title()
    assert page.locator("img").count() == 0
    assert watch.dialogs == [] and watch.problems == []


def test_page_module_rules(servers: ServerThread, page: Page) -> None:
    # The page's own modules, run by the browser: dedup, restarts, gaps, bad input, formatting,
    # and the stream URLs derived from the page's URL.
    server = servers.start()
    watch = open_page(page, server.http_url + "/")
    result = page.evaluate(
        """async () => {
            const m = await import(new URL("samples.js", location.href).href);
            const c = await import(new URL("connection.js", location.href).href);
            const s = (seq, t) => ({seq, t, date: "2026-01-02T03:04:05.678Z", host: "h",
                                    interval: 1, cpu: {us: 10, sy: 5, id: 85, wa: 0, st: 0}});
            const w = new m.SampleWindow(60);
            const added = w.addAll([s(0, 100), s(1, 101), s(2, 102)]);
            const replay = w.addAll([s(0, 100), s(1, 101), s(2, 102)]);  // reconnect history
            const restart = w.addAll([s(0, 110), s(1, 111)]);  // new server, later times
            const lost = w.addAll([s(3, 113)]);  // seq 2 of the new server never came
            const invalid = w.addAll([null, [], {seq: "4", t: 114}, {seq: 4, t: 114},
                                      {...s(4, 114), cpu: {us: NaN, sy: 1}}]);
            const runs = w.runs().map(r => r.map(x => x.seq));
            const big = new m.SampleWindow(60);
            for (let i = 0; i < 100; i++) big.add(s(i, 1000 + i));
            return {added, replay, restart, lost, invalid, runs, duplicates: w.duplicates,
                    bad: w.invalid, lastSeq: w.lastSeq, latest: w.latest(2).map(x => x.seq),
                    kept: big.samples.length, oldest: big.samples[0].seq,
                    bigRuns: big.runs().length,
                    rate: m.formatRate(4096), mb: m.formatRate(12_345_678), zero: m.formatRate(0),
                    time: m.formatTime("2026-01-02T03:04:05.678Z"), odd: m.formatTime("<b>"),
                    age: m.formatAge(75), pct: m.formatPercent(12.345),
                    edge: [m.formatRate(99_999), m.formatRate(999_999), m.formatRate(999)],
                    urls: c.streamUrls("https://h.example/user/x/iostat-widget/?token=t#top")};
        }"""
    )
    assert result == {
        "added": 3,
        "replay": 0,
        "restart": 2,
        "lost": 1,
        "invalid": 0,
        "runs": [[0, 1, 2], [0, 1], [3]],
        "duplicates": 3,
        "bad": 5,
        "lastSeq": 3,
        "latest": [3, 1],
        "kept": 60,
        "oldest": 40,
        "bigRuns": 1,
        "rate": "4.1 kB/s",
        "mb": "12.3 MB/s",
        "zero": "0 B/s",
        "time": "03:04:05.678",
        "odd": "<b>",
        "age": "1 min 15 s",
        "pct": "12.3",
        "edge": ["100 kB/s", "1.0 MB/s", "999 B/s"],
        # Relative to the page, with the scheme matched: works behind a proxy's path prefix.
        "urls": {
            "ws": "wss://h.example/user/x/iostat-widget/iostat?token=t",
            "poll": "https://h.example/user/x/iostat-widget/poll?token=t",
        },
    }
    assert watch.problems == []


def test_missing_chromium_skips_locally_but_fails_under_ci(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    missing = tmp_path / "chromium"
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="apt-get install -y chromium"):
        require_chromium(missing)
    monkeypatch.setenv("CI", "1")
    with pytest.raises(pytest.fail.Exception, match="CI is set"):
        require_chromium(missing)
    assert require_chromium() == CHROMIUM  # present here, so the other browser tests really ran


# -- JupyterLab through jupyter-server-proxy ---------------------------------------------------


def test_page_through_jupyter_server_proxy(
    jupyter_lab: JupyterLab, page: Page, tmp_path: Path
) -> None:
    base, token = jupyter_lab
    servers_info = http_json(f"{base}/server-proxy/servers-info?token={token}")
    entry = next(s for s in servers_info["server_processes"] if s["name"] == "iostat-widget")
    assert entry["launcher_entry"]["title"] == "iostat monitor"
    assert entry["new_browser_tab"] is True
    icon_url = f"{base}{entry['launcher_entry']['icon_url']}?token={token}"
    with urllib.request.urlopen(icon_url, timeout=5) as response:
        assert response.read() == ICON_PATH.read_bytes()

    sockets: list[str] = []
    page.on("websocket", lambda socket: sockets.append(socket.url))
    # Opened as the launcher opens it: with Jupyter's own token, which grants the whole Jupyter
    # server. This server asks for none, so the page must not pass it on.
    watch = open_page(page, f"{base}/iostat-widget/?token={token}")
    # The proxy starts `iostat-widget serve` on first use; the real sampler ticks once a second.
    expect(page.locator("#state")).to_have_text("live", timeout=25_000)
    expect(page.locator("#transport")).to_have_text("WebSocket")
    expect(page.locator("#rows tr").first).to_be_attached(timeout=10_000)
    wait_for_new_rows(page, times=1)
    assert page.locator("#host").inner_text() == socket.gethostname()
    assert watch.problems == []
    assert sockets and not [url for url in sockets if "token=" in url]
    # jupyter-server-proxy logs the URL of every WebSocket it forwards.
    log = (tmp_path / "jupyter.log").read_text(errors="replace").splitlines()
    leaked = [line for line in log if token in line and "websocket" in line.lower()]
    assert leaked == []
