"""The flowview group: help for every subcommand, the exit code table, the console script."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from flowview_async import errors
from flowview_async.cli.exit_codes import exit_code_for

REPO = Path(__file__).resolve().parents[2]
SUBCOMMANDS = ["runs", "inspect", "task-run", "logs", "report", "watch", "query"]


def test_group_help_lists_every_subcommand(flowview: Any) -> None:
    result = flowview("--help")
    assert result.exit_code == 0
    for name in [*SUBCOMMANDS, "serve"]:
        assert name in result.stdout


@pytest.mark.parametrize("name", SUBCOMMANDS)
def test_every_subcommand_has_the_common_options(flowview: Any, name: str) -> None:
    result = flowview(name, "--help")
    assert result.exit_code == 0
    for option in ("--api", "--cassette", "--record-mode", "--json", "--debug"):
        assert option in result.stdout


def _all_error_classes() -> list[type[errors.FlowViewError]]:
    found = []
    pending: list[type[errors.FlowViewError]] = [errors.FlowViewError]
    while pending:
        current = pending.pop()
        found.append(current)
        pending.extend(current.__subclasses__())
    return found


def test_every_error_class_has_an_exit_code_apart_from_the_watch_codes() -> None:
    for error_class in _all_error_classes():
        error = error_class.__new__(error_class)
        assert exit_code_for(error) >= 3, error_class
    assert exit_code_for(errors.FlowRunNotFoundError("x")) == 4
    assert exit_code_for(errors.RequestTimeoutError("x")) == 7
    assert exit_code_for(errors.QueryValidationError("x")) == 3
    assert exit_code_for(errors.GraphQLQueryError("x")) == 8
    assert exit_code_for(errors.WatchTimeoutError("x")) == 9
    assert exit_code_for(errors.CassetteMismatchError("x")) == 10


def test_console_script_replays_the_readme_command() -> None:
    completed = subprocess.run(
        [sys.executable, "-m", "flowview_async.cli", "inspect",
         "4c0101af-c6bb-4b96-8661-63a5bbfb5596", "--cassette", "cassettes/inspecting-flow-runs.json"],
        cwd=REPO, capture_output=True, text=True, timeout=120, check=False,
    )
    assert completed.returncode == 0, completed.stderr
    assert "Success" in completed.stdout
    assert "say_hello-1" in completed.stdout
    assert "Flow run SUCCESS" in completed.stdout
