"""Cassette files: mode and symlink kept on re-recording, fsync around the rename, and two real
processes recording into one cassette keep every entry of both."""

from __future__ import annotations

import asyncio
import json
import multiprocessing
import os
import stat
from pathlib import Path
from typing import Any

import pytest

from flowview_async.recording import Recorder, cassette_io
from tests.recording.graphql_test_server import TicketServer
from tests.recording.helpers import HELLO, recorded_session, request

PER_PROCESS = 6


async def _record(cassette: Path, names: list[str], mode: str = "new_episodes") -> None:
    async with TicketServer() as server, recorded_session(
        server.url, Recorder(cassette, record_mode=mode)
    ) as session:
        for name in names:
            await session.execute(request(HELLO, name=name))


def _names(cassette: Path) -> list[str]:
    data = json.loads(cassette.read_text())
    return [entry["request"]["body"]["variables"]["name"] for entry in data["interactions"]]


@pytest.mark.parametrize("mode", ["new_episodes", "all"])
async def test_re_recording_keeps_the_file_mode(tmp_path: Path, mode: str) -> None:
    cassette = tmp_path / "private.json"
    await _record(cassette, ["ann"])
    os.chmod(cassette, 0o600)
    await _record(cassette, ["bob"], mode)
    assert stat.S_IMODE(cassette.stat().st_mode) == 0o600
    assert "bob" in _names(cassette)


async def test_a_new_cassette_follows_the_umask(tmp_path: Path) -> None:
    previous = os.umask(0o027)
    try:
        cassette = tmp_path / "new.json"
        await _record(cassette, ["ann"])
    finally:
        os.umask(previous)
    assert stat.S_IMODE(cassette.stat().st_mode) == 0o640


async def test_re_recording_writes_through_a_symlink(tmp_path: Path) -> None:
    shared = tmp_path / "shared" / "real.json"
    shared.parent.mkdir()
    await _record(shared, ["ann"])
    link = tmp_path / "tests" / "link.json"
    link.parent.mkdir()
    link.symlink_to(os.path.relpath(shared, link.parent))
    await _record(link, ["bob"])
    assert link.is_symlink()
    assert link.resolve() == shared.resolve()
    assert _names(shared) == ["ann", "bob"]
    # No temporary file left anywhere.
    assert sorted(p.name for p in shared.parent.iterdir()) == ["real.json"]
    assert sorted(p.name for p in link.parent.iterdir()) == ["link.json"]


async def test_a_dangling_symlink_records_into_its_target(tmp_path: Path) -> None:
    target = tmp_path / "cassettes" / "later.json"
    target.parent.mkdir()
    link = tmp_path / "link.json"
    link.symlink_to(target)
    await _record(link, ["ann"])
    assert link.is_symlink()
    assert _names(target) == ["ann"]


async def test_the_file_is_fsynced_before_the_rename_and_the_directory_after(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    events: list[str] = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd: int) -> None:
        kind = "directory" if stat.S_ISDIR(os.fstat(fd).st_mode) else "file"
        events.append(f"fsync {kind}")
        real_fsync(fd)

    def replace(source: Any, target: Any) -> None:
        events.append("rename")
        real_replace(source, target)

    monkeypatch.setattr(cassette_io.os, "fsync", fsync)
    monkeypatch.setattr(cassette_io.os, "replace", replace)
    await _record(tmp_path / "durable.json", ["ann"])
    assert events == ["fsync file", "rename", "fsync directory"]


# --- two processes, one cassette -----------------------------------------------------------------


def _record_in_child(cassette: str, label: str, mode: str, barrier: Any) -> None:
    """In a child process: load the cassette, wait until the other child loaded it too, record,
    wait again, then save: both save over a file that changed since they loaded it."""

    async def run() -> None:
        async with TicketServer() as server:
            recorder = Recorder(cassette, record_mode=mode)
            await recorder.open()
            await asyncio.to_thread(barrier.wait, 60)
            async with recorded_session(server.url, recorder) as session:
                for index in range(PER_PROCESS):
                    await session.execute(request(HELLO, name=f"{label}-{index}"))
                await asyncio.to_thread(barrier.wait, 60)

    asyncio.run(run())


@pytest.mark.parametrize(("mode", "seeded"), [("new_episodes", True), ("all", True),
                                              ("once", False), ("new_episodes", False)])
async def test_two_processes_recording_one_cassette_keep_every_entry(
    tmp_path: Path, mode: str, seeded: bool
) -> None:
    cassette = tmp_path / "shared.json"
    if seeded:
        await _record(cassette, ["seed"])
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(2)
    children = [context.Process(target=_record_in_child, args=(str(cassette), label, mode, barrier))
                for label in ("left", "right")]
    for child in children:
        child.start()
    for child in children:
        await asyncio.to_thread(child.join, 120)
    assert [child.exitcode for child in children] == [0, 0]
    names = _names(cassette)
    expected = {f"{label}-{index}" for label in ("left", "right") for index in range(PER_PROCESS)}
    expected |= {"seed"} if seeded else set()
    assert sorted(names) == sorted(expected)  # every entry of both, none twice
    assert sorted(p.name for p in tmp_path.iterdir()) == ["shared.json"]
