"""The benchmark scripts still run: each one, at its --quick size, exits 0 and prints its ratio
lines. Numbers are not checked (a test asserting timing would be flaky); bench/README.md has them."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

BENCH_DIR = Path(__file__).resolve().parent.parent / "bench"
RATIO_LINE = re.compile(r"^ratio: .+ = \d+(\.\d+)?x \(.+\)$")


@pytest.mark.parametrize(
    ("script", "ratio_lines"),
    [
        ("bench_inspection.py", 7),
        ("bench_memory.py", 4),
        ("bench_backend_load.py", 3),
        ("bench_writes.py", 2),
        ("bench_cli.py", 4),
        ("bench_startup.py", 3),
        ("bench_watch.py", 4),
        ("soak_watch.py", 1),
    ],
)
def test_benchmark_runs_and_prints_its_ratios(script: str, ratio_lines: int) -> None:
    completed = subprocess.run(
        [sys.executable, str(BENCH_DIR / script), "--quick"],
        cwd=BENCH_DIR.parent, capture_output=True, text=True, timeout=600, check=False,
    )

    assert completed.returncode == 0, completed.stderr[-3000:]
    ratios = [line for line in completed.stdout.splitlines() if line.startswith("ratio:")]
    assert len(ratios) == ratio_lines, completed.stdout
    for line in ratios:
        assert RATIO_LINE.match(line), line
