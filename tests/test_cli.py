"""`iostat-widget serve` as a subprocess: prints its URLs, streams, stops cleanly on a signal."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from websockets.asyncio.client import connect

from iostat_widget.cli import build_parser

pytestmark = pytest.mark.slow

COMMAND = [sys.executable, "-m", "iostat_widget"]


async def start_serve(*args: str) -> tuple[asyncio.subprocess.Process, str]:
    process = await asyncio.create_subprocess_exec(
        *COMMAND,
        "serve",
        "--port",
        "0",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert process.stdout is not None
    async with asyncio.timeout(20):
        while True:
            line = (await process.stdout.readline()).decode()
            assert line, "serve exited before printing its URL"
            if match := re.search(r"stream:\s+(ws://\S+)", line):
                return process, match.group(1)


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
async def test_serve_streams_and_stops_cleanly(signum: signal.Signals) -> None:
    process, url = await start_serve("--interval", "0.1")
    try:
        assert url.startswith("ws://127.0.0.1:") and url.endswith("/iostat")
        async with connect(url) as ws:
            seqs = [json.loads(await asyncio.wait_for(ws.recv(), 10))["seq"] for _ in range(5)]
        assert seqs == list(range(seqs[0], seqs[0] + 5))
    finally:
        process.send_signal(signum)
        async with asyncio.timeout(15):
            stdout, stderr = await process.communicate()
    assert process.returncode == 0, stderr.decode()
    assert b"Traceback" not in stderr and b"stopped" in stdout
    port = int(url.rsplit(":", 1)[1].split("/")[0])
    with pytest.raises(ConnectionRefusedError):  # the socket is closed
        await asyncio.open_connection("127.0.0.1", port)


async def test_port_in_use_is_a_clear_error() -> None:
    process, url = await start_serve()
    port = url.rsplit(":", 1)[1].split("/")[0]
    try:
        second = subprocess.run(
            [*COMMAND, "serve", "--port", port], capture_output=True, timeout=30, check=False
        )
    finally:
        process.terminate()
        await asyncio.wait_for(process.wait(), 15)
    assert second.returncode == 1
    assert b"cannot listen" in second.stderr and b"Traceback" not in second.stderr


def test_help_describes_every_option() -> None:
    out = subprocess.run(
        [*COMMAND, "serve", "--help"], capture_output=True, text=True, timeout=30, check=True
    ).stdout
    for option in ("--host", "--port", "--interval", "--history"):
        assert option in out
    assert "127.0.0.1" in out


def test_bad_interval_is_refused() -> None:
    with pytest.raises(SystemExit) as exit_info:
        build_parser().parse_args(["serve", "--interval", "0"])
    assert exit_info.value.code == 2


@pytest.mark.parametrize("command", ["serve", "tail"])
@pytest.mark.parametrize("port", ["99999", "-1", "http"])
def test_a_port_out_of_range_is_a_usage_error_not_a_traceback(command: str, port: str) -> None:
    result = subprocess.run(
        [*COMMAND, command, "--port", port, *(["x.log"] if command == "tail" else [])],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "--port" in result.stderr and "port" in result.stderr.splitlines()[-1]


def test_an_allowed_origin_with_a_path_is_refused_at_start() -> None:
    result = subprocess.run(
        [*COMMAND, "serve", "--port", "0", "--allow-origin", "http://a.example/path"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 2 and "not an origin" in result.stderr


def test_console_script_is_installed() -> None:
    script = os.path.join(os.path.dirname(sys.executable), "iostat-widget")
    out = subprocess.run(
        [script, "--version"], capture_output=True, text=True, timeout=30, check=True
    ).stdout
    assert out.startswith("iostat-widget ")


def test_tail_without_file_is_a_usage_error() -> None:
    result = subprocess.run(
        [*COMMAND, "tail"], capture_output=True, text=True, timeout=30, check=False
    )
    assert result.returncode == 2
    assert "usage" in result.stderr and "Traceback" not in result.stderr
    assert "FILE is required" in result.stderr


async def test_tail_of_a_file_not_there_yet_says_so(tmp_path: Path) -> None:
    log = tmp_path / "later.log"
    process = await asyncio.create_subprocess_exec(
        *COMMAND, "tail", str(log), "--port", "0", stdout=asyncio.subprocess.PIPE
    )
    assert process.stdout is not None
    try:
        async with asyncio.timeout(20):
            first = (await process.stdout.readline()).decode()
    finally:
        process.send_signal(signal.SIGTERM)
        await process.wait()
    assert "does not exist yet" in first and str(log) in first


async def test_tail_command_streams_a_line_and_stops_on_sigterm(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    log.write_text("old line\n")
    process = await asyncio.create_subprocess_exec(
        *COMMAND,
        "tail",
        str(log),
        "--port",
        "0",
        "--backlog",
        "0",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert process.stdout is not None
    try:
        async with asyncio.timeout(20):
            line = (await process.stdout.readline()).decode()
            url = re.search(r"(http://\S+)", line)
            assert url, line
            host, port = url.group(1).split("//")[1].rstrip("/").split(":")
            reader, writer = await asyncio.open_connection(host, int(port))
            writer.write(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            await writer.drain()
            await reader.readuntil(b"\r\n\r\n")
            with log.open("a") as out:
                out.write("fresh line\n")
            received = b""
            while b"fresh line" not in received:
                received += await reader.read(1024)
            writer.close()
        assert b"old line" not in received
    finally:
        process.send_signal(signal.SIGTERM)
        async with asyncio.timeout(15):
            _, stderr = await process.communicate()
    assert process.returncode == 0, stderr.decode()
