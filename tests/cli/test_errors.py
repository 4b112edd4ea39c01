"""Errors as a CLI user reads them: advice names options, not Python arguments, and a multi-line
message (a cassette diff) keeps its lines."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from flowview_async import errors
from flowview_async.cli.messages import cli_message, error_lines
from tests.cli.conftest import DOC_FLOW_RUN_ID, ThreadedBackend

SHIPPED_CASSETTE = Path(__file__).resolve().parents[2] / "cassettes" / "inspecting-flow-runs.json"
OTHER_RUN = "8e445d74-9ca6-425b-98e5-72754b7ea174"
PYTHON_SPELLINGS = ("record_mode=", "max_duration=", "api_url=", "cassette=")


def test_record_mode_without_cassette_is_refused_in_option_terms(flowview: Any) -> None:
    result = flowview("inspect", DOC_FLOW_RUN_ID, "--record-mode", "all")
    assert result.exit_code == 3
    assert result.stderr.startswith("Error: --record-mode all needs --cassette FILE")
    assert not any(spelling in result.stderr for spelling in PYTHON_SPELLINGS)


def test_api_that_is_not_a_url_is_refused_in_option_terms(flowview: Any) -> None:
    result = flowview("inspect", DOC_FLOW_RUN_ID, "--api", "not-a-url")
    assert result.exit_code == 3
    assert result.stderr.startswith("Error: --api 'not-a-url' is not an http(s) URL")
    assert "--api http://host:4200" in result.stderr
    assert "api_url" not in result.stderr


def test_bad_endpoint_setting_points_at_the_api_option(flowview: Any,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PREFECT__BACKEND", "server")  # Prefect 1's default backend is cloud
    monkeypatch.setenv("PREFECT__SERVER__ENDPOINT", "not-a-url")
    result = flowview("inspect", DOC_FLOW_RUN_ID)
    assert result.exit_code == 3
    assert "--api http://host:4200" in result.stderr
    assert "api_url" not in result.stderr


def test_missing_cassette_in_replay_only_mode_says_which_options_record_it(flowview: Any,
                                                                          tmp_path: Path) -> None:
    result = flowview("inspect", DOC_FLOW_RUN_ID, "--cassette", str(tmp_path / "none.json"),
                      "--record-mode", "none")
    assert result.exit_code == 10
    assert "--record-mode new_episodes" in result.stderr
    assert not any(spelling in result.stderr for spelling in PYTHON_SPELLINGS)


def test_cassette_miss_keeps_its_lines_and_names_the_options(flowview: Any) -> None:
    result = flowview("inspect", OTHER_RUN, "--cassette", str(SHIPPED_CASSETTE))
    assert result.exit_code == 10
    lines = result.stderr.rstrip("\n").splitlines()
    # inspect asks for the run, its flow, task runs and logs at once: whichever misses first is
    # reported (the others are cancelled), so the operation's name is not fixed.
    assert lines[0].startswith("Error: No recorded answer for GraphQL operation '")
    assert OTHER_RUN in lines[0]
    assert len(lines) > 3
    assert all(line.startswith("  ") for line in lines[1:] if line)
    # The diff against the closest recorded request is there, one change per line.
    assert any(line.strip().startswith("+") and OTHER_RUN in line for line in lines)
    assert "--record-mode new_episodes" in result.stderr
    assert not any(spelling in result.stderr for spelling in PYTHON_SPELLINGS)


def test_watch_timeout_advises_the_max_duration_option(served: ThreadedBackend,
                                                       flowview: Any) -> None:
    flow_run_id = served.new_flow_run(("Running", "still going"))
    result = flowview("watch", flow_run_id, "--api", served.url, "--max-duration", "0.2",
                      "--poll-interval", "0.01", "--max-poll-interval", "0.05")
    assert result.exit_code == 9
    assert "--max-duration" in result.stderr
    assert "max_duration=" not in result.stderr


def test_rewrites_apply_by_exception_type() -> None:
    advice = "Pass a larger max_duration= (or None to wait as long as it takes)."
    assert cli_message(errors.WatchTimeoutError(advice)) == "Pass a larger --max-duration SECONDS."
    # Another type keeps its message: the rewrite table is per type.
    assert cli_message(errors.ResultError("max_duration= x")) == "max_duration= x"
    mismatch = errors.CassetteMismatchError("open the client with record_mode='new_episodes'")
    assert cli_message(mismatch) == "rerun with --api URL --record-mode new_episodes"


def test_error_lines_indent_all_but_the_first_line() -> None:
    assert error_lines("one line") == "Error: one line"
    assert error_lines("first\nsecond\n\n  third\n") == "Error: first\n  second\n\n    third"
