"""Issue 3: how long a full flow run inspection takes, flowview_async against Prefect 1.4.1.

Run it from the repository root (a script, not a test)::

    .venv/bin/python bench/bench_inspection.py [--quick]

One local backend (20 ms of latency injected into every GraphQL request) is seeded with synthetic
runs: 58 tasks of which every fourth is mapped over 3 children, i.e. 100 task runs and
58 x 17 = 986 log lines per flow run (the generator writes log lines per top-level task run; 986
keeps the logs one page of 1,000, so no side pays for an empty last page). A full inspection is
the flow run's state, its flow's metadata, every task run and every log line.

Both sides run in child processes (see _harness.py) against that backend, in the same run, each
repeated and reported by its median; the request counts come from the backend itself. "Many runs"
inspects 50 runs: flowview_async with one client, bulk ``from_flow_run_ids`` then every
``inspect()`` concurrently; the peer one run after another, the only way its sync views allow.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import attrs
from _harness import median, parse_args, print_ratio, print_table, run_flowview_side, run_peer_side

from flowview_async.server import LocalBackend

LATENCY_MS = 20


@attrs.frozen
class Sizes:
    tasks: int  # top-level tasks; every fourth is mapped over 3 children
    logs_per_task: int
    many_runs: int
    repeats: int
    many_repeats: int


FULL = Sizes(tasks=58, logs_per_task=17, many_runs=50, repeats=5, many_repeats=3)
QUICK = Sizes(tasks=12, logs_per_task=10, many_runs=5, repeats=1, many_repeats=1)


@attrs.frozen
class Measured:
    side: str
    what: str
    median_s: float
    best_s: float
    client_cpu_s: float  # the side process's own CPU: the rest of the wall time is waiting
    backend_cpu_s: float  # this process's CPU (it serves the backend) per operation
    requests: float  # per operation, as the backend counted them
    max_in_flight: int
    task_runs: int
    logs: int


async def _measure(backend: LocalBackend, side: str, mode: str, what: str, ids: list[str],
                   repeats: int) -> Measured:
    config: dict[str, Any] = {"mode": mode, "flow_run_ids": ids, "repeats": repeats}
    backend.clear_requests()
    backend_cpu_started = time.process_time()
    if side == "flowview_async":
        result = await run_flowview_side("flowview_inspect.py", {**config, "url": backend.url})
    else:
        result = await run_peer_side("peer_inspect.py", backend.url, config)
    backend_cpu = time.process_time() - backend_cpu_started
    times = [float(t) for t in result["times"]]
    operations = int(result["operations"])
    return Measured(
        side=side, what=what, median_s=median(times), best_s=min(times),
        client_cpu_s=median([float(t) for t in result["cpu"]]),
        backend_cpu_s=backend_cpu / operations,
        requests=len(backend.requests) / operations,
        max_in_flight=backend.max_in_flight,
        task_runs=int(result["task_runs"]), logs=int(result["logs"]),
    )


def _row(m: Measured) -> list[object]:
    return [m.side, m.what, f"{m.median_s * 1000:.1f}", f"{m.best_s * 1000:.1f}",
            f"{m.client_cpu_s * 1000:.1f}", f"{m.backend_cpu_s * 1000:.1f}", f"{m.requests:g}",
            m.max_in_flight, m.task_runs, m.logs]


HEADER = ["side", "operation", "median ms", "best ms", "client CPU ms", "backend CPU ms",
          "requests/op", "max in flight", "task runs", "log lines"]


async def main(quick: bool) -> None:
    sizes = QUICK if quick else FULL
    async with LocalBackend(fixture=None, latency_ms=LATENCY_MS) as backend:
        ids = await backend.seed_synthetic(flow_runs=sizes.many_runs, task_runs=sizes.tasks,
                                           logs=sizes.logs_per_task, seed=0)
        one = ids[:1]
        fv, peer = "flowview_async", "prefect 1.4.1"
        bare_fv = await _measure(backend, fv, "bare", "bare round trip ({ hello })", one,
                                 sizes.repeats * 4)
        bare_peer = await _measure(backend, peer, "bare", "bare round trip ({ hello })", one,
                                   sizes.repeats * 4)
        inspect = await _measure(backend, fv, "inspect", "inspect_flow_run(id)", one, sizes.repeats)
        steps = await _measure(backend, fv, "steps", "view calls, one after another", one,
                               sizes.repeats)
        view_inspect = await _measure(backend, fv, "view_inspect", "from_flow_run_id + inspect()",
                                      one, sizes.repeats)
        peer_steps = await _measure(backend, peer, "steps", "view calls, one after another", one,
                                    sizes.repeats)
        many = await _measure(backend, fv, "many", f"{len(ids)} runs: bulk + concurrent", ids,
                              sizes.many_repeats)
        peer_many = await _measure(backend, peer, "many", f"{len(ids)} runs: one after another",
                                   ids, sizes.many_repeats)

    print(f"synthetic run: {inspect.task_runs} task runs, {inspect.logs} log lines; "
          f"{LATENCY_MS} ms latency per request; median of {sizes.repeats} "
          f"({sizes.many_repeats} for many runs) after one warm-up")
    print_table("Single flow run, full inspection (state, flow, task runs, logs)", HEADER,
                [_row(m) for m in (bare_fv, bare_peer, inspect, view_inspect, steps, peer_steps)])
    print_table(f"Many runs ({len(ids)} flow runs)", HEADER, [_row(many), _row(peer_many)])
    print()
    print_ratio("full inspection, prefect 1.4.1 / flowview inspect_flow_run",
                peer_steps.median_s / inspect.median_s, "higher is better for flowview")
    print_ratio("full inspection, prefect 1.4.1 / flowview from_flow_run_id + inspect()",
                peer_steps.median_s / view_inspect.median_s, "higher is better for flowview")
    print_ratio("full inspection, prefect 1.4.1 / flowview step-by-step",
                peer_steps.median_s / steps.median_s, "same calls, same order")
    print_ratio("flowview inspect_flow_run / its bare round trip",
                inspect.median_s / bare_fv.median_s, "1.0 would be one round trip of wall time")
    print_ratio("prefect 1.4.1 full inspection / its bare round trip",
                peer_steps.median_s / bare_peer.median_s, "its requests go one after another")
    print_ratio("bare round trip, prefect 1.4.1 / flowview",
                bare_peer.median_s / bare_fv.median_s, "new TCP connection per request vs pooled")
    print_ratio(f"many runs ({len(ids)}), prefect 1.4.1 sequential / flowview bulk + concurrent",
                peer_many.median_s / many.median_s, "higher is better for flowview")


if __name__ == "__main__":
    asyncio.run(main(parse_args(__doc__ or "").quick))
