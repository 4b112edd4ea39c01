"""Differential test: Prefect 1.4.1's own sync views, pointed at the local backend.

The peer runs in its own virtual environment (tests/prefect1_peer.py) as a subprocess; the backend
runs in this test's event loop, so the peer is driven from a worker thread while the loop serves.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from flowview_async.server import LocalBackend, shipped_fixture_path
from tests.prefect1_peer import run_in_peer

DOC_RUN = "4c0101af-c6bb-4b96-8661-63a5bbfb5596"
WOODOO_RUN = "8e445d74-9ca6-425b-98e5-72754b7ea174"
MAPPED_RUN = "e1d2c3b4-a5f6-4789-9abc-def012345678"

PEER_SCRIPT = """
import json
from prefect.backend import FlowRunView, FlowView, TaskRunView
from prefect.backend.flow_run import watch_flow_run

def state(s):
    return [type(s).__name__, s.message]

out = {}
run = FlowRunView.from_flow_run_id(%(doc)r)
out["run"] = {
    "name": run.name, "flow_id": run.flow_id, "labels": list(run.labels),
    "parameters": dict(run.parameters), "context": dict(run.context),
    "state": state(run.state), "finished": run.state.is_finished(),
    "running": run.state.is_running(), "states": [state(s) for s in run.states],
    "run_config": type(run.run_config).__name__, "updated": run.updated_at.isoformat(),
}
out["logs"] = [[log.timestamp.isoformat(), log.level, log.message] for log in run.get_logs()]
out["task_run_ids"] = run.get_task_run_ids()
hello = run.get_task_run(task_slug="say_hello-1")
out["say_hello"] = [hello.task_run_id, hello.task_id, hello.task_slug, hello.map_index,
                    state(hello.state), hello.flow_run_id]
out["all_task_runs"] = sorted([t.task_slug, t.task_run_id] for t in run.get_all_task_runs())
flow = run.get_flow_metadata()
out["flow"] = {
    "flow_id": flow.flow_id, "name": flow.name, "project_name": flow.project_name,
    "storage_type": type(flow.storage).__name__, "core_version": flow.core_version,
    "flow_group_labels": list(flow.flow_group_labels), "archived": flow.archived,
    "deserialized_name": flow.flow.name, "task_slugs": sorted(t.slug for t in flow.flow.tasks),
    "repr": repr(flow),
}
by_name = FlowView.from_flow_name("hello-world", project_name="default")
out["flow_by_name"] = by_name.flow_id
latest = run.get_latest()
out["latest_state"] = state(latest.state)
woodoo = FlowRunView.from_flow_run_id(%(woodoo)r)
out["woodoo"] = [woodoo.name, state(woodoo.state)]
mapped_run = FlowRunView.from_flow_run_id(%(mapped)r)
parent = mapped_run.get_task_run(task_slug="greet-1")
out["mapped_parent"] = [state(parent.state), parent.map_index]
out["mapped_children"] = [[c.map_index, state(c.state)] for c in parent.iter_mapped()]
out["mapped_result"] = parent.get_result()
child_id = mapped_run.get_task_run(task_slug="greet-1", map_index=1).task_run_id
child = TaskRunView.from_task_run_id(child_id)
out["child"] = [child.name, child.map_index, child.get_result()]
out["watch"] = [log.message.split(" ago")[0].rsplit(" ", 2)[0] for log in watch_flow_run(%(doc)r)]
print(json.dumps(out))
"""


async def test_prefect_1_views_read_the_seeded_data() -> None:
    fixture = json.loads(shipped_fixture_path("inspecting-flow-runs").read_text())
    async with LocalBackend("inspecting-flow-runs") as backend:
        env = {"PREFECT__BACKEND": "server", "PREFECT__SERVER__ENDPOINT": backend.url}
        script = PEER_SCRIPT % {"doc": DOC_RUN, "woodoo": WOODOO_RUN, "mapped": MAPPED_RUN}
        peer: dict[str, Any] = await asyncio.to_thread(run_in_peer, script, env=env)
        served = backend.requests

    (doc_row,) = [row for row in fixture["flow_run"] if row["id"] == DOC_RUN]
    assert peer["run"] == {
        "name": doc_row["name"],
        "flow_id": "8bdcf5b5-7598-49d1-a885-61612ca550de",
        "labels": doc_row["labels"],
        "parameters": doc_row["parameters"],
        "context": doc_row["context"],
        "state": ["Success", "All reference tasks succeeded."],
        "finished": True,
        "running": False,
        "states": [
            ["Scheduled", "Flow run scheduled."],
            ["Submitted", "Submitted for execution"],
            ["Running", "Running flow."],
            ["Success", "All reference tasks succeeded."],
        ],
        "run_config": "UniversalRun",
        "updated": "1978-04-12T23:00:00.500000+00:00",
    }
    expected_logs = [
        [row["timestamp"], 20, row["message"]] for row in fixture["log"] if row["flow_run_id"] == DOC_RUN
    ]
    assert [[ts, level, msg] for ts, level, msg in peer["logs"]] == [
        [_pendulum_iso(ts), level, msg] for ts, level, msg in expected_logs
    ]
    assert peer["logs"][1][2] == "Beginning Flow run for 'radio_show'"
    assert peer["task_run_ids"] == [
        "c8751f34-9d5e-4ea7-aead-8b50978dabb7",
        "f5f422f6-4f56-45d2-bd55-5ea048070d84",
        "7cc167d3-737d-4187-85d8-d5e5a75fbd93",
    ]
    assert peer["say_hello"] == [
        "c8751f34-9d5e-4ea7-aead-8b50978dabb7",
        "34b0dd2d-582e-4f0a-923d-63daf1e38fe5",
        "say_hello-1",
        -1,
        ["Success", "Task run succeeded."],
        DOC_RUN,
    ]
    assert peer["all_task_runs"] == [
        ["say_goodbye-1", "7cc167d3-737d-4187-85d8-d5e5a75fbd93"],
        ["say_hello-1", "c8751f34-9d5e-4ea7-aead-8b50978dabb7"],
        ["series_one-1", "f5f422f6-4f56-45d2-bd55-5ea048070d84"],
    ]
    assert peer["flow"] == {
        "flow_id": "8bdcf5b5-7598-49d1-a885-61612ca550de",
        "name": "hello-world",
        "project_name": "default",
        "storage_type": "Module",
        "core_version": "1.4.1",
        "flow_group_labels": ["dev"],
        "archived": False,
        "deserialized_name": "hello-world",
        "task_slugs": ["say_goodbye-1", "say_hello-1", "series_one-1"],
        "repr": "FlowView(flow_id='8bdcf5b5-7598-49d1-a885-61612ca550de', name='hello-world', "
        "project_name='default', storage_type=Module)",
    }
    assert peer["flow_by_name"] == "8bdcf5b5-7598-49d1-a885-61612ca550de"
    assert peer["latest_state"] == ["Success", "All reference tasks succeeded."]
    assert peer["woodoo"] == ["woodoo-leopard", ["Success", "All reference tasks succeeded."]]
    assert peer["mapped_parent"] == [["Mapped", "Ready to proceed with mapping."], -1]
    assert peer["mapped_children"] == [[index, ["Success", "Task run succeeded."]] for index in range(3)]
    assert peer["mapped_result"] == ["Hello arthur", "Hello ford", "Hello marvin"]
    assert peer["child"] == ["greet[1]", 1, "Hello ford"]
    assert peer["watch"] == ["Your flow run finished"]  # "... N years ago"
    # Prefect posts to the root with inlined arguments and "variables": "null".
    assert served
    assert {request.status for request in served} == {200}
    assert all(request.variables is None for request in served)


def _pendulum_iso(timestamp: str) -> str:
    # pendulum's isoformat always prints microseconds when they are not zero, and none otherwise.
    date, _, rest = timestamp.partition("T")
    clock = rest.removesuffix("+00:00")
    if "." in clock:
        whole, fraction = clock.split(".")
        clock = f"{whole}.{fraction.ljust(6, '0')}"
    return f"{date}T{clock}+00:00"
