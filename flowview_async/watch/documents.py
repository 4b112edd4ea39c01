"""The GraphQL documents of a watch (each validated against the bundled schema when sent).

``WatchPoll`` is built for the kinds of rows a watch reads: one request answers a quiet poll.
"""

from __future__ import annotations

import attrs

from flowview_async import _queries

__all__ = [
    "EXISTING",
    "LOG_PAGE",
    "NEWEST",
    "RECENT_LOGS",
    "RECENT_TASKS",
    "START",
    "TASK_PAGE",
    "Streams",
    "head_document",
]


@attrs.frozen
class Streams:
    """Which kinds of rows the watch reads (flow-run states always: they tell when a run ends)."""

    task_runs: bool
    logs: bool
    page_size: int


_STATE_FIELDS = "id flow_run_id version timestamp serialized_state"
_TASK_STATE_FIELDS = ("id created timestamp serialized_state "
                      "task_run { id flow_run_id map_index task { slug } }")
_LOG_FIELDS = "...LogFields created"
_ORDER = "order_by: [{timestamp: asc}, {id: asc}]"


def head_document(streams: Streams, *, counts: bool) -> str:
    """A step's first request. With ``counts`` (live polls) the new task-run states and lines are
    only counted: a quiet poll's answer is a few numbers, and rows are asked for when the counts
    differ from what was delivered."""
    variables = ["$runs: [uuid!]!", "$states: flow_run_state_bool_exp!"]
    fields = ["flow_run_aggregate(where: {id: {_in: $runs}}) { aggregate { count } }",
              f"flow_run_state(where: $states, {_ORDER}) {{ {_STATE_FIELDS} }}"]
    if streams.task_runs:
        variables.append("$tasks: task_run_state_bool_exp!")
        fields.append("task_run_state_aggregate(where: $tasks) { aggregate { count } }" if counts
                      else f"task_run_state(where: $tasks, {_ORDER}, limit: $limit) "
                           f"{{ {_TASK_STATE_FIELDS} }}")
    if streams.logs:
        variables.append("$logs: log_bool_exp!")
        fields.append("log_aggregate(where: $logs) { aggregate { count } }" if counts
                      else f"log(where: $logs, {_ORDER}, limit: $limit) {{ {_LOG_FIELDS} }}")
    if (streams.task_runs or streams.logs) and not counts:
        variables.append("$limit: Int!")
    body = "\n  ".join(fields)
    document = f"query WatchPoll({', '.join(variables)}) {{\n  {body}\n}}\n"
    return document + (_queries.LOG_FIELDS if streams.logs and not counts else "")


TASK_PAGE = (f"query WatchTaskRunStates($where: task_run_state_bool_exp!, $limit: Int!) {{\n"
              f"  task_run_state(where: $where, {_ORDER}, limit: $limit) {{ {_TASK_STATE_FIELDS} }}\n}}\n")
LOG_PAGE = (f"query WatchLogs($where: log_bool_exp!, $limit: Int!) {{\n"
             f"  log(where: $where, {_ORDER}, limit: $limit) {{ {_LOG_FIELDS} }}\n}}\n"
             + _queries.LOG_FIELDS)
EXISTING = "query WatchedRuns($runs: [uuid!]!) { flow_run(where: {id: {_in: $runs}}) { id } }"
START = """
query WatchStart($runs: [uuid!]!) {
  flow_run(where: {id: {_in: $runs}}) { id version serialized_state }
  log(where: {flow_run_id: {_in: $runs}}, order_by: [{created: desc}], limit: 1) { created }
  task_run_state(where: {task_run: {flow_run_id: {_in: $runs}}}, order_by: [{created: desc}],
                 limit: 1) { created }
}
"""
NEWEST = """
query WatchNewest($runs: [uuid!]!) {
  log(where: {flow_run_id: {_in: $runs}}, order_by: [{created: desc}], limit: 1) { created }
  task_run_state(where: {task_run: {flow_run_id: {_in: $runs}}}, order_by: [{created: desc}],
                 limit: 1) { created }
}
"""
RECENT_TASKS = """
query WatchRecentTaskRunStates($where: task_run_state_bool_exp!, $limit: Int!) {
  task_run_state(where: $where, order_by: [{created: asc}, {id: asc}], limit: $limit) {
    id created task_run { flow_run_id }
  }
}
"""
RECENT_LOGS = """
query WatchRecentLogs($where: log_bool_exp!, $limit: Int!) {
  log(where: $where, order_by: [{created: asc}, {id: asc}], limit: $limit) {
    id created flow_run_id
  }
}
"""
