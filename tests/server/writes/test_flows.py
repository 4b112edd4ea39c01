"""Flow registration over HTTP: groups, versions, tasks and edges, archiving, schedules, groups' settings."""

from __future__ import annotations

from typing import Any

from tests.server.writes.helpers import Writer, compress, edge, serialized_flow, task

FLOW_FIELDS = (
    "id name version archived version_group_id flow_group_id core_version is_schedule_active "
    "run_config storage parameters project_id"
)


async def _flow(writer: Writer, flow_id: str) -> Any:
    return (await writer.query(f'{{ flow_by_pk(id: "{flow_id}") {{ {FLOW_FIELDS} }} }}'))["flow_by_pk"]


async def _tasks(writer: Writer, flow_id: str) -> dict[str, Any]:
    rows = await writer.query(
        f'{{ task(where: {{flow_id: {{_eq: "{flow_id}"}}}}) {{ slug name type trigger mapped max_retries '
        "retry_delay is_root_task is_terminal_task is_reference_task tenant_id } }"
    )
    return {row.pop("slug"): row for row in rows["task"]}


async def test_a_compressed_flow_registers_with_its_group_tasks_edges_and_flags(writer: Writer) -> None:
    flow_id = await writer.register()
    flow = await _flow(writer, flow_id)
    assert flow["name"] == "demo-flow"
    assert flow["version"] == 1
    assert flow["archived"] is False
    assert flow["core_version"] == "1.4.1"
    assert flow["run_config"]["labels"] == ["dev"]
    assert flow["storage"]["type"] == "Local"
    assert flow["parameters"][0]["name"] == "n"
    assert flow["is_schedule_active"] is False  # no schedule: nothing to turn on
    group = (
        await writer.query(f'{{ flow_group_by_pk(id: "{flow["flow_group_id"]}") {{ name settings }} }}')
    )["flow_group_by_pk"]
    assert group["name"] == flow["version_group_id"]
    assert group["settings"]["version_locking_enabled"] is False
    assert group["settings"]["heartbeat_enabled"] is True
    tasks = await _tasks(writer, flow_id)
    assert set(tasks) == {"n", "numbers-1", "double-1", "total-1"}
    assert tasks["double-1"]["mapped"] is True
    assert tasks["numbers-1"]["mapped"] is False
    assert tasks["double-1"]["max_retries"] == 2
    assert tasks["double-1"]["retry_delay"] == "00:01:30"
    assert tasks["total-1"]["trigger"] == "prefect.triggers.all_finished"
    assert [s for s, t in tasks.items() if t["is_root_task"]] == ["n"]
    assert [s for s, t in tasks.items() if t["is_terminal_task"]] == ["total-1"]
    assert [s for s, t in tasks.items() if t["is_reference_task"]] == ["total-1"]
    assert {t["tenant_id"] for t in tasks.values()} == {writer.tenant_id}
    edges = await writer.query(
        f'{{ edge(where: {{flow_id: {{_eq: "{flow_id}"}}}}, order_by: [{{key: asc}}]) '
        "{ key mapped upstream_task { slug } downstream_task { slug } } }"
    )
    assert [(e["key"], e["mapped"], e["upstream_task"]["slug"]) for e in edges["edge"]] == [
        ("n", False, "n"),
        ("x", True, "numbers-1"),
        ("xs", False, "double-1"),
    ]


async def test_registering_again_adds_a_version_and_archives_the_previous_one(writer: Writer) -> None:
    first = await writer.register()
    second = await writer.register()
    one, two = await _flow(writer, first), await _flow(writer, second)
    assert (one["version"], two["version"]) == (1, 2)
    assert (one["archived"], two["archived"]) == (True, False)
    assert one["flow_group_id"] == two["flow_group_id"]
    # Another name in the same project starts a group of its own.
    other = await _flow(writer, await writer.register(serialized_flow("other")))
    assert other["version"] == 1
    assert other["flow_group_id"] != two["flow_group_id"]


async def test_the_same_idempotency_key_returns_the_same_flow(writer: Writer) -> None:
    first = await writer.register(idempotency_key="abc")
    assert await writer.register(idempotency_key="abc") == first
    third = await writer.register(idempotency_key="def")
    assert third != first
    assert (await _flow(writer, third))["version"] == 2


async def test_client_register_sends_tasks_and_edges_in_batches(writer: Writer) -> None:
    # Prefect 1.4.1's Client.register: the flow without tasks/edges, then register_tasks and
    # register_edges; the flags are right once the edges are in.
    flow = serialized_flow()
    tasks, edges = flow.pop("tasks"), flow.pop("edges")
    flow_id = (
        await writer.mutate(
            "create_flow_from_compressed_string",
            {
                "project_id": writer.project_id,
                "serialized_flow": compress(flow),
                "set_schedule_active": False,
            },
        )
    )["id"]
    assert await writer.mutate("register_tasks", {"flow_id": flow_id, "serialized_tasks": tasks[:2]}) == {
        "success": True
    }
    await writer.mutate("register_tasks", {"flow_id": flow_id, "serialized_tasks": tasks[1:]})
    await writer.mutate("register_edges", {"flow_id": flow_id, "serialized_edges": edges})
    registered = await _tasks(writer, flow_id)
    assert len(registered) == 4
    assert registered["double-1"]["mapped"] is True
    assert [s for s, t in registered.items() if t["is_terminal_task"]] == ["total-1"]
    stored = (await writer.query(f'{{ flow_by_pk(id: "{flow_id}") {{ serialized_flow }} }}'))["flow_by_pk"]
    assert [t["slug"] for t in stored["serialized_flow"]["tasks"]] == [
        "n",
        "numbers-1",
        "double-1",
        "total-1",
    ]


async def test_edges_to_unknown_tasks_are_refused_and_leave_nothing(writer: Writer) -> None:
    flow = serialized_flow(tasks=[task("a-1")], edges=[edge("a-1", "ghost-1")])
    error = await writer.error(
        "create_flow_from_compressed_string",
        {"project_id": writer.project_id, "serialized_flow": compress(flow)},
    )
    assert error["message"] == (
        "Edges could not be registered - some edges reference tasks that do not exist within this flow."
    )
    counts = await writer.query(
        "{ flow_aggregate { aggregate { count } } flow_group_aggregate { aggregate { count } } "
        "task_aggregate { aggregate { count } } }"
    )
    assert [value["aggregate"]["count"] for value in counts.values()] == [0, 0, 0]


async def test_bad_compressed_flow_and_unknown_project_are_refused(writer: Writer) -> None:
    error = await writer.error(
        "create_flow_from_compressed_string", {"project_id": writer.project_id, "serialized_flow": "not-gzip"}
    )
    assert error["message"] == "Unable to decompress serialized flow"
    error = await writer.error(
        "create_flow",
        {"project_id": "00000000-0000-0000-0000-000000000000", "serialized_flow": serialized_flow()},
    )
    assert error["message"] == "Invalid project."


async def test_archive_flow_cancels_its_scheduled_runs_and_runs_of_it_are_refused(writer: Writer) -> None:
    flow_id = await writer.register()
    run_id = await writer.create_run(flow_id)
    assert await writer.mutate("archive_flow", {"flow_id": flow_id}) == {"success": True}
    run = await writer.flow_run(run_id, "state state_message")
    assert run == {"state": "Cancelled", "state_message": f"Flow {flow_id} was archived."}
    error = await writer.error("create_flow_run", {"flow_id": flow_id})
    assert error["message"] == f"Flow {flow_id} is archived."


async def test_delete_flow_removes_tasks_edges_and_runs(writer: Writer) -> None:
    flow_id = await writer.register()
    await writer.create_run(flow_id)
    assert await writer.mutate("delete_flow", {"flow_id": flow_id}) == {"success": True}
    counts = await writer.query(
        "{ flow_aggregate { aggregate { count } } task_aggregate { aggregate { count } } "
        "edge_aggregate { aggregate { count } } flow_run_aggregate { aggregate { count } } "
        "task_run_aggregate { aggregate { count } } }"
    )
    assert [value["aggregate"]["count"] for value in counts.values()] == [0, 0, 0, 0, 0]


async def test_schedule_active_needs_a_schedule(writer: Writer) -> None:
    unscheduled = await writer.register(set_schedule_active=False)
    assert await writer.mutate("set_schedule_active", {"flow_id": unscheduled}) == {"success": False}
    schedule = {"type": "Schedule", "clocks": [{"type": "IntervalClock", "interval": 3_600_000_000}]}
    scheduled = await writer.register(serialized_flow("hourly", schedule=schedule), set_schedule_active=False)
    assert (await _flow(writer, scheduled))["is_schedule_active"] is False
    assert await writer.mutate("set_schedule_active", {"flow_id": scheduled}) == {"success": True}
    assert (await _flow(writer, scheduled))["is_schedule_active"] is True
    assert await writer.mutate("set_schedule_inactive", {"flow_id": scheduled}) == {"success": True}
    assert (await _flow(writer, scheduled))["is_schedule_active"] is False


async def test_required_parameters_without_clock_defaults_cannot_be_scheduled(writer: Writer) -> None:
    schedule = {"type": "Schedule", "clocks": [{"type": "IntervalClock", "interval": 60_000_000}]}
    flow = serialized_flow(
        "needs-x",
        schedule=schedule,
        parameters=[{"name": "x", "slug": "x", "required": True, "default": None}],
    )
    flow_id = await writer.register(flow, set_schedule_active=False)
    error = await writer.error("set_schedule_active", {"flow_id": flow_id})
    assert error["message"] == "Can not schedule a flow that has required parameters."


async def test_flow_group_settings(writer: Writer) -> None:
    flow_id = await writer.register()
    group_id = (await _flow(writer, flow_id))["flow_group_id"]
    await writer.mutate("set_flow_group_labels", {"flow_group_id": group_id, "labels": ["b", "a", "b"]})
    await writer.mutate(
        "set_flow_group_run_config", {"flow_group_id": group_id, "run_config": {"type": "LocalRun"}}
    )
    await writer.mutate(
        "set_flow_group_default_parameters", {"flow_group_id": group_id, "parameters": {"n": 7}}
    )
    await writer.mutate("set_flow_group_description", {"flow_group_id": group_id, "description": "about"})
    await writer.mutate("disable_flow_heartbeat", {"flow_id": flow_id})
    group = (
        await writer.query(
            f'{{ flow_group_by_pk(id: "{group_id}") '
            "{ labels run_config default_parameters description settings } }"
        )
    )["flow_group_by_pk"]
    assert group["labels"] == ["a", "b"]
    assert group["run_config"] == {"type": "LocalRun"}
    assert group["default_parameters"] == {"n": 7}
    assert group["description"] == "about"
    assert group["settings"]["heartbeat_enabled"] is False
    error = await writer.error(
        "set_flow_group_default_parameters",
        {"flow_group_id": "00000000-0000-0000-0000-000000000000", "parameters": []},
    )
    assert "JSON object" in error["message"]


async def test_flow_group_schedule_is_stored_as_prefect_clocks(writer: Writer) -> None:
    flow_id = await writer.register()
    group_id = (await _flow(writer, flow_id))["flow_group_id"]
    data = {
        "flow_group_id": group_id,
        "cron_clocks": [{"cron": "0 * * * *", "parameter_defaults": {"n": 1}}],
        "interval_clocks": [{"interval": 90}],
        "timezone": "Europe/Paris",
    }
    assert await writer.mutate("set_flow_group_schedule", data) == {"success": True}
    group = (await writer.query(f'{{ flow_group_by_pk(id: "{group_id}") {{ schedule }} }}'))[
        "flow_group_by_pk"
    ]
    cron, interval = group["schedule"]["clocks"]
    assert group["schedule"]["type"] == "Schedule"
    assert (cron["type"], cron["cron"], cron["parameter_defaults"]) == ("CronClock", "0 * * * *", {"n": 1})
    assert (interval["type"], interval["interval"]) == ("IntervalClock", 90_000_000)
    assert cron["start_date"]["tz"] == "Europe/Paris"
    bad_cron = await writer.error("set_flow_group_schedule", {**data, "cron_clocks": [{"cron": "every day"}]})
    assert bad_cron["message"].startswith("Invalid clock provided for schedule:")
    bad_zone = await writer.error("set_flow_group_schedule", {**data, "timezone": "Mars/Olympus"})
    assert bad_zone["message"] == "Invalid timezone provided for schedule: Mars/Olympus"
    assert await writer.mutate("delete_flow_group_schedule", {"flow_group_id": group_id}) == {"success": True}
    group = (await writer.query(f'{{ flow_group_by_pk(id: "{group_id}") {{ schedule }} }}'))[
        "flow_group_by_pk"
    ]
    assert group["schedule"] is None
