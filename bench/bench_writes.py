"""How many concurrent flow runs the local backend's write API sustains, and its write latency.

``flowview serve`` runs as its own process (``--db FILE``, services off), as a user runs it; this
process drives N flow runs at once, each through a flowview_async ``Client`` of its own (one
connection pool per run, as each Prefect flow-run process has its own client), sending the
mutations Prefect 1.4.1's CloudFlowRunner, CloudTaskRunner and CloudHandler send for a run of a
50-task flow executed by a 4-worker executor:

* ``create_flow_run``; ``set_flow_run_states`` Running; ``update_flow_run_heartbeat``;
* per task (4 at a time): ``get_or_create_task_run_info``, ``set_task_run_states`` Running, then
  Success; two log lines per task, shipped by ``write_run_logs`` in batches of 10 lines;
* ``set_flow_run_states`` Success.

(``get_or_create_task_run_info`` goes with GraphQL variables rather than Prefect's inline
arguments: the same mutation and input; inline, each of the 50 x N documents would be parsed and
validated afresh on the client, and that would be measured instead of the backend.)

For each N it prints the wall time, mutations per second, and the p50/p99 latency of
``set_task_run_states`` and ``write_run_logs`` as the client sees them. N is *sustained* when
every mutation succeeded and the p99 of ``set_task_run_states`` stayed under 1 s (Prefect's task
runner waits for each state before going on). There is no peer to compare with here (Prefect
Server needs docker, Postgres, Hasura): the ratio lines compare N runs with 1 run in the same run.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from _harness import REPO_ROOT, parse_args, print_ratio, print_table

from flowview_async import Client

TASKS_PER_RUN = 50
EXECUTOR_WORKERS = 4
LOG_BATCH = 10
SUSTAINED_P99_S = 1.0
FULL_LEVELS = (1, 5, 10, 20, 40, 80)
QUICK_LEVELS = (1, 4)

TENANT = "0b0b0b0b-0000-4000-8000-000000000001"
PROJECT = "0b0b0b0b-0000-4000-8000-000000000002"
GROUP = "0b0b0b0b-0000-4000-8000-000000000003"
FLOW = "0b0b0b0b-0000-4000-8000-000000000004"

CREATE_FLOW_RUN = """mutation($input: create_flow_run_input!) {
    create_flow_run(input: $input) { id }
}"""
SET_FLOW_RUN_STATES = """mutation($input: set_flow_run_states_input!) {
    set_flow_run_states(input: $input) { states { status message id } }
}"""
HEARTBEAT = """mutation($input: update_flow_run_heartbeat_input!) {
    update_flow_run_heartbeat(input: $input) { success }
}"""
TASK_RUN_INFO = """mutation($input: get_or_create_task_run_info_input!) {
    get_or_create_task_run_info(input: $input) { id version serialized_state }
}"""
SET_TASK_RUN_STATES = """mutation($input: set_task_run_states_input!) {
    set_task_run_states(input: $input) { states { id status message } }
}"""
WRITE_RUN_LOGS = """mutation($input: write_run_logs_input!) {
    write_run_logs(input: $input) { success }
}"""


def _state(kind: str, message: str) -> dict[str, Any]:
    """A state as Prefect 1.4.1 serializes it into these mutations."""
    return {"context": {"tags": []}, "message": message, "cached_inputs": {}, "__version__": "1.4.1",
            "type": kind, "_result": {"__version__": "1.4.1", "type": "NoResultType"}}


def _fixture(tasks: int) -> dict[str, Any]:
    return {
        "tenant": [{"id": TENANT, "name": "default", "slug": "default"}],
        "project": [{"id": PROJECT, "tenant_id": TENANT, "name": "bench"}],
        "flow_group": [{"id": GROUP, "tenant_id": TENANT, "name": "bench-flow"}],
        "flow": [{"id": FLOW, "tenant_id": TENANT, "project_id": PROJECT, "flow_group_id": GROUP,
                  "name": "bench-flow", "version": 1}],
        "task": [{"id": str(uuid.uuid5(uuid.UUID(FLOW), str(i))), "tenant_id": TENANT, "flow_id": FLOW,
                  "name": f"task-{i}", "slug": f"task-{i}-1"} for i in range(tasks)],
    }


class Latencies:
    """Client-side latency of each mutation, by name; errors counted apart."""

    def __init__(self) -> None:
        self.seconds: dict[str, list[float]] = {}
        self.errors = 0

    async def send(self, client: Client, name: str, document: str, variables: dict[str, Any]) -> Any:
        started = time.perf_counter()
        try:
            data = await client.execute(document, variables)
        except Exception:
            self.errors += 1
            raise
        self.seconds.setdefault(name, []).append(time.perf_counter() - started)
        return data

    @property
    def count(self) -> int:
        return sum(len(values) for values in self.seconds.values())

    def percentile(self, name: str, q: float) -> float:
        values = sorted(self.seconds.get(name, [0.0]))
        if len(values) == 1:
            return values[0]
        return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


async def _flow_run(url: str, tasks: list[str], latencies: Latencies) -> None:
    async with Client(url, max_concurrency=EXECUTOR_WORKERS + 1) as client:
        created = await latencies.send(client, "create_flow_run", CREATE_FLOW_RUN,
                                       {"input": {"flow_id": FLOW, "parameters": {}, "context": {}}})
        run_id = created["create_flow_run"]["id"]
        await latencies.send(client, "set_flow_run_states", SET_FLOW_RUN_STATES, {"input": {"states": [
            {"flow_run_id": run_id, "version": 1, "state": _state("Running", "Running flow.")}]}})
        await latencies.send(client, "update_flow_run_heartbeat", HEARTBEAT,
                             {"input": {"flow_run_id": run_id}})
        pending_logs: list[dict[str, Any]] = []
        workers = asyncio.Semaphore(EXECUTOR_WORKERS)

        async def ship_logs(force: bool = False) -> None:
            while len(pending_logs) >= LOG_BATCH or (force and pending_logs):
                batch, pending_logs[:] = pending_logs[:LOG_BATCH], pending_logs[LOG_BATCH:]
                await latencies.send(client, "write_run_logs", WRITE_RUN_LOGS, {"input": {"logs": batch}})

        async def task_run(task_id: str, name: str) -> None:
            async with workers:
                info = await latencies.send(client, "get_or_create_task_run_info", TASK_RUN_INFO, {
                    "input": {"flow_run_id": run_id, "task_id": task_id, "map_index": -1}})
                task_run_id = info["get_or_create_task_run_info"]["id"]
                for version, (kind, message) in enumerate(
                    (("Running", "Starting task run."), ("Success", "Task run succeeded.")), start=1
                ):
                    await latencies.send(client, "set_task_run_states", SET_TASK_RUN_STATES, {"input": {
                        "states": [{"task_run_id": task_run_id, "version": version,
                                    "state": _state(kind, message)}]}})
                    pending_logs.append({
                        "flow_run_id": run_id, "task_run_id": task_run_id,
                        "timestamp": time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime()),
                        "name": "prefect.CloudTaskRunner", "level": "INFO",
                        "message": f"Task '{name}': {message}"})
                await ship_logs()

        await asyncio.gather(*(task_run(task_id, f"task-{i}") for i, task_id in enumerate(tasks)))
        await ship_logs(force=True)
        done = _state("Success", "All reference tasks succeeded.")
        await latencies.send(client, "set_flow_run_states", SET_FLOW_RUN_STATES, {"input": {"states": [
            {"flow_run_id": run_id, "version": 2, "state": done}]}})


@contextlib.asynccontextmanager
async def _serve(fixture: Path, db: Path) -> AsyncIterator[str]:
    flowview = str(Path(sys.executable).with_name("flowview"))
    process = await asyncio.create_subprocess_exec(
        flowview, "serve", "--port", "0", "--fixture", str(fixture), "--db", str(db),
        "--no-scheduler", "--no-zombie-killer", cwd=str(REPO_ROOT),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        assert process.stdout is not None
        url = (await asyncio.wait_for(process.stdout.readline(), 60)).decode().strip()
        if not url.startswith("http"):
            raise RuntimeError("flowview serve did not start")
        yield url
    finally:
        if process.returncode is None:
            process.terminate()
            await process.wait()


async def _level(runs: int, tasks: int) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as scratch:
        fixture = Path(scratch) / "fixture.json"
        document = _fixture(tasks)
        await asyncio.to_thread(fixture.write_text, json.dumps(document))
        task_ids = [row["id"] for row in document["task"]]
        async with _serve(fixture, Path(scratch) / "bench.db") as url:
            latencies = Latencies()
            started = time.perf_counter()
            outcomes = await asyncio.gather(*(_flow_run(url, task_ids, latencies) for _ in range(runs)),
                                            return_exceptions=True)
            wall = time.perf_counter() - started
    failed = sum(isinstance(outcome, BaseException) for outcome in outcomes)
    p99 = latencies.percentile("set_task_run_states", 99)
    return {
        "runs": runs, "wall": wall, "mutations": latencies.count, "rate": latencies.count / wall,
        "errors": latencies.errors + failed,
        "states_p50": latencies.percentile("set_task_run_states", 50), "states_p99": p99,
        "logs_p50": latencies.percentile("write_run_logs", 50),
        "logs_p99": latencies.percentile("write_run_logs", 99),
        "sustained": latencies.errors + failed == 0 and p99 < SUSTAINED_P99_S,
    }


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f}"


async def main() -> None:
    args = parse_args(__doc__.splitlines()[0] if __doc__ else "")
    levels = QUICK_LEVELS if args.quick else FULL_LEVELS
    tasks = 10 if args.quick else TASKS_PER_RUN
    results = [await _level(runs, tasks) for runs in levels]
    print_table(
        f"Concurrent flow runs against flowview serve --db FILE ({tasks} task runs each, "
        f"{EXECUTOR_WORKERS} at a time per run)",
        ["runs", "wall s", "mutations", "mutations/s", "errors",
         "set_task_run_states p50 / p99 ms", "write_run_logs p50 / p99 ms", "sustained"],
        [[r["runs"], f"{r['wall']:.1f}", r["mutations"], f"{r['rate']:.0f}", r["errors"],
          f"{_ms(r['states_p50'])} / {_ms(r['states_p99'])}", f"{_ms(r['logs_p50'])} / {_ms(r['logs_p99'])}",
          "yes" if r["sustained"] else "no"] for r in results],
    )
    sustained = [r for r in results if r["sustained"]]
    best = max(sustained, key=lambda r: r["runs"]) if sustained else results[0]
    print(f"\nsustained: {best['runs'] if sustained else 0} concurrent flow runs "
          f"(p99 set_task_run_states < {SUSTAINED_P99_S * 1000:.0f} ms, no errors)")
    single = results[0]
    print_ratio(f"mutations/s at {best['runs']} runs vs 1 run", best["rate"] / single["rate"],
                "throughput gained by concurrency")
    print_ratio(f"p99 set_task_run_states at {best['runs']} runs vs 1 run",
                best["states_p99"] / single["states_p99"], "latency paid for it")


if __name__ == "__main__":
    asyncio.run(main())
