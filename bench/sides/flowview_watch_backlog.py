"""flowview_async side of bench_watch.py: watching finished runs with a large log backlog.

Config: ``{"url", "flow_run_ids", "implementation"}``; ``implementation`` is ``now`` (the watch
package) or ``before`` (``bench/sides/watch_before.py``, the watch as it was before issue 10, kept
to measure against). The client is opened and used once first, so imports, the schema and the
connection are in the baseline; the watch from its start to its last event is measured.

Prints ``{"events", "lines", "first_event_s", "first_line_s", "seconds", "baseline_kib",
"peak_kib"}``.
"""

from __future__ import annotations

import asyncio
import time
from contextlib import aclosing
from typing import Any

import watch_before
from _measure import emit, peak_rss_kb, read_config, reset_peak_rss

from flowview_async import Client
from flowview_async.watch import LogLine, watch_flow_runs


async def main(config: dict[str, Any]) -> dict[str, Any]:
    ids = config["flow_run_ids"]
    watch = watch_flow_runs if config["implementation"] == "now" else watch_before.watch_flow_runs
    async with Client(config["url"], timeout=600) as client:
        await client.execute("{ flow_run(limit: 1) { id } }")
        baseline = reset_peak_rss()
        started = time.perf_counter()
        first_event = first_line = None
        events = lines = 0
        async with aclosing(watch(ids, client=client, poll_interval=0.05,  # type: ignore[operator]
                                  max_poll_interval=0.05)) as stream:
            async for event in stream:
                events += 1
                if first_event is None:
                    first_event = time.perf_counter() - started
                if isinstance(event, (LogLine, watch_before.LogLine)):
                    lines += 1
                    if first_line is None:
                        first_line = time.perf_counter() - started
        seconds = time.perf_counter() - started
        peak = peak_rss_kb()
    return {"events": events, "lines": lines, "first_event_s": first_event,
            "first_line_s": first_line, "seconds": seconds, "baseline_kib": baseline,
            "peak_kib": peak}


if __name__ == "__main__":
    emit(asyncio.run(main(read_config())))
