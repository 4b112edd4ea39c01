"""Everything written, grepped for a canary key: 0 occurrences.

One scenario exercises every leak path of issue 9 at once, with logging at DEBUG on every logger
(to a file and to pytest's capture), then greps what was written: cassette files (recorded with
the key against the local backend and against a server echoing the key back), the log file and
captured records, stdout and stderr of ``flowview`` CLI runs (``--debug``, tracebacks included),
and str/repr of every raised error, every error chained to it, their args and attributes, and
their formatted tracebacks.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
import traceback
import uuid
from pathlib import Path
from typing import Any

import pytest

from flowview_async import Client, FlowRunView, RetryPolicy, inspect_flow_run, replay
from flowview_async.errors import FlowViewError
from tests.conftest import DOC_FLOW_RUN_ID
from tests.security.echo_server import echo_server, texts_of

HELLO = "query Hello { hello }"
RUNS_BY_NAME = "query Runs($name: String) { flow_run(where: {name: {_eq: $name}}) { id } }"
ECHO_PATHS = ["api-error", "text-500", "text-200", "auth", "json-401", "graphql-error", "data"]


def _forms(*secrets: str) -> set[str]:
    """What a grep must not find: each secret and its stripped form."""
    return {form for secret in secrets for form in (secret, secret.strip()) if form}


async def _cli(*args: str, env: dict[str, str]) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "flowview_async.cli", *args,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        env={**os.environ, **env},
    )
    out, err = await asyncio.wait_for(process.communicate(), 120)
    return int(process.returncode or 0), out.decode(errors="replace"), err.decode(errors="replace")


async def test_a_canary_key_is_written_nowhere(tmp_path: Path, caplog: pytest.LogCaptureFixture,
                                               flowview_backend: Any) -> None:
    tag = uuid.uuid4().hex[:10]
    key = f"pnu_CANARYKEY{tag}  "  # trailing whitespace, as pasted
    tenant = str(uuid.uuid4())  # a tenant id must be a UUID; a fresh one is a canary too
    password = f"pw-CANARY-{tag}"
    canaries = _forms(key, tenant, password)

    caplog.set_level(logging.DEBUG)
    log_file = tmp_path / "debug.log"
    file_handler = logging.FileHandler(log_file, encoding="utf-8")
    file_handler.setLevel(logging.DEBUG)
    file_handler.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
    logging.getLogger().addHandler(file_handler)
    errors: list[BaseException] = []
    outputs: list[str] = []
    cassettes = tmp_path / "cassettes"
    try:
        # 1. Record a real inspection with the key, and variables carrying it.
        async with Client(flowview_backend.url, api_key=key, tenant_id=tenant,
                          cassette=cassettes / "inspection.json") as client:
            await inspect_flow_run(DOC_FLOW_RUN_ID, client=client)
            await client.execute(RUNS_BY_NAME, {"name": key.strip()})
        # ...and replay it, a miss included (the report quotes variables).
        async with replay(cassettes / "inspection.json", secrets=[key]) as client:
            await FlowRunView.from_flow_run_id(DOC_FLOW_RUN_ID, client=client)
            try:
                await client.execute(RUNS_BY_NAME, {"name": f"other {key.strip()}"})
            except FlowViewError as exc:
                errors.append(exc)

        async with echo_server() as server:
            # 2. Every kind of echoing answer, recorded to a cassette: with the key and tenant
            # id, then with a password in the URL (aiohttp sends it as Basic auth).
            host = server.url.replace("http://", f"http://someone:{password}@")
            for path in ECHO_PATHS:
                for url, credentials in ((f"{server.url}/{path}", {"api_key": key, "tenant_id": tenant}),
                                         (f"{host}/{path}", {})):
                    try:
                        async with Client(url, **credentials,
                                          retry=RetryPolicy(attempts=2, backoff=0.01, deadline=10),
                                          cassette=cassettes / f"echo-{path}-{len(credentials)}.json",
                                          record_mode="all") as client:
                            await client.execute(HELLO)
                    except FlowViewError as exc:
                        errors.append(exc)
            # Both at once cannot work (aiohttp refuses): a configuration error, still masked.
            try:
                async with Client(f"{host}/data", api_key=key) as client:
                    await client.execute(HELLO)
            except FlowViewError as exc:
                errors.append(exc)
            # 3. The CLI, with the key from the Prefect settings, at --debug.
            env = {"PREFECT__CLOUD__API_KEY": key, "PREFECT__CLOUD__TENANT_ID": tenant,
                   "PREFECT__HOME_DIR": str(tmp_path / "home")}
            for path in ("text-500", "graphql-error", "auth", "text-200"):
                code, out, err = await _cli("query", "--debug", "--api", f"{server.url}/{path}",
                                            HELLO, env=env)
                assert code != 0
                outputs += [out, err]
            code, out, err = await _cli("inspect", DOC_FLOW_RUN_ID, "--debug", "--api",
                                        f"{server.url}/graphql-error", env=env)
            outputs += [out, err]
            code, out, err = await _cli("query", "--debug", "--api", f"{host}/text-500", HELLO,
                                        env={"PREFECT__HOME_DIR": str(tmp_path / "home")})
            outputs += [out, err]
    finally:
        logging.getLogger().removeHandler(file_handler)
        file_handler.close()

    assert len(errors) >= len(ECHO_PATHS)
    written: dict[str, str] = {}
    for file in sorted(tmp_path.rglob("*")):
        if file.is_file():
            written[str(file)] = file.read_text(encoding="utf-8", errors="replace")
    assert any(name.endswith("echo-data-2.json") for name in written)  # the echo was recorded
    assert any(name.endswith("echo-data-0.json") for name in written)
    written["captured log records"] = "\n".join(
        logging.Formatter("%(message)s").format(record) for record in caplog.records)
    written["cli output"] = "\n".join(outputs)
    for index, error in enumerate(errors):
        written[f"error {index}"] = "\n".join(
            [*texts_of(error), *traceback.format_exception(error)])
    assert "<redacted>" in written["cli output"]
    assert "<redacted>" in written["captured log records"]
    found = {(where, canary) for where, text in written.items() for canary in canaries
             if canary in text}
    assert found == set()
