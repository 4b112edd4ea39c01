"""Issue 2: how fast the local backend loads a million log rows, and how fast it then serves a page.

Run it from the repository root (a script, not a test)::

    .venv/bin/python bench/bench_backend_load.py [--quick]

Load: ``LocalBackend.seed_synthetic`` of 100 flow runs x 10 tasks x 1,000 log lines per top-level
task = 1,000,000 log rows (quick: 10 runs, 100,000 rows), into the default in-memory SQLite and
into an SQLite file, each timed from the call to its return (indexes rebuilt included).

Serve: the latency of one page of 1,000 log lines, the exact request ``FlowRunView.iter_logs``
sends (``LOGS_PAGE``, keyset ``where``), posted with a bare aiohttp session so that only the
backend is timed: the first page of a run in the middle of the big table, and its last page (a
keyset cursor deep in the run). The same pages on a table of one run (10,000 rows) give the
ratio that shows whether the indexes keep a page's cost flat as the table grows. No latency is
injected here.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp
import attrs
from _harness import median, parse_args, print_ratio, print_table

from flowview_async._queries import LOGS_PAGE
from flowview_async.server import LocalBackend

TASKS = 10
LOGS_PER_TASK = 1000
PAGE = 1000

COUNT_LOGS = "query CountLogs { log_aggregate { aggregate { count } } }"
# The line at a given position of a run, in LOGS_PAGE's order: where a deep page's cursor sits.
CURSOR = """
query Cursor($where: log_bool_exp!, $offset: Int!) {
  log(where: $where, order_by: [{timestamp: asc}, {id: asc}], limit: 1, offset: $offset) {
    id
    timestamp
  }
}
"""


@attrs.frozen
class Sizes:
    flow_runs: int
    repeats: int


FULL = Sizes(flow_runs=100, repeats=21)
QUICK = Sizes(flow_runs=10, repeats=3)


@attrs.frozen
class Load:
    storage: str
    log_rows: int
    seconds: float

    @property
    def rows_per_second(self) -> float:
        return self.log_rows / self.seconds


@attrs.frozen
class PageLatency:
    table_rows: int
    first_ms: float
    last_ms: float


async def _post(session: aiohttp.ClientSession, url: str, query: str,
                variables: dict[str, Any] | None = None) -> Any:
    async with session.post(url, json={"query": query, "variables": variables}) as response:
        body = await response.json()
    if response.status != 200 or body.get("errors"):
        raise RuntimeError(f"the backend refused a benchmark query ({response.status}): {body}")
    return body["data"]


async def _timed(session: aiohttp.ClientSession, url: str, variables: dict[str, Any],
                 repeats: int) -> tuple[float, int]:
    times, rows = [], 0
    for _ in range(repeats + 1):  # the first is a warm-up (SQLite page cache, connection)
        started = time.perf_counter()
        rows = len((await _post(session, url, LOGS_PAGE, variables))["log"])
        times.append(time.perf_counter() - started)
    return median(times[1:]) * 1000, rows


async def _page_latency(backend: LocalBackend, flow_run_id: str, repeats: int) -> PageLatency:
    url = backend.graphql_url
    run = {"flow_run_id": {"_eq": flow_run_id}}
    async with aiohttp.ClientSession() as session:
        count = (await _post(session, url, COUNT_LOGS))["log_aggregate"]["aggregate"]["count"]
        # The cursor of the last page: the line just before it, as iter_logs would have it.
        run_lines = TASKS * LOGS_PER_TASK
        before = await _post(session, url, CURSOR, {"where": run, "offset": run_lines - PAGE - 1})
        cursor = before["log"][0]
        after = {"_or": [{"timestamp": {"_gt": cursor["timestamp"]}},
                         {"timestamp": {"_eq": cursor["timestamp"]}, "id": {"_gt": cursor["id"]}}]}
        first_ms, first_rows = await _timed(session, url, {"where": run, "limit": PAGE}, repeats)
        last_ms, last_rows = await _timed(
            session, url, {"where": {"_and": [run, after]}, "limit": PAGE}, repeats)
    if first_rows != PAGE or last_rows != PAGE:
        raise RuntimeError(f"expected full pages of {PAGE}, got {first_rows} and {last_rows}")
    return PageLatency(table_rows=int(count), first_ms=first_ms, last_ms=last_ms)


async def _seed(backend: LocalBackend, storage: str, flow_runs: int) -> tuple[Load, list[str]]:
    started = time.perf_counter()
    ids = await backend.seed_synthetic(flow_runs=flow_runs, task_runs=TASKS, logs=LOGS_PER_TASK,
                                       seed=0)
    seconds = time.perf_counter() - started
    return Load(storage=storage, log_rows=flow_runs * TASKS * LOGS_PER_TASK, seconds=seconds), ids


async def _load_in_memory(flow_runs: int, repeats: int) -> tuple[Load, PageLatency]:
    async with LocalBackend(fixture=None) as backend:
        load, ids = await _seed(backend, "memory", flow_runs)
        return load, await _page_latency(backend, ids[len(ids) // 2], repeats)


async def _load_into_file(flow_runs: int) -> Load:
    with tempfile.TemporaryDirectory(prefix="flowview-bench-") as directory:
        async with LocalBackend(fixture=None, db_path=Path(directory) / "backend.sqlite3") as backend:
            load, _ = await _seed(backend, "file", flow_runs)
    return load


async def main(quick: bool) -> None:
    sizes = QUICK if quick else FULL
    memory, big = await _load_in_memory(sizes.flow_runs, sizes.repeats)
    on_disk = await _load_into_file(sizes.flow_runs)
    _, small = await _load_in_memory(1, sizes.repeats)

    print(f"synthetic load: {sizes.flow_runs} runs x {TASKS} tasks x {LOGS_PER_TASK} log lines "
          f"per top-level task; page latency: median of {sizes.repeats} after one warm-up")
    print_table("Loading log rows (seed_synthetic, one transaction, indexes rebuilt)",
                ["storage", "log rows", "seconds", "log rows/s"],
                [[load.storage, f"{load.log_rows:,}", f"{load.seconds:.2f}",
                  f"{load.rows_per_second:,.0f}"] for load in (memory, on_disk)])
    print_table(f"One page of {PAGE} log lines over HTTP (LOGS_PAGE, keyset where)",
                ["log table rows", "first page ms", "last page of the run ms"],
                [[f"{p.table_rows:,}", f"{p.first_ms:.1f}", f"{p.last_ms:.1f}"] for p in (small, big)])
    print()
    print_ratio(f"page latency, {big.table_rows:,}-row table / {small.table_rows:,}-row table",
                big.first_ms / small.first_ms, "about 1 means the indexes keep it flat")
    print_ratio("page latency, last page / first page of a run",
                big.last_ms / big.first_ms, "keyset paging: no cost for depth")
    print_ratio("load rate, memory / file", memory.rows_per_second / on_disk.rows_per_second,
                "what an SQLite file costs")


if __name__ == "__main__":
    asyncio.run(main(parse_args(__doc__ or "").quick))
