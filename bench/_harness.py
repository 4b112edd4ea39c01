"""What the benchmark scripts share: running each side in its own process, medians, printing.

Both sides of a comparison (flowview_async and the Prefect 1.4.1 peer) run as child processes of
the benchmark, against the local backend served by the benchmark's own event loop. Symmetry is the
point: if flowview_async ran in the benchmark process, its client work and the backend's work
would share one thread, while the peer's client ran on the other core, and the ratio would
measure that accident rather than the SDK. Children are started with
``asyncio.create_subprocess_exec`` so that the loop keeps serving the backend meanwhile.

Each side script reads its settings from one JSON argument and prints one JSON line last.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
SIDES_DIR = BENCH_DIR / "sides"

if str(REPO_ROOT) not in sys.path:
    # The peer harness lives in tests/; the scripts run as `python bench/<name>.py`.
    sys.path.insert(0, str(REPO_ROOT))

from tests.prefect1_peer import PEER_DIR, ensure_peer  # noqa: E402

__all__ = [
    "REPO_ROOT",
    "SideFailedError",
    "median",
    "parse_args",
    "print_ratio",
    "print_table",
    "run_flowview_side",
    "run_peer_side",
]

# A side that takes longer than this is stuck (a benchmark bug), not slow.
SIDE_TIMEOUT_S = 900.0


class SideFailedError(RuntimeError):
    """A side script exited non-zero or printed no JSON; carries the tail of its stderr."""


def parse_args(description: str, argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--quick", action="store_true",
                        help="the smallest sizes and fewest repeats (smoke test, CI)")
    return parser.parse_args(argv)


def _clean_environment() -> dict[str, str]:
    # Nothing from the caller's Prefect settings may redirect a side to a real backend.
    return {
        key: value for key, value in os.environ.items()
        if not key.startswith(("PREFECT__", "FLOWVIEW_")) and key != "PYTHONPATH"
    }


async def _run(python: str, script: Path, config: Mapping[str, Any], env: dict[str, str]) -> Any:
    process = await asyncio.create_subprocess_exec(
        python, str(script), json.dumps(dict(config)),
        env=env, cwd=str(REPO_ROOT),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    try:
        stdout, stderr = await asyncio.wait_for(process.communicate(), SIDE_TIMEOUT_S)
    except BaseException:
        # Timeout or cancellation: leave no orphan process behind.
        if process.returncode is None:
            process.kill()
            await process.wait()
        raise
    lines = [line for line in stdout.decode().splitlines() if line.strip()]
    if process.returncode != 0 or not lines:
        raise SideFailedError(
            f"{script.name} failed (exit {process.returncode}); its stderr ends with:\n"
            f"{stderr.decode()[-3000:]}"
        )
    return json.loads(lines[-1])


async def run_peer_side(script: str, backend_url: str, config: Mapping[str, Any],
                        settings: Mapping[str, str] | None = None) -> Any:
    """Run ``bench/sides/<script>`` with Prefect 1.4.1, pointed at ``backend_url``.

    ``settings`` adds Prefect environment settings, e.g. a longer ``PREFECT__CLOUD__REQUEST_TIMEOUT``.
    """
    python = await asyncio.to_thread(ensure_peer)  # may build the venv: keep it off the loop
    env = _clean_environment()
    env.update({
        "PREFECT__BACKEND": "server",
        "PREFECT__SERVER__ENDPOINT": backend_url,
        # Keep Prefect 1 away from the user's ~/.prefect (as tests/prefect1_peer.py does).
        "PREFECT__HOME_DIR": str(PEER_DIR / "prefect-home"),
        "PREFECT__USER_CONFIG_PATH": str(PEER_DIR / "prefect-home" / "config.toml"),
    })
    env.update(settings or {})
    return await _run(str(python), SIDES_DIR / script, config, env)


async def run_flowview_side(script: str, config: Mapping[str, Any]) -> Any:
    """Run ``bench/sides/<script>`` with this interpreter (flowview_async installed)."""
    return await _run(sys.executable, SIDES_DIR / script, config, _clean_environment())


def median(values: Sequence[float]) -> float:
    return float(statistics.median(values))


def print_table(title: str, header: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
    cells = [[str(cell) for cell in row] for row in [header, *rows]]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
    print(f"\n{title}")
    for number, row in enumerate(cells):
        print("  " + "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)))
        if number == 0:
            print("  " + "  ".join("-" * width for width in widths))


def print_ratio(label: str, value: float, meaning: str) -> None:
    """One ``ratio:`` line: the figure the issue notes quote."""
    print(f"ratio: {label} = {value:.2f}x ({meaning})")
