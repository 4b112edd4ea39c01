"""The cassettes in cassettes/: they replay offline, and re-recording them gives the same bytes."""

from __future__ import annotations

import calendar
import contextlib
import json
import time
from pathlib import Path

import pytest

from flowview_async import Client, FlowRunView, inspect_flow_run
from flowview_async.recording import replay
from flowview_async.recording.ship import (
    DOC_FLOW_RUN_ID,
    DOC_FLOW_RUN_NAME,
    SHIPPED,
    record_shipped,
    reproducible_fixture,
)
from flowview_async.watch import (
    DEFAULT_MAX_POLL_INTERVAL,
    DEFAULT_POLL_INTERVAL,
    FlowRunWatch,
    LogLine,
    watch_flow_run,
)
from tests.recording.helpers import local_backend

SHIPPED_DIR = Path(__file__).resolve().parents[2] / "cassettes"


def _recorded_epoch(path: Path) -> str:
    stamp = json.loads(path.read_text())["flowview"]["recorded_at"]
    return str(calendar.timegm(time.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ")))


@pytest.mark.parametrize("name", sorted(SHIPPED))
async def test_rerecording_a_shipped_cassette_gives_the_same_file(tmp_path, monkeypatch, name):
    shipped = SHIPPED_DIR / f"{name}.json"
    monkeypatch.setenv("SOURCE_DATE_EPOCH", _recorded_epoch(shipped))
    again = await record_shipped(name, tmp_path)
    assert again.read_bytes() == shipped.read_bytes(), (
        f"{shipped} is stale: run `python -m flowview_async.recording.ship --only {name}`"
    )


async def test_the_documentation_cassette_replays_the_live_inspection():
    async with local_backend(reproducible_fixture()) as backend, Client(backend.url) as client:
        live = await inspect_flow_run(DOC_FLOW_RUN_ID, client=client)
    async with replay(SHIPPED_DIR / "inspecting-flow-runs.json") as client:
        replayed = await inspect_flow_run(DOC_FLOW_RUN_ID, client=client)
    assert replayed.to_dict() == live.to_dict()
    assert replayed.flow_run.name == live.flow_run.name


async def test_the_large_cassette_replays_hundreds_of_task_runs_and_thousands_of_logs():
    path = SHIPPED_DIR / "synthetic-large.json"
    flow_run_id = json.loads(path.read_text())["interactions"][0]["request"]["body"]["variables"][
        "flow_run_id"
    ]
    async with replay(path) as client:
        inspection = await inspect_flow_run(flow_run_id, client=client)
        assert client.recorder is not None
        assert client.recorder.all_played
    assert len(inspection.task_runs) >= 300
    assert len(inspection.logs) >= 3000


async def test_the_documentation_cassette_replays_an_inspection_by_name():
    async with replay(SHIPPED_DIR / "inspecting-flow-runs.json") as client:
        view = await FlowRunView.from_flow_run_name(DOC_FLOW_RUN_NAME, client=client)
        inspection = await inspect_flow_run(view.flow_run_id, client=client)
    assert view.flow_run_id == DOC_FLOW_RUN_ID
    assert inspection.flow_run.name == DOC_FLOW_RUN_NAME


def _cli_watch_events(client: Client) -> FlowRunWatch:
    # The options `flowview watch` passes by default (flowview_async/cli/watch_command.py).
    return watch_flow_run(
        DOC_FLOW_RUN_ID, client=client, stream_logs=True, stream_task_runs=True,
        start="beginning", poll_interval=DEFAULT_POLL_INTERVAL,
        max_poll_interval=max(DEFAULT_MAX_POLL_INTERVAL, DEFAULT_POLL_INTERVAL),
        max_duration=12 * 3600.0,
    )


async def _watch(client: Client) -> list[dict[str, object]]:
    seen: list[dict[str, object]] = []
    async with contextlib.aclosing(_cli_watch_events(client)) as stream:
        async for event in stream:
            text = event.log.message if isinstance(event, LogLine) else getattr(
                event, "state", event).name
            seen.append({"kind": type(event).__name__, "text": text})
    return seen


async def test_the_documentation_cassette_replays_the_cli_watch_of_the_finished_run():
    async with local_backend(reproducible_fixture()) as backend, Client(backend.url) as client:
        live = await _watch(client)
    async with replay(SHIPPED_DIR / "inspecting-flow-runs.json") as client:
        replayed = await _watch(client)
    assert replayed == live
    assert replayed[-1] == {"kind": "RunFinished", "text": "Success"}
    assert any(event["kind"] == "LogLine" for event in replayed)


async def test_the_documentation_cassette_replays_what_the_live_watch_display_asks():
    # The terminal display also loads the run and its task runs once; task-run events follow.
    async with replay(SHIPPED_DIR / "inspecting-flow-runs.json") as client:
        view = await FlowRunView.from_flow_run_id(DOC_FLOW_RUN_ID, client=client)
        assert len(await view.get_all_task_runs()) == 3
        async with _cli_watch_events(client) as stream:
            async for _ in stream:
                pass
