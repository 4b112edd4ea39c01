"""Installing flowview_async costs an unrelated pytest session (nearly) nothing, and the CLI's
``--version``/``--help`` import no network stack. Timings are bench/bench_startup.py's job; this
checks what is imported, in fresh processes."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

pytest_plugins = ["pytester"]

HEAVY_ROOTS = ("aiohttp", "gql", "graphql")
HEAVY_MODULES = ("flowview_async.client", "flowview_async.server", "flowview_async.recording")

_REPORT_HEAVY = f'''
import json, sys

def heavy():
    return sorted(m for m in sys.modules if m.split(".")[0] in {HEAVY_ROOTS!r} or m in {HEAVY_MODULES!r})
'''


def test_a_session_without_flowview_tests_imports_no_network_stack(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        conftest=_REPORT_HEAVY + '''
def pytest_sessionfinish(session):
    with open("heavy.json", "w") as out:
        json.dump({"heavy": heavy(), "plugin": "flowview_async.pytest_plugin" in sys.modules}, out)
''',
        test_plain="def test_plain():\n    assert 1 + 1 == 2\n",
    )
    pytester.runpytest_subprocess("-p", "no:cacheprovider").assert_outcomes(passed=1)
    report = json.loads((pytester.path / "heavy.json").read_text())
    assert report["plugin"]  # the plugin was loaded through its entry point...
    assert report["heavy"] == []  # ...and imported nothing heavy


def test_the_network_stack_is_imported_once_a_test_uses_a_flowview_fixture(
    pytester: pytest.Pytester,
) -> None:
    pytester.makeini("[pytest]\nasyncio_mode = auto\nasyncio_default_fixture_loop_scope = function\n")
    pytester.makepyfile(
        conftest=_REPORT_HEAVY + '''
def pytest_sessionfinish(session):
    with open("heavy.json", "w") as out:
        json.dump(heavy(), out)
''',
        test_uses="async def test_uses(flowview_backend):\n    assert flowview_backend.url\n",
    )
    pytester.runpytest_subprocess("-p", "no:cacheprovider").assert_outcomes(passed=1)
    heavy = json.loads((pytester.path / "heavy.json").read_text())
    assert "aiohttp" in heavy
    assert "flowview_async.server" in heavy


@pytest.mark.parametrize("option", ["--version", "--help"])
def test_version_and_help_import_no_network_stack(option: str) -> None:
    probe = _REPORT_HEAVY + f'''
import atexit
atexit.register(lambda: print("HEAVY", json.dumps(heavy())))
from flowview_async.cli import main
sys.argv = ["flowview", {option!r}]
main()
'''
    completed = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                               timeout=120, check=False)
    assert completed.returncode == 0, completed.stderr
    heavy_line = [line for line in completed.stdout.splitlines() if line.startswith("HEAVY ")]
    assert json.loads(heavy_line[0][len("HEAVY "):]) == []
    assert ("flowview, version" in completed.stdout) == (option == "--version")


def test_the_package_exports_resolve_lazily() -> None:
    probe = _REPORT_HEAVY + '''
import flowview_async
before = heavy()
from flowview_async import Client, FlowRunView, errors
print(json.dumps([before, "flowview_async.client" in heavy(), Client.__name__]))
'''
    completed = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                               timeout=120, check=True)
    before, client_loaded, name = json.loads(completed.stdout)
    assert before == []
    assert client_loaded
    assert name == "Client"
