"""``flowview serve --fixture`` with hostile files: one ``Error:`` line, exit code 3, no traceback."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from flowview_async.errors import FixtureError
from flowview_async.server.runner import LocalBackend
from tests.server.test_cli_serve import FLOWVIEW
from tests.server.test_fixtures import minimal

RUN = "00000000-0000-4000-8000-0000000000aa"
FLOW = "00000000-0000-4000-8000-000000000003"


def _run(**columns: Any) -> dict[str, Any]:
    return minimal(flow_run=[{"id": RUN, "flow_id": FLOW, "name": "r", **columns}])


def _nested(depth: int) -> str:
    return "[" * depth + "]" * depth


HOSTILE_FILES: dict[str, tuple[Callable[[], bytes], str]] = {
    "not UTF-8": (lambda: b'\xff\xfe{"project": []}', "is not UTF-8 text"),
    "nested 5,000 deep": (lambda: ('{"project": ' + _nested(5000) + "}").encode(), "nests JSON too deeply"),
    "2**70 integer column": (
        lambda: json.dumps(minimal(flow=[{**minimal()["flow"][0], "version": 2**70}])).encode(),
        "flow[0].version: 1180591620717411303424 does not fit a 64-bit integer column",
    ),
    "overflowing timestamp": (
        lambda: json.dumps(_run(scheduled_start_time="9999-12-31T23:59:59-23:59")).encode(),
        "flow_run[0].scheduled_start_time: '9999-12-31T23:59:59-23:59' is out of range",
    ),
    "underflowing timestamp": (
        lambda: json.dumps(_run(start_time="0001-01-01T00:00:00+01:00")).encode(),
        "flow_run[0].start_time: '0001-01-01T00:00:00+01:00' is out of range",
    ),
    "jsonb nested beyond recursion": (
        lambda: ('{"flow_run": [{"context": ' + _nested(500) + "}]}").encode(),
        "nests values deeper than 200 levels",
    ),
}


@pytest.mark.parametrize("kind", sorted(HOSTILE_FILES))
def test_hostile_fixture_file_is_one_error_line_and_exit_3(tmp_path: Path, kind: str) -> None:
    make, message = HOSTILE_FILES[kind]
    fixture = tmp_path / "hostile.json"
    fixture.write_bytes(make())
    completed = subprocess.run(
        [FLOWVIEW, "serve", "--port", "0", "--fixture", str(fixture)],
        capture_output=True, text=True, timeout=60, check=False,
    )
    assert completed.returncode == 3, completed.stderr
    assert "Traceback" not in completed.stderr
    lines = completed.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("Error: ")
    assert message in lines[0]


async def test_hostile_fixture_mapping_is_a_fixture_error() -> None:
    deep: Any = []
    for _ in range(5000):
        deep = [deep]
    async with LocalBackend(None) as backend:
        for fixture in (
            _run(context=deep),
            _run(end_time="9999-12-31T23:59:59-23:59"),
            minimal(flow=[{**minimal()["flow"][0], "version": -(2**70)}]),
        ):
            with pytest.raises(FixtureError):
                await backend.load(fixture)
