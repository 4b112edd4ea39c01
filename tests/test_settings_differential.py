"""Settings, differentially: real Prefect 1.4.1 and flowview_async, given the same environment and
the same ``config.toml``/``backend.toml``/``auth.toml``, send their request to the same URL with the
same authentication headers.

Each combination gets its own loopback server recording the path, ``Host`` and the authentication
headers of every request; Prefect (in the peer venv) and our ``Client()`` each send one query to it.
"""

from __future__ import annotations

import asyncio
import json
import os
import textwrap
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import attrs
import pytest
from aiohttp import web

from flowview_async import Client
from flowview_async._settings import resolve_settings
from tests.prefect1_peer import run_in_peer

TENANT = "44444444-4444-4444-4444-444444444444"
OTHER_TENANT = "55555555-5555-5555-5555-555555555555"
QUERY = "query { flow_run(limit: 1) { id } }"
SEEN_HEADERS = ("Host", "Authorization", "X-PREFECT-TENANT-ID")


@attrs.frozen
class Case:
    """One combination. ``{url}`` stands for the server's base URL, ``{slug}`` for its
    ``auth.toml`` section name, ``{port}`` for its port, ``{home}`` for the home directory."""

    name: str
    env: dict[str, str] = attrs.field(factory=dict)
    config: str | None = None
    backend: str | None = None
    auth: str | None = None
    files: dict[str, str] = attrs.field(factory=dict)


AGENT = {"PREFECT__BACKEND": "server", "PREFECT__CLOUD__API": "{url}/agent"}
SAVED_LOGIN = f'["{{slug}}"]\napi_key = "pnu_SAVED"\ntenant_id = "{TENANT}"\n'

CASES = [
    Case("agent environment", AGENT),
    Case("agent environment beats server.endpoint",
         {**AGENT, "PREFECT__SERVER__ENDPOINT": "{url}/server-endpoint"}),
    Case("agent environment with a saved login", AGENT, auth=SAVED_LOGIN),
    Case("server endpoint", {"PREFECT__BACKEND": "server",
                             "PREFECT__SERVER__ENDPOINT": "{url}/server-endpoint"}),
    Case("server host and port", {"PREFECT__BACKEND": "server",
                                  "PREFECT__SERVER__HOST": "http://127.0.0.1",
                                  "PREFECT__SERVER__PORT": "{port}"}),
    Case("cloud endpoint", {"PREFECT__BACKEND": "cloud",
                            "PREFECT__CLOUD__ENDPOINT": "{url}/cloud-endpoint"}),
    Case("cloud.api beats cloud.endpoint", {"PREFECT__BACKEND": "cloud",
                                            "PREFECT__CLOUD__API": "{url}/cloud-api",
                                            "PREFECT__CLOUD__ENDPOINT": "{url}/cloud-endpoint"}),
    Case("config.toml server endpoint",
         config='backend = "server"\n[server]\nendpoint = "{url}/from-config"\n'),
    Case("config.toml host and integer port, backend.toml server",
         config='[server]\nhost = "http://127.0.0.1"\nport = {port}\n', backend='backend = "server"\n'),
    Case("backend.toml beats config.toml",
         config='backend = "cloud"\n[server]\nendpoint = "{url}/server"\n'
                '[cloud]\nendpoint = "{url}/cloud"\n',
         backend='backend = "server"\n'),
    Case("environment beats backend.toml",
         {"PREFECT__BACKEND": "cloud", "PREFECT__CLOUD__ENDPOINT": "{url}/cloud"},
         backend='backend = "server"\n'),
    Case("config.toml interpolation",
         config='backend = "server"\n[server]\nhost = "http://127.0.0.1"\nport = "{port}"\n'
                'endpoint = "${{server.host}}:${{server.port}}/graphql"\n'
                '[cloud]\napi = "${{${{backend}}.endpoint}}/v2"\n'),
    Case("key and tenant from the environment",
         {"PREFECT__BACKEND": "cloud", "PREFECT__CLOUD__API": "{url}",
          "PREFECT__CLOUD__API_KEY": "pnu_ENV", "PREFECT__CLOUD__TENANT_ID": TENANT}),
    Case("key without tenant", {"PREFECT__CLOUD__API": "{url}",
                                "PREFECT__CLOUD__API_KEY": "pnu_ENV"}),
    Case("tenant without key", {"PREFECT__CLOUD__API": "{url}",
                                "PREFECT__CLOUD__TENANT_ID": TENANT}),
    Case("saved login (prefect auth login)", {"PREFECT__CLOUD__API": "{url}"}, auth=SAVED_LOGIN),
    Case("saved login of another host is not used", {"PREFECT__CLOUD__API": "{url}"},
         auth=f'["api.prefect.io"]\napi_key = "pnu_OTHER"\ntenant_id = "{TENANT}"\n'),
    Case("environment key beats the saved one, tenant still saved",
         {"PREFECT__CLOUD__API": "{url}", "PREFECT__CLOUD__API_KEY": "pnu_ENV"}, auth=SAVED_LOGIN),
    Case("config.toml key and tenant beat the saved ones",
         {"PREFECT__CLOUD__API": "{url}"},
         config=f'[cloud]\napi_key = "pnu_CONFIG"\ntenant_id = "{OTHER_TENANT}"\n', auth=SAVED_LOGIN),
    Case("user config path with $HOME",
         {"PREFECT__USER_CONFIG_PATH": "$HOME/elsewhere/prefect.toml"},
         files={"elsewhere/prefect.toml": '[cloud]\napi = "{url}/relocated"\n'}),
    Case("home_dir moves auth.toml",
         {"PREFECT__HOME_DIR": "{home}/other-home", "PREFECT__CLOUD__API": "{url}"},
         files={"other-home/auth.toml": SAVED_LOGIN}),
    Case("backend config path", {"PREFECT__BACKEND_CONFIG_PATH": "~/b.toml",
                                 "PREFECT__SERVER__ENDPOINT": "{url}/via-backend-path"},
         files={"b.toml": 'backend = "server"\n'}),
    Case("environment variable inside a setting",
         {"PREFECT__BACKEND": "server", "PREFECT__SERVER__ENDPOINT": "${{MY_PREFECT}}/expanded",
          "MY_PREFECT": "{url}"}),
    Case("trailing slash dropped", {"PREFECT__CLOUD__API": "{url}/graphql/"}),
    Case("upper-case tenant", {"PREFECT__CLOUD__API": "{url}", "PREFECT__CLOUD__API_KEY": "k",
                               "PREFECT__CLOUD__TENANT_ID": TENANT.upper().replace("4", "A")}),
    Case("localhost host name", {"PREFECT__BACKEND": "server",
                                 "PREFECT__SERVER__ENDPOINT": "http://localhost:{port}/lh"}),
]

PEER_SCRIPT = textwrap.dedent(f"""
    import json
    from prefect import Client
    Client().graphql({QUERY!r})
    print(json.dumps("sent"))
""")


class Recorder:
    def __init__(self) -> None:
        self.seen: list[dict[str, Any]] = []

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.text()
        if "__schema" not in body:  # our client's one introspection request is not compared
            self.seen.append({"path": request.path,
                              **{h: request.headers.get(h) for h in SEEN_HEADERS}})
        return web.json_response({"data": {"flow_run": []}})


@pytest.fixture
async def recorder() -> AsyncIterator[tuple[Recorder, int]]:
    recording = Recorder()
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", recording.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    yield recording, port
    await runner.cleanup()


def _fill(text: str, port: int, home: Path) -> str:
    return text.format(url=f"http://127.0.0.1:{port}", slug=f"127.0.0.1-{port}", port=port,
                       home=home)


def _prepare(case: Case, port: int, home: Path) -> dict[str, str]:
    prefect_dir = home / ".prefect"
    prefect_dir.mkdir(parents=True)
    for name, text in (("config.toml", case.config), ("backend.toml", case.backend),
                       ("auth.toml", case.auth)):
        if text is not None:
            (prefect_dir / name).write_text(_fill(text, port, home))
    for relative, text in case.files.items():
        (home / relative).parent.mkdir(parents=True, exist_ok=True)
        (home / relative).write_text(_fill(text, port, home))
    env = {"HOME": str(home), "NO_PROXY": "127.0.0.1,localhost",
           # run_in_peer sets these two; the same values as Prefect's defaults, given to both.
           "PREFECT__HOME_DIR": "~/.prefect", "PREFECT__USER_CONFIG_PATH": "~/.prefect/config.toml"}
    env.update({key: _fill(value, port, home) for key, value in case.env.items()})
    return env


async def _ours(env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    with monkeypatch.context() as patch:
        for key in [k for k in os.environ if k.startswith("PREFECT__")]:
            patch.delenv(key)
        for key, value in env.items():
            patch.setenv(key, value)
        async with Client() as client:
            await client.execute(QUERY)


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
async def test_same_url_and_headers_as_prefect(
    case: Case, recorder: tuple[Recorder, int], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    recording, port = recorder
    env = _prepare(case, port, tmp_path)
    assert await asyncio.to_thread(run_in_peer, PEER_SCRIPT, env=env) == "sent"
    prefect_sent = list(recording.seen)
    recording.seen.clear()
    await _ours(env, monkeypatch)
    assert len(prefect_sent) == 1
    assert recording.seen == prefect_sent, json.dumps([prefect_sent, recording.seen], indent=1)


def test_at_least_twenty_combinations() -> None:
    assert len(CASES) >= 20
    assert any(case.env == AGENT for case in CASES)


DEFAULTS_SCRIPT = textwrap.dedent("""
    import json
    from prefect import Client
    client = Client()
    print(json.dumps([client.api_server, client.api_key, client._tenant_id]))
""")


@pytest.mark.parametrize("env", [
    {},
    {"PREFECT__BACKEND": "server"},
    {"PREFECT__SERVER__PORT": "4300", "PREFECT__BACKEND": "server"},
    {"PREFECT__CLOUD__API_KEY": "pnu_X"},
], ids=["nothing set: cloud", "server", "server port", "cloud key"])
def test_resolution_without_a_request_matches_prefect(env: dict[str, str], tmp_path: Path) -> None:
    """The defaults point at real services, so these compare resolution only (no request)."""
    env = {"HOME": str(tmp_path), "PREFECT__HOME_DIR": "~/.prefect",
           "PREFECT__USER_CONFIG_PATH": "~/.prefect/config.toml", **env}
    api_server, key, tenant = run_in_peer(DEFAULTS_SCRIPT, env=env)
    ours = resolve_settings(environ=env)
    assert (ours.api_url, ours.api_key, ours.tenant_id) == (api_server.rstrip("/"), key, tenant)
