"""Differential test: flowview_async's views and Prefect 1.4.1's sync views, same backend, same data.

Prefect 1.4.1 runs in its own virtual environment (tests/prefect1_peer.py) and reads the local
backend over HTTP exactly as it reads Prefect Server; its answers are printed as JSON and compared
with ours field by field.
"""

from __future__ import annotations

import asyncio
from typing import Any

from flowview_async import Client, FlowRunView, TaskRunView
from flowview_async._rows import thaw
from flowview_async.server import LocalBackend
from tests.prefect1_peer import run_in_peer

FLOW_RUN_IDS = [
    "4c0101af-c6bb-4b96-8661-63a5bbfb5596",  # the documentation page's run
    "8e445d74-9ca6-425b-98e5-72754b7ea174",  # woodoo-leopard
    "e1d2c3b4-a5f6-4789-9abc-def012345678",  # a run with a mapped task
]

PEER_SCRIPT = """
import json, sys
from prefect.backend import FlowRunView

def state(s):
    return {
        "type": type(s).__name__, "message": s.message,
        "predicates": {p: getattr(s, p)() for p in PREDICATES},
    }

def task_run(t):
    return {"id": t.task_run_id, "task_id": t.task_id, "slug": t.task_slug, "name": t.name,
            "map_index": t.map_index, "flow_run_id": t.flow_run_id, "state": state(t.state)}

PREDICATES = %(predicates)r
out = {}
for flow_run_id in %(ids)r:
    view = FlowRunView.from_flow_run_id(flow_run_id)
    flow = view.get_flow_metadata()
    out[flow_run_id] = {
        "name": view.name, "flow_id": view.flow_id, "labels": list(view.labels),
        "parameters": dict(view.parameters), "context": dict(view.context),
        "state": state(view.state),
        "states": [dict(state(s), timestamp=s.timestamp.isoformat()) for s in view.states],
        "logs": [[l.timestamp.isoformat(), l.level, l.message] for l in view.get_logs()],
        "task_run_ids": view.get_task_run_ids(),  # natural order: see the test
        "task_runs": sorted((task_run(t) for t in view.get_all_task_runs()), key=lambda t: t["id"]),
        "flow": {"flow_id": flow.flow_id, "name": flow.name, "project_name": flow.project_name,
                 "storage_type": type(flow.storage).__name__, "core_version": flow.core_version,
                 "labels": list(flow.flow_group_labels), "archived": flow.archived,
                 "settings": dict(flow.settings)},
    }
print(json.dumps(out, default=str))
"""

PREDICATES = [
    "is_pending", "is_scheduled", "is_submitted", "is_queued", "is_running", "is_finished",
    "is_successful", "is_failed", "is_skipped", "is_mapped", "is_retrying", "is_looped",
    "is_cached", "is_meta_state",
]


def _state(s: Any) -> dict[str, Any]:
    return {
        "type": s.name,
        "message": s.message,
        "predicates": {p: getattr(s, p)() for p in PREDICATES},
    }


def _task_run(t: TaskRunView) -> dict[str, Any]:
    return {"id": t.task_run_id, "task_id": t.task_id, "slug": t.task_slug, "name": t.name,
            "map_index": t.map_index, "flow_run_id": t.flow_run_id, "state": _state(t.state)}


async def _ours(client: Client, flow_run_id: str) -> dict[str, Any]:
    view = await FlowRunView.from_flow_run_id(flow_run_id, client=client)
    flow, logs, ids, task_runs = await asyncio.gather(
        view.get_flow_metadata(), view.get_logs(), view.get_task_run_ids(), view.get_all_task_runs()
    )
    return {
        "name": view.name, "flow_id": view.flow_id, "labels": list(view.labels),
        "parameters": thaw(view.parameters), "context": thaw(view.context),
        "state": _state(view.state),
        "states": [dict(_state(s), timestamp=s.timestamp.isoformat() if s.timestamp else None)
                   for s in view.states],
        "logs": [[log.timestamp.isoformat(), log.level, log.message] for log in logs],
        "task_run_ids": ids,
        "task_runs": sorted((_task_run(t) for t in task_runs), key=lambda t: t["id"]),
        "flow": {"flow_id": flow.flow_id, "name": flow.name, "project_name": flow.project_name,
                 "storage_type": flow.storage_type, "core_version": flow.core_version,
                 "labels": list(flow.labels), "archived": flow.archived,
                 "settings": thaw(flow.settings)},
    }


async def test_views_agree_with_prefect_1_4_1(backend: LocalBackend) -> None:
    script = PEER_SCRIPT % {"ids": FLOW_RUN_IDS, "predicates": PREDICATES}
    env = {"PREFECT__BACKEND": "server", "PREFECT__SERVER__ENDPOINT": backend.url}
    # The backend runs in this event loop: the peer must run in a thread so the loop keeps serving.
    theirs = await asyncio.to_thread(run_in_peer, script, env=env)
    doc_ids_theirs = list(theirs[FLOW_RUN_IDS[0]]["task_run_ids"])
    async with Client(backend.url) as client:
        ours = {i: await _ours(client, i) for i in FLOW_RUN_IDS}
    for flow_run_id in FLOW_RUN_IDS:
        mine, peer = ours[flow_run_id], theirs[flow_run_id]
        # Prefect 1 sends no order_by, so its id order is the database's natural order; ours is
        # (created, id), which pages safely. They agree where creation times differ (the page's
        # run); with tied creation times only the set is comparable.
        assert sorted(mine.pop("task_run_ids")) == sorted(peer.pop("task_run_ids"))
        for key in peer:
            assert mine[key] == peer[key], f"{flow_run_id}: {key} differs"
    async with Client(backend.url) as client:
        doc_run = await FlowRunView.from_flow_run_id(FLOW_RUN_IDS[0], client=client)
        assert await doc_run.get_task_run_ids() == doc_ids_theirs
    # Sanity: the comparison covered real content, not empty lists.
    doc = ours[FLOW_RUN_IDS[0]]
    assert len(doc["logs"]) == 6
    assert len(doc["task_runs"]) == 3
    assert doc["states"]
    assert any(t["map_index"] >= 0 for t in ours[FLOW_RUN_IDS[2]]["task_runs"])
