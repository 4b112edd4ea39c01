"""Start-up cost: ``flowview --version``/``--help`` against ``python -c pass``, and what the pytest
plugin adds to a pytest session in a project with no flowview tests.

Each command runs in a fresh process, the sides interleaved round by round so that a burst of load
on the machine hits every side alike; the figure is the median wall time. It also lists which of
the heavy modules (aiohttp, gql, graphql-core, the SDK's client) each command imported: the point
of lazy loading is that the answer is "none".

    .venv/bin/python bench/bench_startup.py [--quick]
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _harness import REPO_ROOT, median, parse_args, print_ratio, print_table

HEAVY = ("aiohttp", "gql", "graphql", "flowview_async.client", "flowview_async.server")

# Runs the CLI in-process and reports, at exit, which heavy modules it imported.
_CLI_PROBE = """
import atexit, json, sys
atexit.register(lambda: sys.stderr.write("HEAVY " + json.dumps(sorted(
    m for m in sys.modules if m.split(".")[0] in ("aiohttp", "gql", "graphql")
    or m in ("flowview_async.client", "flowview_async.server"))) + "\\n"))
from flowview_async.cli import main
sys.argv = ["flowview", *sys.argv[1:]]
main()
"""

_EMPTY_PROJECT_TEST = """
import json, sys

def test_nothing_to_do_with_flowview():
    heavy = sorted(m for m in sys.modules if m.split(".")[0] in ("aiohttp", "gql", "graphql")
                   or m in ("flowview_async.client", "flowview_async.server"))
    sys.stderr.write("HEAVY " + json.dumps(heavy) + "\\n")
"""


def _flowview_script() -> str:
    return str(Path(sys.executable).with_name("flowview"))


def _time(command: list[str], cwd: str) -> tuple[float, list[str] | None]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("PYTEST_")}
    started = time.perf_counter()
    completed = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True,
                               timeout=120, check=False)
    elapsed = time.perf_counter() - started
    if completed.returncode != 0:
        raise RuntimeError(f"{command} failed: {completed.stderr[-2000:]}")
    heavy = None
    for line in completed.stderr.splitlines() + completed.stdout.splitlines():
        if line.startswith("HEAVY "):
            heavy = json.loads(line[len("HEAVY "):])
    return elapsed, heavy


def main() -> None:
    args = parse_args(__doc__ or "")
    rounds = 3 if args.quick else 9
    with tempfile.TemporaryDirectory() as project:
        Path(project, "test_plain.py").write_text(_EMPTY_PROJECT_TEST)
        Path(project, "pytest.ini").write_text("[pytest]\n")
        sides = {
            "python -c pass": [sys.executable, "-c", "pass"],
            "flowview --version": [_flowview_script(), "--version"],
            "flowview --help": [_flowview_script(), "--help"],
            "flowview --version (probe)": [sys.executable, "-c", _CLI_PROBE, "--version"],
            "flowview --help (probe)": [sys.executable, "-c", _CLI_PROBE, "--help"],
            "pytest, plugin on": [sys.executable, "-m", "pytest", "-q", "-s", "-p", "no:cacheprovider"],
            "pytest, plugin off": [sys.executable, "-m", "pytest", "-q", "-s", "-p", "no:cacheprovider",
                                   "-p", "no:flowview"],
        }
        times: dict[str, list[float]] = {name: [] for name in sides}
        heavy: dict[str, list[str] | None] = {}
        for _ in range(rounds):
            for name, command in sides.items():
                elapsed, imported = _time(command, project if "pytest" in name else str(REPO_ROOT))
                times[name].append(elapsed)
                if imported is not None:
                    heavy[name] = imported
    medians = {name: median(values) for name, values in times.items()}
    print_table(
        f"wall time, median of {rounds} fresh processes",
        ["command", "seconds", "heavy modules imported"],
        [[name, f"{medians[name]:.3f}", ", ".join(heavy[name]) or "none" if name in heavy else "-"]
         for name in sides],
    )
    baseline = medians["python -c pass"]
    print_ratio("flowview --version / python -c pass", medians["flowview --version"] / baseline,
                "start-up of the CLI against a bare interpreter")
    print_ratio("flowview --help / python -c pass", medians["flowview --help"] / baseline,
                "the help screen lists commands without importing them")
    print_ratio("pytest with the plugin / without", medians["pytest, plugin on"]
                / medians["pytest, plugin off"],
                "what installing flowview_async adds to an unrelated pytest session")


if __name__ == "__main__":
    main()
