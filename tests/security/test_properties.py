"""Property tests, one per kind of outside input: whatever comes in, only a typed error from
``flowview_async.errors`` (or success) comes out.

- server answers: a loopback server answers with real answers mutated by hypothesis, random JSON
  (deep, huge numbers, odd timestamps, NaN), or raw bytes, under any status and content type;
- cassette files: the shipped cassette mutated, re-spelt as YAML with hostile tags, or raw bytes;
- arguments: every public entry point called with values of every type.

100 examples each in CI, 1,000 with ``FLOWVIEW_FULL_SIZE=1`` (the ``full`` hypothesis profile).
"""

from __future__ import annotations

import asyncio
import json
import re
import tempfile
import warnings
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from hypothesis import event, given
from hypothesis import strategies as st

from flowview_async import (
    Client,
    FlowRunView,
    FlowView,
    Recorder,
    RetryPolicy,
    TaskRunView,
    inspect_flow_run,
    replay,
)
from flowview_async.errors import FlowViewError
from tests.conftest import DOC_FLOW_ID, DOC_FLOW_RUN_ID, DOC_TASK_RUN_IDS
from tests.security.strategies import RAW_BODIES, dump, json_values, mutate, odd_arguments

pytestmark = pytest.mark.slow

SHIPPED = Path(__file__).resolve().parents[2] / "cassettes" / "inspecting-flow-runs.json"
OTHER_ID = "8e445d74-9ca6-425b-98e5-72754b7ea174"


def _real_answers() -> dict[str, Any]:
    """The first recorded answer of each operation in the shipped cassette."""
    answers: dict[str, Any] = {}
    for entry in json.loads(SHIPPED.read_text())["interactions"]:
        name = entry["request"]["body"].get("operationName")
        answers.setdefault(name, json.loads(entry["response"]["body"]["string"]))
    return answers


REAL_ANSWERS = _real_answers()

Operation = Callable[[Client], Awaitable[Any]]


async def _everything_of_a_run(client: Client) -> None:
    flow_run = await FlowRunView.from_flow_run_id(DOC_FLOW_RUN_ID, client=client)
    await flow_run.get_logs()
    await flow_run.get_all_task_runs()
    await flow_run.get_flow_metadata()
    await flow_run.get_task_run(task_slug="say_hello-1")
    await flow_run.get_latest()


async def _result_of_a_task_run(client: Client) -> None:
    task_run = await TaskRunView.from_task_run_id(DOC_TASK_RUN_IDS[0], client=client)
    await task_run.get_result()
    await task_run.get_mapped_children()


SERVER_OPERATIONS: dict[str, Operation] = {
    "execute": lambda c: c.execute("query Runs { flow_run { id name state } }"),
    "flow_run": lambda c: FlowRunView.from_flow_run_id(DOC_FLOW_RUN_ID, client=c),
    "flow_run_static": lambda c: FlowRunView.from_flow_run_id(DOC_FLOW_RUN_ID, client=c,
                                                              load_static_tasks=True),
    "flow_runs": lambda c: FlowRunView.from_flow_run_ids([DOC_FLOW_RUN_ID, OTHER_ID], client=c),
    "flow_run_name": lambda c: FlowRunView.from_flow_run_name("woodoo-leopard", client=c),
    "inspect": lambda c: inspect_flow_run(DOC_FLOW_RUN_ID, client=c),
    "task_run": lambda c: TaskRunView.from_task_run_id(DOC_TASK_RUN_IDS[0], client=c),
    "task_slug": lambda c: TaskRunView.from_task_slug("say_hello-1", DOC_FLOW_RUN_ID, client=c),
    "flow": lambda c: FlowView.from_flow_id(DOC_FLOW_ID, client=c),
    "flow_any_id": lambda c: FlowView.from_id(DOC_FLOW_ID, client=c),
    "flow_name": lambda c: FlowView.from_flow_name("hello", client=c),
    "everything": _everything_of_a_run,
    "result": _result_of_a_task_run,
}


async def _answer_hostilely(data: st.DataObject, request: web.Request) -> web.Response:
    try:
        operation = (await request.json()).get("operationName")
    except (ValueError, AttributeError):
        operation = None
    kind = data.draw(st.sampled_from(["mutated", "mutated", "mutated", "random", "raw"]))
    if kind == "mutated":
        body = dump(mutate(data.draw, REAL_ANSWERS.get(operation, {"data": None}))).encode()
    elif kind == "random":
        body = dump(data.draw(json_values)).encode()
    else:
        body = data.draw(st.sampled_from(RAW_BODIES) | st.binary(max_size=40))
    status = data.draw(st.sampled_from([200] * 6 + [400, 401, 403, 404, 429, 500, 503]))
    content_type = data.draw(st.sampled_from(["application/json", "text/plain", "text/html"]))
    return web.Response(body=body, status=status, content_type=content_type)


async def _against_a_hostile_server(data: st.DataObject, operation: Operation) -> None:
    async def handler(request: web.Request) -> web.Response:
        return await _answer_hostilely(data, request)

    app = web.Application()
    app.router.add_post("/graphql", handler)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    url = f"http://127.0.0.1:{runner.addresses[0][1]}/graphql"
    try:
        # One request at a time: the answers are drawn as requests arrive, so the order (and the
        # number, once structured concurrency cancels the rest) must not depend on timing.
        async with Client(url, retry=RetryPolicy.none(), timeout=30, introspect=False,
                          max_concurrency=1) as client:
            await operation(client)
        event("success")
    except FlowViewError as exc:
        event(type(exc).__name__)
    finally:
        await runner.cleanup()


@given(data=st.data(), name=st.sampled_from(sorted(SERVER_OPERATIONS)))
def test_server_answers_only_raise_typed_errors(data: st.DataObject, name: str) -> None:
    asyncio.run(_against_a_hostile_server(data, SERVER_OPERATIONS[name]))


# --- cassette files ------------------------------------------------------------------------------

YAML_SNIPPETS = [
    "!!set {a: null}", "!!binary aGVsbG8=", "2024-01-01", "2001-12-14t21:59:43.10-05:00",
    "!!python/object/apply:os.system ['false']", "!!python/tuple [1, 2]", "!!python/str hi",
    "!!float nan", "!!int 99999999999999999999999", "!!omap [{a: 1}, {b: 2}]",
    "*undefined", "&r [*r]", "[" * 300 + "]" * 300, "{? [1, 2] : x}", "!!timestamp 2001-12-14",
    "!<tag:yaml.org,2002:python/name:os.system> ''", "!!null ''", "!!bool yes",
]
_MARKER = re.compile(r"""['"]?<<YAML:(\d+)>>['"]?""")


def _cassette_bytes(data: st.DataObject) -> tuple[str, bytes]:
    document = json.loads(SHIPPED.read_text())
    kind = data.draw(st.sampled_from(["json", "json", "yaml", "raw"]))
    if kind == "raw":
        suffix = data.draw(st.sampled_from([".json", ".yaml"]))
        return suffix, data.draw(st.sampled_from(RAW_BODIES) | st.binary(max_size=60))
    mutated = mutate(data.draw, document)
    if kind == "json":
        return ".json", dump(mutated).encode()
    import yaml

    # Some values become markers that are swapped for hostile YAML after dumping.
    snippets = data.draw(st.lists(st.sampled_from(YAML_SNIPPETS), max_size=3))
    for index, _ in enumerate(snippets):
        mutated = mutate(lambda strategy, i=index: (
            f"<<YAML:{i}>>" if strategy is json_values else data.draw(strategy)), mutated)
    try:
        text = yaml.safe_dump(mutated, allow_unicode=True)
    except yaml.YAMLError:
        text = dump(mutated)  # JSON is YAML too
    text = _MARKER.sub(lambda m: snippets[int(m.group(1))], text)
    return ".yaml", text.encode("utf-8", errors="surrogatepass")


async def _replay_cassette(path: Path) -> None:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # a mutated schema hash warns of drift: not an error
            async with replay(path, repeat="cycle") as client:
                await inspect_flow_run(DOC_FLOW_RUN_ID, client=client)
                flow_run = await FlowRunView.from_flow_run_id(DOC_FLOW_RUN_ID, client=client)
                await flow_run.get_logs()
        event("success")
    except FlowViewError as exc:
        event(type(exc).__name__)


@given(data=st.data())
def test_cassette_files_only_raise_typed_errors(data: st.DataObject) -> None:
    suffix, content = _cassette_bytes(data)
    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / f"cassette{suffix}"
        path.write_bytes(content)
        asyncio.run(_replay_cassette(path))


# --- arguments of public entry points ------------------------------------------------------------

Target = Callable[[Client, Any], Awaitable[Any]]


async def _run_view(client: Client) -> FlowRunView:
    return await FlowRunView.from_flow_run_id(DOC_FLOW_RUN_ID, client=client)


async def _open(client: Client) -> None:
    async with client:
        pass


async def _maybe(value: Any) -> Any:
    return await value if asyncio.iscoroutine(value) else value


ARGUMENT_TARGETS: dict[str, Target] = {
    "FlowRunView.from_flow_run_id": lambda c, v: FlowRunView.from_flow_run_id(v, client=c),
    "FlowRunView.from_flow_run_ids": lambda c, v: FlowRunView.from_flow_run_ids(v, client=c),
    "FlowRunView.from_flow_run_name": lambda c, v: FlowRunView.from_flow_run_name(v, client=c),
    "FlowRunView.get_task_run(task_slug)": lambda c, v: _with_run(c, lambda r: r.get_task_run(task_slug=v)),
    "FlowRunView.get_task_run(task_run_id)": lambda c, v: _with_run(
        c, lambda r: r.get_task_run(task_run_id=v)),
    "FlowRunView.get_task_run(map_index)": lambda c, v: _with_run(
        c, lambda r: r.get_task_run(task_slug="say_hello-1", map_index=v)),
    "FlowRunView.get_logs(start_time)": lambda c, v: _with_run(c, lambda r: r.get_logs(v)),
    "FlowRunView.get_logs(end_time)": lambda c, v: _with_run(c, lambda r: r.get_logs(None, v)),
    "FlowRunView.get_logs(page_size)": lambda c, v: _with_run(c, lambda r: r.get_logs(page_size=v)),
    "FlowRunView.get_task_run_ids": lambda c, v: _with_run(c, lambda r: r.get_task_run_ids(page_size=v)),
    "FlowRunView.get_flow_metadata": lambda c, v: _with_run(c, lambda r: r.get_flow_metadata(v)),
    "TaskRunView.from_task_run_id": lambda c, v: TaskRunView.from_task_run_id(v, client=c),
    "TaskRunView.from_task_slug(slug)": lambda c, v: TaskRunView.from_task_slug(
        v, DOC_FLOW_RUN_ID, client=c),
    "TaskRunView.from_task_slug(flow_run_id)": lambda c, v: TaskRunView.from_task_slug(
        "say_hello-1", v, client=c),
    "TaskRunView.from_task_slug(map_index)": lambda c, v: TaskRunView.from_task_slug(
        "say_hello-1", DOC_FLOW_RUN_ID, v, client=c),
    "FlowView.from_flow_id": lambda c, v: FlowView.from_flow_id(v, client=c),
    "FlowView.from_id": lambda c, v: FlowView.from_id(v, client=c),
    "FlowView.from_flow_group_id": lambda c, v: FlowView.from_flow_group_id(v, client=c),
    "FlowView.from_flow_name": lambda c, v: FlowView.from_flow_name(v, client=c),
    "inspect_flow_run": lambda c, v: inspect_flow_run(v, client=c),
    "inspect_flow_run(page_size)": lambda c, v: inspect_flow_run(DOC_FLOW_RUN_ID, client=c,
                                                                 page_size=v),
    "Client.execute(query)": lambda c, v: c.execute(v),
    "Client.execute(variables)": lambda c, v: c.execute(
        "query Runs($id: uuid) { flow_run(where: {id: {_eq: $id}}) { id } }", v),
    "Client.execute(variable)": lambda c, v: c.execute(
        "query Runs($id: uuid) { flow_run(where: {id: {_eq: $id}}) { id } }", {"id": v}),
    "Client.execute(operation_name)": lambda c, v: c.execute("query A { flow_run { id } }",
                                                             operation_name=v),
    "Client(api_key)": lambda c, v: _maybe(Client("http://127.0.0.1:9", api_key=v)),
    "Client(tenant_id)": lambda c, v: _maybe(Client("http://127.0.0.1:9", tenant_id=v)),
    "Client(timeout)": lambda c, v: _maybe(Client("http://127.0.0.1:9", timeout=v)),
    "Client(max_concurrency)": lambda c, v: _maybe(Client("http://127.0.0.1:9", max_concurrency=v)),
    "Client(retry)": lambda c, v: _maybe(Client("http://127.0.0.1:9", retry=v)),
    "Client(record_mode)": lambda c, v: _maybe(Client("http://127.0.0.1:9", cassette="x.json",
                                                      record_mode=v)),
    "RetryPolicy(attempts)": lambda c, v: _maybe(RetryPolicy(attempts=v)),
    "RetryPolicy(backoff)": lambda c, v: _maybe(RetryPolicy(backoff=v)),
    "RetryPolicy(max_backoff)": lambda c, v: _maybe(RetryPolicy(max_backoff=v)),
    "RetryPolicy(deadline)": lambda c, v: _maybe(RetryPolicy(deadline=v)),
    "replay(path)": lambda c, v: _open(replay(v)),
    "replay(secrets)": lambda c, v: _open(replay(SHIPPED, secrets=v)),
    "replay(repeat)": lambda c, v: _open(replay(SHIPPED, repeat=v)),
    "Recorder(record_mode)": lambda c, v: _maybe(Recorder(SHIPPED, record_mode=v)),
}


async def _with_run(client: Client, call: Callable[[FlowRunView], Awaitable[Any]]) -> Any:
    return await call(await _run_view(client))


async def _call_with(name: str, value: Any) -> None:
    try:
        async with replay(SHIPPED, repeat="cycle") as client:
            await ARGUMENT_TARGETS[name](client, value)
        event("success")
    except FlowViewError as exc:
        event(type(exc).__name__)


@given(name=st.sampled_from(sorted(ARGUMENT_TARGETS)), value=odd_arguments)
def test_public_arguments_only_raise_typed_errors(name: str, value: Any) -> None:
    asyncio.run(_call_with(name, value))


@pytest.mark.parametrize("value", [
    datetime(1, 1, 1, tzinfo=timezone.utc), datetime(9999, 12, 31, 23, 59, 59),
    datetime.max, datetime.min,
    datetime(9999, 12, 31, 23, 59, 59, tzinfo=timezone(-timedelta(hours=23, minutes=59))),
    datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=23))),
])
async def test_extreme_datetimes_as_log_bounds_are_typed(value: datetime) -> None:
    async with replay(SHIPPED, repeat="cycle") as client:
        flow_run = await FlowRunView.from_flow_run_id(DOC_FLOW_RUN_ID, client=client)
        try:
            await flow_run.get_logs(value)
            await flow_run.get_logs(None, value)
        except FlowViewError:
            pass
