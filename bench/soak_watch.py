"""Issue 10 soak: 50 runs watched through the backend's fault injection, runs coming and going.

Every GraphQL request the watch sends fails with probability ``--fault-rate`` (20 % by default),
spread evenly over every fault kind the backend injects (``flowview_async/server/faults.py``:
5xx, 429, connection resets, answers slower than the client's timeout, non-JSON answers,
``API_ERROR``). The client retries once; what still fails reaches the watch. A driver keeps
``--runs`` runs alive for ``--duration`` seconds (states, mapped task runs, log batches, late lines;
1-4 s between steps, a service's pace), replacing each run that ends with a new one added to the
running watch (``watch.add``). At the end
every run's stored states, task-run states and lines are compared, id for id, with what the watch
delivered.

Prints a table and ``ratio:`` lines; exits 1 if anything was lost or repeated, or if the watch
ended on a fault. ``tests/test_watch_soak.py`` runs :func:`soak` at a small size.

    .venv/bin/python bench/soak_watch.py [--duration 600] [--runs 50] [--fault-rate 0.2] [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import random
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import attrs

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from flowview_async import Client  # noqa: E402
from flowview_async._retry import RetryPolicy  # noqa: E402
from flowview_async.server import LocalBackend  # noqa: E402
from flowview_async.server.faults import FAULT_KINDS  # noqa: E402
from flowview_async.watch import (  # noqa: E402
    LogLine,
    RunError,
    RunFinished,
    StateChange,
    TaskRunStateChange,
    watch_flow_runs,
)
from tests.watch_scenario import LiveRun, advance, make_runs, stored  # noqa: E402

# Arguments of the kinds that take one: a short Retry-After, and a delay past the client timeout.
_KIND_ARGUMENT = {"429": "@0.05", "503_errors": "@0.05", "429_errors": "@0.05", "slow": "@6"}
# Long enough for a poll of a busy backend on a shared machine; "slow" faults wait longer.
CLIENT_TIMEOUT_S = 5.0
# Once the drivers are done, every run must end within this long.
STALL_TIMEOUT_S = 120.0


def fault_spec(rate: float) -> str:
    """``rate`` spread evenly over every fault kind the backend has."""
    share = rate / len(FAULT_KINDS)
    return ",".join(f"{kind}{_KIND_ARGUMENT.get(kind, '')}:{share:.5f}" for kind in FAULT_KINDS)


@attrs.define
class SoakResult:
    runs: int = 0
    states: int = 0
    task_states: int = 0
    lines: int = 0
    missing: int = 0
    repeated: int = 0
    wrong_end: int = 0
    requests: int = 0
    non_200_answers: int = 0
    outages_ridden_out: int = 0
    seconds: float = 0.0
    watch_error: str | None = None

    @property
    def ok(self) -> bool:
        return not (self.missing or self.repeated or self.wrong_end or self.watch_error)


async def soak(*, duration: float, runs: int, fault_rate: float = 0.2, seed: int = 0) -> SoakResult:
    """Run the soak; see the module docstring."""
    result = SoakResult()
    chooser = random.Random(seed)
    seen: dict[str, Counter[str]] = {}
    ends: dict[str, list[str]] = {}
    started = time.monotonic()
    counter = _Counting()
    watch_logger = logging.getLogger("flowview_async.watch")
    watch_logger.addHandler(counter)
    try:
        await _soak(result, counter, duration=duration, runs=runs, fault_rate=fault_rate,
                    seed=seed, chooser=chooser, seen=seen, ends=ends, started=started)
    finally:
        watch_logger.removeHandler(counter)
    result.outages_ridden_out = counter.warnings
    return result


class _Counting(logging.Handler):
    """Counts the watch's warnings: one per failure it rode out (then an info when over)."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.warnings = 0

    def emit(self, record: logging.LogRecord) -> None:
        self.warnings += 1


async def _soak(result: SoakResult, counter: _Counting, *, duration: float, runs: int,
                fault_rate: float, seed: int, chooser: random.Random,
                seen: dict[str, Counter[str]], ends: dict[str, list[str]],
                started: float) -> None:
    async with LocalBackend(faults=fault_spec(fault_rate), seed=seed) as backend, \
            Client(backend.url, timeout=CLIENT_TIMEOUT_S,
                   retry=RetryPolicy(attempts=2)) as client:
        first = await make_runs(backend, runs)
        every: list[LiveRun] = list(first)
        watch = watch_flow_runs([r.flow_run_id for r in first], client=client,
                                stream_task_runs=True, poll_interval=0.1, max_poll_interval=0.5,
                                max_duration=None, keep_open=True)
        driving = True

        async def drive(run: LiveRun) -> None:
            # Each run lives a little while, then a new one takes its place while time remains.
            while True:
                await advance(backend, [run], batches=chooser.randint(1, 4),
                              lines=chooser.randint(4, 40), pause=chooser.uniform(1.0, 4.0))
                if time.monotonic() - started >= duration:
                    return
                (run,) = await make_runs(backend, 1)
                every.append(run)
                watch.add(run.flow_run_id)

        async def consume() -> None:
            async for event in watch:
                ids = seen.setdefault(event.flow_run_id, Counter())
                if isinstance(event, StateChange):
                    ids[f"s:{event.state_id}"] += 1
                elif isinstance(event, TaskRunStateChange):
                    ids[f"t:{event.state_id}"] += 1
                elif isinstance(event, LogLine):
                    ids[f"l:{event.log.id}"] += 1
                elif isinstance(event, (RunFinished, RunError)):
                    ends.setdefault(event.flow_run_id, []).append(type(event).__name__)
                    if not driving and all(run.flow_run_id in ends for run in every):
                        return

        async with watch:
            consumer = asyncio.create_task(consume())
            try:
                await asyncio.gather(*(drive(run) for run in first))
                driving = False
                if all(run.flow_run_id in ends for run in every):
                    consumer.cancel()  # every end came before the drivers were seen done
                else:
                    # A run whose end never comes is a failure to report, not a hang.
                    done, _ = await asyncio.wait([consumer], timeout=STALL_TIMEOUT_S)
                    if not done:
                        stalled = [r.flow_run_id for r in every if r.flow_run_id not in ends]
                        result.watch_error = (f"stalled: {len(stalled)} runs without an end "
                                              f"after {STALL_TIMEOUT_S:g}s, e.g. {stalled[:3]}")
                    else:
                        consumer.result()
            except Exception as error:  # the soak reports it rather than dying without numbers
                result.watch_error = f"{type(error).__name__}: {error}"
            finally:
                consumer.cancel()
                await asyncio.gather(consumer, return_exceptions=True)
        result.seconds = time.monotonic() - started
        result.requests = len(backend.requests)
        result.non_200_answers = sum(1 for r in backend.requests if r.status != 200)
        for run in every:
            expected = await stored(backend, run.flow_run_id)
            want = Counter([f"s:{i}" for i in expected.states]
                           + [f"t:{i}" for i in expected.task_states]
                           + [f"l:{i}" for i in expected.logs])
            got = seen.get(run.flow_run_id, Counter())
            result.runs += 1
            result.states += len(expected.states)
            result.task_states += len(expected.task_states)
            result.lines += len(expected.logs)
            result.missing += sum((want - got).values())
            result.repeated += sum(n - 1 for n in got.values() if n > 1)
            result.wrong_end += ends.get(run.flow_run_id) != ["RunFinished"]
            if ends.get(run.flow_run_id) != ["RunFinished"] or want != got:
                lost = sorted((want - got).elements())[:5]
                print(f"run {run.flow_run_id}: ends {ends.get(run.flow_run_id)}, missing "
                      f"{await _describe(backend, lost)}, repeated "
                      f"{[i for i, n in got.items() if n > 1][:5]}", file=sys.stderr)


async def _describe(backend: LocalBackend, keys: list[str]) -> list[str]:
    """What lost rows were: a line's message and times, so a failure says which step lost it."""

    def read(connection: Any) -> list[str]:
        found = []
        for key in keys:
            kind, _, row_id = key.partition(":")
            if kind == "l":
                row = connection.execute("SELECT message, timestamp, created FROM log WHERE id = ?",
                                         (row_id,)).fetchone()
                found.append(f"line {row[0]!r} at {row[1]}, stored {row[2]}" if row else key)
            else:
                found.append(key)
        return found

    return await backend.database.transaction(read)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--duration", type=float, default=600.0, help="seconds (default 600)")
    parser.add_argument("--runs", type=int, default=50, help="runs watched at once (default 50)")
    parser.add_argument("--fault-rate", type=float, default=0.2, help="default 0.2")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quick", action="store_true", help="20 s, 10 runs (smoke test)")
    arguments = parser.parse_args()
    duration, runs = (20.0, 10) if arguments.quick else (arguments.duration, arguments.runs)
    result = asyncio.run(soak(duration=duration, runs=runs, fault_rate=arguments.fault_rate,
                              seed=arguments.seed))
    print(f"\nwatch soak: {runs} runs at once for {duration:g}s, "
          f"{arguments.fault_rate:.0%} of requests faulty ({fault_spec(arguments.fault_rate)})")
    for name in ("runs", "states", "task_states", "lines", "missing", "repeated", "wrong_end",
                 "requests", "non_200_answers", "outages_ridden_out", "seconds", "watch_error"):
        print(f"  {name:16} {getattr(result, name)}")
    delivered = result.states + result.task_states + result.lines - result.missing
    total = result.states + result.task_states + result.lines
    print(f"ratio: rows delivered exactly once / rows stored = {delivered / max(total, 1):.2f}x "
          f"({result.repeated} repeated, {result.missing} missing, {result.outages_ridden_out} "
          f"failures ridden out by the watch, {result.requests} requests)")
    raise SystemExit(0 if result.ok else 1)


if __name__ == "__main__":
    main()
