"""pytest plugin of flowview_async (registered through the ``pytest11`` entry point).

What it adds (names never collide with pytest-recording's ``vcr*``/``--record-mode``)::

    @pytest.fixture(scope="module")              # like pytest-recording's vcr_config
    def flowview_config():
        return {"repeat": "repeat_last", "variable_rules": [ignore_variable("idempotencyKey")]}

    @pytest.mark.flowview_cassette("name.json", match_on=["operation", "variables"])
    async def test_x(flowview_client, flowview_recorder): ...

    @pytest.mark.flowview_backend(data=build_runs, scope="module")   # the test harness
    async def test_y(flowview_backend):
        view = await FlowRunView.from_flow_run_id(run_id)          # no client=: the test backend

Record and replay:

- ``--flowview-record-mode={none,once,new_episodes,all,rewrite}``; ``$FLOWVIEW_RECORD_MODE`` when
  the option is not given. Precedence, highest first: the option, the environment variable, the
  marker's ``record_mode``, ``flowview_config``'s, then ``none`` (replay only: CI never touches a
  network). ``rewrite`` records each test's cassette from scratch (pytest-recording's mode).
- ``--flowview-live`` (or ``$FLOWVIEW_LIVE=1``): run against a backend, recording nothing and
  replaying nothing; cassettes are neither read nor written.
- recorder options come from the ``flowview_config`` fixture (every ``Recorder`` keyword: ``repeat``,
  ``allow_playback_repeats``, ``match_on``, ``variable_rules``, ``before_record_request``,
  ``before_record_response``, ``secrets``, ``request_headers``, ``response_headers``,
  ``match_path``, ``uri_origin``, ``canonical_order``, ``record_mode``; plus ``cassette_dir``),
  overridden per test by the marker's keywords.
- where a test records from (only when it records; a replay starts nothing), first found wins:

  1. ``--flowview-api URL``;
  2. the ``FLOWVIEW_API`` environment variable;
  3. the Prefect settings, when ``PREFECT__SERVER__ENDPOINT`` or ``PREFECT__CLOUD__API`` is set
     (resolved as ``Client()`` resolves them: ``PREFECT__BACKEND`` picks server or cloud, and
     the API key comes from ``PREFECT__CLOUD__API_KEY`` or the config file);
  4. the test backend (``flowview_backend``, with the marker's data), started for the test.

  Overriding the ``flowview_api_url`` fixture replaces all four.
- cassettes live where pytest-recording puts them: ``<test dir>/cassettes/<module>/<test>.json``
  (``Class.test`` for methods; the marker can name another file, ``.yaml`` included). Under
  pytest-xdist each test still has its own file; a worker claims a cassette it writes, so two
  workers can never overwrite each other's recording (see :mod:`flowview_async.testing.xdist`).
- fixtures: ``flowview_recorder`` (the :class:`~flowview_async.recording.Recorder` of the test:
  assert ``all_played``, ``calls("FlowRun")``...), ``flowview_client`` (a ``Client`` recording
  or replaying through it), ``flowview_backend`` (the test backend), ``flowview_api_url``,
  ``flowview_config``, ``flowview_record_mode``, ``flowview_live``, ``flowview_cassette_path``,
  and ``flowview_run_flow`` (run your own Prefect 1 flow against the test backend).

The test harness (:mod:`flowview_async.testing`): ``@pytest.mark.flowview_backend(data=...,
scope=...)`` chooses the backend's data (a shipped fixture name or a JSON file, ``None`` for an
empty backend, a :class:`~flowview_async.testing.BackendData` or a function filling one) and how
long it lives (``function``, ``module`` or ``session``). Inside a test using ``flowview_backend``
or ``flowview_client``, ``Client()`` without arguments, and every view called without
``client=``, goes to that backend (or through the test's cassette).

A flowview cassette is scoped to the client's own session, so it coexists with pytest-recording
in one run (its ``--block-network`` included: replay opens no socket). Do not put both a
``vcr`` and a ``flowview_cassette`` marker on one test: vcrpy would patch aiohttp under ours.

Importing this module stays cheap: the SDK, aiohttp and gql are imported inside fixtures, so a
session with no flowview test never imports them.
"""

from __future__ import annotations

import importlib
import os
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

try:  # async fixtures need pytest-asyncio's decorator in its strict mode
    from pytest_asyncio import fixture as _async_fixture
except ImportError:  # pragma: no cover - without pytest-asyncio, async fixtures cannot run anyway
    _async_fixture = pytest.fixture  # type: ignore[assignment]

if TYPE_CHECKING:
    from flowview_async.client import Client
    from flowview_async.flow_run import FlowRunView
    from flowview_async.recording import Recorder
    from flowview_async.testing.backends import ThreadedBackend

MARKER = "flowview_cassette"
BACKEND_MARKER = "flowview_backend"
RECORD_MODES = ("none", "once", "new_episodes", "all", "rewrite")
# Modes in which a recorder may write its cassette (once only when the file is missing or empty).
_WRITING_MODES = ("new_episodes", "all", "rewrite")
BACKEND_SCOPES = ("function", "module", "session")
ENV_RECORD_MODE = "FLOWVIEW_RECORD_MODE"
ENV_LIVE = "FLOWVIEW_LIVE"
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
        help=f"Record mode of flowview cassettes (default: ${ENV_RECORD_MODE}, else the marker's "
             "or flowview_config's, else 'none').",
    )
    group.addoption(
        "--flowview-live",
        action="store_true",
        default=None,
        help=f"Run flowview tests against a backend without recording or replaying (or ${ENV_LIVE}=1).",
    )
    group.addoption(
        "--flowview-api",
        action="store",
        default=None,
        metavar="URL",
        help=(
            f"GraphQL endpoint flowview tests record from (default: ${ENV_API}, else the Prefect "
            "settings if PREFECT__SERVER__ENDPOINT or PREFECT__CLOUD__API is set, else the "
            "test backend)."
        ),
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{MARKER}(name=None, **options): record/replay this test's flowview client through a "
        "cassette; options are Recorder keywords and override flowview_config",
    )
    config.addinivalue_line(
        "markers",
        f"{BACKEND_MARKER}(data='inspecting-flow-runs', scope='function'): the test backend's data "
        "(fixture name or file, None for empty, BackendData or a function filling one) and scope "
        "(function, module or session)",
    )


def _marker_kwargs(request: pytest.FixtureRequest) -> tuple[str | None, dict[str, Any]]:
    marker = request.node.get_closest_marker(MARKER)
    if marker is None:
        return None, {}
    name = marker.args[0] if marker.args else marker.kwargs.get("name")
    kwargs = {key: value for key, value in marker.kwargs.items() if key != "name"}
    return name, kwargs


def _env_flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in ("1", "true", "yes", "on")


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
def flowview_live(pytestconfig: pytest.Config, flowview_cli_record_mode: str | None) -> bool:
    """Whether flowview tests run live (``--flowview-live`` or ``$FLOWVIEW_LIVE``): no cassette."""
    live = bool(pytestconfig.getoption("--flowview-live")) or _env_flag(ENV_LIVE)
    if live and flowview_cli_record_mode:
        raise pytest.UsageError(
            "--flowview-live runs without cassettes; it cannot go with a record mode "
            f"({flowview_cli_record_mode!r} from --flowview-record-mode or ${ENV_RECORD_MODE}).")
    return live


@pytest.fixture(scope="session")
def flowview_configured_api_url(pytestconfig: pytest.Config) -> str | None:
    """The endpoint to record from if the user named one (option, env, Prefect settings), else
    ``None`` (record from the test backend). See the module docstring for the order."""
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
def flowview_config() -> dict[str, Any]:
    """Default recorder options of every flowview test: override this fixture (any scope) in a
    conftest or test module, as pytest-recording's ``vcr_config``. The marker's keywords win."""
    return {}


@pytest.fixture
def _flowview_options(request: pytest.FixtureRequest, flowview_config: Any) -> dict[str, Any]:
    from flowview_async.testing.config import merge_config

    _, kwargs = _marker_kwargs(request)
    return merge_config(flowview_config, kwargs)


@pytest.fixture
def flowview_record_mode(flowview_cli_record_mode: str | None, flowview_live: bool,
                         _flowview_options: dict[str, Any]) -> str:
    """This test's record mode: option, environment, marker, ``flowview_config``, else ``none``
    (``live`` under ``--flowview-live``)."""
    if flowview_live:
        return "live"
    if flowview_cli_record_mode:
        return flowview_cli_record_mode
    mode = str(_flowview_options.get("record_mode") or "none")
    if mode not in RECORD_MODES:
        raise pytest.UsageError(f"record_mode {mode!r} is not one of {', '.join(RECORD_MODES)}.")
    return mode


@pytest.fixture(scope="module")
def flowview_cassette_dir(request: pytest.FixtureRequest) -> Path:
    """``<test dir>/cassettes/<module name>``, as pytest-recording does."""
    module = request.node.path
    return Path(module).parent / "cassettes" / Path(module).stem


@pytest.fixture
def flowview_cassette_path(request: pytest.FixtureRequest, flowview_cassette_dir: Path,
                           _flowview_options: dict[str, Any]) -> Path:
    """The cassette file of this test (the marker's name, else ``Class.test_name.json``), in
    ``flowview_config``'s ``cassette_dir`` if it sets one (relative to the test file)."""
    name, _ = _marker_kwargs(request)
    if name is None:
        cls = request.node.cls
        base = f"{cls.__name__}.{request.node.name}" if cls is not None else request.node.name
        name = _UNSAFE_NAME.sub("-", base) + ".json"
    directory = _flowview_options.get("cassette_dir")
    if directory is None:
        return flowview_cassette_dir / str(name)
    # A relative cassette_dir is relative to the test file, wherever pytest was started from.
    return Path(request.node.path).parent / Path(directory) / str(name)


def _writes(mode: str, cassette: Path) -> bool:
    if mode in _WRITING_MODES:
        return True
    return mode == "once" and not (cassette.is_file() and cassette.stat().st_size > 0)


def _claim_for_worker(request: pytest.FixtureRequest, cassette: Path) -> None:
    """Under pytest-xdist, claim a cassette this worker is about to write (see testing.xdist)."""
    workerinput = getattr(request.config, "workerinput", None)
    if workerinput is None:
        return
    from flowview_async.testing.xdist import claim_cassette

    base = request.getfixturevalue("tmp_path_factory").getbasetemp()
    # Each worker's basetemp is <run dir>/popen-gwN: their parent is shared by the run.
    claim_cassette(cassette, str(workerinput["workerid"]), base.parent / "flowview-cassette-claims")


@_async_fixture
async def flowview_recorder(
    request: pytest.FixtureRequest, flowview_record_mode: str, flowview_cassette_path: Path,
    _flowview_options: dict[str, Any],
) -> AsyncIterator[Recorder]:
    """The recorder of this test; closed (and saved) at teardown if the test left it open."""
    from flowview_async.recording import Recorder

    options = {key: value for key, value in _flowview_options.items()
               if key not in ("record_mode", "cassette_dir")}
    if flowview_record_mode == "live":
        # Everything goes to the backend; the file is neither read nor written.
        recorder = Recorder(flowview_cassette_path, record_mode="rewrite", save=False, **options)
    else:
        if _writes(flowview_record_mode, flowview_cassette_path):
            _claim_for_worker(request, flowview_cassette_path)
        recorder = Recorder(
            flowview_cassette_path,
            record_mode=flowview_record_mode,
            rerecord_command=f"pytest --flowview-record-mode=new_episodes '{request.node.nodeid}'",
            **options,
        )
    try:
        yield recorder
    finally:
        await recorder.close()


@pytest.fixture(scope="module")
def _flowview_module_backends() -> Iterator[dict[Any, ThreadedBackend]]:
    backends: dict[Any, ThreadedBackend] = {}
    yield backends
    for backend in backends.values():
        backend.stop()


@pytest.fixture(scope="session")
def _flowview_session_backends() -> Iterator[dict[Any, ThreadedBackend]]:
    backends: dict[Any, ThreadedBackend] = {}
    yield backends
    for backend in backends.values():
        backend.stop()


def _data_key(data: Any) -> Any:
    """Tests asking for the same data (by value or by object) share a module/session backend."""
    return data if isinstance(data, (str, Path, type(None))) else ("object", id(data))


@_async_fixture
async def flowview_backend(request: pytest.FixtureRequest) -> AsyncIterator[Any]:
    """The test backend (Prefect Server-compatible, on 127.0.0.1), with the data and scope the
    ``flowview_backend`` marker asks for: by default the documentation's runs, per test.

    Inside the test, ``Client()`` without arguments (and views without ``client=``) use it.
    """
    # By name: the backend is a separate part of the project, loaded only by tests that use it.
    backends: Any = importlib.import_module("flowview_async.testing.backends")
    defaults: Any = importlib.import_module("flowview_async._test_defaults")
    marker = request.node.get_closest_marker(BACKEND_MARKER)
    data = marker.kwargs.get("data", backends.DEFAULT_DATA) if marker else backends.DEFAULT_DATA
    if marker is not None and marker.args:
        data = marker.args[0]
    scope = marker.kwargs.get("scope", "function") if marker else "function"
    if scope not in BACKEND_SCOPES:
        raise pytest.UsageError(f"{BACKEND_MARKER}(scope={scope!r}): use one of {', '.join(BACKEND_SCOPES)}.")
    source = backends.fixture_source(data, Path(request.node.path).parent)
    if scope == "function":
        runner: Any = importlib.import_module("flowview_async.server.runner")
        async with runner.LocalBackend(source) as backend:
            previous = defaults.set_test_defaults(defaults.ClientDefaults(api_url=backend.url))
            try:
                yield backend
            finally:
                defaults.set_test_defaults(previous)
        return
    shared = request.getfixturevalue(f"_flowview_{scope}_backends")
    key = (_data_key(data), str(request.node.path) if scope == "module" else None)
    if key not in shared:
        threaded = backends.ThreadedBackend(source)
        threaded.start()
        shared[key] = threaded
    previous = defaults.set_test_defaults(defaults.ClientDefaults(api_url=shared[key].url))
    try:
        yield shared[key]
    finally:
        defaults.set_test_defaults(previous)


@_async_fixture
async def flowview_run_flow(
    request: pytest.FixtureRequest, flowview_backend: Any, tmp_path: Path
) -> AsyncIterator[Callable[..., Awaitable[FlowRunView]]]:
    """``await flowview_run_flow("flows.py:flow", parameters={...})``: register your Prefect 1
    flow with the test backend, run it once with Prefect 1's own runner, and get its
    :class:`~flowview_async.FlowRunView` (see :mod:`flowview_async.testing.prefect1`)."""
    prefect1: Any = importlib.import_module("flowview_async.testing.prefect1")
    from flowview_async.flow_run import FlowRunView

    async def run(flow: str | os.PathLike[str], *, parameters: Mapping[str, Any] | None = None,
                  project: str = prefect1.DEFAULT_PROJECT, timeout: float = 300.0) -> FlowRunView:
        flow_run_id = await prefect1.run_prefect1_flow(
            flowview_backend.url, flow, parameters=parameters, project=project, timeout=timeout,
            base_dir=Path(request.node.path).parent, home=tmp_path / "prefect1-home",
        )
        return await FlowRunView.from_flow_run_id(flow_run_id)  # no client=: the test backend

    yield run


@pytest.fixture
def flowview_api_url(
    request: pytest.FixtureRequest,
    flowview_record_mode: str,
    flowview_cassette_path: Path,
    flowview_configured_api_url: str | None,
) -> str | None:
    """Where ``flowview_client`` sends requests, or ``None`` when the test replays.

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
    """A ``Client`` that records (from :func:`flowview_api_url`) or replays the test's cassette.

    Inside the test, ``Client()`` without arguments (and views without ``client=``) go through
    the same recorder to the same place.
    """
    from yarl import URL

    from flowview_async._test_defaults import ClientDefaults, set_test_defaults
    from flowview_async.client import Client
    from flowview_async.recording.replay import REPLAY_ONLY_URL

    url = flowview_api_url
    if url is None:
        await flowview_recorder.open()  # the client's own open() is then a no-op for it
        # The recorded path (it is matched), on a host that never resolves.
        recorded = flowview_recorder.recorded_url
        url = str(URL(REPLAY_ONLY_URL).with_path(URL(recorded).path)) if recorded else REPLAY_ONLY_URL
    async with Client(url, recorder=flowview_recorder) as client:
        previous = set_test_defaults(ClientDefaults(api_url=url, recorder=flowview_recorder))
        try:
            yield client
        finally:
            set_test_defaults(previous)
