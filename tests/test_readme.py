"""The README's two commands: CI runs exactly the test command, and the main job works offline."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


def bash_blocks() -> list[str]:
    return re.findall(r"```bash\n(.*?)```", README, flags=re.DOTALL)


def command_of(block: str) -> str:
    lines = [line for line in block.splitlines() if line.strip() and not line.startswith("#")]
    assert len(lines) == 1, block
    return lines[0]


def test_readme_opens_with_the_two_commands() -> None:
    first, second = bash_blocks()[:2]
    assert "flowview inspect" in command_of(first)
    assert "--cassette cassettes/inspecting-flow-runs.json" in command_of(first)
    assert "pytest" in command_of(second)


def test_ci_runs_exactly_the_readme_test_command() -> None:
    test_command = command_of(bash_blocks()[1])
    ci_lines = (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    assert test_command in ci_lines


def test_main_job_inspects_the_documented_run_offline() -> None:
    first = command_of(bash_blocks()[0])
    inspect_args = first.split("flowview ", 1)[1].split()
    completed = subprocess.run(
        [sys.executable, "-m", "flowview_async.cli", *inspect_args],
        cwd=ROOT, capture_output=True, text=True, timeout=120, check=False,
        # No backend anywhere: a stray endpoint must not matter, the cassette answers everything.
        env={"PATH": "/usr/bin:/bin", "PREFECT__SERVER__ENDPOINT": "http://127.0.0.1:9",
             "HOME": str(ROOT / ".no-home"), "COLUMNS": "160"},
    )
    assert completed.returncode == 0, completed.stderr
    out = completed.stdout
    assert "All reference tasks succeeded." in out
    assert "say_hello-1" in out
    assert "Beginning Flow run for 'radio_show'" in out
