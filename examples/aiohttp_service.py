"""An aiohttp web service answering ``GET /flow-runs/{id}`` with a run's state, task runs and
latest log lines, through ONE shared client opened on startup and closed on cleanup.

::

    flowview serve &                                  # or point --api at a Prefect Server
    python examples/aiohttp_service.py --port 8080
    curl http://127.0.0.1:8080/flow-runs/4c0101af-c6bb-4b96-8661-63a5bbfb5596

The first line on stdout is the URL the service listens on. Its test,
``examples/tests/test_aiohttp_service.py``, replays a cassette: no backend needed.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import signal
from collections.abc import AsyncIterator
from typing import Any

from aiohttp import web

from flowview_async import Client, errors, inspect_flow_run

__all__ = ["CLIENT", "create_app", "main"]

CLIENT = web.AppKey("flowview_client", Client)
LATEST_LOGS = 20

# What each SDK error means for an HTTP caller; anything else is a 500 from aiohttp.
_STATUS = (
    (errors.InvalidArgumentError, 400),
    (errors.NotFoundError, 404),
    (errors.AuthenticationError, 502),
    (errors.BackendUnavailableError, 503),
    (errors.FlowViewError, 502),
)


async def flow_run_handler(request: web.Request) -> web.Response:
    client = request.app[CLIENT]
    try:
        found = await inspect_flow_run(request.match_info["flow_run_id"], client=client)
    except errors.FlowViewError as error:
        status = next(code for kind, code in _STATUS if isinstance(error, kind))
        return web.json_response({"error": type(error).__name__, "message": str(error)},
                                 status=status)
    flow_run = found.flow_run
    return web.json_response({
        "id": flow_run.flow_run_id,
        "name": flow_run.name,
        "flow": found.flow.name,
        "state": flow_run.state.name,
        "message": flow_run.state.message,
        "is_finished": flow_run.state.is_finished(),
        "task_runs": [
            {"slug": t.task_slug, "map_index": t.map_index, "state": t.state.name,
             "message": t.state.message}
            for t in found.task_runs
        ],
        "latest_logs": [log.to_dict() for log in found.logs[-LATEST_LOGS:]],
    })


def create_app(*, api_url: str | None = None, client: Client | None = None) -> web.Application:
    """The application. It opens its own client for ``api_url`` (default: the Prefect settings)
    on startup and closes it on cleanup; or it uses ``client``, already open and owned by the
    caller (tests pass one that replays a cassette)."""

    async def client_context(app: web.Application) -> AsyncIterator[None]:
        if client is not None:
            app[CLIENT] = client
            yield
            return
        # Opened once on startup, shared by every request (one connection pool, bounded
        # concurrency), closed on cleanup.
        async with Client(api_url) as own:
            app[CLIENT] = own
            yield

    app = web.Application()
    app.cleanup_ctx.append(client_context)
    app.router.add_get("/flow-runs/{flow_run_id}", flow_run_handler)
    return app


async def main(host: str, port: int, api: str | None) -> None:
    runner = web.AppRunner(create_app(api_url=api))
    await runner.setup()
    try:
        site = web.TCPSite(runner, host, port)
        await site.start()
        bound = runner.addresses[0][1]
        print(f"http://{host}:{bound}", flush=True)
        stopped = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError):
                loop.add_signal_handler(signum, stopped.set)
        await stopped.wait()
    finally:
        await runner.cleanup()


def _arguments() -> Any:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8080, help="0 picks a free port")
    parser.add_argument("--api", default=None, help="GraphQL endpoint (default: Prefect settings)")
    return parser.parse_args()


if __name__ == "__main__":
    arguments = _arguments()
    asyncio.run(main(arguments.host, arguments.port, arguments.api))
