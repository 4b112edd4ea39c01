"""flowview_async side of bench_memory.py: peak memory of reading one flow run's logs.

Config: ``{"url", "flow_run_id", "mode"}``; ``mode`` is ``iter_logs`` (stream, keep nothing) or
``get_logs`` (the whole list). The view is loaded first, so imports, the connection and the
first request are in the baseline; only reading the logs is measured.

Prints ``{"lines", "seconds", "baseline_kib", "peak_kib"}`` (peak RSS during the read).
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from _measure import emit, peak_rss_kb, read_config, reset_peak_rss

from flowview_async import Client, FlowRunView


async def main(config: dict[str, Any]) -> dict[str, Any]:
    async with Client(config["url"], timeout=600) as client:
        view = await FlowRunView.from_flow_run_id(config["flow_run_id"], client=client)
        baseline = reset_peak_rss()
        started = time.perf_counter()
        if config["mode"] == "iter_logs":
            lines = 0
            async for _log in view.iter_logs():
                lines += 1
        else:
            logs = await view.get_logs()
            lines = len(logs)
        seconds = time.perf_counter() - started
        peak = peak_rss_kb()
    return {"lines": lines, "seconds": seconds, "baseline_kib": baseline, "peak_kib": peak}


if __name__ == "__main__":
    emit(asyncio.run(main(read_config())))
