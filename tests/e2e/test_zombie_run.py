"""The zombie killer on a genuine run: a Prefect 1.4.1 flow-run process killed mid-task.

A local agent runs a flow whose task sleeps; once the task run is Running, the agent's process
group (agent, flow-run process, heartbeat process) is killed, so nothing reports again. The
zombie killer's next visit, ten minutes of heartbeat silence later, fails that task run with an
ERROR log line, and leaves the flow run Running (bringing it back is Prefect Server's Lazarus'
job, not the zombie killer's).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import signal
from pathlib import Path

from flowview_async import Client
from flowview_async.recording.genuine import PrefectEnvironment
from flowview_async.server import LocalBackend
from flowview_async.server.services import run_zombie_killer_once
from tests.prefect1_peer import ensure_peer

FLOW = '''
import os, time
from prefect import Flow, task
from prefect.run_configs import LocalRun
from prefect.storage import Local

@task
def sleepy():
    time.sleep(300)

storage = Local(path=os.path.abspath(__file__), stored_as_script=True, add_default_labels=False)
labels = [os.environ["FLOWVIEW_GENUINE_LABEL"]]
with Flow("sleepy", storage=storage, run_config=LocalRun(labels=labels)) as flow:
    sleepy()
'''
TASK_RUN = """query ($id: uuid!) {
  flow_run_by_pk(id: $id) { state heartbeat
    task_runs { id state logs { name level message } } }
}"""


async def test_a_killed_flow_run_process_leaves_a_zombie_the_killer_fails(tmp_path: Path) -> None:
    venv = (await asyncio.to_thread(ensure_peer)).parent.parent
    flow_path = tmp_path / "sleepy.py"
    await asyncio.to_thread(flow_path.write_text, FLOW)
    async with LocalBackend({"tenant": [{"name": "default", "slug": "default"}]}) as backend:
        prefect = PrefectEnvironment(venv, tmp_path / "home", backend.graphql_url, label="flowview-zombie")
        await prefect.create_project()
        await prefect.register(flow_path)
        run_id = await prefect.create_run("sleepy")
        async with Client(backend.url) as client:
            async with prefect.local_agent(tmp_path / "agent.log") as agent:
                while True:  # until the task is really running in the flow-run process
                    run = (await client.execute(TASK_RUN, {"id": run_id}))["flow_run_by_pk"]
                    if [t["state"] for t in run["task_runs"]] == ["Running"]:
                        break
                    await asyncio.sleep(0.2)
                os.killpg(agent.pid, signal.SIGKILL)  # the flow-run process dies mid-task
                await agent.wait()
            assert run["heartbeat"] is not None

            silent = dt.datetime.now(dt.timezone.utc) + dt.timedelta(minutes=11)
            assert await run_zombie_killer_once(backend.database, now=silent) == 1
            after = (await client.execute(TASK_RUN, {"id": run_id}))["flow_run_by_pk"]

    assert after["state"] == "Running"
    (task_run,) = after["task_runs"]
    assert task_run["state"] == "Failed"
    (line,) = [log for log in task_run["logs"] if log["name"] == "ZombieKiller.TaskRun"]
    assert line["level"] == "ERROR"
    assert line["message"].startswith("No heartbeat detected from the remote task; marking the task run")
