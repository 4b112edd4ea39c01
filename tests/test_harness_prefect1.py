"""A real Prefect 1.4.1 flow, the user's own, registered and run against the test backend through
the ``flowview_run_flow`` fixture, then read with the SDK's views. Prefect 1 runs in its own
interpreter (the shared peer environment), as it would for a user whose flows pin Prefect 1."""

from __future__ import annotations

import pytest

from tests.prefect1_peer import ensure_peer

pytest_plugins = ["pytester"]

USER_FLOWS = '''
import prefect
from prefect import Flow, Parameter, task


@task
def extract(n):
    prefect.context.get("logger").info("extracting %s rows", n)
    return list(range(n))


@task
def load(rows):
    if not rows:
        raise ValueError("nothing to load")
    return sum(rows)


with Flow("etl") as flow:
    load(extract(Parameter("n", default=3)))
'''

USER_TESTS = '''
from flowview_async import FlowRunView


async def test_my_flow_succeeds(flowview_run_flow):
    run = await flowview_run_flow("flows/etl.py:flow", parameters={"n": 4})
    assert isinstance(run, FlowRunView)
    assert run.state.is_successful()
    slugs = sorted(task_run.task_slug for task_run in await run.get_all_task_runs())
    assert slugs == ["extract-1", "load-1", "n"]
    messages = [log.message for log in await run.get_logs()]
    assert "extracting 4 rows" in messages


async def test_my_flow_fails_on_empty_input(flowview_run_flow):
    run = await flowview_run_flow("flows/etl.py:flow", parameters={"n": 0})
    assert run.state.is_failed()
    load = await run.get_task_run(task_slug="load-1")
    assert load.state.is_failed()
    assert "nothing to load" in load.state.message
'''


def test_a_users_prefect1_flow_runs_against_the_test_backend(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("FLOWVIEW_PREFECT1_PYTHON", str(ensure_peer()))
    for name in ("FLOWVIEW_API", "PREFECT__SERVER__ENDPOINT", "PREFECT__CLOUD__API", "PREFECT__BACKEND"):
        monkeypatch.delenv(name, raising=False)
    pytester.makeini("[pytest]\nasyncio_mode = auto\nasyncio_default_fixture_loop_scope = function\n")
    (pytester.path / "flows").mkdir()
    (pytester.path / "flows" / "etl.py").write_text(USER_FLOWS)
    pytester.makepyfile(test_user_flow=USER_TESTS)
    pytester.runpytest_subprocess().assert_outcomes(passed=2)


def test_without_prefect1_the_fixture_says_what_to_install(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("FLOWVIEW_PREFECT1_PYTHON", raising=False)
    pytester.makeini("[pytest]\nasyncio_mode = auto\nasyncio_default_fixture_loop_scope = function\n")
    (pytester.path / "flows").mkdir()
    (pytester.path / "flows" / "etl.py").write_text(USER_FLOWS)
    pytester.makepyfile(test_user_flow=USER_TESTS)
    result = pytester.runpytest_subprocess("-k", "succeeds")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*ConfigurationError*FLOWVIEW_PREFECT1_PYTHON*prefect==1.4.1*"])
