"""Register and run a user's own Prefect 1 ``Flow`` against the test backend.

Prefect 1.4.1 pins libraries older than this SDK's, so it usually lives in an interpreter of its
own: the flow runs there, in a child process, with Prefect's own client, runner and log handler
talking to the test backend exactly as they would to Prefect Server (a project, ``flow.register``,
``create_flow_run``, then ``CloudFlowRunner``: states, heartbeats and logs through the API). The
run's id comes back, and the test reads the run with the SDK's views like any other.

The interpreter is ``$FLOWVIEW_PREFECT1_PYTHON``, else this one when Prefect 1 is importable here.
"""

from __future__ import annotations

import asyncio
import importlib.metadata
import json
import os
import re
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flowview_async.errors import ConfigurationError, InvalidArgumentError, PrefectProcessError

__all__ = ["ENV_PREFECT1_PYTHON", "prefect1_python", "run_prefect1_flow"]

ENV_PREFECT1_PYTHON = "FLOWVIEW_PREFECT1_PYTHON"
DEFAULT_PROJECT = "flowview-tests"
_PROJECT_NAME = re.compile(r"^[\w\- ]{1,100}$")  # spliced into the driver's GraphQL query
_TAIL = 4000  # characters of the child's output quoted in an error

# Runs in the Prefect 1 interpreter. argv: flow file, flow attribute, parameters (JSON), project.
_DRIVER = r'''
import importlib.util, json, sys
import prefect
from prefect import Client
from prefect.engine.cloud import CloudFlowRunner

path, attribute, parameters, project = sys.argv[1], sys.argv[2], json.loads(sys.argv[3]), sys.argv[4]
spec = importlib.util.spec_from_file_location("flowview_user_flow", path)
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
flow = getattr(module, attribute)
client = Client()
if not client.graphql({"query": {"tenant": {"id"}}}).data.tenant:
    client.create_tenant(name="default")
projects = client.graphql({"query": {'project(where: {name: {_eq: "%s"}})' % project: {"id"}}})
if not projects.data.project:
    client.create_project(project)
flow_id = flow.register(project_name=project, add_default_labels=False, no_url=True)
flow_run_id = client.create_flow_run(flow_id=flow_id, parameters=parameters)
with prefect.context(flow_run_id=flow_run_id, flow_id=flow_id):
    state = CloudFlowRunner(flow=flow).run(return_tasks=flow.tasks)
print(json.dumps({"flow_run_id": flow_run_id, "state": type(state).__name__}))
'''


def prefect1_python() -> str:
    """The interpreter that has Prefect 1 (see the module docstring)."""
    configured = os.environ.get(ENV_PREFECT1_PYTHON, "").strip()
    if configured:
        return configured
    try:
        version = importlib.metadata.version("prefect")
    except importlib.metadata.PackageNotFoundError:
        version = None
    if version is not None and version.startswith("1."):
        return sys.executable
    msg = (f"Running a Prefect 1 flow needs an interpreter with prefect 1.x: set "
           f"${ENV_PREFECT1_PYTHON} to it (e.g. a virtualenv with `pip install prefect==1.4.1`); "
           f"this one has {'prefect ' + version if version else 'no prefect'}.")
    raise ConfigurationError(msg)


def _split_spec(flow: str | os.PathLike[str], base_dir: Path) -> tuple[Path, str]:
    text = os.fspath(flow)
    path_text, _, attribute = text.rpartition(":") if ":" in text else (text, "", "flow")
    path = Path(path_text)
    if not path.is_absolute():
        path = base_dir / path
    if not path.is_file() or not attribute.isidentifier():
        raise InvalidArgumentError(
            f"{text!r} does not name a Prefect 1 flow: use 'path/to/file.py:flow_variable' "
            f"(relative to {base_dir}); file {'found' if path.is_file() else 'not found'}.")
    return path, attribute


async def run_prefect1_flow(
    backend_url: str,
    flow: str | os.PathLike[str],
    *,
    parameters: Mapping[str, Any] | None = None,
    base_dir: Path | None = None,
    home: Path,
    python: str | None = None,
    project: str = DEFAULT_PROJECT,
    timeout: float = 300.0,
) -> str:
    """Register ``flow`` (``"file.py:attribute"``) with the backend, run it once, return the run id.

    ``home`` is Prefect 1's home directory for the run (its local flow storage and config), kept
    away from the user's ``~/.prefect``. A run that ends Failed is a result, not an error; an error
    is raised only when the flow could not be registered or the runner itself crashed.
    """
    path, attribute = _split_spec(flow, base_dir or Path.cwd())
    if not _PROJECT_NAME.match(project):
        raise InvalidArgumentError(f"project {project!r}: use letters, digits, spaces, '-' and '_'.")
    env = {key: value for key, value in os.environ.items()
           if not key.startswith("PREFECT__") and key != "PYTHONPATH"}
    env.update({
        "PREFECT__BACKEND": "server",
        "PREFECT__SERVER__ENDPOINT": backend_url,
        "PREFECT__CLOUD__API": backend_url,
        "PREFECT__HOME_DIR": str(home),
        "PREFECT__USER_CONFIG_PATH": str(home / "config.toml"),
        "PREFECT__CLOUD__USE_LOCAL_SECRETS": "true",
    })
    process = await asyncio.create_subprocess_exec(
        python or prefect1_python(), "-c", _DRIVER, str(path), attribute,
        json.dumps(dict(parameters or {})), project,
        env=env, cwd=str(path.parent),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    try:
        stdout, stderr = await asyncio.wait_for(process.communicate(), timeout)
    except BaseException:
        # Timed out or cancelled: never leave the flow's process behind.
        if process.returncode is None:
            process.kill()
            await process.wait()
        raise
    output = stdout.decode("utf-8", errors="replace")
    lines = output.strip().splitlines()
    if process.returncode != 0 or not lines:
        detail = (stderr.decode("utf-8", errors="replace") + output)[-_TAIL:]
        raise PrefectProcessError(
            f"Prefect 1 could not register or run {path.name}:{attribute} against the test backend "
            f"(exit {process.returncode}). Its output ends with:\n{detail}")
    return str(json.loads(lines[-1])["flow_run_id"])
