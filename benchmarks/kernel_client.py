"""A real ipykernel driven over jupyter_client, as a notebook front end would drive it.

Results come back through ``user_expressions`` on the shell channel, so a background thread can
own the IOPub channel and drain it: a front end reads every comm message the widget sends, and
a benchmark that let them pile up would measure its own backlog instead of the widget.
"""

from __future__ import annotations

import ast
import contextlib
import queue
import threading
import time
from typing import Any

from jupyter_client.manager import start_new_kernel

from .procs import Closing, register, stop_pid

__all__ = ["Kernel"]


class Kernel(Closing):
    """Start a python3 kernel; ``run(code)``, ``evaluate(expr)``; ``close()`` always kills it."""

    def __init__(self, startup_timeout: float = 60.0) -> None:
        self.manager, self.client = start_new_kernel(
            kernel_name="python3", startup_timeout=startup_timeout
        )
        self.iopub_messages = 0
        self._stop = threading.Event()
        self._drain = threading.Thread(target=self._drain_iopub, name="iopub-drain", daemon=True)
        self._drain.start()
        self.pid = -1
        try:
            self.pid = int(self.evaluate("__import__('os').getpid()"))
            register(self.pid)
        except BaseException:
            self.close()
            raise

    def _drain_iopub(self) -> None:
        while not self._stop.is_set():
            try:
                self.client.get_iopub_msg(timeout=0.2)
            except queue.Empty:
                continue
            except Exception:  # channel closed while stopping
                if self._stop.is_set():
                    return
                time.sleep(0.05)
                continue
            self.iopub_messages += 1

    def _execute(self, code: str, expressions: dict[str, str], timeout: float) -> dict[str, Any]:
        msg_id = self.client.execute(
            code, silent=False, store_history=False, user_expressions=expressions
        )
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"kernel did not answer within {timeout} s:\n{code[:200]}")
            reply: dict[str, Any] = self.client.get_shell_msg(timeout=left)
            if reply["parent_header"].get("msg_id") != msg_id:
                continue
            content: dict[str, Any] = reply["content"]
            if content["status"] != "ok":
                trace = "\n".join(content.get("traceback", [])) or content.get("evalue", "")
                raise RuntimeError(f"kernel raised {content.get('ename')}:\n{trace}")
            return content

    def run(self, code: str, timeout: float = 60.0) -> None:
        """Execute ``code`` and wait for it to finish; raise if it raised."""
        self._execute(code, {}, timeout)

    def evaluate(self, expression: str, timeout: float = 60.0) -> Any:
        """The value of ``expression`` in the kernel (its repr, read back as a literal)."""
        content = self._execute("", {"r": expression}, timeout)
        result = content["user_expressions"]["r"]
        if result.get("status") != "ok":
            raise RuntimeError(
                f"{expression!r} raised {result.get('ename')}: {result.get('evalue')}"
            )
        return ast.literal_eval(result["data"]["text/plain"])

    def close(self) -> None:
        """Stop draining, shut the kernel down now, and make sure its process is gone."""
        self._stop.set()
        self._drain.join(2.0)
        with contextlib.suppress(Exception):
            self.client.stop_channels()
        with contextlib.suppress(Exception):
            self.manager.shutdown_kernel(now=True)
        if self.pid > 0:
            stop_pid(self.pid, 2.0)
