"""Soak: full inspections through a backend that fails 20 % of requests, in every way we know.

    python bench/soak_faults.py                  # 1,000 inspections (the issue's size)
    python bench/soak_faults.py --inspections 5000 --concurrency 16
    python bench/soak_faults.py --quick          # 60 inspections, for a smoke run

The local backend (documentation fixture) injects, each with its own probability, adding up to
``--fault-rate``: 503 and 429 with JSON ``errors`` bodies and a fractional ``Retry-After``,
connection resets, truncated JSON, an HTML 500, ``{"data": null}``, ``API_ERROR``, HTML on a 200,
and slow answers (longer than the client's timeout). One client inspects every flow run of the
fixture in turn (small pages, so task runs and logs need follow-up requests), ``--concurrency`` at
a time, and each result is compared with the same inspection from a second, fault-free backend.

Printed: % correct, the typed errors by class, and the checks: no wrong result, no untyped error,
no hang (each inspection has a 60 s guard), no pending task and no unclosed connection once the
client is closed, memory flat (traced allocations per block of 100 inspections after a warm-up).
Exit status 1 if any check fails.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import gc
import json
import sys
import time
import tracemalloc
import warnings
from pathlib import Path
from typing import Any

import aiohttp
import attrs

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from flowview_async import Client, inspect_flow_run  # noqa: E402
from flowview_async._concurrency import timeout  # noqa: E402
from flowview_async.client import RetryPolicy  # noqa: E402
from flowview_async.errors import FlowViewError  # noqa: E402
from flowview_async.recording.ship import reproducible_fixture  # noqa: E402
from flowview_async.server import LocalBackend  # noqa: E402

PAGE_SIZE = 2
HANG_GUARD = 60.0
CLIENT_TIMEOUT = 0.5
SLOW = 1.0  # a slow answer takes this long: past the client's timeout, so it is retried
BLOCK = 100

# Shares of the fault rate; every kind the issue names.
FAULT_SHARES = {
    "503_errors@0.02": 0.125,
    "429_errors@0.02": 0.125,
    "reset": 0.1,
    "truncated": 0.125,
    "500_html": 0.125,
    "data_null": 0.1,
    "api_error": 0.1,
    "nonjson": 0.1,
    f"slow@{SLOW:g}": 0.1,
}


def fault_spec(rate: float) -> str:
    return ",".join(f"{kind}:{rate * share:.4f}" for kind, share in FAULT_SHARES.items())


@attrs.define
class SoakReport:
    inspections: int = 0
    correct: int = 0
    wrong: int = 0
    untyped: list[str] = attrs.field(factory=list)
    hangs: int = 0
    typed: collections.Counter[str] = attrs.field(factory=collections.Counter)
    typed_samples: list[str] = attrs.field(factory=list)
    pending_tasks: int = 0
    unclosed: int = 0
    server_connections_left: int = 0
    faults_served: collections.Counter[int] = attrs.field(factory=collections.Counter)
    requests: int = 0
    memory_blocks: list[int] = attrs.field(factory=list)
    seconds: float = 0.0

    @property
    def correct_share(self) -> float:
        return self.correct / self.inspections if self.inspections else 0.0

    @property
    def memory_growth(self) -> int:
        """Bytes gained between the first block after warm-up and the last one."""
        blocks = self.memory_blocks[1:] or self.memory_blocks
        return blocks[-1] - blocks[0] if len(blocks) > 1 else 0

    def failures(self) -> list[str]:
        problems = []
        if self.correct_share < 0.99:
            problems.append(f"only {self.correct_share:.2%} correct (at least 99 % expected)")
        if self.wrong:
            problems.append(f"{self.wrong} wrong results")
        if self.untyped:
            problems.append(f"untyped errors: {self.untyped[:3]}")
        if self.hangs:
            problems.append(f"{self.hangs} inspections hung")
        if self.pending_tasks:
            problems.append(f"{self.pending_tasks} tasks left pending")
        if self.unclosed or self.server_connections_left:
            problems.append(f"{self.unclosed} unclosed client objects, "
                            f"{self.server_connections_left} connections left on the server")
        # "Flat": under 2 MB, whatever the size of the run (the backend's request log is
        # cleared per block, so only leaks would show).
        if self.memory_growth > 2_000_000:
            problems.append(f"memory grew by {self.memory_growth / 1e6:.1f} MB")
        return problems


def _our_tasks() -> list[asyncio.Task[Any]]:
    return [t for t in asyncio.all_tasks() if t is not asyncio.current_task()
            and not getattr(t.get_coro(), "__qualname__", "").startswith("RequestHandler")]


def _unclosed_client_objects() -> int:
    gc.collect()
    return sum(1 for o in gc.get_objects()
               if isinstance(o, (aiohttp.ClientSession, aiohttp.BaseConnector)) and not o.closed)


def _server_connections(backend: LocalBackend) -> int:
    runner = getattr(backend, "_runner", None)
    server = getattr(runner, "server", None)
    return len(getattr(server, "connections", []))


async def _flow_run_ids(url: str) -> list[str]:
    async with Client(url) as client:
        data = await client.execute("query { flow_run(order_by: {id: asc}) { id } }")
    return [row["id"] for row in data["flow_run"]]


async def run_soak(inspections: int, *, concurrency: int = 8, fault_rate: float = 0.2,
                   seed: int = 1, progress: bool = False) -> SoakReport:
    report = SoakReport()
    started = time.perf_counter()
    tracemalloc.start()
    # Ids on every row, so that both backends hold exactly the same data (log order included).
    fixture = reproducible_fixture()
    async with LocalBackend(fixture) as clean, \
            LocalBackend(fixture, faults=fault_spec(fault_rate), seed=seed) as faulty:
        ids = await _flow_run_ids(clean.url)
        async with Client(clean.url) as reference_client:
            expected = {i: json.dumps((await inspect_flow_run(i, client=reference_client,
                                                              page_size=PAGE_SIZE)).to_dict(),
                                      sort_keys=True)
                        for i in ids}
        policy = RetryPolicy(attempts=8, backoff=0.005, max_backoff=0.1, deadline=30.0)
        queue: asyncio.Queue[int] = asyncio.Queue()
        for number in range(inspections):
            queue.put_nowait(number)
        async with Client(faulty.url, retry=policy, timeout=CLIENT_TIMEOUT,
                          max_concurrency=concurrency) as client:

            async def one(number: int) -> None:
                flow_run_id = ids[number % len(ids)]
                try:
                    async with timeout(HANG_GUARD):
                        got = await inspect_flow_run(flow_run_id, client=client,
                                                     page_size=PAGE_SIZE)
                except FlowViewError as error:  # before TimeoutError: RequestTimeoutError is one
                    report.typed[type(error).__name__] += 1
                    if len(report.typed_samples) < 5:
                        report.typed_samples.append(f"{type(error).__name__}: {error}")
                except TimeoutError:
                    report.hangs += 1
                except Exception as error:
                    report.untyped.append(f"{type(error).__name__}: {error}")
                else:
                    if json.dumps(got.to_dict(), sort_keys=True) == expected[flow_run_id]:
                        report.correct += 1
                    else:
                        report.wrong += 1
                report.inspections += 1
                if report.inspections % BLOCK == 0:
                    for served in faulty.requests:
                        report.faults_served[served.status] += 1
                    report.requests += len(faulty.requests)
                    faulty.clear_requests()  # the backend's own log is not the SDK's memory
                    gc.collect()
                    report.memory_blocks.append(tracemalloc.get_traced_memory()[0])
                    if progress:
                        print(f"  {report.inspections} inspections, {report.correct} correct, "
                              f"{report.memory_blocks[-1] / 1e6:.1f} MB traced", flush=True)

            async def worker() -> None:
                while not queue.empty():
                    await one(queue.get_nowait())

            await asyncio.gather(*(worker() for _ in range(concurrency)))
        for served in faulty.requests:
            report.faults_served[served.status] += 1
        report.requests += len(faulty.requests)
        report.pending_tasks = len(_our_tasks())
        # The server may still be sleeping on a slow answer whose client gave up: let it end.
        await asyncio.sleep(SLOW + 0.5)
        report.server_connections_left = _server_connections(faulty)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        report.unclosed = _unclosed_client_objects()
        report.unclosed += sum("Unclosed" in str(w.message) for w in caught)
    tracemalloc.stop()
    report.seconds = time.perf_counter() - started
    return report


def print_report(report: SoakReport, fault_rate: float) -> None:
    faults = sum(n for status, n in report.faults_served.items() if status != 200)
    print(f"soak: {report.inspections} full inspections, {report.requests} requests, "
          f"fault plan {fault_rate:.0%} ({fault_spec(fault_rate)}), {report.seconds:.1f} s")
    print(f"correct: {report.correct} ({report.correct_share:.2%})")
    print(f"typed errors: {dict(report.typed) or 'none'}")
    for sample in report.typed_samples:
        print(f"  e.g. {sample[:300]}")
    print(f"wrong results: {report.wrong}; untyped errors: {len(report.untyped)}; "
          f"hangs: {report.hangs}")
    print(f"statuses served: {dict(sorted(report.faults_served.items()))} "
          f"(non-200 or reset: {faults}; 200-status faults not counted here)")
    print(f"pending tasks: {report.pending_tasks}; unclosed client objects: {report.unclosed}; "
          f"server connections left: {report.server_connections_left}")
    blocks = ", ".join(f"{b / 1e6:.2f}" for b in report.memory_blocks)
    print(f"memory per block of {BLOCK} (MB traced): [{blocks}]; growth after warm-up: "
          f"{report.memory_growth / 1e6:+.2f} MB")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--inspections", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--fault-rate", type=float, default=0.2)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--quick", action="store_true", help="60 inspections")
    options = parser.parse_args()
    count = 60 if options.quick else options.inspections
    report = asyncio.run(run_soak(count, concurrency=options.concurrency,
                                  fault_rate=options.fault_rate, seed=options.seed,
                                  progress=not options.quick))
    print_report(report, options.fault_rate)
    problems = report.failures()
    print("result: " + ("PASS" if not problems else "FAIL: " + "; ".join(problems)))
    return 0 if not problems else 1


if __name__ == "__main__":
    sys.exit(main())
