"""Prefect 1.4.1 side of bench_inspection.py (runs in .venv-prefect1, pointed at the local
backend through PREFECT__SERVER__ENDPOINT).

Config: ``{"mode", "flow_run_ids", "repeats"}``; ``mode`` is ``bare`` (``{ hello }``), ``steps``
(from_flow_run_id, get_flow_metadata, get_all_task_runs, get_logs: the full inspection the sync
views allow) or ``many`` (``steps`` for each id, one after another: the sync views have no bulk
or concurrent form). Output as flowview_inspect.py.
"""

from __future__ import annotations

import time
from typing import Any

from _measure import emit, read_config
from prefect import Client  # type: ignore[import-not-found]
from prefect.backend import FlowRunView  # type: ignore[import-not-found]


def _steps(flow_run_id: str) -> tuple[int, int]:
    view = FlowRunView.from_flow_run_id(flow_run_id)
    view.get_flow_metadata()
    task_runs = view.get_all_task_runs()
    logs = view.get_logs()
    return len(task_runs), len(logs)


def _once(mode: str, ids: list[str]) -> tuple[int, int]:
    if mode == "bare":
        Client().graphql("query { hello }")
        return 0, 0
    if mode == "steps":
        return _steps(ids[0])
    totals = [_steps(flow_run_id) for flow_run_id in ids]
    return sum(t for t, _ in totals), sum(n for _, n in totals)


def main(config: dict[str, Any]) -> dict[str, Any]:
    mode, ids, repeats = config["mode"], list(config["flow_run_ids"]), int(config["repeats"])
    counts = _once(mode, ids)  # warm-up: lazy imports of the views and the result classes
    times: list[float] = []
    cpu: list[float] = []
    for _ in range(repeats):
        started, cpu_started = time.perf_counter(), time.process_time()
        counts = _once(mode, ids)
        times.append(time.perf_counter() - started)
        cpu.append(time.process_time() - cpu_started)
    return {"times": times, "cpu": cpu, "operations": repeats + 1, "task_runs": counts[0],
            "logs": counts[1]}


if __name__ == "__main__":
    emit(main(read_config()))
