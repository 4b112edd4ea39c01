"""Outside input the issue found escaping as untyped exceptions, now typed (SDK side)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from aiohttp import web

from flowview_async import Client, FlowRunView, RetryPolicy
from flowview_async.errors import ConfigurationError, InvalidArgumentError, MalformedResponseError
from tests.conftest import DOC_FLOW_RUN_ID
from tests.security.test_properties import REAL_ANSWERS


@asynccontextmanager
async def answering(text: str) -> AsyncIterator[str]:
    async def handler(request: web.Request) -> web.Response:
        return web.Response(text=text, content_type="application/json")

    app = web.Application()
    app.router.add_post("/graphql", handler)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}/graphql"
    finally:
        await runner.cleanup()


def _flow_run_answer_with_parameters(depth: int, *, as_string: bool = False) -> str:
    answer: Any = json.loads(json.dumps(REAL_ANSWERS["FlowRuns"]))
    answer["data"]["flow_run"][0]["parameters"] = "<<DEEP>>"
    deep = '{"a": ' * depth + "1" + "}" * depth
    if as_string:
        deep = json.dumps(deep)
    return json.dumps(answer).replace('"<<DEEP>>"', deep)


@pytest.mark.parametrize("as_string", [False, True])
async def test_a_jsonb_value_nested_900_deep_is_a_malformed_response(as_string: bool) -> None:
    async with answering(_flow_run_answer_with_parameters(900, as_string=as_string)) as url, \
            Client(url, retry=RetryPolicy.none(), introspect=False) as client:
        with pytest.raises(MalformedResponseError, match="parameters"):
            await FlowRunView.from_flow_run_id(DOC_FLOW_RUN_ID, client=client)


async def test_a_jsonb_value_nested_50_deep_still_reads() -> None:
    async with answering(_flow_run_answer_with_parameters(50)) as url, \
            Client(url, retry=RetryPolicy.none(), introspect=False) as client:
        view = await FlowRunView.from_flow_run_id(DOC_FLOW_RUN_ID, client=client)
    assert "a" in view.parameters


async def test_an_answer_nested_past_json_limits_is_a_malformed_response() -> None:
    async with answering('{"data": ' + "[" * 100_000 + "]" * 100_000 + "}") as url, \
            Client(url, retry=RetryPolicy.none(), introspect=False) as client:
        with pytest.raises(MalformedResponseError):
            await client.execute("query Runs { flow_run { id } }")


async def test_variables_nested_990_deep_are_an_invalid_argument() -> None:
    value: Any = "x"
    for _ in range(990):
        value = {"_and": [value]} if isinstance(value, dict) else {"name": {"_eq": value}}
    async with answering('{"data": {}}') as url, Client(url, introspect=False) as client:
        with pytest.raises(InvalidArgumentError, match="nest more than"):
            await client.execute("query W($w: flow_run_bool_exp) { flow_run(where: $w) { id } }",
                                 {"w": value})


async def test_a_url_password_and_an_api_key_together_are_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="only one Authorization") as caught:
        async with Client("http://user:pw-secret-123@127.0.0.1:9/graphql", api_key="pnu_key_123"):
            pass
    assert "pw-secret-123" not in str(caught.value)
