"""End to end with real Prefect 1.4.1: a genuine run, watched live, compared, then replayed offline.

Prefect's CLI registers the six-task flow of :mod:`flowview_async.recording.genuine` (a Parameter,
a LocalDaskExecutor map over four items with one child failing once and passing on retry, a task
failing for good, a TriggerFailed downstream, an ``all_finished`` task, unicode and multi-line log
lines) and creates a run; ``watch_flow_run`` starts before ``prefect agent local start`` does, and
follows the run to its end. Then:

* the watch yielded every state of the run's history and every stored log line, each exactly once;
* flowview's views and Prefect 1.4.1's own views (run in the peer venv against the same backend)
  agree on the run's states, its task runs, the mapped children and the logs;
* everything our client exchanged, recorded by the recorder, replays with the backend stopped and
  gives the same events and views.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from flowview_async import Client, FlowRunView
from flowview_async.recording import Recorder, RecordMode, replay
from flowview_async.recording.genuine import PrefectEnvironment, run_genuine
from flowview_async.server import LocalBackend
from flowview_async.watch import LogLine, RunFinished, StateChange, WatchEvent, watch_flow_run
from tests.prefect1_peer import ensure_peer, run_in_peer

TENANT_FIXTURE = {"tenant": [{"name": "default", "slug": "default"}]}

PEER_VIEWS = """
import json
from prefect.backend import FlowRunView

def state(s):
    return [type(s).__name__, s.message]

run = FlowRunView.from_flow_run_id(%(run_id)r)
parent = run.get_task_run(task_slug="work-1")
print(json.dumps({
    "state": state(run.state),
    "states": [state(s) for s in run.states],
    "task_runs": sorted([t.task_slug, t.map_index, *state(t.state)] for t in run.get_all_task_runs()),
    "mapped": [[c.map_index, *state(c.state)] for c in parent.iter_mapped()],
    "logs": [[log.timestamp.isoformat(), log.level, log.message] for log in run.get_logs()],
}))
"""

HISTORY = """query ($id: uuid!) {
  flow_run_state(where: {flow_run_id: {_eq: $id}}, order_by: {version: asc}) { state }
  log(where: {flow_run_id: {_eq: $id}}) { id }
  task_run(where: {flow_run_id: {_eq: $id}, task: {slug: {_eq: "work-1"}}, map_index: {_eq: 1}}) {
    states(order_by: {version: asc}) { state }
  }
}"""


def _state(state: Any) -> list[Any]:
    return [state.name, state.message]


async def _our_views(client: Client, flow_run_id: str) -> dict[str, Any]:
    """The same questions as PEER_VIEWS, asked through flowview's views."""
    run = await FlowRunView.from_flow_run_id(flow_run_id, client=client)
    parent = await run.get_task_run(task_slug="work-1")
    task_runs = await run.get_all_task_runs()
    return {
        "state": _state(run.state),
        "states": [_state(s) for s in run.states],
        "task_runs": sorted([t.task_slug, t.map_index, *_state(t.state)] for t in task_runs),
        "mapped": [[c.map_index, *_state(c.state)] async for c in parent.iter_mapped()],
        "logs": [[log.timestamp.isoformat(), log.level, log.message] for log in await run.get_logs()],
    }


def _summary(events: tuple[WatchEvent, ...] | list[WatchEvent]) -> list[Any]:
    out: list[Any] = []
    for event in events:
        if isinstance(event, LogLine):
            out.append(["log", event.log.id, event.log.message])
        elif isinstance(event, StateChange):
            out.append(["state", event.state.name])
        else:
            out.append(["finished", event.state.name])
    return out


async def test_a_genuine_prefect_1_run_watched_compared_and_replayed(tmp_path: Path) -> None:
    venv = (await asyncio.to_thread(ensure_peer)).parent.parent
    cassette = tmp_path / "genuine.json"
    async with LocalBackend(TENANT_FIXTURE) as backend:
        prefect = PrefectEnvironment(venv, tmp_path / "prefect-home", backend.graphql_url,
                                     label="flowview-e2e")
        recorder = Recorder(cassette, record_mode=RecordMode.ALL)
        async with Client(backend.url, recorder=recorder) as client:
            # Prefect 1's own watch polls every 2 s; the flow-run process ships its last log
            # batch at exit, just after the final state, and one more poll follows that state.
            run = await run_genuine(
                prefect, tmp_path, lambda run_id: watch_flow_run(run_id, client=client, poll_interval=2.0)
            )
            ours = await _our_views(client, run.flow_run_id)
        async with Client(backend.url) as plain:
            stored = await plain.execute(HISTORY, {"id": run.flow_run_id})
        env = {"PREFECT__BACKEND": "server", "PREFECT__SERVER__ENDPOINT": backend.url}
        theirs = await asyncio.to_thread(run_in_peer, PEER_VIEWS % {"run_id": run.flow_run_id}, env=env)

    # The watch began before any agent existed, and saw the whole life of the run.
    watched = _summary(run.events)
    assert watched[0] == ["state", "Scheduled"]
    assert [e[1] for e in watched if e[0] == "state"] == [s["state"] for s in stored["flow_run_state"]]
    assert [s["state"] for s in stored["flow_run_state"]] == ["Scheduled", "Submitted", "Running", "Success"]
    log_ids = [e[1] for e in watched if e[0] == "log"]
    assert len(log_ids) == len(set(log_ids)), "a log line was delivered twice"
    assert sorted(log_ids) == sorted(row["id"] for row in stored["log"]), "a log line was never delivered"
    assert watched[-1] == ["finished", "Success"]
    assert isinstance(run.events[-1], RunFinished)

    # What the flow was written to do, as the backend stored it from Prefect's own writes.
    (child,) = stored["task_run"]
    assert [s["state"] for s in child["states"]] == [
        "Pending", "Running", "Failed", "Retrying", "Running", "Success"
    ]
    by_slug = {(slug, index): kind for slug, index, kind, _ in ours["task_runs"]}
    assert by_slug[("broken-1", -1)] == "Failed"
    assert by_slug[("summarize-1", -1)] == "TriggerFailed"
    assert by_slug[("report-1", -1)] == "Success"
    assert by_slug[("work-1", -1)] == "Mapped"
    assert [index for index, *_ in ours["mapped"]] == [0, 1, 2, 3]
    messages = [message for *_, message in ours["logs"]]
    assert "Préparation de 4 éléments ✓ — 准备好了 🚀" in messages
    assert "a multi-line log line:\n  second line\n  third line" in messages

    # flowview's views and Prefect 1.4.1's views say the same things about the same run.
    assert ours == json.loads(json.dumps(theirs))

    # Offline: the backend is stopped; the recorded exchange answers the same watch and views.
    async with replay(cassette) as client:
        events = []
        async for event in watch_flow_run(run.flow_run_id, client=client, poll_interval=2.0):
            events.append(event)
        replayed_views = await _our_views(client, run.flow_run_id)
    assert _summary(events) == watched
    assert replayed_views == ours
