"""``MonitorText``'s kernel side (traits, ``show``, ``heartbeat``, feed dicts) and the pure rules
of its front end (``monitor_text.js``: age, stale, no kernel, wording) under Node. How it paints in
real JupyterLab is ``test_monitor_text_browser.py``.
"""

from __future__ import annotations

import json
import math
from importlib.resources import files
from typing import Any, get_type_hints

import pytest
import traitlets

from iostat_widget.widget.monitor_text import (
    STATES,
    FeedStatus,
    MonitorText,
    check_feed,
    feed_status,
)

from .helpers import run_node

PACKAGE = files("iostat_widget.widget")
STATUS_JS = PACKAGE.joinpath("monitor_text.js")
STATUS_CSS = PACKAGE.joinpath("monitor_text.css")
DASH = "\N{EN DASH}"  # what the page shows for no age
KEYS = ["label", "state", "samples", "invalid", "errors", "error", "age", "interval"]


def sent(bar: MonitorText) -> list[dict[str, Any]]:
    """Record what ``bar`` sends to the front end from now on (each message's ``data``)."""
    messages: list[dict[str, Any]] = []
    bar.comm.send = lambda data=None, metadata=None, buffers=None: messages.append(data)
    return messages


# -- the assets and the traits -------------------------------------------------------------------


def test_the_front_end_ships_in_the_package_and_is_what_the_widget_sends() -> None:
    bar = MonitorText()
    assert bar._esm == STATUS_JS.read_text("utf-8")
    assert bar._css == STATUS_CSS.read_text("utf-8")
    assert "export default" in bar._esm and "render(" in bar._esm
    assert ".iostat-monitor-text" in bar._css


def test_synced_traits_are_the_contract() -> None:
    bar = MonitorText()
    assert bar.feeds == [] and bar.beat == 0
    assert isinstance(bar.traits()["feeds"], traitlets.List)
    assert isinstance(bar.traits()["beat"], traitlets.Int)
    for name in ("feeds", "beat", "_esm", "_css"):
        assert bar.trait_metadata(name, "sync") is True, name
    state = bar.get_state()
    assert state["feeds"] == [] and state["beat"] == 0
    assert state["_model_module"] == "anywidget"


def test_feed_status_has_exactly_the_contract_keys_in_order() -> None:
    assert list(get_type_hints(FeedStatus)) == KEYS
    assert list(feed_status("embedded", "connecting")) == KEYS
    assert set(STATES) == {"connecting", "live", "reconnecting", "stopped", "stale"}


# -- feed dicts ----------------------------------------------------------------------------------


def test_feed_status_defaults_and_values() -> None:
    assert feed_status("embedded", "connecting") == {
        "label": "embedded",
        "state": "connecting",
        "samples": 0,
        "invalid": 0,
        "errors": 0,
        "error": "",
        "age": None,
        "interval": 1.0,
    }
    feed = feed_status(
        "ws://h:8765/iostat", "live", samples=4, invalid=1, errors=2, error="boom", age=0.25,
        interval=2,
    )  # fmt: skip
    assert feed["samples"] == 4 and feed["invalid"] == 1 and feed["errors"] == 2
    assert feed["age"] == 0.25 and feed["interval"] == 2.0
    assert isinstance(feed["interval"], float)


@pytest.mark.parametrize(
    ("age", "expected"),
    [(0, 0.0), (1.5, 1.5), (-0.003, 0.0), (math.nan, None), (math.inf, None), (None, None)],
)
def test_ages_are_finite_and_never_negative(age: float | None, expected: float | None) -> None:
    feed = feed_status("x", "live", age=age)
    assert feed["age"] == expected
    json.dumps(feed, allow_nan=False)  # what the comm must be able to send


def test_tokens_never_reach_the_front_end() -> None:
    feed = feed_status(
        "ws://h:8765/iostat?token=s3cret", "reconnecting", error="refused: ws://h/?token=s3cret"
    )
    assert "s3cret" not in json.dumps(feed)
    assert feed["label"] == "ws://h:8765/iostat?token=***"


@pytest.mark.parametrize(
    "options",
    [
        {"state": "alive"},
        {"state": "no kernel"},  # the front end's own verdict, never the kernel's
        {"samples": -1},
        {"samples": 1.0},
        {"invalid": True},
        {"errors": "2"},
        {"interval": 0},
        {"interval": -1.0},
        {"interval": math.nan},
        {"interval": math.inf},
        {"interval": True},
        {"age": "1"},
        {"label": None},
        {"error": None},
    ],
    ids=repr,
)
def test_malformed_feeds_are_refused(options: dict[str, Any]) -> None:
    feed: dict[str, Any] = {"label": "x", "state": "live", **options}
    with pytest.raises(ValueError):  # noqa: PT011  (each message is its own)
        check_feed(feed)


def test_check_feed_takes_partial_dicts_and_refuses_unknown_keys() -> None:
    assert check_feed({"label": "x", "state": "stopped", "samples": 3}) == feed_status(
        "x", "stopped", samples=3
    )
    with pytest.raises(ValueError, match="unknown keys"):
        check_feed({"label": "x", "state": "live", "html": "<b>"})
    with pytest.raises(ValueError, match="label and a state"):
        check_feed({"state": "live"})


def test_python_builds_no_html_labels_and_errors_go_verbatim() -> None:
    hostile = '<img src=x onerror="alert(1)"> & <script>'
    bar = MonitorText()
    bar.show([feed_status(hostile, "reconnecting", error=hostile)])
    feed = bar.get_state()["feeds"][0]
    assert feed["label"] == hostile and feed["error"] == hostile  # no escaping, no markup added
    source = STATUS_JS.read_text("utf-8")
    for sink in ("outerHTML", "insertAdjacentHTML", "document.write", "DOMParser"):
        assert sink not in source, sink
    # One HTML sink: the headline and the table, which the kernel builds and escapes (table.py);
    # the lines' texts go through textContent.
    assert source.count("innerHTML") == 1
    assert "node.innerHTML = html;" in source
    assert "textContent" in source


# -- show and heartbeat --------------------------------------------------------------------------


def test_show_sends_news_in_one_message_and_else_bumps_the_beat() -> None:
    bar = MonitorText()
    messages = sent(bar)
    feeds = [feed_status("a", "live", samples=1, age=0.1), feed_status("b", "connecting")]
    bar.show(feeds)
    assert bar.feeds == feeds and bar.beat == 0
    assert len(messages) == 1
    assert messages[0]["method"] == "update"
    assert messages[0]["state"] == {"feeds": feeds}

    bar.show(feeds)  # nothing new: the beat alone says the kernel is alive
    assert bar.beat == 1
    assert [m["state"] for m in messages[1:]] == [{"beat": 1}]

    bar.show(feeds, "<b>12.5 %</b>", "<table></table>")  # all the text in the same message
    bar.show(feeds, "<b>12.5 %</b>", "<table></table>")
    assert bar.headline == "<b>12.5 %</b>" and bar.table == "<table></table>"
    assert [m["state"] for m in messages[2:]] == [
        {"headline": "<b>12.5 %</b>", "table": "<table></table>"},
        {"beat": 2},
    ]


def test_show_takes_plain_dicts_and_checks_them() -> None:
    bar = MonitorText()
    bar.show([{"label": "a", "state": "live", "age": -1, "interval": 1}])
    assert bar.feeds == [feed_status("a", "live", age=0.0)]


def test_a_malformed_feed_changes_nothing_and_sends_nothing() -> None:
    bar = MonitorText()
    bar.show([feed_status("a", "live", age=0.1)])
    before = list(bar.feeds)
    messages = sent(bar)
    with pytest.raises(ValueError, match="unknown state"):
        bar.show([feed_status("a", "live"), {"label": "b", "state": "bogus"}], "<b>new</b>")
    with pytest.raises(ValueError, match="interval"):
        bar.feeds = [{"label": "a", "state": "live", "interval": 0}]
    assert bar.feeds == before and bar.beat == 0 and bar.headline == "" and messages == []


def test_heartbeat_bumps_beat_only() -> None:
    bar = MonitorText()
    messages = sent(bar)
    for _ in range(3):
        bar.heartbeat()
    assert bar.beat == 3 and bar.feeds == []
    assert [m["state"] for m in messages] == [{"beat": 1}, {"beat": 2}, {"beat": 3}]


# -- the front end's rules, under Node -----------------------------------------------------------


def js(expression: str) -> Any:
    """``expression`` evaluated against monitor_text.js's exports (as ``m``), as JSON."""
    url = json.dumps(f"file://{STATUS_JS}")
    return run_node(f"import * as m from {url};\nconsole.log(JSON.stringify({expression}));")


def test_js_formats_ages_like_the_page() -> None:
    ages = [0, 0.44, 9.94, 12.7, 59.9, 60, 185, 3599, 3725, -3, None]
    expected = [
        "0.0 s", "0.4 s", "9.9 s", "12 s", "59 s", "1 min 0 s", "3 min 5 s", "59 min 59 s",
        "1 h 2 min", "0.0 s", DASH,
    ]  # fmt: skip
    assert js(f"{json.dumps(ages)}.map(m.formatAge)") == expected


def test_js_silence_limit() -> None:
    # max(3 intervals, 3 s) + 2 s
    assert js("[0.05, 0.5, 1, 2, 10].map(m.silenceLimit)") == [5, 5, 5, 8, 32]


def describe(feed: dict[str, Any], since_feeds: float, since_contact: float) -> dict[str, Any]:
    result: dict[str, Any] = js(f"m.describe({json.dumps(feed)}, {since_feeds}, {since_contact})")
    return result


LIVE = dict(feed_status("ws://h:8765/iostat", "live", samples=4, age=0.0, interval=0.5))


def test_js_age_counts_up_in_the_browser_and_live_turns_stale_after_three_intervals() -> None:
    cases = [(0, "live", "age 0.0 s"), (1.2, "live", "age 1.2 s"), (1.6, "stale", "age 1.6 s")]
    for since, state, age in cases:
        view = describe(LIVE, since, since)
        assert view["state"] == state and view["details"] == ["4 samples", age], since
        assert view["tone"] == ("ok" if state == "live" else "warn")
    assert describe({**LIVE, "age": 1.0}, 0.2, 0.2)["details"][1] == "age 1.2 s"


def test_js_only_a_live_feed_turns_stale() -> None:
    view = describe({**LIVE, "state": "reconnecting", "error": "refused"}, 2, 2)
    assert view["state"] == "reconnecting" and view["tone"] == "warn"
    assert view["error"] == "refused"  # shown while not live
    assert describe({**LIVE, "age": None}, 60, 1)["state"] == "live"  # no sample yet: no age


def test_js_no_kernel_once_silent_past_the_limit_whatever_the_kernel_said() -> None:
    for state in ("live", "connecting", "reconnecting", "stale"):
        assert describe({**LIVE, "state": state}, 1, 4.9)["state"] != "no kernel"
        view = describe({**LIVE, "state": state}, 5.5, 5.5)
        assert view["state"] == "no kernel" and view["tone"] == "muted"
        assert view["details"] == ["4 samples", "age 5.5 s", "kernel not responding for 5.5 s"]
    # a beat resets the silence but not the age: a stale line, not a dead one
    assert describe(LIVE, 30, 0.5)["state"] == "stale"


def test_js_stopped_does_not_tick_and_is_never_no_kernel() -> None:
    stopped = {**LIVE, "state": "stopped"}
    for since in (0, 2, 600):
        view = describe(stopped, since, since)
        assert view["state"] == "stopped" and view["tone"] == "muted"
        assert view["details"] == ["4 samples"]


def test_js_wording_counts_and_errors() -> None:
    one = describe({**LIVE, "samples": 1, "invalid": 1, "errors": 1, "error": "bad"}, 0, 0)
    assert one["details"] == ["1 sample", "age 0.0 s", "1 invalid skipped", "1 update error"]
    assert one["error"] == "bad"  # an update failure shows even while live
    two = describe({**LIVE, "samples": 0, "invalid": 0, "errors": 2, "error": "x"}, 0, 0)
    assert two["details"] == ["0 samples", "age 0.0 s", "2 update errors"]
    quiet = describe({**LIVE, "error": "old connection error"}, 0, 0)
    assert quiet["error"] == ""  # a live stream's past error is not news
    assert describe({**LIVE, "age": None}, 0, 0)["details"][1] == f"age {DASH}"


def test_js_survives_junk_from_the_kernel() -> None:
    view = describe({"label": 5, "state": None, "samples": "x", "interval": -1, "age": "1"}, 0, 0)
    assert view["label"] == "5" and view["state"] == "unknown"
    assert view["details"] == ["0 samples", f"age {DASH}"]
