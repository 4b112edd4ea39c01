"""``flowview serve``'s security and UI options, in a real subprocess."""

from __future__ import annotations

import json
import subprocess
import urllib.request
from pathlib import Path

import pytest

from tests.server.test_cli_serve import FLOWVIEW, serving

UI_ORIGIN = "http://localhost:8080"


def _request(url: str, method: str = "GET", headers: dict[str, str] | None = None,
             body: bytes | None = None) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        with error:
            return error.code, dict(error.headers), error.read()


def test_cors_host_get_and_ui_options(tmp_path: Path) -> None:
    (tmp_path / "index.html").write_text("<html>ui</html>")
    arguments = ("--cors", UI_ORIGIN, "--allow-host", "flowview.test", "--allow-get", "--ui", str(tmp_path))
    with serving(*arguments) as (process, url):
        status, headers, _ = _request(url + "/graphql", "OPTIONS", {
            "Origin": UI_ORIGIN, "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type,x-prefect-tenant-id",
        })
        assert status == 204
        assert headers["Access-Control-Allow-Origin"] == UI_ORIGIN
        hello = url + "/graphql?query=%7B%20hello%20%7D"
        status, _, body = _request(hello, headers={"Host": "flowview.test"})
        assert (status, json.loads(body)) == (200, {"data": {"hello": "👋"}})
        status, _, body = _request(url + "/settings.json")
        assert json.loads(body)["server_url"] == url + "/graphql"
        status, _, body = _request(url + "/flows")
        assert body == b"<html>ui</html>"
        process.terminate()
        assert process.wait(timeout=30) == 0
        assert process.stderr is not None
        assert f"Serving the Prefect UI at {url}/" in process.stderr.read()


def test_defaults_refuse_get_other_hosts_and_cors() -> None:
    with serving() as (_process, url):
        status, _, _ = _request(url + "/graphql?query=%7B%20hello%20%7D")
        assert status == 405
        status, _, _ = _request(url + "/graphql", "POST", {"Host": "evil.example",
                                                           "Content-Type": "application/json"},
                                b'{"query": "{ hello }"}')
        assert status == 403
        status, headers, _ = _request(url + "/graphql", "OPTIONS", {
            "Origin": UI_ORIGIN, "Access-Control-Request-Method": "POST"})
        assert status == 403
        assert "Access-Control-Allow-Origin" not in headers


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (("--statement-timeout", "0"), "--statement-timeout 0.0 must be a positive number"),
        (("--statement-timeout", "nan"), "must be a positive number of seconds"),
        (("--ui", "/nonexistent-ui-dir"), "no index.html there"),
    ],
)
def test_bad_options_are_one_error_line_and_exit_3(arguments: tuple[str, ...], message: str) -> None:
    completed = subprocess.run(
        [FLOWVIEW, "serve", "--port", "0", *arguments],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert completed.returncode == 3
    lines = completed.stderr.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith("Error: ")
    assert message in lines[0]
