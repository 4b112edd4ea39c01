"""The "Inspecting flow runs" documentation page of Prefect 1, in order, with ``await``.

Run it against a Prefect Server 1.x, or against the local backend loaded with the page's data::

    flowview serve &                      # http://127.0.0.1:4200, the documentation's flow runs
    python examples/inspecting_flow_runs.py

The endpoint comes from the Prefect settings exactly as for Prefect 1.4.1: with
``prefect backend server`` (or ``PREFECT__BACKEND=server``) that is ``PREFECT__SERVER__ENDPOINT``,
``~/.prefect/config.toml``, else ``http://localhost:4200``.
"""

from __future__ import annotations

import asyncio
import json

from flowview_async import Client, FlowRunView

FLOW_RUN_ID = "4c0101af-c6bb-4b96-8661-63a5bbfb5596"


async def main() -> None:
    # One client for the whole script. Every call below also works without `client=`: the view
    # then opens (and closes) a temporary client from the Prefect settings, as Prefect 1 did.
    async with Client() as client:
        # Creating a FlowRunView
        flow_run = await FlowRunView.from_flow_run_id(FLOW_RUN_ID, client=client)

        # Immutability: a view is a snapshot; get_latest() returns a new one.
        flow_run = await flow_run.get_latest()

        # Getting flow run states
        print(repr(flow_run.state))                 # <Success: "All reference tasks succeeded.">
        print(flow_run.state.is_finished())         # True
        print(flow_run.state.is_running())          # False
        print(repr(flow_run.state.message))         # 'All reference tasks succeeded.'

        # Getting flow run logs
        for log in await flow_run.get_logs():
            print(log)

        # Getting flow metadata (loaded once, then cached; no_cache=True reloads it)
        print(await flow_run.get_flow_metadata())
        print(await flow_run.get_flow_metadata(no_cache=True))

        # Getting flow task runs (finished ones are cached in the view, and kept by get_latest())
        task_run = await flow_run.get_task_run(task_slug="say_hello-1")
        print(task_run)

        # Listing task run ids: a property in Prefect 1, awaited here
        print(await flow_run.task_run_ids)

        # GraphQL: querying for a single flow run by any of its properties
        data = await client.execute(
            """
            query {
              flow_run(where: {name: {_eq: "woodoo-leopard"}}) {
                id
                state
                start_time
              }
            }
            """
        )
        print(json.dumps({"data": data}, indent=2))


if __name__ == "__main__":
    asyncio.run(main())
