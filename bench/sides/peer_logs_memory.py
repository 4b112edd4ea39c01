"""Prefect 1.4.1 side of bench_memory.py: peak memory of ``FlowRunView.get_logs()`` (one request,
no paging: the whole answer is in memory at once). Config ``{"flow_run_id"}``; output as
flowview_logs_memory.py."""

from __future__ import annotations

import time
from typing import Any

from _measure import emit, peak_rss_kb, read_config, reset_peak_rss
from prefect.backend import FlowRunView  # type: ignore[import-not-found]


def main(config: dict[str, Any]) -> dict[str, Any]:
    view = FlowRunView.from_flow_run_id(config["flow_run_id"])
    baseline = reset_peak_rss()
    started = time.perf_counter()
    logs = view.get_logs()
    seconds = time.perf_counter() - started
    peak = peak_rss_kb()
    return {"lines": len(logs), "seconds": seconds, "baseline_kib": baseline, "peak_kib": peak}


if __name__ == "__main__":
    emit(main(read_config()))
