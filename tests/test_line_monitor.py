"""The LineMonitor widget without a browser: fed by a real /lines server, read via widget state."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator

import psutil
import pytest

from iostat_widget import LineMonitor
from iostat_widget.server import Server
from iostat_widget.sources.line_feed import CommandLines
from iostat_widget.sources.synthetic import SyntheticSampler
from iostat_widget.widget.line_monitor import render_lines
from iostat_widget.widget.loop_thread import LoopThread
from iostat_widget.widget.runtime import KernelRuntime

from .helpers import our_threads, wait_for

XSS = "<img src=x onerror=alert(1)>"
OUTPUT = [f"line {i}" for i in range(27)] + [XSS, "a & b < c", "last line"]


def connections(status: str) -> list[object]:
    return [c for c in psutil.Process().net_connections("tcp") if c.status == status]


@pytest.fixture
def line_server() -> Iterator[Server]:
    """A /lines server on its own loop thread, its command printing OUTPUT then waiting."""
    code = f"import time\nfor line in {OUTPUT!r}: print(line, flush=True)\ntime.sleep(3600)"
    source = CommandLines([sys.executable, "-c", code])
    remote = LoopThread(name="line-server")
    server = Server("127.0.0.1", 0, sampler=SyntheticSampler(), line_source=source, line_history=50)
    remote.run(server.start())
    listening = connections("LISTEN")
    try:
        yield server
    finally:
        remote.run(server.aclose())
        remote.stop()
    # Nothing of ours is left: no runtime, no thread, no socket, no child process.
    assert KernelRuntime.current() is None and our_threads() == []
    assert connections("ESTABLISHED") == [] and len(connections("LISTEN")) < len(listening)
    running = [p for p in psutil.Process().children(recursive=True) if p.status() != "zombie"]
    assert running == []


def test_shows_the_last_lines_escaped_in_one_html_value(line_server: Server) -> None:
    monitor = LineMonitor(url=line_server.line_url, lines=5)
    try:
        output = monitor.output
        wait_for(lambda: monitor.texts[-1:] == ["last line"])
        assert monitor.texts == [*OUTPUT[-5:]]
        assert monitor.state == "live" and monitor.stream is not None
        assert monitor.stream.received == len(OUTPUT) and monitor.stream.missed == 0
        html = output.value
        assert monitor.output is output  # one widget, its value replaced in place
        assert "&lt;img src=x onerror=alert(1)&gt;" in html and "<img" not in html
        assert "a &amp; b &lt; c" in html and html.count("<pre") == 1
        assert "line 24" not in html and "line 25" in html  # only the last five
        assert 1 <= monitor.updates <= len(OUTPUT)  # bursts coalesced
        assert "live" in monitor.status.value and f"{len(OUTPUT)} lines" in monitor.status.value
        assert our_threads() == ["iostat-widget-loop"]
    finally:
        monitor.close()
    assert monitor.state == "stopped" and "stopped" in monitor.status.value


def test_stop_and_start_again_shows_no_line_twice(line_server: Server) -> None:
    monitor = LineMonitor(url=line_server.line_url, lines=40)
    try:
        wait_for(lambda: monitor.texts[-1:] == ["last line"])
        monitor.stop()
        assert monitor.state == "stopped" and our_threads() == []
        monitor.start()
        wait_for(lambda: monitor.state == "live")
        time.sleep(0.2)  # the server resends its history: all of it seen already
        assert monitor.texts == OUTPUT
    finally:
        monitor.close()


def test_two_monitors_share_the_loop_thread(line_server: Server) -> None:
    monitors = [LineMonitor(url=line_server.line_url, lines=3) for _ in range(2)]
    try:
        wait_for(lambda: all(m.texts[-1:] == ["last line"] for m in monitors))
        runtime = KernelRuntime.current()
        assert runtime is not None and runtime.users == 2 and runtime.server is None
        assert our_threads() == ["iostat-widget-loop"]
    finally:
        for monitor in monitors:
            monitor.close()


def test_unreachable_url_reconnects_with_an_escaped_reason() -> None:
    monitor = LineMonitor(url="ws://127.0.0.1:9/lines")
    try:
        wait_for(lambda: monitor.state == "reconnecting")
        wait_for(lambda: "ConnectionRefused" in monitor.status.value)
        assert monitor.texts == []
    finally:
        monitor.close()
    assert KernelRuntime.current() is None and our_threads() == []


def test_bad_arguments_are_refused_before_anything_starts() -> None:
    with pytest.raises(ValueError, match="WebSocket URL"):
        LineMonitor(url="http://127.0.0.1:1/lines")
    with pytest.raises(ValueError, match="lines"):
        LineMonitor(url="ws://127.0.0.1:1/lines", lines=0)
    assert KernelRuntime.current() is None


def test_render_lines_escapes_and_marks_cut_lines() -> None:
    html = render_lines(
        [
            {"seq": 0, "t": 1.0, "line": XSS},
            {"seq": 1, "t": 1.0, "line": "</pre><script>x</script>", "truncated": True},
        ]
    )
    assert "<img" not in html and "<script" not in html and html.count("</pre>") == 1
    assert html.endswith("&lt;/pre&gt;&lt;script&gt;x&lt;/script&gt;…</pre>")
