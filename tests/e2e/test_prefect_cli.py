"""Prefect 1.4.1's own CLI against ``flowview serve``, run as the README tells a user to.

``flowview serve`` is a real subprocess on a free port; Prefect's commands get only the environment
variables of the README ("Running real Prefect 1 flows against flowview serve"). Each command must
exit 0 and do what it says, checked by reading the backend afterwards; ``flowview watch`` then
shows the same run to its end.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path

from flowview_async import Client
from flowview_async.recording.genuine import FLOW_NAME, PrefectEnvironment
from tests.prefect1_peer import ensure_peer

ROOT = Path(__file__).resolve().parents[2]
FLOWVIEW = str(Path(sys.executable).with_name("flowview"))
README = (ROOT / "README.md").read_text(encoding="utf-8")


@contextlib.asynccontextmanager
async def flowview_serve(*arguments: str) -> AsyncIterator[str]:
    """``flowview serve --port 0 ARGUMENTS`` until the block ends; yields its URL."""
    process = await asyncio.create_subprocess_exec(
        FLOWVIEW, "serve", "--port", "0", *arguments, stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        assert process.stdout is not None
        url = (await asyncio.wait_for(process.stdout.readline(), 60)).decode().strip()
        assert url.startswith("http://127.0.0.1:"), url
        yield url
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(process.wait(), 10)
            except asyncio.TimeoutError:
                process.kill()
                await process.wait()


async def flowview_cli(env: dict[str, str], *arguments: str) -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(
        FLOWVIEW, *arguments, env={**env, "COLUMNS": "200"}, stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await asyncio.wait_for(process.communicate(), 120)
    assert process.returncode is not None
    return process.returncode, out.decode("utf-8", "replace")


def test_the_readme_shows_these_commands() -> None:
    title = "## Running real Prefect 1 flows against flowview serve"
    section = README.split(title, 1)[1].split("\n## ", 1)[0]
    for command in ("flowview serve", "export PREFECT__BACKEND=server", "export PREFECT__SERVER__ENDPOINT=",
                    "export PREFECT__CLOUD__API=", "prefect create project", "prefect register --project",
                    "prefect agent local start", "prefect run --name", "--watch", "flowview watch"):
        assert command in section, command


async def test_prefect_create_register_and_run_watch_against_flowview_serve(tmp_path: Path) -> None:
    venv = (await asyncio.to_thread(ensure_peer)).parent.parent
    async with flowview_serve() as url:
        prefect = PrefectEnvironment(venv, tmp_path / "home", f"{url}/graphql", label="flowview-cli")
        flow_path = await asyncio.to_thread(prefect.write_flow, tmp_path)

        out = await prefect.prefect("create", "project", "demo")
        assert "demo created" in out
        out = await prefect.prefect("register", "--project", "demo", "-p", str(flow_path))
        assert "1 registered" in out
        flow_id = re.search(r"ID: ([0-9a-f-]{36})", out)
        assert flow_id is not None

        async with Client(url) as client:
            data = await client.execute(
                'query { project(where: {name: {_eq: "demo"}}) { id flows { id name tasks { slug } } } }'
            )
        (project,) = data["project"]
        (flow,) = project["flows"]
        assert (flow["id"], flow["name"]) == (flow_id[1], FLOW_NAME)
        assert len(flow["tasks"]) == 6

        async with prefect.local_agent(tmp_path / "agent.log"):
            out = await prefect.prefect("run", "--name", FLOW_NAME, "--watch")
        assert "Entered state <Success>" in out
        assert "Task 'work[1]': Finished task run for task with final state: 'Retrying'" in out
        run_id = re.search(r"UUID: ([0-9a-f-]{36})", out)
        assert run_id is not None

        async with Client(url) as client:
            data = await client.execute(
                "query ($id: uuid!) { flow_run_by_pk(id: $id) { state flow_id task_runs_aggregate "
                "{ aggregate { count } } } }", {"id": run_id[1]},
            )
        run = data["flow_run_by_pk"]
        assert (run["state"], run["flow_id"]) == ("Success", flow_id[1])
        assert run["task_runs_aggregate"]["aggregate"]["count"] == 10  # 6 tasks + 4 mapped children

        # `flowview watch` on the same run, with nothing but the Prefect settings to find the API.
        settings_only = {**prefect.variables, "PATH": os.environ["PATH"]}
        code, shown = await flowview_cli(settings_only, "watch", run_id[1])
        assert code == 0, shown
        assert "Success: All reference tasks succeeded." in shown
