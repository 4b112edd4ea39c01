"""Issue 13: the command line, flowview against Prefect 1.4.1's CLI, as a user runs them.

Run it from the repository root (a script, not a test)::

    .venv/bin/python bench/bench_cli.py [--quick]

One local backend (20 ms of latency injected into every GraphQL request) holds two synthetic
data sets: 120 small flow runs, and one flow run of 500 tasks (every fourth mapped over 3
children: 875 task runs) with 20 log lines per task, i.e. 10,000 log lines.

Each command is a fresh process, timed from start to exit (interpreter start and imports
included: what a user waits for), with the same environment pointing it at the backend; the
median of the repeats after one untimed warm-up is reported.

* listing runs: ``flowview runs --limit 100`` against ``prefect get flow-runs --limit 100``;
* a run's report: ``flowview report ID -o run.html`` (the run, its flow, every task run with
  times and state history, every log line, rendered as HTML) against what Prefect 1.4.1's CLI can
  gather of it, ``prefect describe flow-runs --name NAME --flow-name FLOW`` (the run) then
  ``prefect get logs --id ID`` (its log lines); Prefect 1's CLI has no command for a run's task
  runs, so its side gathers less.
"""

from __future__ import annotations

import asyncio
import os
import resource
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

import attrs
from _harness import REPO_ROOT, median, parse_args, print_ratio, print_table

from flowview_async.server import LocalBackend
from tests.prefect1_peer import PEER_DIR, ensure_peer

LATENCY_MS = 20


@attrs.frozen
class Sizes:
    listed_runs: int  # runs created for the listing (more than the limit)
    limit: int
    tasks: int  # tasks of the report's run; every fourth mapped over 3 children
    logs_per_task: int
    repeats: int


FULL = Sizes(listed_runs=120, limit=100, tasks=500, logs_per_task=20, repeats=5)
QUICK = Sizes(listed_runs=12, limit=10, tasks=20, logs_per_task=5, repeats=1)


def _environment(url: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("PREFECT__", "FLOWVIEW_")) and key != "PYTHONPATH"}
    env.update({
        "PREFECT__BACKEND": "server",
        "PREFECT__SERVER__ENDPOINT": url,
        "PREFECT__HOME_DIR": str(PEER_DIR / "prefect-home"),
        "PREFECT__USER_CONFIG_PATH": str(PEER_DIR / "prefect-home" / "config.toml"),
        "COLUMNS": "200",
    })
    return env


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


async def _run(command: Sequence[str], env: dict[str, str]) -> tuple[float, float, int]:
    """Seconds from start to exit, the CPU seconds the command used (steadier than wall time on
    a busy machine: a command waiting for a core costs no CPU), and the bytes it printed."""
    cpu = _children_cpu()
    started = time.perf_counter()
    process = await asyncio.create_subprocess_exec(
        *command, env=env, cwd=str(REPO_ROOT),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    try:
        stdout, stderr = await asyncio.wait_for(process.communicate(), 600)
    except BaseException:
        if process.returncode is None:
            process.kill()
            await process.wait()
        raise
    elapsed = time.perf_counter() - started
    if process.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} exited {process.returncode}: "
                           f"{stderr.decode()[-2000:]}")
    return elapsed, _children_cpu() - cpu, len(stdout)


async def _timed(commands: Sequence[Sequence[str]], env: dict[str, str],
                 repeats: int) -> tuple[float, float, float, int]:
    """Median and best seconds of running ``commands`` one after another, their median CPU
    seconds, and the bytes printed."""
    for command in commands:
        await _run(command, env)  # warm-up: disk caches, the backend's statement cache
    totals, cpus, printed = [], [], 0
    for _ in range(repeats):
        total, cpu, printed = 0.0, 0.0, 0
        for command in commands:
            seconds, used, size = await _run(command, env)
            total += seconds
            cpu += used
            printed += size
        totals.append(total)
        cpus.append(cpu)
    return median(totals), min(totals), median(cpus), printed


async def main(sizes: Sizes) -> None:
    peer_python = Path(await asyncio.to_thread(ensure_peer))
    prefect = str(peer_python.parent / "prefect")
    flowview = str(Path(sys.executable).parent / "flowview")
    async with LocalBackend(latency_ms=LATENCY_MS) as backend:
        await backend.seed_synthetic(flow_runs=sizes.listed_runs, task_runs=2, logs=1, seed=101)
        (report_run,) = await backend.seed_synthetic(flow_runs=1, task_runs=sizes.tasks,
                                                     logs=sizes.logs_per_task, seed=102)
        env = _environment(backend.url)
        task_runs = sizes.tasks + sizes.tasks // 4 * 3
        log_lines = sizes.tasks * sizes.logs_per_task
        with tempfile.TemporaryDirectory() as scratch:
            report_file = str(Path(scratch) / "run.html")
            cases = [
                ("flowview", f"runs --limit {sizes.limit}",
                 [[flowview, "runs", "--limit", str(sizes.limit)]]),
                ("flowview", f"runs --limit {sizes.limit} --json",
                 [[flowview, "runs", "--limit", str(sizes.limit), "--json"]]),
                ("prefect 1.4.1", f"get flow-runs --limit {sizes.limit}",
                 [[prefect, "get", "flow-runs", "--limit", str(sizes.limit)]]),
                ("flowview", f"report ({task_runs} task runs, {log_lines} log lines)",
                 [[flowview, "report", report_run, "-o", report_file]]),
                ("flowview", f"logs ({log_lines} log lines)", [[flowview, "logs", report_run]]),
                ("prefect 1.4.1", f"describe flow-runs + get logs ({log_lines} log lines)",
                 [[prefect, "describe", "flow-runs", "--name", "synthetic-run-000000",
                   "--flow-name", "synthetic-102"],
                  [prefect, "get", "logs", "--id", report_run]]),
            ]
            results = []
            for side, what, commands in cases:
                backend.clear_requests()
                middle, best, cpu, printed = await _timed(commands, env, sizes.repeats)
                requests = len(backend.requests) / (sizes.repeats + 1)
                results.append((side, what, middle, best, cpu, requests, printed))
            report_bytes = Path(report_file).stat().st_size
    print_table(
        f"Command line, {LATENCY_MS} ms latency per request, fresh process per command "
        f"(median of {sizes.repeats})",
        ["side", "command", "median ms", "best ms", "CPU ms", "requests", "bytes out"],
        [(side, what, f"{middle * 1000:.0f}", f"{best * 1000:.0f}", f"{cpu * 1000:.0f}",
          f"{requests:g}", printed)
         for side, what, middle, best, cpu, requests, printed in results])
    print(f"\nreport file: {report_bytes:,} bytes")
    by_what = {(side, what.split(" (")[0].split(" --json")[0]): middle
               for side, what, middle, *_ in results}
    cpu_of = {(side, what.split(" (")[0]): cpu for side, what, _, _, cpu, *_ in results}
    listing = f"get flow-runs --limit {sizes.limit}"
    print_ratio(f"runs --limit {sizes.limit}, prefect get flow-runs / flowview runs",
                by_what[("prefect 1.4.1", listing)]
                / by_what[("flowview", f"runs --limit {sizes.limit}")],
                "above 1: flowview is faster")
    print_ratio("a run's report, prefect describe + get logs / flowview report",
                by_what[("prefect 1.4.1", "describe flow-runs + get logs")]
                / by_what[("flowview", "report")],
                "above 1: flowview is faster, and its side also gathers every task run")
    print_ratio("a run's log lines, prefect get logs (+ describe) / flowview logs",
                by_what[("prefect 1.4.1", "describe flow-runs + get logs")]
                / by_what[("flowview", "logs")],
                "above 1: flowview is faster")
    print_ratio("CPU of a run's report, prefect describe + get logs / flowview report",
                cpu_of[("prefect 1.4.1", "describe flow-runs + get logs")]
                / cpu_of[("flowview", "report")],
                "above 1: flowview uses less CPU")


if __name__ == "__main__":
    arguments = parse_args(__doc__ or "")
    asyncio.run(main(QUICK if arguments.quick else FULL))
