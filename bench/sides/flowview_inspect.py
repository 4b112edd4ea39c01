"""flowview_async side of bench_inspection.py: time one way of inspecting flow runs.

Config: ``{"url", "mode", "flow_run_ids", "repeats"}``; ``mode`` is one of

* ``bare``: one trivial query (``{ hello }``), the floor of any request;
* ``inspect``: ``inspect_flow_run(id)``, everything requested at once;
* ``steps``: the doc page's calls one after another (from_flow_run_id, get_flow_metadata,
  get_all_task_runs, get_logs), as a user following it would write them;
* ``view_inspect``: ``from_flow_run_id`` then ``view.inspect()`` (the three loads concurrently);
* ``many``: every id at once: ``FlowRunView.from_flow_run_ids`` (bulk) then ``inspect()`` of each,
  concurrently, through the one client (its bounded pool decides how many are in flight).

Prints ``{"times": [seconds per repeat], "cpu": [client CPU seconds per repeat],
"operations": n, "task_runs": n, "logs": n}``; one
untimed warm-up comes first (connection set-up, lazy imports), and counts in ``operations``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

from _measure import emit, read_config

from flowview_async import Client, FlowRunView, inspect_flow_run

Counts = tuple[int, int]


async def _steps(client: Client, flow_run_id: str) -> Counts:
    view = await FlowRunView.from_flow_run_id(flow_run_id, client=client)
    await view.get_flow_metadata()
    task_runs = await view.get_all_task_runs()
    logs = await view.get_logs()
    return len(task_runs), len(logs)


async def _view_inspect(client: Client, flow_run_id: str) -> Counts:
    view = await FlowRunView.from_flow_run_id(flow_run_id, client=client)
    inspection = await view.inspect()
    return len(inspection.task_runs), len(inspection.logs)


async def _inspect(client: Client, flow_run_id: str) -> Counts:
    inspection = await inspect_flow_run(flow_run_id, client=client)
    return len(inspection.task_runs), len(inspection.logs)


async def _bare(client: Client, _flow_run_id: str) -> Counts:
    await client.execute("query Hello { hello }")
    return 0, 0


async def _many(client: Client, flow_run_ids: list[str]) -> Counts:
    views = await FlowRunView.from_flow_run_ids(flow_run_ids, client=client)
    inspections = await asyncio.gather(*(view.inspect() for view in views))
    return sum(len(i.task_runs) for i in inspections), sum(len(i.logs) for i in inspections)


_SINGLE: dict[str, Callable[[Client, str], Awaitable[Counts]]] = {
    "bare": _bare, "inspect": _inspect, "steps": _steps, "view_inspect": _view_inspect,
}


async def main(config: dict[str, Any]) -> dict[str, Any]:
    mode, ids, repeats = config["mode"], list(config["flow_run_ids"]), int(config["repeats"])

    async def once() -> Counts:
        if mode == "many":
            return await _many(client, ids)
        return await _SINGLE[mode](client, ids[0])

    times: list[float] = []
    cpu: list[float] = []
    async with Client(config["url"]) as client:
        counts = await once()  # warm-up
        for _ in range(repeats):
            started, cpu_started = time.perf_counter(), time.process_time()
            counts = await once()
            times.append(time.perf_counter() - started)
            cpu.append(time.process_time() - cpu_started)
    return {"times": times, "cpu": cpu, "operations": repeats + 1, "task_runs": counts[0],
            "logs": counts[1]}


if __name__ == "__main__":
    emit(asyncio.run(main(read_config())))
