"""cassettes/genuine-prefect1-run.json: a genuine Prefect 1.4.1 run, watched live, shipped.

Its ids and timestamps are real, so re-recording it gives another file (the other shipped cassettes
are re-recorded byte for byte in test_shipped_cassettes.py); instead it must replay, offline, what
``flowview watch`` asks, and show what a genuine run does.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
from pathlib import Path

from flowview_async.recording import replay
from flowview_async.recording.ship import GENUINE, cli_live_watch
from flowview_async.watch import LogLine, RunFinished, StateChange

ROOT = Path(__file__).resolve().parents[2]
CASSETTE = ROOT / "cassettes" / f"{GENUINE}.json"
README = (ROOT / "README.md").read_text(encoding="utf-8")


def _flow_run_id() -> str:
    """The run the cassette watched: the one its first single-run lookup asks for."""
    for interaction in json.loads(CASSETTE.read_text(encoding="utf-8"))["interactions"]:
        variables = interaction["request"]["body"].get("variables") or {}
        if variables.get("limit") == 1 and "id" in (variables.get("where") or {}):
            return str(variables["where"]["id"]["_eq"])
    raise AssertionError("the genuine cassette has no flow run lookup")


async def test_the_genuine_cassette_replays_the_live_watch_of_a_real_run() -> None:
    async with replay(CASSETTE) as client:
        async with contextlib.aclosing(cli_live_watch(client, _flow_run_id())) as stream:
            events = [event async for event in stream]
        assert client.recorder is not None
        assert client.recorder.all_played
    states = [e.state.name for e in events if isinstance(e, StateChange)]
    assert states == ["Scheduled", "Submitted", "Running", "Success"]
    messages = [e.log.message for e in events if isinstance(e, LogLine)]
    assert len(messages) == len({e.log.id for e in events if isinstance(e, LogLine)})
    assert "Préparation de 4 éléments ✓ — 准备好了 🚀" in messages
    assert "Task 'work[1]': Finished task run for task with final state: 'Retrying'" in messages
    assert "Task 'summarize': Finished task run for task with final state: 'TriggerFailed'" in messages
    assert isinstance(events[-1], RunFinished)
    assert events[-1].state.name == "Success"


def test_the_readme_command_replays_it_with_no_backend() -> None:
    command = f"flowview watch {_flow_run_id()} --cassette cassettes/{GENUINE}.json"
    assert command in README
    completed = subprocess.run(
        [sys.executable, "-m", "flowview_async.cli", *command.split()[1:]],
        cwd=ROOT, capture_output=True, text=True, timeout=120, check=False,
        env={"PATH": "/usr/bin:/bin", "PREFECT__SERVER__ENDPOINT": "http://127.0.0.1:9",
             "HOME": str(ROOT / ".no-home"), "COLUMNS": "160", "PYTHONIOENCODING": "utf-8"},
    )
    assert completed.returncode == 0, completed.stderr
    assert "Success: All reference tasks succeeded." in completed.stdout
    assert "item 2 fails on its first run" in completed.stdout
