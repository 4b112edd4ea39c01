"""Driving real Prefect 1.4.1 against a backend: the CLI and a local agent, as a user runs them.

Used by the ship script to record ``cassettes/genuine-prefect1-run.json`` and by the end-to-end
tests. Prefect 1 lives in a virtual environment of its own (it pins old libraries); everything here
runs its ``prefect`` command as a subprocess with the environment a user would set::

    PREFECT__BACKEND=server
    PREFECT__SERVER__ENDPOINT=http://127.0.0.1:PORT/graphql
    PREFECT__CLOUD__API=http://127.0.0.1:PORT/graphql
    PREFECT__HOME_DIR=<a scratch folder>       # keeps ~/.prefect out of it

:data:`FLOW_SOURCE` is the flow registered: six tasks covering what a genuine run does (a Parameter,
a task mapped by a LocalDaskExecutor with one child failing once and passing on retry, a task failing
for good, a TriggerFailed downstream, an ``all_finished`` task, unicode and multi-line log lines).
Its run config carries the environment's label, so only the agent started here picks it up.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from pathlib import Path
from typing import Any

import attrs

from flowview_async.errors import PrefectProcessError, UsageError

__all__ = [
    "FLOW_FILE_NAME",
    "FLOW_NAME",
    "FLOW_SOURCE",
    "PROJECT_NAME",
    "GenuineRun",
    "PrefectEnvironment",
    "default_peer_venv",
    "run_genuine",
]

FLOW_NAME = "flowview-genuine"
PROJECT_NAME = "flowview"
FLOW_FILE_NAME = "genuine_flow.py"
_COMMAND_TIMEOUT_S = 120.0
_AGENT_STOP_TIMEOUT_S = 10.0
_CHILDREN_EXIT_TIMEOUT_S = 30.0
# From the agent's start to the run's end (the run itself takes about 10 s on a quiet machine).
_RUN_TIMEOUT_S = 150.0
_RUN_ID = re.compile(r"UUID:\s*([0-9a-f-]{36})")
_FLOW_ID = re.compile(r"ID:\s*([0-9a-f-]{36})")

FLOW_SOURCE = '''\
"""A flow for flowview's genuine-run tests and cassette (runs with Prefect 1.4.1)."""

import os
from datetime import timedelta

import prefect
from prefect import Flow, Parameter, task
from prefect.executors import LocalDaskExecutor
from prefect.run_configs import LocalRun
from prefect.storage import Local
from prefect.triggers import all_finished

LABEL = os.environ.get("FLOWVIEW_GENUINE_LABEL", "flowview-genuine")


@task
def prepare(items):
    logger = prefect.context.get("logger")
    logger.info("Préparation de %d éléments ✓ — 准备好了 🚀", len(items))
    logger.info("a multi-line log line:\\n  second line\\n  third line")
    return list(items)


@task(max_retries=1, retry_delay=timedelta(seconds=0))
def work(item):
    run_count = prefect.context.get("task_run_count", 1)
    prefect.context.get("logger").info("working on %s (run %d)", item, run_count)
    if item == 2 and run_count < 2:
        raise ValueError(f"item {item} fails on its first run")
    return item * 10


@task
def broken():
    raise RuntimeError("this task always fails")


@task
def summarize(results, failed):
    return sum(results)


@task(trigger=all_finished)
def report(total):
    prefect.context.get("logger").info("report runs whatever happened upstream")
    return "done"


with Flow(
    "FLOW_NAME",
    storage=Local(path=os.path.abspath(__file__), stored_as_script=True, add_default_labels=False),
    run_config=LocalRun(labels=[LABEL]),
    executor=LocalDaskExecutor(scheduler="threads", num_workers=4),
) as flow:
    items = Parameter("items", default=[1, 2, 3, 4])
    prepared = prepare(items)
    results = work.map(prepared)
    failed = broken()
    total = summarize(results, failed)
    report(total, upstream_tasks=[total])
'''.replace('"FLOW_NAME"', repr(FLOW_NAME))


def default_peer_venv() -> Path:
    """Where Prefect 1.4.1 is installed: ``$FLOWVIEW_PEER_VENV``, else ``.venv-prefect1`` here."""
    configured = os.environ.get("FLOWVIEW_PEER_VENV")
    return Path(configured) if configured else Path.cwd() / ".venv-prefect1"


def _tail(text: str, limit: int = 4000) -> str:
    return text[-limit:].strip()


@attrs.frozen
class PrefectEnvironment:
    """One Prefect 1 user's setup: the venv holding Prefect, a home folder, the API and a label."""

    venv: Path
    home: Path
    api_url: str
    label: str = "flowview-genuine"

    def check(self) -> None:
        """Refuse early, with what to do, when Prefect 1 is not where it should be."""
        if not (self.venv / "bin" / "prefect").exists():
            raise UsageError(
                f"no Prefect 1.4.1 in {str(self.venv)!r}: create it with `python -m venv DIR && "
                "DIR/bin/pip install prefect==1.4.1 'marshmallow<4'` and set FLOWVIEW_PEER_VENV=DIR"
            )

    @property
    def variables(self) -> dict[str, str]:
        """The process environment Prefect's commands get: ours without any PREFECT__ settings,
        plus the backend, the API, the home folder and the flow's label."""
        base = {key: value for key, value in os.environ.items()
                if not key.startswith("PREFECT__") and key not in ("PYTHONPATH", "VIRTUAL_ENV")}
        base.update({
            "PREFECT__BACKEND": "server",
            "PREFECT__SERVER__ENDPOINT": self.api_url,
            "PREFECT__CLOUD__API": self.api_url,
            "PREFECT__HOME_DIR": str(self.home),
            "PREFECT__USER_CONFIG_PATH": str(self.home / "config.toml"),
            "FLOWVIEW_GENUINE_LABEL": self.label,
            "PYTHONIOENCODING": "utf-8",
            "PATH": f"{self.venv / 'bin'}{os.pathsep}{base.get('PATH', '')}",
        })
        return base

    def write_flow(self, directory: Path) -> Path:
        """Write :data:`FLOW_SOURCE` into ``directory``; the path to register (blocking I/O)."""
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / FLOW_FILE_NAME
        path.write_text(FLOW_SOURCE, encoding="utf-8")
        return path

    async def prefect(self, *arguments: str, timeout: float = _COMMAND_TIMEOUT_S) -> str:
        """Run ``prefect ARGUMENTS`` to its end; its stdout. Fails on a non-zero exit or a hang."""
        self.check()
        command = [str(self.venv / "bin" / "prefect"), *arguments]
        process = await asyncio.create_subprocess_exec(
            *command, env=self.variables, stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )
        try:
            out, err = await asyncio.wait_for(process.communicate(), timeout)
        except asyncio.TimeoutError:
            process.kill()
            await process.wait()
            message = f"`prefect {' '.join(arguments)}` did not end in {timeout:.0f} s"
            raise PrefectProcessError(message) from None
        stdout = out.decode("utf-8", "replace")
        if process.returncode != 0:
            raise PrefectProcessError(
                f"`prefect {' '.join(arguments)}` exited with {process.returncode}:\n"
                f"{_tail(stdout + err.decode('utf-8', 'replace'))}"
            )
        return stdout

    async def create_project(self, name: str = PROJECT_NAME) -> str:
        out = await self.prefect("create", "project", name)
        if f"{name} created" not in out:
            raise PrefectProcessError(f"`prefect create project {name}` did not create it:\n{_tail(out)}")
        return out

    async def register(self, flow_path: Path, project: str = PROJECT_NAME) -> str:
        """``prefect register --project PROJECT -p FLOW``; the new flow's id."""
        out = await self.prefect("register", "--project", project, "-p", str(flow_path))
        found = _FLOW_ID.search(out)
        if "1 registered" not in out or found is None:
            raise PrefectProcessError(f"`prefect register` registered nothing:\n{_tail(out)}")
        return found[1]

    async def create_run(self, flow_name: str = FLOW_NAME, *extra: str) -> str:
        """``prefect run --name FLOW`` (create only, nothing executed); the new run's id."""
        out = await self.prefect("run", "--name", flow_name, *extra)
        found = _RUN_ID.search(out)
        if found is None:
            raise PrefectProcessError(f"`prefect run --name {flow_name}` printed no run id:\n{_tail(out)}")
        return found[1]

    @contextlib.asynccontextmanager
    async def local_agent(self, log_path: Path) -> AsyncIterator[asyncio.subprocess.Process]:
        """``prefect agent local start`` with this label, for the length of the ``async with``.

        The agent and what it starts (flow-run processes, their heartbeat processes) share a new
        process group. On the way out, after a normal end of the body, the flow-run processes are
        given time to end on their own first: Prefect's log handler ships its last batch of lines
        at process exit, after the run's final state. Then the group is stopped, also when the
        body failed: SIGTERM, then SIGKILL if it lingers. The agent's output goes to ``log_path``.
        """
        self.check()
        command = [str(self.venv / "bin" / "prefect"), "agent", "local", "start",
                   "--label", self.label, "--no-hostname-label"]
        with open(log_path, "ab") as log:  # noqa: ASYNC230 - opening a local log file, not I/O we wait on
            process = await asyncio.create_subprocess_exec(
                *command, env=self.variables, stdin=asyncio.subprocess.DEVNULL,
                stdout=log, stderr=asyncio.subprocess.STDOUT, start_new_session=True,
            )
        try:
            yield process
            await _wait_for_children(process.pid)
        finally:
            await _stop_group(process)


def _group_members(group: int) -> list[int]:
    """Live processes of process group ``group`` (Linux /proc; empty where there is none)."""
    members = []
    for entry in Path("/proc").glob("[0-9]*"):
        try:
            # Fields after the command name (which may contain spaces), from "stat": state, ppid, pgrp.
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if fields[0] != "Z" and int(fields[2]) == group:
            members.append(int(entry.name))
    return members


async def _wait_for_children(agent_pid: int) -> None:
    """Until the agent is alone in its group (its flow runs have exited), or a timeout."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + _CHILDREN_EXIT_TIMEOUT_S
    while loop.time() < deadline:
        members = await asyncio.to_thread(_group_members, agent_pid)
        if not [pid for pid in members if pid != agent_pid]:
            return
        await asyncio.sleep(0.1)


async def _stop_group(process: asyncio.subprocess.Process) -> None:
    """Stop the process group ``process`` leads (ours: started with ``start_new_session``).

    SIGTERM first, so the agent says goodbye; SIGKILL to the whole group at the end whatever
    happened (a cancelled caller included), so no flow-run or heartbeat process is left behind.
    """
    try:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(process.wait(), _AGENT_STOP_TIMEOUT_S)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)


@attrs.frozen
class GenuineRun:
    """What :func:`run_genuine` did: the flow it registered, the run, what the watch yielded."""

    flow_id: str
    flow_run_id: str
    events: tuple[Any, ...]


WatchFactory = Callable[[str], AsyncGenerator[Any, None]]


async def run_genuine(
    prefect: PrefectEnvironment,
    workdir: Path,
    watch: WatchFactory,
    *,
    timeout: float = _RUN_TIMEOUT_S,
) -> GenuineRun:
    """Register :data:`FLOW_SOURCE`, create a run, watch it, and let a local agent run it.

    As a user would: ``prefect create project``, ``prefect register``, ``prefect run --name`` (which
    only creates the run); then ``watch(flow_run_id)`` is started and its first event received
    *before* ``prefect agent local start`` is, and the watch is followed to its end. The agent is
    stopped afterwards, also on failure or timeout (:class:`PrefectProcessError` says which).
    """
    flow_path = await asyncio.to_thread(prefect.write_flow, workdir)
    await prefect.create_project()
    flow_id = await prefect.register(flow_path)
    flow_run_id = await prefect.create_run()
    events: list[Any] = []
    async with contextlib.aclosing(watch(flow_run_id)) as stream:
        iterator = aiter(stream)
        events.append(await anext(iterator))  # the watch has seen the run before any agent exists
        log_path = workdir / "agent.log"
        async with prefect.local_agent(log_path):
            try:
                await asyncio.wait_for(_drain(iterator, events), timeout)
            except asyncio.TimeoutError:
                agent_log = await asyncio.to_thread(log_path.read_text, "utf-8", "replace")
                raise PrefectProcessError(
                    f"flow run {flow_run_id} did not finish within {timeout:.0f} s; the agent said:\n"
                    f"{_tail(agent_log)}"
                ) from None
    return GenuineRun(flow_id=flow_id, flow_run_id=flow_run_id, events=tuple(events))


async def _drain(iterator: AsyncIterator[Any], events: list[Any]) -> None:
    async for event in iterator:
        events.append(event)
