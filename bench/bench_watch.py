"""Issue 10: the watch before and after, on a big backlog and on many quiet runs.

1. **Backlog**: 20 finished runs x 20,000 log lines (400,000 lines) watched from their beginning:
   time to the first event and to the last, and peak memory growth, of the watch as it is now and
   as it was before issue 10 (``bench/sides/watch_before.py``, kept for this). Each side runs in its
   own process (see ``_harness.py``), against the backend served here.
2. **Quiet polls**: 200 running runs that change no more, watched for 10 polls after their backlog:
   requests and bytes (request + answer bodies, counted by a proxy in front of the backend) per poll.

``--quick`` runs a smaller backlog (2 runs x 2,000 lines) and 20 quiet runs.
"""

from __future__ import annotations

import argparse
import asyncio
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
from _harness import print_ratio, print_table, run_flowview_side
from aiohttp import web

from flowview_async import Client
from flowview_async.server import LocalBackend
from flowview_async.watch import watch_flow_runs

DOC_FLOW_ID = "8bdcf5b5-7598-49d1-a885-61612ca550de"
TENANT_ID = "5e0a5f3c-2d1b-4c7e-9a8f-6b4d2c0e8a11"


async def backlog(quick: bool) -> None:
    runs, task_runs, lines = (2, 2, 1000) if quick else (20, 20, 1000)
    async with LocalBackend(None) as backend:
        ids = await backend.seed_synthetic(flow_runs=runs, task_runs=task_runs, logs=lines)
        results = {}
        for implementation in ("now", "before"):
            results[implementation] = await run_flowview_side(
                "flowview_watch_backlog.py",
                {"url": backend.url, "flow_run_ids": ids, "implementation": implementation})
    rows = []
    for implementation, result in results.items():
        growth = (result["peak_kib"] - result["baseline_kib"]) / 1024
        rows.append([implementation, result["lines"], f"{result['first_event_s']:.2f}",
                     f"{result['first_line_s']:.2f}", f"{result['seconds']:.1f}",
                     f"{growth:.1f}"])
        result["growth_mib"] = growth
    total = runs * task_runs * lines
    print_table(f"backlog: {runs} finished runs x {task_runs * lines} lines ({total} lines)",
                ["watch", "lines", "first event s", "first line s", "all s", "peak growth MiB"],
                rows)
    now, before = results["now"], results["before"]
    print_ratio("time to first event, before / now",
                before["first_event_s"] / max(now["first_event_s"], 1e-6),
                "how much sooner the first event comes")
    print_ratio("peak memory growth, before / now",
                max(before["growth_mib"], 0.1) / max(now["growth_mib"], 0.1),
                f"now {now['growth_mib']:.1f} MiB; the issue asks for under 50 MiB")


class CountingProxy:
    """Forwards GraphQL POSTs to the backend and counts the requests and bytes both ways."""

    def __init__(self, target: str) -> None:
        self.target = target
        self.requests = 0
        self.bytes = 0
        self._session: aiohttp.ClientSession | None = None
        self._runner: web.AppRunner | None = None
        self.url = ""

    async def __aenter__(self) -> CountingProxy:
        self._session = aiohttp.ClientSession()
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_post("/{tail:.*}", self._forward)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.url = f"http://127.0.0.1:{self._runner.addresses[0][1]}"
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._runner is not None
        assert self._session is not None
        await self._runner.cleanup()
        await self._session.close()

    async def _forward(self, request: web.Request) -> web.Response:
        assert self._session is not None
        body = await request.read()
        async with self._session.post(self.target, data=body,
                                      headers={"Content-Type": "application/json"}) as answer:
            payload = await answer.read()
        self.requests += 1
        self.bytes += len(body) + len(payload)
        return web.Response(body=payload, status=answer.status, content_type="application/json")

    def reset(self) -> None:
        self.requests = self.bytes = 0


async def _quiet_runs(backend: LocalBackend, count: int) -> list[str]:
    ids = [str(uuid.uuid4()) for _ in range(count)]
    await backend.insert("flow_run", [{
        "id": i, "tenant_id": TENANT_ID, "flow_id": DOC_FLOW_ID, "name": f"quiet-{n}",
        "labels": [], "parameters": {}, "context": {}} for n, i in enumerate(ids)])
    for i in ids:
        for seconds, kind in ((0, "Scheduled"), (1, "Submitted"), (2, "Running")):
            await backend.set_state("flow_run", i, {"type": kind, "message": kind.lower(),
                                                    "__version__": "1.4.1"},
                                    timestamp=f"2024-05-01T12:00:0{seconds}+00:00")
        await backend.insert("log", [{
            "id": str(uuid.uuid4()), "flow_run_id": i, "timestamp": "2024-05-01T12:00:03+00:00",
            "level": "INFO", "name": "prefect.test", "message": f"line {n}",
            # Stored long ago, like the states above: the runs are quiet.
            "created": "2024-05-01T12:00:03+00:00"} for n in range(20)])
    return ids


async def _poll_cost(backend: LocalBackend, proxy: CountingProxy, ids: list[str],
                     watch: Callable[..., Any], marker: str, backlog_events: int,
                     polls: int) -> tuple[float, float]:
    async with Client(proxy.url) as client:
        seen = 0
        ready = asyncio.Event()

        async def consume() -> None:
            nonlocal seen
            async for _ in watch(ids, client=client, poll_interval=0.05, max_poll_interval=0.05,
                                 max_duration=None):
                seen += 1
                if seen >= backlog_events:
                    ready.set()

        task = asyncio.create_task(consume())
        try:
            await _until(lambda: ready.wait())
            # Let the poll under way finish, then count whole polls only.
            start = _count(backend, marker)
            while _count(backend, marker) == start:
                await asyncio.sleep(0.01)
            proxy.reset()
            first = _count(backend, marker)
            while _count(backend, marker) < first + polls:
                await asyncio.sleep(0.01)
            requests, size = proxy.requests, proxy.bytes
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
    return requests / polls, size / polls


def _count(backend: LocalBackend, marker: str) -> int:
    return sum(1 for r in backend.requests if r.operation_name == marker)


async def _until(wait: Callable[[], Awaitable[Any]]) -> None:
    await asyncio.wait_for(wait(), timeout=600)


async def quiet(quick: bool) -> None:
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parent / "sides"))
    import watch_before

    count = 20 if quick else 200
    async with LocalBackend() as backend:
        ids = await _quiet_runs(backend, count)
        async with CountingProxy(backend.graphql_url) as proxy:
            results = {
                "now": await _poll_cost(backend, proxy, ids, watch_flow_runs, "WatchPoll",
                                        count * 23, 10),
                # Before, each poll was one FlowRuns request plus log pages (FlowRunLogs).
                "before": await _poll_cost(backend, proxy, ids, watch_before.watch_flow_runs,
                                           "FlowRuns", count * 23, 10),
            }
    print_table(f"quiet polls: {count} running runs that change no more (10 polls each)",
                ["watch", "requests per poll", "bytes per poll"],
                [[name, f"{r:.1f}", f"{b:,.0f}"] for name, (r, b) in results.items()])
    print_ratio("bytes per quiet poll, before / now",
                results["before"][1] / results["now"][1], f"{count} runs, requests and answers")
    print_ratio("requests per quiet poll, before / now",
                results["before"][0] / results["now"][0], f"{count} runs")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small sizes (smoke test, CI)")
    parser.add_argument("--only", choices=["quiet", "backlog"], help="run one part")
    arguments = parser.parse_args()
    if arguments.only in (None, "quiet"):
        asyncio.run(quiet(arguments.quick))
    if arguments.only in (None, "backlog"):
        asyncio.run(backlog(arguments.quick))


if __name__ == "__main__":
    main()
