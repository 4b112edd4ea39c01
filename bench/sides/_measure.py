"""Stdlib-only helpers shared by the side scripts; both interpreters (ours and Prefect 1.4.1's)
import it, so it must not import flowview_async or prefect."""

from __future__ import annotations

import contextlib
import gc
import json
import resource
import sys
from pathlib import Path
from typing import Any

_STATUS = Path("/proc/self/status")
_CLEAR_REFS = Path("/proc/self/clear_refs")


def read_config() -> dict[str, Any]:
    """The JSON object the benchmark passed as the only argument."""
    config = json.loads(sys.argv[1])
    if not isinstance(config, dict):
        raise SystemExit("a side script takes one JSON object as its argument")
    return config


def emit(result: dict[str, Any]) -> None:
    """Print the result as the last stdout line (the benchmark reads only that line)."""
    print(json.dumps(result), flush=True)


def _status_kb(field: str) -> int | None:
    try:
        for line in _STATUS.read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def reset_peak_rss() -> int:
    """Collect garbage, restart the kernel's peak-RSS mark if possible; returns RSS now (KiB).

    Writing 5 to clear_refs (Linux 4.0+) resets VmHWM, so the peak read afterwards belongs to the
    measured step alone; without it an earlier peak (imports, start-up) could hide the step's.
    """
    gc.collect()
    with contextlib.suppress(OSError):  # not Linux, or not allowed: fall back below
        _CLEAR_REFS.write_text("5")
    current = _status_kb("VmRSS")
    return current if current is not None else peak_rss_kb()


def peak_rss_kb() -> int:
    """Peak RSS since the last reset (KiB); falls back to getrusage's lifetime peak."""
    peak = _status_kb("VmHWM")
    if peak is not None:
        return peak
    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
