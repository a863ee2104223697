"""The command-backed sampler: a real child process (a fake iostat printing captured output)."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest
from websockets.asyncio.client import connect

from iostat_widget.schema import validate_sample
from iostat_widget.server import Server
from iostat_widget.sources.child import ChildProcess, CommandNotFoundError
from iostat_widget.sources.command_parsers import IostatParser
from iostat_widget.sources.command_sampler import (
    CommandSampler,
    StaleReadingError,
    command_sampler,
    default_argv,
)

from .helpers import gone, until

FIXTURES = Path(__file__).parent / "fixtures"
FAKE = FIXTURES / "fake_iostat.py"
IOSTAT = FIXTURES / "command_output" / "linux_iostat.txt"
VMSTAT = FIXTURES / "command_output" / "procps404_vmstat.txt"
# us of each report in linux_iostat.txt; a repeated pass makes the since-boot one (37.94) a
# report like the others, so it may appear too.
IOSTAT_US = {4.04, 37.19, 50.76, 37.94}
FAST = 0.05


def fake(fixture: Path, *flags: str) -> list[str]:
    return [sys.executable, str(FAKE), str(fixture), *flags]


def our_children() -> list[psutil.Process]:
    return [p for p in psutil.Process().children(recursive=True) if not gone(p.pid)]


async def test_samples_carry_the_parsed_readings_and_close_stops_the_child() -> None:
    sampler = command_sampler(
        "iostat", interval=FAST, argv=fake(IOSTAT, "--delay", "0.005", "--forever")
    )
    await sampler.start()
    try:
        assert sampler.latest is not None  # start() waited for the first reading
        pid = sampler.child.pid
        assert pid is not None
        samples = []
        for seq in range(10):
            samples.append(validate_sample(sampler.sample(seq)))
            await asyncio.sleep(FAST)
    finally:
        await sampler.aclose()
    assert gone(pid) and sampler.child.pid is None and our_children() == []
    assert [s["seq"] for s in samples] == list(range(10))
    assert {s["cpu"]["us"] for s in samples} <= IOSTAT_US
    assert all(s["net"] == {"rx_bps": 0, "tx_bps": 0} for s in samples)  # no network figures
    assert all(s["mem"]["used_pct"] == 0 for s in samples)  # iostat says nothing of memory
    assert all(s["interval"] == FAST and s["scope"] == "host" for s in samples)
    assert sampler.readings >= 10 and sampler.garbage == 0


async def test_vmstat_memory_uses_the_machine_total() -> None:
    sampler = command_sampler("vmstat", interval=FAST, argv=fake(VMSTAT, "--hang"))
    await sampler.start()
    try:
        sample = validate_sample(sampler.sample(0))
    finally:
        await sampler.aclose()
    total_kib = psutil.virtual_memory().total / 1024
    used = total_kib - (11990000 + 100000 + 2000000)
    assert sample["mem"]["used_pct"] == round(min(max(100 * used / total_kib, 0), 100), 1)
    assert sample["cpu"]["us"] == 30 and sample["disk"]["write_bps"] == 1024 * 1024


async def test_junk_lines_are_counted_and_skipped() -> None:
    argv = fake(IOSTAT, "--delay", "0.002", "--garbage", "--hang")
    sampler = CommandSampler(argv, IostatParser, interval=FAST)
    await sampler.start()
    try:
        await until(lambda: sampler.readings == 3)
        await asyncio.sleep(0.1)
    finally:
        await sampler.aclose()
    lines = IOSTAT.read_text().splitlines()
    junk = 1 + sum(not previous.strip() for previous in lines[:-1])  # as fake_iostat prints it
    assert sampler.readings == 3 and sampler.garbage == junk


async def test_a_reading_is_reused_while_fresh_then_the_tick_is_skipped() -> None:
    sampler = CommandSampler(fake(IOSTAT, "--delay", "0", "--hang"), IostatParser, max_age=0.3)
    await sampler.start()
    try:
        await until(lambda: sampler.readings == 3)
        first, second = sampler.sample(0), sampler.sample(1)
        assert first["cpu"] == second["cpu"] and (first["seq"], second["seq"]) == (0, 1)
        assert second["t"] >= first["t"]
        await asyncio.sleep(0.4)
        with pytest.raises(StaleReadingError, match="no reading from python"):
            sampler.sample(2)
    finally:
        await sampler.aclose()


async def test_before_any_reading_the_tick_is_skipped() -> None:
    sampler = CommandSampler(
        [sys.executable, "-c", "import time; time.sleep(60)"],
        IostatParser,
        first_reading_timeout=0.1,
    )
    await sampler.start()
    try:
        with pytest.raises(StaleReadingError, match="yet"):
            sampler.sample(0)
    finally:
        await sampler.aclose()
    assert our_children() == []


async def test_a_child_that_exits_is_restarted_with_backoff(
    caplog: pytest.LogCaptureFixture,
) -> None:
    sampler = CommandSampler(
        fake(IOSTAT, "--delay", "0"), IostatParser, interval=FAST, backoff=(0.05, 0.2)
    )
    pids: set[int] = set()

    def note() -> bool:
        if (pid := sampler.child.pid) is not None:
            pids.add(pid)
        return sampler.child.starts >= 3

    await sampler.start()
    try:
        await until(note)
        await until(lambda: sampler.readings >= 3 * 2)  # each child: since-boot skipped, 3 kept
    finally:
        await sampler.aclose()
    assert len(pids) >= 3 and sampler.child.exits >= 3
    assert caplog.text.count("ended (status 0); restarting in") >= 2
    assert our_children() == []


async def test_close_kills_a_child_that_ignores_sigterm() -> None:
    pieces = []
    child = ChildProcess(fake(IOSTAT, "--hang", "--ignore-term"), pieces.append, term_timeout=0.3)
    await child.start()
    await until(lambda: len(pieces) >= 10)  # it runs, and has ignored SIGTERM since its start
    pid = child.pid
    assert pid is not None
    began = time.monotonic()
    await child.aclose()
    assert gone(pid) and 0.25 < time.monotonic() - began < 5
    assert child.last_returncode == -signal.SIGKILL and our_children() == []


async def test_missing_program_is_a_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # nothing on PATH
    for source, message in (
        ("iostat", "iostat not found; install sysstat"),
        ("vmstat", "vmstat not found; install procps"),
    ):
        sampler = command_sampler(source)
        with pytest.raises(CommandNotFoundError, match=re.escape(message)):
            await sampler.start()
        assert not sampler.child.running


def test_default_commands_and_the_since_boot_rule() -> None:
    assert default_argv("iostat", 1.0, "linux") == ["iostat", "-d", "-c", "-k", "1"]
    assert default_argv("iostat", 2.4, "darwin") == ["iostat", "-w", "2"]
    assert default_argv("vmstat", 0.2) == ["vmstat", "-n", "1"]  # whole seconds, at least 1
    own = command_sampler("iostat", argv=["iostat", "-y", "1"])
    assert isinstance(own.parser, IostatParser) and own.parser.skip_first is False
    assert command_sampler("iostat").parser.skip_first is True  # type: ignore[attr-defined]


async def test_server_streams_command_samples_and_stops_the_child() -> None:
    sampler = command_sampler("iostat", interval=FAST, argv=fake(IOSTAT, "--forever"))
    async with Server("127.0.0.1", 0, interval=FAST, sampler=sampler, linger=0.1) as server:
        pid = sampler.child.pid
        assert pid is not None
        async with connect(server.url) as ws, asyncio.timeout(10):
            got = [validate_sample(json.loads(await ws.recv())) for _ in range(8)]
    assert pid is not None and gone(pid) and our_children() == []
    seqs = [s["seq"] for s in got]
    assert seqs == list(range(seqs[0], seqs[0] + 8))
    assert {s["cpu"]["us"] for s in got} <= IOSTAT_US


COMMAND = [sys.executable, "-m", "iostat_widget"]


async def test_cli_source_iostat_with_a_custom_command() -> None:
    source_command = subprocess.list2cmdline(fake(IOSTAT, "--forever"))
    process = await asyncio.create_subprocess_exec(
        *COMMAND,
        "serve",
        "--port",
        "0",
        "--interval",
        "0.1",
        "--source",
        "iostat",
        "--source-command",
        source_command,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert process.stdout is not None
    try:
        async with asyncio.timeout(20):
            while not (
                match := re.search(rb"stream:\s+(ws://\S+)", await process.stdout.readline())
            ):
                pass
            children = psutil.Process(process.pid).children(recursive=True)
            assert [c.cmdline()[1:3] for c in children] == [[str(FAKE), str(IOSTAT)]]
            async with connect(match.group(1).decode()) as ws:
                got = [json.loads(await ws.recv()) for _ in range(3)]
    finally:
        process.send_signal(signal.SIGTERM)
        async with asyncio.timeout(15):
            _, stderr = await process.communicate()
    assert process.returncode == 0, stderr.decode()
    assert {s["cpu"]["us"] for s in got} <= IOSTAT_US
    assert all(gone(child.pid) for child in children)


def test_cli_source_iostat_without_iostat_exits_2(tmp_path: Path) -> None:
    env = {**os.environ, "PATH": str(tmp_path)}
    result = subprocess.run(
        [*COMMAND, "serve", "--port", "0", "--source", "iostat"],
        capture_output=True,
        text=True,
        timeout=30,
        env=env,
        check=False,
    )
    assert result.returncode == 2
    assert "iostat not found; install sysstat" in result.stderr
    assert "Traceback" not in result.stderr
