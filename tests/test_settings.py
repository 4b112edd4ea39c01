"""Where the client points, and which headers it sends, from arguments, env and config files."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from flowview_async._settings import resolve_settings
from flowview_async.errors import ConfigurationError


def resolve(tmp_path: Path, env: dict[str, str] | None = None, **kwargs: str) -> object:
    return resolve_settings(environ=env or {}, home=tmp_path, **kwargs)


def test_default_is_prefect_cloud_as_in_prefect(tmp_path: Path) -> None:
    settings = resolve_settings(environ={}, home=tmp_path)
    assert settings.api_url == "https://api.prefect.io"
    assert settings.backend == "cloud"
    assert settings.headers() == {}
    assert settings.request_timeout == 15.0


def test_server_backend_defaults_to_local_server(tmp_path: Path) -> None:
    settings = resolve_settings(environ={"PREFECT__BACKEND": "server"}, home=tmp_path)
    assert settings.api_url == "http://localhost:4200"


def test_agent_environment_uses_cloud_api(tmp_path: Path) -> None:
    env = {"PREFECT__BACKEND": "server", "PREFECT__CLOUD__API": "http://prefect.internal:4200",
           "PREFECT__SERVER__ENDPOINT": "http://elsewhere:4200"}
    assert resolve_settings(environ=env, home=tmp_path).api_url == "http://prefect.internal:4200"


def test_saved_login_is_keyed_by_api_host(tmp_path: Path) -> None:
    (tmp_path / ".prefect").mkdir()
    (tmp_path / ".prefect" / "auth.toml").write_text(
        '["prefect.internal-4200"]\napi_key = "pnu_SAVED"\n'
        'tenant_id = "44444444-4444-4444-4444-444444444444"\n'
    )
    env = {"PREFECT__CLOUD__API": "http://prefect.internal:4200"}
    assert resolve_settings(environ=env, home=tmp_path).headers() == {
        "Authorization": "Bearer pnu_SAVED",
        "X-PREFECT-TENANT-ID": "44444444-4444-4444-4444-444444444444",
    }
    env = {"PREFECT__CLOUD__API": "http://prefect.internal:4300"}
    assert resolve_settings(environ=env, home=tmp_path).headers() == {}


def test_explicit_url_wins_over_environment(tmp_path: Path) -> None:
    settings = resolve_settings(api_url="http://127.0.0.1:9999", home=tmp_path,
                                environ={"PREFECT__SERVER__ENDPOINT": "http://elsewhere:4200"})
    assert settings.api_url == "http://127.0.0.1:9999"


def test_server_endpoint_and_host_port(tmp_path: Path) -> None:
    env = {"PREFECT__BACKEND": "server", "PREFECT__SERVER__ENDPOINT": "http://prefect.internal:4200"}
    assert resolve_settings(environ=env, home=tmp_path).api_url == "http://prefect.internal:4200"
    env = {"PREFECT__BACKEND": "server", "PREFECT__SERVER__HOST": "http://10.0.0.5",
           "PREFECT__SERVER__PORT": "4300"}
    assert resolve_settings(environ=env, home=tmp_path).api_url == "http://10.0.0.5:4300"


def test_cloud_backend_with_key_and_tenant_sends_prefect_headers(tmp_path: Path) -> None:
    env = {
        "PREFECT__BACKEND": "cloud",
        "PREFECT__CLOUD__API_KEY": "pnu_SECRET",
        "PREFECT__CLOUD__TENANT_ID": "44444444-4444-4444-4444-444444444444",
    }
    settings = resolve_settings(environ=env, home=tmp_path)
    assert settings.api_url == "https://api.prefect.io"
    assert settings.headers() == {
        "Authorization": "Bearer pnu_SECRET",
        "X-PREFECT-TENANT-ID": "44444444-4444-4444-4444-444444444444",
    }
    assert "pnu_SECRET" not in repr(settings)


def test_tenant_without_key_sends_nothing(tmp_path: Path) -> None:
    env = {"PREFECT__CLOUD__TENANT_ID": "44444444-4444-4444-4444-444444444444"}
    assert resolve_settings(environ=env, home=tmp_path).headers() == {}


def test_config_toml_is_read(tmp_path: Path) -> None:
    (tmp_path / ".prefect").mkdir()
    (tmp_path / ".prefect" / "config.toml").write_text(
        'backend = "cloud"\n[cloud]\napi = "https://cloud.example"\napi_key = "pnu_FROMFILE"\n'
    )
    settings = resolve_settings(environ={}, home=tmp_path)
    assert settings.api_url == "https://cloud.example"
    assert settings.headers()["Authorization"] == "Bearer pnu_FROMFILE"


def test_backend_toml_chooses_backend(tmp_path: Path) -> None:
    (tmp_path / ".prefect").mkdir()
    (tmp_path / ".prefect" / "backend.toml").write_text('backend = "server"\n')
    assert resolve_settings(environ={}, home=tmp_path).backend == "server"


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"PREFECT__BACKEND": "mars"}, "use 'server' or 'cloud'"),
        ({"PREFECT__CLOUD__API": "localhost:4200"}, "not an http(s) URL"),
        ({"PREFECT__CLOUD__API": "http://[::1"}, "not a valid URL"),
        ({"PREFECT__CLOUD__API": "http://h:99999"}, "not a valid URL"),
        ({"PREFECT__CLOUD__API": "4200"}, "must be text"),
        ({"PREFECT__CLOUD__API_KEY": "k", "PREFECT__CLOUD__TENANT_ID": "nope"}, "must be a UUID"),
    ],
)
def test_bad_settings_are_configuration_errors(tmp_path: Path, env: dict[str, str],
                                               message: str) -> None:
    with pytest.raises(ConfigurationError, match=re.escape(message)):
        resolve_settings(environ=env, home=tmp_path)


def test_unreadable_config_file_is_a_configuration_error(tmp_path: Path) -> None:
    (tmp_path / ".prefect").mkdir()
    (tmp_path / ".prefect" / "config.toml").write_text("backend = [unclosed\n")
    with pytest.raises(ConfigurationError, match=r"config\.toml"):
        resolve_settings(environ={}, home=tmp_path)


# --- the client: bad URLs are configuration errors, proxies come from the environment -----------


@pytest.mark.parametrize("url", ["http://[::1", "http://h:99999", "ftp://h", "localhost:4200",
                                 "http://:80"])
def test_a_bad_api_url_is_a_configuration_error_at_once(url: str) -> None:
    from flowview_async import Client

    with pytest.raises(ConfigurationError) as caught:
        Client(url)
    assert type(caught.value) is ConfigurationError
    assert url in str(caught.value)


async def test_proxy_settings_of_the_environment_are_honoured(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """HTTP_PROXY sends the request through the proxy (as Prefect 1's requests session does);
    NO_PROXY exempts a host."""
    from aiohttp import web

    from flowview_async import Client

    seen: list[str] = []

    async def proxy(request: web.Request) -> web.Response:
        seen.append(request.raw_path)  # absolute through a proxy, a bare path when direct
        return web.json_response({"data": {"flow_run": []}})

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", proxy)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        for name in ("HTTP_PROXY", "http_proxy", "NO_PROXY", "no_proxy"):
            monkeypatch.delenv(name, raising=False)
        monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{port}")
        async with Client("http://prefect.invalid:4200/graphql", introspect=False) as client:
            assert await client.execute("query { flow_run(limit: 1) { id } }") == {"flow_run": []}
        assert seen == ["http://prefect.invalid:4200/graphql"]
        monkeypatch.setenv("NO_PROXY", "127.0.0.1")
        async with Client(f"http://127.0.0.1:{port}/direct", introspect=False) as client:
            await client.execute("query { flow_run(limit: 1) { id } }")
        assert seen[-1] == "/direct"
    finally:
        await runner.cleanup()
