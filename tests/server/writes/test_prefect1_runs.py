"""Real Prefect 1.4.1 against the local backend: tenant, project, registration, a run executed by
``prefect execute flow-run`` (a LocalDaskExecutor, a mapped task, a failure, a trigger failure,
an ``all_finished`` task, unicode multi-line logs), then every row read back through our views."""

from __future__ import annotations

import asyncio
from pathlib import Path

from flowview_async import Client, FlowRunView
from flowview_async.server.runner import LocalBackend
from tests.prefect1_peer import run_in_peer

PEER_SCRIPT = r"""
import json, os, subprocess, sys
import prefect
from prefect import Client, Flow, Parameter, task
from prefect.executors import LocalDaskExecutor
from prefect.storage import Local
from prefect.triggers import all_finished

@task
def numbers(n):
    prefect.context.logger.info("making %s numbers: ünïcödé ✓\nsecond line", n)
    return list(range(n))

@task
def double(x):
    prefect.context.logger.info("doubling %s", x)
    return 2 * x

@task
def explode(xs):
    raise ValueError("boom")

@task
def after_explosion(_):
    return "never"

@task(trigger=all_finished)
def cleanup(_):
    prefect.context.logger.warning("cleaning up")

storage = Local(add_default_labels=False)
with Flow("peer-flow", storage=storage, executor=LocalDaskExecutor(num_workers=4)) as flow:
    n = Parameter("n", default=4)
    doubled = double.map(numbers(n))
    failed = explode(doubled)
    after_explosion(failed)
    cleanup(failed)

client = Client()
client.create_tenant(name="default", slug="default")
client.create_project(project_name="peer")
flow_id = flow.register(project_name="peer")
run_id = client.create_flow_run(flow_id=flow_id, parameters={"n": 5})
prefect_exe = os.path.join(os.path.dirname(sys.executable), "prefect")
done = subprocess.run(
    [prefect_exe, "execute", "flow-run"],
    # What a local agent gives the flow-run process it starts.
    env={
        **os.environ,
        "PREFECT__CONTEXT__FLOW_RUN_ID": run_id,
        "PREFECT__CONTEXT__FLOW_ID": flow_id,
        "PREFECT__CLOUD__SEND_FLOW_RUN_LOGS": "true",
        "PREFECT__CLOUD__USE_LOCAL_SECRETS": "false",
        "PREFECT__ENGINE__FLOW_RUNNER__DEFAULT_CLASS": "prefect.engine.cloud.CloudFlowRunner",
    },
    capture_output=True, text=True, timeout=240,
)
info = client.get_flow_run_info(run_id)
print(json.dumps({
    "flow_id": flow_id, "run_id": run_id, "returncode": done.returncode,
    "state": type(info.state).__name__, "stderr": done.stderr[-2000:],
}))
"""


async def test_real_prefect_registers_a_flow_and_executes_a_run_to_its_end(tmp_path: Path) -> None:
    async with LocalBackend(None, db_path=tmp_path / "peer.db") as backend:
        env = {
            "PREFECT__BACKEND": "server",
            "PREFECT__SERVER__ENDPOINT": backend.graphql_url,
            "PREFECT__CLOUD__API": backend.graphql_url,
            "PREFECT__HOME_DIR": str(tmp_path / "prefect-home"),
        }
        # The peer is a blocking subprocess: run it off the loop that serves the backend.
        answer = await asyncio.to_thread(run_in_peer, PEER_SCRIPT, env=env, timeout=300)
        assert answer["returncode"] == 0, answer["stderr"]
        # `explode` fails for good, so the flow run fails (its reference tasks did not succeed).
        assert answer["state"] == "Failed"
        async with Client(backend.url) as client:
            view = await FlowRunView.from_flow_run_id(answer["run_id"], client=client)
            assert view.state.name == "Failed"
            assert view.parameters == {"n": 5}
            assert [state.name for state in view.states] == ["Scheduled", "Running", "Failed"]
            task_runs = await view.get_all_task_runs()
            by_slug: dict[str, list[str]] = {}
            for task_run in task_runs:
                by_slug.setdefault(task_run.task_slug, []).append(task_run.state.name)
            assert sorted(by_slug["double-1"]) == ["Mapped"] + ["Success"] * 5
            children = sorted(t.map_index for t in task_runs if t.task_slug == "double-1")
            assert children == [-1, 0, 1, 2, 3, 4]
            assert by_slug["explode-1"] == ["Failed"]
            assert by_slug["after_explosion-1"] == ["TriggerFailed"]
            assert by_slug["cleanup-1"] == ["Success"]
            assert by_slug["numbers-1"] == ["Success"]
            logs = await view.get_logs()
            messages = [log.message for log in logs]
            assert "making 5 numbers: ünïcödé ✓\nsecond line" in messages
            assert sum(message.startswith("doubling ") for message in messages) == 5
            assert any(log.level_name == "WARNING" and log.message == "cleaning up" for log in logs)
            assert any("Beginning Flow run for 'peer-flow'" in message for message in messages)
            # Each state change is one history row: the run's version counts them.
            history = await client.execute(
                "query($id: uuid!) { flow_run_by_pk(id: $id) { version start_time end_time heartbeat "
                "flow_run_states_aggregate: states_aggregate { aggregate { count } } } }",
                {"id": answer["run_id"]},
            )
            run = history["flow_run_by_pk"]
            assert run["version"] == run["flow_run_states_aggregate"]["aggregate"]["count"]
            assert run["start_time"] is not None
            assert run["end_time"] is not None
            assert run["heartbeat"] is not None
