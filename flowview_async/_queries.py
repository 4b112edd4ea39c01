"""Every GraphQL document the SDK sends, named, with its arguments as variables.

Each is validated against the bundled Prefect Server schema by the client before it is sent (and
by ``tests/test_queries.py`` at test time). Filters that the views compose (keyset paging, time
windows) travel as ``*_bool_exp`` variables, never pasted into the text.
"""

from __future__ import annotations

__all__ = [
    "FLOWS_WHERE",
    "FLOW_OF_FLOW_RUN",
    "FLOW_RUNS_WHERE",
    "LOGS_PAGE",
    "LOG_FIELDS",
    "TASK_RUNS_PAGE",
    "TASK_RUN_IDS_PAGE",
]

_FLOW_RUN_FIELDS = """
fragment FlowRunFields on flow_run {
  id
  name
  flow_id
  labels
  parameters
  context
  run_config
  serialized_state
  updated
  states(order_by: [{timestamp: asc}, {id: asc}]) {
    timestamp
    serialized_state
  }
}
"""

_TASK_RUN_FIELDS = """
fragment TaskRunFields on task_run {
  id
  name
  task_id
  map_index
  flow_run_id
  serialized_state
  created
  task {
    id
    slug
  }
}
"""

_FLOW_FIELDS = """
fragment FlowFields on flow {
  id
  name
  version
  archived
  core_version
  storage
  run_config
  settings
  serialized_flow
  flow_group_id
  created
  project {
    name
  }
  flow_group {
    labels
  }
}
"""

# Flow runs by any filter (an id, a name, a list of ids); `limit` lets the caller detect
# ambiguity (ask for 2 when 1 is expected) without fetching every match.
FLOW_RUNS_WHERE = (
    """
query FlowRuns($where: flow_run_bool_exp!, $limit: Int) {
  flow_run(where: $where, order_by: [{created: asc}, {id: asc}], limit: $limit) {
    ...FlowRunFields
  }
}
"""
    + _FLOW_RUN_FIELDS
)

# The flow of a flow run, through the object relationship: needs only the flow run id, so it can be
# sent at the same time as the flow run itself.
FLOW_OF_FLOW_RUN = (
    """
query FlowOfFlowRun($flow_run_id: uuid!) {
  flow_run(where: {id: {_eq: $flow_run_id}}) {
    flow {
      ...FlowFields
    }
  }
}
"""
    + _FLOW_FIELDS
)

FLOWS_WHERE = (
    """
query Flows($where: flow_bool_exp!, $limit: Int) {
  flow(where: $where, order_by: [{created: desc}, {id: asc}], limit: $limit) {
    ...FlowFields
  }
}
"""
    + _FLOW_FIELDS
)

# Task runs, one keyset page at a time: ordered by (created, id) so that pages never overlap or
# skip rows, however many task runs there are (Prefect 1 refused runs with more than 1,000).
TASK_RUNS_PAGE = (
    """
query TaskRuns($where: task_run_bool_exp!, $limit: Int!) {
  task_run(where: $where, order_by: [{created: asc}, {id: asc}], limit: $limit) {
    ...TaskRunFields
  }
}
"""
    + _TASK_RUN_FIELDS
)

# Mapped children of one task, ordered by map index, one keyset page at a time.
MAPPED_CHILDREN_PAGE = (
    """
query MappedTaskRuns($where: task_run_bool_exp!, $limit: Int!) {
  task_run(where: $where, order_by: [{map_index: asc}, {id: asc}], limit: $limit) {
    ...TaskRunFields
  }
}
"""
    + _TASK_RUN_FIELDS
)

TASK_RUN_IDS_PAGE = """
query TaskRunIds($where: task_run_bool_exp!, $limit: Int!) {
  task_run(where: $where, order_by: [{created: asc}, {id: asc}], limit: $limit) {
    id
    created
  }
}
"""

# The fields of a log line, wherever the SDK reads log lines.
LOG_FIELDS = """
fragment LogFields on log {
  id
  flow_run_id
  timestamp
  level
  message
  name
  task_run_id
}
"""

# Logs, one keyset page at a time, ordered by (timestamp, id): lines that share a timestamp are
# neither lost nor repeated across pages (Prefect 1's `_gt timestamp` lost them). flow_run_id lets
# one query serve many watched runs.
LOGS_PAGE = (
    """
query FlowRunLogs($where: log_bool_exp!, $limit: Int!) {
  log(where: $where, order_by: [{timestamp: asc}, {id: asc}], limit: $limit) {
    ...LogFields
  }
}
"""
    + LOG_FIELDS
)

ALL_DOCUMENTS = {
    "FlowRuns": FLOW_RUNS_WHERE,
    "FlowOfFlowRun": FLOW_OF_FLOW_RUN,
    "Flows": FLOWS_WHERE,
    "TaskRuns": TASK_RUNS_PAGE,
    "MappedTaskRuns": MAPPED_CHILDREN_PAGE,
    "TaskRunIds": TASK_RUN_IDS_PAGE,
    "FlowRunLogs": LOGS_PAGE,
}
