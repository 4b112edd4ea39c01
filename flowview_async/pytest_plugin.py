"""pytest plugin of flowview_async (registered through the ``pytest11`` entry point).

What it adds (names never collide with pytest-recording's ``vcr*``/``--record-mode``)::

    @pytest.mark.flowview_cassette("name.json", repeat="repeat_last", record_mode=None)
    async def test_x(flowview_client, flowview_recorder): ...

- ``--flowview-record-mode={none,once,new_episodes,all}``; the ``FLOWVIEW_RECORD_MODE``
  environment variable is used when the option is not given. Precedence, highest first: the
  option, the environment variable, the marker's ``record_mode``, then ``none`` (replay only,
  so CI never touches a network).
- where a test records from (only when it records; a replay starts nothing), first found wins:

  1. ``--flowview-api URL``;
  2. the ``FLOWVIEW_API`` environment variable;
  3. the Prefect settings, when ``PREFECT__SERVER__ENDPOINT`` or ``PREFECT__CLOUD__API`` is set
     (resolved as ``Client()`` resolves them: ``PREFECT__BACKEND`` picks server or cloud, and
     the API key comes from ``PREFECT__CLOUD__API_KEY`` or the config file);
  4. the project's bundled local backend (``flowview_backend``), started for the test.

  Overriding the ``flowview_api_url`` fixture replaces all four.
- cassettes live where pytest-recording puts them: ``<test dir>/cassettes/<module>/<test>.json``
  (``Class.test`` for methods; the marker can name another file, ``.yaml`` included).
- fixtures: ``flowview_recorder`` (the :class:`~flowview_async.recording.Recorder` of the test:
  assert ``all_played``, ``calls("FlowRun")``...), ``flowview_client`` (a ``Client`` recording
  or replaying through it), ``flowview_backend`` (the local backend, started only when a test
  records from it), ``flowview_api_url`` (where the test records from, see above),
  ``flowview_record_mode`` and ``flowview_cassette_path``.

A flowview cassette is scoped to the client's own session, so it coexists with pytest-recording
in one run (its ``--block-network`` included: replay opens no socket). Do not put both a
``vcr`` and a ``flowview_cassette`` marker on one test: vcrpy would patch aiohttp under ours.

Importing this module stays cheap: the SDK, aiohttp and gql are imported inside fixtures.
"""

from __future__ import annotations

import importlib
import os
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

try:  # async fixtures need pytest-asyncio's decorator in its strict mode
    from pytest_asyncio import fixture as _async_fixture
except ImportError:  # pragma: no cover - without pytest-asyncio, async fixtures cannot run anyway
    _async_fixture = pytest.fixture  # type: ignore[assignment]

if TYPE_CHECKING:
    from flowview_async.client import Client
    from flowview_async.recording import Recorder

MARKER = "flowview_cassette"
RECORD_MODES = ("none", "once", "new_episodes", "all")
ENV_RECORD_MODE = "FLOWVIEW_RECORD_MODE"
ENV_API = "FLOWVIEW_API"
# Setting either says "this is my backend": record from the Prefect settings, not the bundled one.
PREFECT_ENDPOINT_VARIABLES = ("PREFECT__SERVER__ENDPOINT", "PREFECT__CLOUD__API")

_UNSAFE_NAME = re.compile(r"[<>?%*:|\"'/\\]")  # pytest-recording's forbidden characters


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("flowview", "flowview_async record and replay")
    group.addoption(
        "--flowview-record-mode",
        action="store",
        choices=RECORD_MODES,
        default=None,
        help=f"Record mode of flowview cassettes (default: ${ENV_RECORD_MODE}, else 'none').",
    )
    group.addoption(
        "--flowview-api",
        action="store",
        default=None,
        metavar="URL",
        help=(
            f"GraphQL endpoint flowview tests record from (default: ${ENV_API}, else the Prefect "
            "settings if PREFECT__SERVER__ENDPOINT or PREFECT__CLOUD__API is set, else the "
            "bundled local backend)."
        ),
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{MARKER}(name=None, *, record_mode=None, repeat='error', match_path=True): "
        "record/replay this test's flowview client through a cassette",
    )


def _marker_kwargs(request: pytest.FixtureRequest) -> tuple[str | None, dict[str, Any]]:
    marker = request.node.get_closest_marker(MARKER)
    if marker is None:
        return None, {}
    name = marker.args[0] if marker.args else marker.kwargs.get("name")
    kwargs = {key: value for key, value in marker.kwargs.items() if key != "name"}
    return name, kwargs


@pytest.fixture(scope="session")
def flowview_cli_record_mode(pytestconfig: pytest.Config) -> str | None:
    """The record mode from ``--flowview-record-mode`` or ``$FLOWVIEW_RECORD_MODE``, if any."""
    option = pytestconfig.getoption("--flowview-record-mode")
    if option:
        return str(option)
    env = os.environ.get(ENV_RECORD_MODE, "").strip().lower()
    if env and env not in RECORD_MODES:
        msg = f"${ENV_RECORD_MODE}={env!r} is not a record mode; use one of {', '.join(RECORD_MODES)}."
        raise pytest.UsageError(msg)
    return env or None


@pytest.fixture(scope="session")
def flowview_configured_api_url(pytestconfig: pytest.Config) -> str | None:
    """The endpoint to record from if the user named one (option, env, Prefect settings), else
    ``None`` (record from the bundled local backend). See the module docstring for the order."""
    option = pytestconfig.getoption("--flowview-api")
    if option:
        return str(option)
    env = os.environ.get(ENV_API, "").strip()
    if env:
        return env
    if any(os.environ.get(name, "").strip() for name in PREFECT_ENDPOINT_VARIABLES):
        # By name, like the backend: the SDK is imported only by tests that need it.
        settings: Any = importlib.import_module("flowview_async._settings")
        return str(settings.resolve_settings().api_url)
    return None


@pytest.fixture
def flowview_record_mode(request: pytest.FixtureRequest, flowview_cli_record_mode: str | None) -> str:
    """This test's record mode: option, then environment, then marker, then ``none``."""
    if flowview_cli_record_mode:
        return flowview_cli_record_mode
    _, kwargs = _marker_kwargs(request)
    return str(kwargs.get("record_mode") or "none")


@pytest.fixture(scope="module")
def flowview_cassette_dir(request: pytest.FixtureRequest) -> Path:
    """``<test dir>/cassettes/<module name>``, as pytest-recording does."""
    module = request.node.path
    return Path(module).parent / "cassettes" / Path(module).stem


@pytest.fixture
def flowview_cassette_path(request: pytest.FixtureRequest, flowview_cassette_dir: Path) -> Path:
    """The cassette file of this test (the marker's name, else ``Class.test_name.json``)."""
    name, _ = _marker_kwargs(request)
    if name is None:
        cls = request.node.cls
        base = f"{cls.__name__}.{request.node.name}" if cls is not None else request.node.name
        name = _UNSAFE_NAME.sub("-", base) + ".json"
    return flowview_cassette_dir / name


@_async_fixture
async def flowview_recorder(
    request: pytest.FixtureRequest, flowview_record_mode: str, flowview_cassette_path: Path
) -> AsyncIterator[Recorder]:
    """The recorder of this test; closed (and saved) at teardown if the test left it open."""
    from flowview_async.recording import Recorder

    _, kwargs = _marker_kwargs(request)
    kwargs.pop("record_mode", None)
    recorder = Recorder(
        flowview_cassette_path,
        record_mode=flowview_record_mode,
        rerecord_command=f"pytest --flowview-record-mode=new_episodes '{request.node.nodeid}'",
        **kwargs,
    )
    try:
        yield recorder
    finally:
        await recorder.close()


@_async_fixture
async def flowview_backend() -> AsyncIterator[Any]:
    """The project's local Prefect Server-compatible backend (doc fixture) on 127.0.0.1."""
    # By name: the backend is a separate part of the project, loaded only by tests that record.
    runner: Any = importlib.import_module("flowview_async.server.runner")
    async with runner.LocalBackend("inspecting-flow-runs") as backend:
        yield backend


@pytest.fixture
def flowview_api_url(
    request: pytest.FixtureRequest,
    flowview_record_mode: str,
    flowview_cassette_path: Path,
    flowview_configured_api_url: str | None,
) -> str | None:
    """Where ``flowview_client`` records from, or ``None`` when the test replays.

    ``--flowview-api``, ``$FLOWVIEW_API``, the Prefect settings, else :func:`flowview_backend`
    (see the module docstring). Decided before the test runs (mode ``none``, or ``once`` with a
    non-empty cassette, replays), so no backend is started for a replay.
    """
    replay_only = flowview_record_mode == "none" or (
        flowview_record_mode == "once"
        and flowview_cassette_path.is_file()
        and flowview_cassette_path.stat().st_size > 0
    )
    if replay_only:
        return None
    if flowview_configured_api_url is not None:
        return flowview_configured_api_url
    return str(request.getfixturevalue("flowview_backend").url)


@_async_fixture
async def flowview_client(
    flowview_recorder: Recorder, flowview_api_url: str | None
) -> AsyncIterator[Client]:
    """A ``Client`` that records (from :func:`flowview_api_url`) or replays the test's cassette."""
    from yarl import URL

    from flowview_async.client import Client
    from flowview_async.recording.replay import REPLAY_ONLY_URL

    url = flowview_api_url
    if url is None:
        await flowview_recorder.open()  # the client's own open() is then a no-op for it
        # The recorded path (it is matched), on a host that never resolves.
        recorded = flowview_recorder.recorded_url
        url = str(URL(REPLAY_ONLY_URL).with_path(URL(recorded).path)) if recorded else REPLAY_ONLY_URL
    async with Client(url, recorder=flowview_recorder) as client:
        yield client
