"""Peak memory of reading a large flow run's logs: streaming against lists, against Prefect 1.4.1.

Run it from the repository root (a script, not a test)::

    .venv/bin/python bench/bench_memory.py [--quick]

One local backend holds one synthetic flow run with 200,000 log lines (quick: 20,000). Each way of
reading them runs in a child process of its own, so the peaks do not mix:

* flowview_async ``async for log in view.iter_logs()``: pages of 1,000, nothing kept;
* flowview_async ``await view.get_logs()``: the same pages, every line kept as a ``FlowRunLog``;
* Prefect 1.4.1 ``view.get_logs()``: one request for every line (no paging), kept as its objects.

Memory is the peak RSS of the child while it reads, above its RSS just before (the view already
loaded, the kernel's peak mark reset), so interpreter and import sizes do not count.
"""

from __future__ import annotations

import asyncio
from typing import Any

import attrs
from _harness import median, parse_args, print_ratio, print_table, run_flowview_side, run_peer_side

from flowview_async.server import LocalBackend

TASKS = 100  # top-level tasks of the synthetic run; log lines are generated per top-level task


@attrs.frozen
class Sizes:
    log_lines: int
    repeats: int


FULL = Sizes(log_lines=200_000, repeats=3)
QUICK = Sizes(log_lines=20_000, repeats=1)


@attrs.frozen
class Peak:
    side: str
    lines: int
    seconds: float
    growth_mib: float
    baseline_mib: float


def _peak(side: str, results: list[dict[str, Any]]) -> Peak:
    growths = [(int(r["peak_kib"]) - int(r["baseline_kib"])) / 1024 for r in results]
    return Peak(
        side=side,
        lines=int(results[0]["lines"]),
        seconds=median([float(r["seconds"]) for r in results]),
        growth_mib=median(growths),
        baseline_mib=median([int(r["baseline_kib"]) / 1024 for r in results]),
    )


async def main(quick: bool) -> None:
    sizes = QUICK if quick else FULL
    async with LocalBackend(fixture=None) as backend:
        (flow_run_id,) = await backend.seed_synthetic(
            flow_runs=1, task_runs=TASKS, logs=sizes.log_lines // TASKS, seed=0
        )
        # One request for 200,000 lines outlasts Prefect's default 15 s request timeout here.
        peer_settings = {"PREFECT__CLOUD__REQUEST_TIMEOUT": "600"}
        flowview_config = {"url": backend.url, "flow_run_id": flow_run_id}
        measured: dict[str, list[dict[str, Any]]] = {"iter": [], "get": [], "peer": []}
        requests: dict[str, int] = {}

        async def read(key: str) -> Any:
            if key == "peer":
                return await run_peer_side("peer_logs_memory.py", backend.url,
                                           {"flow_run_id": flow_run_id}, peer_settings)
            mode = "iter_logs" if key == "iter" else "get_logs"
            return await run_flowview_side("flowview_logs_memory.py",
                                           {**flowview_config, "mode": mode})

        for _ in range(sizes.repeats):
            for key in measured:
                backend.clear_requests()
                measured[key].append(await read(key))
                requests[key] = len(backend.requests)

    streamed = _peak("flowview_async iter_logs()", measured["iter"])
    listed = _peak("flowview_async get_logs()", measured["get"])
    peer = _peak("prefect 1.4.1 get_logs()", measured["peer"])
    rows = [
        [p.side, p.lines, f"{p.growth_mib:.1f}", f"{p.baseline_mib:.1f}", f"{p.seconds:.2f}",
         requests[key]]
        for p, key in ((streamed, "iter"), (listed, "get"), (peer, "peer"))
    ]
    print(f"one flow run, {sizes.log_lines:,} log lines; median of {sizes.repeats} runs, "
          "each side in its own process")
    print_table("Peak memory while reading the logs",
                ["reader", "lines", "peak growth MiB", "RSS before MiB", "seconds",
                 "requests (incl. view)"], rows)
    print()
    # A floor of 1 MiB keeps the ratio finite when streaming grows the process by almost nothing.
    floor = 1.0
    print_ratio("memory, prefect 1.4.1 get_logs / flowview iter_logs",
                peer.growth_mib / max(streamed.growth_mib, floor),
                "streaming keeps one page; growth floored at 1 MiB")
    print_ratio("memory, prefect 1.4.1 get_logs / flowview get_logs",
                peer.growth_mib / max(listed.growth_mib, floor), "both keep every line")
    print_ratio("memory, flowview get_logs / flowview iter_logs",
                listed.growth_mib / max(streamed.growth_mib, floor), "cost of keeping the list")
    print_ratio("time, prefect 1.4.1 get_logs / flowview iter_logs",
                peer.seconds / streamed.seconds, "one big request vs pages of 1,000")


if __name__ == "__main__":
    asyncio.run(main(parse_args(__doc__ or "").quick))
