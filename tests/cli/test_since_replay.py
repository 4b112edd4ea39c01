"""``flowview logs ID --since 10m --cassette c.json`` recorded now replays a minute later.

Nothing is frozen: the recording runs on the real clock, and the replay runs with the CLI's clock
(``logs_command.clock``) genuinely a minute ahead of it, as a rerun in CI a minute later would.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest

from flowview_async.cli import logs_command
from flowview_async.cli.exit_codes import exit_code_for
from flowview_async.errors import CassetteMismatchError
from tests.cli.conftest import DOC_FLOW_RUN_ID, ThreadedBackend

_PAGE = 1000  # the CLI's log page size: one line more makes it ask for a second page


def _recent_logs(served: ThreadedBackend, count: int) -> None:
    base = dt.datetime.now(dt.timezone.utc) - dt.timedelta(minutes=5)
    rows = []
    for number in range(count):
        stamp = (base + dt.timedelta(milliseconds=number)).isoformat()
        rows.append({"flow_run_id": DOC_FLOW_RUN_ID, "timestamp": stamp, "level": "INFO",
                     "name": "prefect.test", "message": f"recent {number}", "created": stamp,
                     "updated": stamp})
    served.call(served.backend.insert("log", rows))


def test_since_10m_replays_a_minute_later_without_freezing_time(
    served: ThreadedBackend, flowview: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    _recent_logs(served, _PAGE + 1)  # two pages: both filter shapes are recorded
    cassette = tmp_path / "since.json"
    recorded = flowview("logs", DOC_FLOW_RUN_ID, "--since", "10m", "--json", "--api", served.url,
                        "--cassette", str(cassette), "--record-mode", "once")
    assert recorded.exit_code == 0, recorded.stderr
    messages = [json.loads(line)["message"] for line in recorded.stdout.splitlines()]
    assert messages == [f"recent {n}" for n in range(_PAGE + 1)]  # the 1978 lines are older

    stored = json.loads(cassette.read_text())["interactions"]
    filters = [entry["request"]["body"]["variables"]["where"] for entry in stored
               if entry["request"]["body"].get("operationName") == "FlowRunLogs"]
    assert filters[0]["timestamp"] == {"_gt": "<now - 600s>"}
    assert filters[1]["_and"][0]["timestamp"] == {"_gt": "<now - 600s>"}
    # The keyset cursor of the second page is a real timestamp from the data, kept as sent.
    assert filters[1]["_and"][1]["_or"][0]["timestamp"]["_gt"].startswith("20")

    # A minute later (the real clock plus 60 s), with no backend at all.
    later = dt.datetime.now(dt.timezone.utc) + dt.timedelta(minutes=1)
    monkeypatch.setattr(logs_command, "clock", lambda: later)
    replayed = flowview("logs", DOC_FLOW_RUN_ID, "--since", "10m", "--json",
                        "--cassette", str(cassette))
    assert replayed.exit_code == 0, replayed.stderr
    assert replayed.stdout == recorded.stdout

    # The rule keeps the duration: a different window is a different request.
    other = flowview("logs", DOC_FLOW_RUN_ID, "--since", "20m", "--cassette", str(cassette))
    assert other.exit_code == exit_code_for(CassetteMismatchError("x"))
    assert "<now - 1200s>" in other.stderr


def test_an_absolute_since_is_matched_exactly(
    served: ThreadedBackend, flowview: Any, tmp_path: Path,
) -> None:
    cassette = tmp_path / "absolute.json"
    since = "1978-04-12T22:59:59Z"
    recorded = flowview("logs", DOC_FLOW_RUN_ID, "--since", since, "--api", served.url,
                        "--cassette", str(cassette), "--record-mode", "once")
    assert recorded.exit_code == 0, recorded.stderr
    stored = cassette.read_text()
    assert "<now" not in stored
    replayed = flowview("logs", DOC_FLOW_RUN_ID, "--since", since, "--cassette", str(cassette))
    assert replayed.stdout == recorded.stdout
