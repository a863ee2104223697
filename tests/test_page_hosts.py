"""The page with ?hosts=: several in-process servers in one view, each with its own line, rows and
status; one going away or refusing the page leaves the others running; bad entries are shown as
text and never reach a URL or the DOM as markup.
"""

from __future__ import annotations

import re
from urllib.parse import urlencode

import pytest
from playwright.sync_api import Page, expect

from iostat_widget.schema import Sample
from iostat_widget.server import Server
from iostat_widget.sources.synthetic import SyntheticSampler

from .page_fixtures import INTERVAL, ServerThread
from .test_page_browser import ARTIFACTS, HOSTILE, open_page, wait_until

pytestmark = pytest.mark.browser

# Chromium's own console lines for a refused connection (a server stopped on purpose) and for a
# handshake a server answered with 403 (a host not started with --allow-origin).
REFUSED = r"^WebSocket connection to 'ws://[^']+/iostat' failed: .*net::ERR_CONNECTION_REFUSED$"
FORBIDDEN = r"^WebSocket connection to 'ws://[^']+/iostat' failed: .*response code: 403$"


class PhasedSampler(SyntheticSampler):
    """The synthetic wave shifted by ``phase`` samples, so each host draws a line of its own."""

    def __init__(self, host: str, phase: int) -> None:
        super().__init__(host=host, interval=INTERVAL)
        self.phase = phase

    def sample(self, seq: int) -> Sample:
        sample = super().sample(seq + self.phase)
        sample["seq"] = seq
        return sample


def start_host(
    servers: ServerThread, name: str, phase: int, origin: str | None = None, port: int = 0
) -> Server:
    allowed = [origin] if origin else []
    return servers.start(port=port, sampler=PhasedSampler(name, phase), allow_origins=allowed)


def hosts_url(server: Server, *entries: str) -> str:
    return f"{server.http_url}/?{urlencode({'hosts': ','.join(entries)})}"


def state(page: Page, host: int) -> str:
    return page.locator(f'#hosts tr[data-host="{host}"] .state').inner_text()


def received(page: Page, host: int) -> int:
    return int(page.locator(f'#hosts tr[data-host="{host}"] td').nth(2).inner_text())


def row_hosts(page: Page) -> set[str]:
    return set(page.locator("#rows tr").evaluate_all("rs => rs.map(r => r.dataset.host)"))


def newest_row(page: Page, host: int) -> str:
    """The host's newest row in the table ("" when none is shown)."""
    rows = page.locator(f'#rows tr[data-host="{host}"]')
    return (rows.first.get_attribute("data-seq") or "") if rows.count() else ""


def line(page: Page, host: int) -> str:
    return page.locator(f'#chart path.host[data-host="{host}"]').get_attribute("d") or ""


def wait_for_updates(page: Page, hosts: list[int], what: str = "rows and lines") -> None:
    """Each host's newest row and chart line change (bounded wait)."""
    before = {h: (newest_row(page, h), line(page, h), received(page, h)) for h in hosts}

    def changed() -> bool:
        return all(
            newest_row(page, h) != before[h][0]
            and line(page, h) != before[h][1]
            and received(page, h) > before[h][2]
            for h in hosts
        )

    wait_until(page, changed, f"{what} of hosts {hosts} to change")


def test_hosts_page_shows_each_host_and_survives_one_going_away(
    servers: ServerThread, page: Page
) -> None:
    first = start_host(servers, "alpha", 0)
    origin = first.http_url
    second = start_host(servers, "bravo", 10, origin)
    third = start_host(servers, "charlie", 20, origin)
    port3 = third.port
    watch = open_page(page, hosts_url(first, f"127.0.0.1:{second.port}", f"127.0.0.1:{port3}"))

    statuses = page.locator("#hosts tr")
    expect(statuses).to_have_count(3)
    for host, name in enumerate(["alpha", "bravo", "charlie"]):
        expect(statuses.nth(host).locator(".state")).to_have_text("live")
        expect(statuses.nth(host).locator(".host-name")).to_have_text(name)
        expect(page.locator(f'#legend li[data-host="{host}"]')).to_have_text(name)
    expect(page.locator("#chart path.host")).to_have_count(3)
    expect(page.locator("#rows-head th").first).to_have_text("host")
    expect(page.locator(".tiles")).to_be_hidden()
    expect(page.locator("header .status")).to_be_hidden()
    expect(page.locator("#host")).to_have_text("3 hosts")
    wait_for_updates(page, [0, 1, 2])
    # Servers sample only while someone watches: the table fills as the page receives.
    expect(page.locator("#rows tr")).to_have_count(10)
    wait_until(page, lambda: row_hosts(page) == {"0", "1", "2"}, "rows of all three hosts")
    names = page.locator("#rows tr td.name").all_inner_texts()
    assert set(names) == {"alpha", "bravo", "charlie"} and len(names) == 10
    lines = {line(page, h) for h in range(3)}
    assert len(lines) == 3 and all(d.startswith("M") for d in lines)

    servers.stop(third)
    expect(statuses.nth(2).locator(".state")).to_have_text("reconnecting")
    wait_for_updates(page, [0, 1], "while host 2 is down")
    expect(statuses.nth(2).locator("td").nth(3)).to_have_class(re.compile(r"\bstale\b"))
    assert state(page, 0) == state(page, 1) == "live"
    assert line(page, 2).startswith("M")  # its last minute stays drawn, scrolling away

    start_host(servers, "charlie", 20, origin, port=port3)
    expect(statuses.nth(2).locator(".state")).to_have_text("live")
    # The restart shows as a gap in host 2's own line (until the old stretch scrolls away).
    wait_until(page, lambda: line(page, 2).count("M") >= 2, "a gap in host 2's line")
    assert line(page, 0).count("M") == line(page, 1).count("M") == 1
    wait_for_updates(page, [0, 1, 2], "after host 2 came back")
    # A full window of samples for the picture: every line spans the chart.
    wait_until(page, lambda: received(page, 0) >= 75, "a full window")

    ARTIFACTS.mkdir(exist_ok=True)
    page.set_viewport_size({"width": 1100, "height": 720})
    page.screenshot(path=ARTIFACTS / "page-hosts.png", full_page=True)
    assert watch.problems_except(REFUSED) == []


def test_refused_host_and_ignored_entries(servers: ServerThread, page: Page) -> None:
    first = start_host(servers, "alpha", 0)
    origin = first.http_url
    allowed = start_host(servers, "bravo", 10, origin)
    foreign = start_host(servers, "delta", 30)  # no --allow-origin for the page's server
    entries = [
        f"127.0.0.1:{allowed.port}",
        f"127.0.0.1:{foreign.port}",
        HOSTILE,
        "127.0.0.1:0",
        "javascript:alert(3)",
    ]
    watch = open_page(page, hosts_url(first, *entries))

    statuses = page.locator("#hosts tr")
    expect(statuses).to_have_count(3)
    expect(statuses.nth(2).locator(".state")).to_have_text("refused")
    note = page.locator('#host-notes li[data-host="2"]')
    expect(note).to_be_visible()
    expect(note).to_contain_text(f"--allow-origin {origin}")
    expect(page.locator("#host-notes li:visible")).to_have_count(1)
    expect(statuses.nth(0).locator(".state")).to_have_text("live")
    expect(statuses.nth(1).locator(".state")).to_have_text("live")
    wait_for_updates(page, [0, 1])
    assert received(page, 2) == 0 and "2" not in row_hosts(page)

    ignored = page.locator("#ignored")
    expect(ignored).to_be_visible()
    expect(ignored).to_contain_text(f"{HOSTILE} (not host:port or a ws:// URL)")
    expect(ignored).to_contain_text("127.0.0.1:0 (port must be from 1 to 65535)")
    expect(ignored).to_contain_text("javascript:alert(3) (not host:port")
    assert page.locator("img").count() == 0
    assert watch.dialogs == []
    assert watch.problems_except(FORBIDDEN) == []


def test_hosts_parameter_rules(servers: ServerThread, page: Page) -> None:
    # hosts.js run by the browser on made-up page URLs: what is accepted, rebuilt and refused.
    server = servers.start()
    watch = open_page(page, server.http_url + "/")
    many = ",".join(f"h{i}.example:{1000 + i}" for i in range(20))
    result = page.evaluate(
        """async (many) => {
            const { parseHosts } = await import(new URL("hosts.js", location.href).href);
            const brief = (plan) => plan && {
                hosts: plan.hosts.map((h) => [h.label, h.urls.ws, h.urls.poll]),
                ignored: plan.ignored.map((i) => `${i.entry} (${i.reason})`),
            };
            const page = "http://a.example:8765/?token=page-secret&hosts=";
            return {
                none: parseHosts("http://a.example:8765/?token=x"),
                mixed: brief(parseHosts(page + encodeURIComponent(
                    " b.example:8766 ,,ws://c.example:8767/iostat?token=t&x=1#h," +
                    "[::1]:9000,B.example:8766,a.example:8765,a.example:8765/x/iostat," +
                    "ws://a.example:8765/x/iostat,ws://u:p@d.example:1/iostat," +
                    "ws://e.example:1/other,f.example:65536,g.example:080,1.2.3.999:1," +
                    "wss://h.example,http://i.example:1/iostat"))),
                secure: brief(parseHosts("https://a.example/?hosts=b.example:443," +
                                         "ws://c.example:1/iostat")),
                many: [parseHosts(page + many).hosts.length, parseHosts(page + many).ignored],
            };
        }""",
        many,
    )
    assert result["none"] is None
    assert result["mixed"] == {
        "hosts": [
            # The page's own server first, with the page's token; nobody else gets it.
            [
                "a.example:8765",
                "ws://a.example:8765/iostat?token=page-secret",
                "http://a.example:8765/poll?token=page-secret",
            ],
            ["b.example:8766", "ws://b.example:8766/iostat", None],
            ["c.example:8767", "ws://c.example:8767/iostat?token=t", None],
            ["[::1]:9000", "ws://[::1]:9000/iostat", None],
            # Another stream on the page's own origin may long-poll too.
            [
                "a.example:8765/x",
                "ws://a.example:8765/x/iostat",
                "http://a.example:8765/x/poll",
            ],
            ["h.example", "wss://h.example/iostat", None],
        ],
        "ignored": [
            "B.example:8766 (listed twice)",
            "a.example:8765 (this page's own server, always shown)",
            "a.example:8765/x/iostat (not host:port or a ws:// URL)",
            "ws://u:p@d.example:1/iostat (no user:password in the URL)",
            "ws://e.example:1/other (the path must end in /iostat)",
            "f.example:65536 (port must be from 1 to 65535)",
            "g.example:080 (port must be from 1 to 65535)",
            "1.2.3.999:1 (not a valid host name or address)",
            "1 more (not listed)",
        ],
    }
    assert result["secure"] == {
        "hosts": [
            ["a.example", "wss://a.example/iostat", "https://a.example/poll"],
            ["b.example", "wss://b.example/iostat", None],
        ],
        "ignored": ["ws://c.example:1/iostat (an https page can only use wss://)"],
    }
    assert result["many"] == [
        17,
        [
            {"entry": f"h{i}.example:{1000 + i}", "reason": "at most 16 hosts"}
            for i in (16, 17, 18, 19)
        ],
    ]
    assert watch.problems == []
