"""Deleting rows with what depends on them, as Postgres' ON DELETE CASCADE does on Prefect Server.

The SQLite tables carry no foreign-key constraints (fixtures load in any order), so the cascades
are spelled out here, children first. Id lists go in as one JSON parameter (no variable limit).
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from flowview_async.server.database import quote
from flowview_async.server.writes._core import Tx

_IDS = "(SELECT value FROM json_each(?))"


def delete_rows(tx: Tx, table: str, column: str, values: Sequence[str]) -> int:
    """Delete the rows of ``table`` whose ``column`` is one of ``values``; how many."""
    if not values:
        return 0
    return tx.run(f"DELETE FROM {quote(table)} WHERE {quote(column)} IN {_IDS}", (json.dumps(list(values)),))


def delete_task_runs(tx: Tx, task_run_ids: Sequence[str]) -> int:
    for table in ("task_run_artifact", "task_run_state", "log"):
        delete_rows(tx, table, "task_run_id", task_run_ids)
    return delete_rows(tx, "task_run", "id", task_run_ids)


def delete_flow_runs(tx: Tx, flow_run_ids: Sequence[str]) -> int:
    if not flow_run_ids:
        return 0
    ids = json.dumps(list(flow_run_ids))
    task_run_ids = [row[0] for row in tx.all(f"SELECT id FROM task_run WHERE flow_run_id IN {_IDS}", (ids,))]
    delete_task_runs(tx, task_run_ids)
    for table in ("flow_run_state", "log"):
        delete_rows(tx, table, "flow_run_id", flow_run_ids)
    return delete_rows(tx, "flow_run", "id", flow_run_ids)


def delete_flows(tx: Tx, flow_ids: Sequence[str]) -> int:
    if not flow_ids:
        return 0
    ids = json.dumps(list(flow_ids))
    run_ids = [row[0] for row in tx.all(f"SELECT id FROM flow_run WHERE flow_id IN {_IDS}", (ids,))]
    delete_flow_runs(tx, run_ids)
    delete_rows(tx, "edge", "flow_id", flow_ids)
    task_ids = [row[0] for row in tx.all(f"SELECT id FROM task WHERE flow_id IN {_IDS}", (ids,))]
    # Task runs of these tasks in other flows' runs cannot exist; their rows went with the runs.
    delete_rows(tx, "task", "id", task_ids)
    return delete_rows(tx, "flow", "id", flow_ids)
