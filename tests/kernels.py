"""A real IPython kernel for the tests that need one: the fixture, and running code in it."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
from jupyter_client.blocking.client import BlockingKernelClient
from jupyter_client.manager import start_new_kernel

__all__ = ["chart_updates", "evaluate", "kernel", "run", "stdout"]


@pytest.fixture(scope="module")
def kernel() -> Iterator[BlockingKernelClient]:
    manager, client = start_new_kernel(kernel_name="python3", startup_timeout=60)
    try:
        yield client
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)


def run(
    client: BlockingKernelClient, code: str, limit: float = 60.0, cell_id: str | None = None
) -> list[dict[str, Any]]:
    """Execute ``code`` (as cell ``cell_id``, if given); return every IOPub message until it is
    idle again.

    Messages from the widget's background thread are kept whatever parent they carry: they are
    exactly the ones that must keep flowing while the cell runs.
    """
    content = {
        "code": code,
        "silent": False,
        "store_history": True,
        "user_expressions": {},
        "allow_stdin": False,
        "stop_on_error": True,
    }
    metadata = {"cellId": cell_id} if cell_id is not None else {}
    request = client.session.msg("execute_request", content, metadata=metadata)
    client.shell_channel.send(request)
    msg_id = request["header"]["msg_id"]
    messages = []
    deadline = time.monotonic() + limit
    while True:
        message = client.get_iopub_msg(timeout=max(deadline - time.monotonic(), 0.1))
        messages.append(message)
        if message["parent_header"].get("msg_id") != msg_id:
            continue
        if message["msg_type"] == "error":
            raise AssertionError("\n".join(message["content"]["traceback"]))
        if message["msg_type"] == "status" and message["content"]["execution_state"] == "idle":
            return messages


def chart_updates(messages: list[dict[str, Any]], comm_id: str) -> list[dict[str, Any]]:
    return [
        m
        for m in messages
        if m["msg_type"] == "comm_msg"
        and m["content"]["comm_id"] == comm_id
        and m["content"]["data"].get("method") == "update"
        and {"x", "y"} <= set(m["content"]["data"]["state"])
    ]


def stdout(messages: list[dict[str, Any]]) -> str:
    return "".join(m["content"]["text"] for m in messages if m["msg_type"] == "stream")


def evaluate(client: BlockingKernelClient, expression: str) -> Any:
    """The value of ``expression`` in the kernel, through JSON on stdout."""
    out = stdout(run(client, f"import json as _j\nprint(_j.dumps({expression}))"))
    return json.loads(out.strip().splitlines()[-1])
