"""``%%iostat`` in a real ipykernel: the cell runs as usual while the machine and the kernel are
recorded, and its output keeps a static chart and a summary line; the record and a monitor give
DataFrames. Outputs are read off the kernel's IOPub socket, as a notebook front end gets them."""

from __future__ import annotations

import base64
import time
from typing import Any

import pytest
from IPython.core.error import UsageError
from jupyter_client.blocking.client import BlockingKernelClient

from iostat_widget.widget.magic import parse_line

from .kernels import evaluate

BUSY = """
import time
deadline = time.monotonic() + {seconds}
while time.monotonic() < deadline:
    sum(range(1000))
print("done")
"""


def test_the_line_names_the_record_and_sets_the_interval() -> None:
    args = parse_line("rec --interval 0.5")
    assert (args.name, args.interval, args.url) == ("rec", 0.5, None)
    assert parse_line("").name is None
    assert parse_line("--url ws://h:1/iostat").url == "ws://h:1/iostat"
    with pytest.raises(UsageError, match="not a Python name"):
        parse_line("1rec")
    with pytest.raises(UsageError, match="unrecognized arguments"):
        parse_line("rec --every 2")


def outputs(client: BlockingKernelClient, code: str, limit: float = 60.0) -> list[dict[str, Any]]:
    """Execute ``code``; return the IOPub messages it caused until the kernel is idle again."""
    msg_id = client.execute(code)
    found = []
    deadline = time.monotonic() + limit
    while True:
        message = client.get_iopub_msg(timeout=max(deadline - time.monotonic(), 0.1))
        if message["parent_header"].get("msg_id") != msg_id:
            continue
        if message["msg_type"] == "status" and message["content"]["execution_state"] == "idle":
            return found
        if message["msg_type"] in ("stream", "display_data", "execute_result", "error"):
            found.append(message)


@pytest.mark.slow
def test_a_recorded_cell_leaves_its_chart_and_summary(kernel: BlockingKernelClient) -> None:
    assert outputs(kernel, "%load_ext iostat_widget") == []
    shown = outputs(kernel, "%%iostat rec\n" + BUSY.format(seconds=3))
    kinds = [m["msg_type"] for m in shown]
    assert kinds == ["stream", "display_data", "display_data"], shown
    assert shown[0]["content"]["text"] == "done\n"  # the cell's own output, first
    picture = shown[1]["content"]["data"]
    png = base64.b64decode(picture["image/png"])
    assert png.startswith(b"\x89PNG") and len(png) > 10_000
    summary = shown[2]["content"]["data"]["text/plain"]
    assert picture["text/plain"] == summary and "\n" not in summary
    assert summary.startswith("iostat: 3.") and "CPU mean" in summary and "read " in summary
    assert "this kernel: CPU peak" in summary
    frame = evaluate(
        kernel,
        "[len(rec.to_dataframe()), list(rec.to_dataframe().columns),"
        " str(rec.to_dataframe().index.tz), float(rec.to_dataframe()['kernel_cpu_pct'].max()),"
        " rec is _iostat]",
    )
    rows, columns, tz, kernel_peak, same = frame
    assert rows >= 3 and tz == "UTC" and same
    assert {"cpu_us_pct", "cpu_sy_pct", "cpu_busy_pct", "mem_used_pct"} <= set(columns)
    assert kernel_peak > 50  # the busy loop kept this kernel's core busy


@pytest.mark.slow
def test_a_failing_cell_still_shows_its_error_and_its_record(
    kernel: BlockingKernelClient,
) -> None:
    outputs(kernel, "%load_ext iostat_widget")
    shown = outputs(kernel, "%%iostat --interval 0.2\nimport time\ntime.sleep(0.5)\n1 / 0")
    kinds = [m["msg_type"] for m in shown]
    assert kinds == ["error", "display_data", "display_data"], kinds
    assert shown[0]["content"]["ename"] == "ZeroDivisionError"
    assert "image/png" in shown[1]["content"]["data"]
    assert evaluate(kernel, "len(_iostat.samples) >= 1")


@pytest.mark.slow
def test_a_monitor_gives_its_window_as_a_dataframe_and_a_picture(
    kernel: BlockingKernelClient,
) -> None:
    code = """
import time
from iostat_widget import Monitor
m = Monitor(interval=0.2)
deadline = time.monotonic() + 30
while len(m.window) < 4 and time.monotonic() < deadline:
    time.sleep(0.05)
m
"""
    shown = outputs(kernel, code)
    (result,) = [m for m in shown if m["msg_type"] == "execute_result"]
    data = result["content"]["data"]
    assert "application/vnd.jupyter.widget-view+json" in data  # still the live widget first
    assert base64.b64decode(data["image/png"]).startswith(b"\x89PNG")
    rows, columns, tz = evaluate(
        kernel,
        "[len(m.to_dataframe()), list(m.to_dataframe().columns), str(m.to_dataframe().index.tz)]",
    )
    assert rows >= 4 and tz == "UTC" and {"cpu_us_pct", "disk_read_Bps"} <= set(columns)
    outputs(kernel, "m.close()")
