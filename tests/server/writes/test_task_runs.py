"""Mapped children on first use (exactly once under concurrency), heartbeats and log batches."""

from __future__ import annotations

import asyncio
import io
import json

from tests.server.writes.helpers import Writer


async def _running(writer: Writer) -> tuple[str, str]:
    flow_id = await writer.register()
    run_id = await writer.create_run(flow_id)
    await writer.set_flow_run_state(run_id, "Running")
    task_id = (await writer.query('{ task(where: {slug: {_eq: "double-1"}}) { id } }'))["task"][0]["id"]
    return run_id, task_id


async def test_get_or_create_task_run_info_finds_the_parent_and_creates_a_child(writer: Writer) -> None:
    run_id, task_id = await _running(writer)
    parent = await writer.mutate(
        "get_or_create_task_run_info", {"flow_run_id": run_id, "task_id": task_id, "map_index": -1}
    )
    assert parent["id"] == (await writer.task_run_of(run_id, "double-1"))["id"]
    assert (parent["state"], parent["version"]) == ("Pending", 1)
    child = await writer.mutate(
        "get_or_create_task_run_info", {"flow_run_id": run_id, "task_id": task_id, "map_index": 2}
    )
    assert child["id"] != parent["id"]
    assert child["serialized_state"] == {"type": "Pending", "message": "Task run created"}
    assert (child["state"], child["version"]) == ("Pending", 1)
    again = await writer.mutate(
        "get_or_create_task_run", {"flow_run_id": run_id, "task_id": task_id, "map_index": 2}
    )
    assert again == {"id": child["id"]}
    stored = await writer.task_run_of(run_id, "double-1", 2)
    assert stored["id"] == child["id"]


async def test_parallel_workers_asking_for_the_same_children_create_each_once(writer: Writer) -> None:
    run_id, task_id = await _running(writer)

    async def ask(index: int) -> str:
        data = {"flow_run_id": run_id, "task_id": task_id, "map_index": index}
        return str((await writer.mutate("get_or_create_task_run_info", data))["id"])

    # 8 workers x 5 children, all at once (a LocalDaskExecutor's threads do the same).
    answers = await asyncio.gather(*(ask(index) for _ in range(8) for index in range(5)))
    by_index: dict[int, set[str]] = {}
    for position, task_run_id in enumerate(answers):
        by_index.setdefault(position % 5, set()).add(task_run_id)
    assert all(len(ids) == 1 for ids in by_index.values())
    children = [
        t for t in await writer.task_runs(run_id) if t["task"]["slug"] == "double-1" and t["map_index"] >= 0
    ]
    assert sorted(t["map_index"] for t in children) == [0, 1, 2, 3, 4]
    states = await writer.query(
        f'{{ task_run_state_aggregate(where: {{task_run: {{flow_run_id: {{_eq: "{run_id}"}}, '
        "map_index: {_gte: 0}}}) { aggregate { count } } }"
    )
    assert states["task_run_state_aggregate"]["aggregate"]["count"] == 5


async def test_unknown_task_or_flow_run_is_refused(writer: Writer) -> None:
    run_id, task_id = await _running(writer)
    missing = "00000000-0000-0000-0000-000000000000"
    error = await writer.error("get_or_create_task_run_info", {"flow_run_id": run_id, "task_id": missing})
    assert error["message"] == "Invalid task ID"
    error = await writer.error("get_or_create_task_run", {"flow_run_id": run_id, "task_id": missing})
    assert error["message"] == "Invalid ID"
    error = await writer.error("get_or_create_task_run_info", {"flow_run_id": missing, "task_id": task_id})
    assert "foreign key" in error["message"]


async def test_write_run_logs_stores_a_batch_and_skips_what_it_cannot_store(writer: Writer) -> None:
    run_id, _ = await _running(writer)
    task_run_id = (await writer.task_run_of(run_id, "numbers-1"))["id"]
    logs = [
        {
            "flow_run_id": run_id,
            "task_run_id": None,
            "timestamp": "2026-11-29T12:20:02.688391+00:00",
            "name": "prefect.FlowRunner",
            "level": "INFO",
            "message": "Beginning Flow run for 'demo-flow'",
        },
        {
            "flow_run_id": run_id,
            "task_run_id": task_run_id,
            "timestamp": "2026-11-29T12:20:02.698494+00:00",
            "name": "prefect.numbers",
            "level": "WARNING",
            "message": "ünïcödé ✓\nsecond line",
            "info": {"lineno": 3},
        },
        {"flow_run_id": "00000000-0000-0000-0000-000000000000", "message": "orphan"},
        {"flow_run_id": run_id, "timestamp": "not a time", "message": "bad time"},
        {"flow_run_id": run_id, "message": "no timestamp, no level"},
    ]
    assert await writer.mutate("write_run_logs", {"logs": logs}) == {"success": True}
    rows = await writer.query(
        "{ log(order_by: [{timestamp: asc}]) { flow_run_id task_run_id name level message info tenant_id } }"
    )
    assert [row["message"] for row in rows["log"]] == [
        "Beginning Flow run for 'demo-flow'",
        "ünïcödé ✓\nsecond line",
        "no timestamp, no level",
    ]
    assert rows["log"][1]["task_run_id"] == task_run_id
    assert rows["log"][1]["level"] == "WARNING"
    assert rows["log"][1]["info"] == {"lineno": 3}
    assert rows["log"][2]["level"] == "INFO"
    assert {row["tenant_id"] for row in rows["log"]} == {writer.tenant_id}


async def test_a_four_megabyte_log_batch_is_stored(writer: Writer) -> None:
    run_id, _ = await _running(writer)
    line = "x" * 1000
    logs = [{"flow_run_id": run_id, "message": f"{index} {line}", "level": "INFO"} for index in range(4000)]
    query = "mutation($input: write_run_logs_input!) { write_run_logs(input: $input) { success } }"
    body = json.dumps({"query": query, "variables": {"input": {"logs": logs}}}).encode()
    assert len(body) > 4_000_000
    headers = {"Content-Type": "application/json"}
    async with writer.gql.session.post(writer.gql.url, data=io.BytesIO(body), headers=headers) as response:
        assert response.status == 200
        assert await response.json() == {"data": {"write_run_logs": {"success": True}}}
    count = await writer.query("{ log_aggregate { aggregate { count } } }")
    assert count["log_aggregate"]["aggregate"]["count"] == 4000


async def test_mapped_children_summarises_a_parent_and_answers_nothing_for_a_child(writer: Writer) -> None:
    run_id, task_id = await _running(writer)
    parent = (await writer.task_run_of(run_id, "double-1"))["id"]
    children = [
        (
            await writer.mutate(
                "get_or_create_task_run_info", {"flow_run_id": run_id, "task_id": task_id, "map_index": index}
            )
        )["id"]
        for index in range(3)
    ]
    await writer.set_task_run_state(children[0], "Running")
    await writer.set_task_run_state(children[0], "Success")
    query = (
        "query($id: UUID!) { mapped_children(task_run_id: $id) { min_start_time max_end_time state_counts } }"
    )
    summary = (await writer.gql.data(query, {"id": parent}))["mapped_children"]
    assert summary["state_counts"] == {"Pending": 2, "Success": 1}
    assert summary["min_start_time"] is not None
    assert summary["max_end_time"] is not None
    of_child = (await writer.gql.data(query, {"id": children[1]}))["mapped_children"]
    assert of_child == {"min_start_time": None, "max_end_time": None, "state_counts": {}}
