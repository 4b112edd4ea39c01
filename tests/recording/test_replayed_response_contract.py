"""Contract: a replayed ClientResponse behaves like the live one it was recorded from.

The replayed response is built through aiohttp internals (see replayed_response.py); this test
pins the behaviour callers rely on, so an aiohttp upgrade that breaks it fails here first.
"""

from __future__ import annotations

import json

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from flowview_async.recording import Recorder

BODY = {"data": {"lines": ["one", "two", "three"]}}


def _app() -> web.Application:
    async def ok(_request: web.Request) -> web.Response:
        return web.json_response(BODY, headers={"X-Trace": "t-1"})

    async def broken(_request: web.Request) -> web.Response:
        return web.Response(status=503, reason="Busy", text="try later",
                            headers={"X-Trace": "t-2"})

    app = web.Application()
    app.router.add_post("/ok", ok)
    app.router.add_post("/broken", broken)
    return app


async def _observe(session: aiohttp.ClientSession, url: str, style: str) -> dict[str, object]:
    async with session.post(url, json={"query": "{ lines }"}) as response:
        seen: dict[str, object] = {
            "status": response.status,
            "reason": response.reason,
            "ok": response.ok,
            "content_type": response.content_type,
            "trace": response.headers.get("X-Trace"),
            "url_path": response.url.path,
            "method": response.method,
            "request_path": response.request_info.url.path,
        }
        if style == "stream":
            chunks = [chunk async for chunk in response.content.iter_chunked(7)]
            seen["body"] = _document(b"".join(chunks))
            seen["eof"] = response.content.at_eof()
        else:
            seen["body"] = _document(await response.read())
            seen["text"] = _document((await response.text()).encode())
            seen["json"] = await response.json(content_type=None) if path_is_json(url) else None
        try:
            response.raise_for_status()
            seen["raised"] = None
        except aiohttp.ClientResponseError as exc:
            seen["raised"] = (exc.status, exc.message)
    seen["closed_after_context"] = response.closed
    return seen


def path_is_json(url: str) -> bool:
    return url.endswith("/ok")


def _document(raw: bytes) -> object:
    # Bodies are stored pretty-printed: compare JSON documents, and other text as text.
    try:
        return json.loads(raw)
    except ValueError:
        return raw


@pytest.mark.parametrize("style", ["stream", "read"])
@pytest.mark.parametrize("path", ["/ok", "/broken"])
async def test_replayed_response_matches_the_live_one(tmp_path, path, style):
    cassette = tmp_path / "contract.json"
    server = TestServer(_app(), host="127.0.0.1")
    await server.start_server()
    try:
        async with aiohttp.ClientSession() as session:  # no recorder at all: the reference
            live = await _observe(session, str(server.make_url(path)), style)
        recorder = Recorder(cassette, response_headers=("x-trace",))
        async with recorder, aiohttp.ClientSession(middlewares=(recorder.middleware,)) as session:
            while_recording = await _observe(session, str(server.make_url(path)), style)
    finally:
        await server.close()
    recorder = Recorder(cassette, record_mode="none", response_headers=("x-trace",))
    async with recorder, aiohttp.ClientSession(middlewares=(recorder.middleware,)) as session:
        replayed = await _observe(session, f"http://127.0.0.1:9{path}", style)
    assert while_recording == live
    assert replayed == live
    assert live["body"] == (BODY if path == "/ok" else b"try later")
