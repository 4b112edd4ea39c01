"""Storage under real use: restarts, a killed server, many writers at once, failures mid-write."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sqlite3
import subprocess
import sys
import urllib.request
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from flowview_async.server.runner import LocalBackend
from flowview_async.server.writes import flows as flow_writes
from tests.scale import scaled
from tests.server.conftest import GraphQL
from tests.server.test_cli_serve import serving
from tests.server.writes.helpers import Writer, serialized_flow, state

SERVE_SCRIPT = """
import asyncio, sys
from flowview_async.server import LocalBackend

async def main():
    async with LocalBackend(None, db_path=sys.argv[1]) as backend:
        print(backend.graphql_url, flush=True)
        await asyncio.Event().wait()

asyncio.run(main())
"""


async def _simulate_run(writer: Writer, flow_id: str, log_lines: int) -> str:
    """What one flow-run process sends: states for the run and each task run, logs in batches."""
    run_id = await writer.create_run(flow_id)
    await writer.set_flow_run_state(run_id, "Running", version=1)
    for task_run in await writer.task_runs(run_id):
        await writer.set_task_run_state(task_run["id"], "Running", version=1)
        logs = [
            {"flow_run_id": run_id, "task_run_id": task_run["id"], "message": f"line {i}"}
            for i in range(log_lines)
        ]
        await writer.mutate("write_run_logs", {"logs": logs})
        await writer.set_task_run_state(task_run["id"], "Success", version=2)
    await writer.set_flow_run_state(run_id, "Success", version=2)
    return run_id


async def test_everything_written_survives_a_restart(tmp_path: Path, session: aiohttp.ClientSession) -> None:
    path = tmp_path / "flowview.db"
    async with LocalBackend(None, db_path=path) as first:
        writer = Writer(GraphQL(session, first.graphql_url), first)
        await writer.setup()
        flow_id = await writer.register()
        run_id = await _simulate_run(writer, flow_id, log_lines=3)
        agent = await writer.mutate("register_agent", {"type": "LocalAgent", "labels": ["dev"]})
        before = await writer.query(_SNAPSHOT)
    async with LocalBackend(None, db_path=path) as second:
        again = Writer(GraphQL(session, second.graphql_url), second)
        assert await again.query(_SNAPSHOT) == before
        assert (await again.flow_run(run_id, "state"))["state"] == "Success"
        assert (await again.query(f'{{ agent_by_pk(id: "{agent["id"]}") {{ labels }} }}'))["agent_by_pk"] == {
            "labels": ["dev"]
        }


_SNAPSHOT = (
    "{ tenant { id name } project { id name } flow { id version archived } task(order_by: [{slug: asc}]) "
    "{ id slug mapped } edge(order_by: [{key: asc}]) { id key } "
    "flow_run { id state version start_time end_time } "
    "task_run(order_by: [{id: asc}]) { id state version } "
    "flow_run_state(order_by: [{version: asc}]) { id state version timestamp } "
    "task_run_state_aggregate { aggregate { count } } log_aggregate { aggregate { count } } }"
)


async def test_acknowledged_writes_survive_a_killed_server(
    tmp_path: Path, session: aiohttp.ClientSession
) -> None:
    path = tmp_path / "killed.db"
    process = subprocess.Popen(
        [sys.executable, "-c", SERVE_SCRIPT, str(path)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert process.stdout is not None
        url = (await asyncio.to_thread(process.stdout.readline)).strip()
        gql = GraphQL(session, url)
        writer = Writer(gql)
        await writer.setup()
        run_id = await writer.create_run(await writer.register())
        await writer.set_flow_run_state(run_id, "Running")
        acknowledged = 0
        for batch in range(scaled(200, 20)):
            await writer.mutate(
                "write_run_logs", {"logs": [{"flow_run_id": run_id, "message": f"batch {batch}"}]}
            )
            acknowledged += 1
    finally:
        # No shutdown: the process dies as a crashed or killed server would.
        os.kill(process.pid, signal.SIGKILL)
        await asyncio.to_thread(process.wait)
        if process.stdout is not None:
            process.stdout.close()
    connection = sqlite3.connect(path)
    try:
        assert connection.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    finally:
        connection.close()
    async with LocalBackend(None, db_path=path) as restarted:
        writer = Writer(GraphQL(session, restarted.graphql_url), restarted)
        count = await writer.query("{ log_aggregate { aggregate { count } } }")
        assert count["log_aggregate"]["aggregate"]["count"] == acknowledged
        assert (await writer.flow_run(run_id, "state version"))["state"] == "Running"


@pytest.mark.slow
async def test_many_writers_and_a_watcher_at_once_lose_nothing(tmp_path: Path) -> None:
    runs, log_lines = scaled(12, 4), scaled(20, 5)
    async with LocalBackend(None, db_path=tmp_path / "busy.db") as backend:
        async with aiohttp.ClientSession() as setup_session:
            writer = Writer(GraphQL(setup_session, backend.graphql_url), backend)
            await writer.setup()
            flow_id = await writer.register()
        stop = asyncio.Event()
        seen: list[int] = []

        async def watcher(session: aiohttp.ClientSession) -> None:
            reader = GraphQL(session, backend.graphql_url)
            while not stop.is_set():
                answer = await reader.data("{ log_aggregate { aggregate { count } } }")
                seen.append(answer["log_aggregate"]["aggregate"]["count"])
                await asyncio.sleep(0)

        async def one_process() -> str:
            # Each "flow-run process" has its own connection pool, as separate processes would.
            async with aiohttp.ClientSession() as session:
                return await _simulate_run(
                    Writer(GraphQL(session, backend.graphql_url), backend), flow_id, log_lines
                )

        async with aiohttp.ClientSession() as watch_session:
            watching = asyncio.create_task(watcher(watch_session))
            run_ids = await asyncio.gather(*(one_process() for _ in range(runs)))
            stop.set()
            await watching
        async with aiohttp.ClientSession() as check_session:
            check = Writer(GraphQL(check_session, backend.graphql_url), backend)
            totals = await check.query(
                '{ flow_run(where: {state: {_eq: "Success"}}) '
                "{ version task_runs_aggregate { aggregate { count } } } "
                "task_run_state_aggregate { aggregate { count } } log_aggregate { aggregate { count } } "
                "flow_run_state_aggregate { aggregate { count } } }"
            )
    assert len(set(run_ids)) == runs
    assert len(totals["flow_run"]) == runs
    assert {r["version"] for r in totals["flow_run"]} == {3}
    assert {r["task_runs_aggregate"]["aggregate"]["count"] for r in totals["flow_run"]} == {4}
    assert totals["task_run_state_aggregate"]["aggregate"]["count"] == runs * 4 * 3
    assert totals["flow_run_state_aggregate"]["aggregate"]["count"] == runs * 3
    assert totals["log_aggregate"]["aggregate"]["count"] == runs * 4 * log_lines
    assert seen == sorted(seen)  # the watcher never saw a count go back (no torn batch)


async def test_a_write_that_fails_midway_leaves_nothing(
    writer: Writer, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*_args: Any) -> None:
        raise RuntimeError("disk on fire")

    # The flow, its group and its tasks are inserted before the edges; then the write breaks.
    monkeypatch.setattr(flow_writes, "register_edge_rows", broken)
    status, body = await writer.call(
        "create_flow", {"project_id": writer.project_id, "serialized_flow": serialized_flow()}
    )
    assert status == 200
    assert body["data"] == {"create_flow": None}
    counts = await writer.query(
        "{ flow_aggregate { aggregate { count } } flow_group_aggregate { aggregate { count } } "
        "task_aggregate { aggregate { count } } }"
    )
    assert [value["aggregate"]["count"] for value in counts.values()] == [0, 0, 0]
    monkeypatch.undo()
    run_id = await writer.create_run(await writer.register())
    task_run_id = (await writer.task_run_of(run_id, "numbers-1"))["id"]
    await writer.set_flow_run_state(run_id, "Running")
    # A state batch whose second item fails leaves the first one unwritten too.
    error = await writer.error(
        "set_task_run_states",
        {
            "states": [
                {"task_run_id": task_run_id, "state": state("Running")},
                {"task_run_id": task_run_id, "state": {}},
            ]
        },
    )
    assert error["message"].startswith("Invalid state")
    assert (await writer.task_run_of(run_id, "numbers-1"))["state"] == "Pending"


def _post(url: str, query: str, variables: dict[str, Any] | None = None) -> Any:
    body = json.dumps({"query": query, "variables": variables}).encode()
    request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def test_flowview_serve_keeps_a_db_file_across_restarts(tmp_path: Path) -> None:
    database = tmp_path / "served.db"
    create = "mutation($input: create_project_input!) { create_project(input: $input) { id } }"
    with serving("--db", str(database)) as (process, url):
        tenant_id = _post(url, "{ tenant { id } }")["data"]["tenant"][0]["id"]
        body = _post(url, create, {"input": {"name": "kept", "tenant_id": tenant_id}})
        project_id = body["data"]["create_project"]["id"]
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=30) == 0
    with serving("--db", str(database)) as (process, url):
        body = _post(url, '{ project(where: {name: {_eq: "kept"}}) { id } }')
        assert body["data"]["project"] == [{"id": project_id}]
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=30) == 0
        assert process.stderr is not None
        assert "fixture not loaded" in process.stderr.read()


async def test_two_servers_on_one_file_create_each_child_once(tmp_path: Path) -> None:
    # Two backends on one --db file (two `flowview serve` processes, say): each write holds
    # SQLite's write lock from its first read, so a get-or-create stays atomic across them.
    path = tmp_path / "shared.db"
    async with (
        LocalBackend(None, db_path=path) as first,
        LocalBackend(None, db_path=path) as second,
        aiohttp.ClientSession() as session,
    ):
        writer = Writer(GraphQL(session, first.graphql_url), first)
        await writer.setup()
        run_id = await writer.create_run(await writer.register())
        await writer.set_flow_run_state(run_id, "Running")
        task_id = (await writer.query('{ task(where: {slug: {_eq: "double-1"}}) { id } }'))["task"][0]["id"]
        writers = [writer, Writer(GraphQL(session, second.graphql_url), second)]

        async def ask(index: int, via: Writer) -> str:
            data = {"flow_run_id": run_id, "task_id": task_id, "map_index": index}
            return str((await via.mutate("get_or_create_task_run_info", data))["id"])

        answers = await asyncio.gather(*(ask(i % 5, writers[i % 2]) for i in range(40)))
        assert len(set(answers)) == 5
        for via in writers:
            children = [t for t in await via.task_runs(run_id) if t["map_index"] >= 0]
            assert sorted(t["map_index"] for t in children) == [0, 1, 2, 3, 4]
