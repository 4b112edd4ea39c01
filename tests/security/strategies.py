"""Hypothesis strategies for hostile input: JSON values (deep, huge, odd timestamps, odd floats),
mutations of real answers, and arbitrary Python argument values."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from hypothesis import strategies as st

# Field names the views read: random dicts use them, so that mutations reach the parsers.
FIELD_NAMES = [
    "id", "name", "state", "serialized_state", "flow_id", "flow_run_id", "start_time", "end_time",
    "created", "updated", "timestamp", "level", "message", "task_run_id", "map_index", "task_slug",
    "slug", "parameters", "context", "labels", "run_config", "type", "_result", "location",
    "flow_group_id", "version", "archived", "project", "tasks", "task", "info", "data", "errors",
    "extensions", "code", "message", "state_timestamp", "state_message", "cached_inputs",
    "storage", "settings", "core_version", "result", "__version__", "context", "tenant_id",
]

WEIRD_STRINGS = [
    "0001-01-01T00:00:00+00:00", "9999-12-31T23:59:59-23:59", "9999-12-31T23:59:59.999999+00:00",
    "2021-13-45T99:99:99", "2021-05-12", "", "Success", "Failed", "Running", "Mapped", "null",
    "{}", "[]", '{"type": "Success"}', '{"type": "Failed", "message": 5}', "\x00", "\ud800x",
    "4c0101af-c6bb-4b96-8661-63a5bbfb5596", "not-a-uuid", "-1", "1e400", "NaN", "<<DEEP:900>>",
    "<<DEEP:5000>>", "<<DEEPOBJ:1500>>",
]

_DEEP = re.compile(r'"<<DEEP(OBJ)?:(\d+)>>"')

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.sampled_from([2**70, -(2**63) - 1, 10**30, 2**31, -1, 0]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=20),
    st.sampled_from(WEIRD_STRINGS),
)

json_values = st.recursive(
    scalars,
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.sampled_from(FIELD_NAMES) | st.text(max_size=8), children, max_size=4),
    max_leaves=12,
)


def dump(value: Any) -> str:
    """JSON text for ``value``; ``"<<DEEP:n>>"`` strings become lists nested ``n`` deep (and
    ``<<DEEPOBJ:n>>`` objects): built as text, since json.dumps itself cannot nest that far."""
    text = json.dumps(value, allow_nan=True)

    def deep(match: re.Match[str]) -> str:
        depth = int(match.group(2))
        if match.group(1):
            return '{"a": ' * depth + "1" + "}" * depth
        return "[" * depth + "]" * depth

    return _DEEP.sub(deep, text)


def _paths(value: Any) -> list[tuple[Any, ...]]:
    paths: list[tuple[Any, ...]] = [()]
    stack: list[tuple[Any, tuple[Any, ...]]] = [(value, ())]
    while stack:
        current, path = stack.pop()
        items: Any = (current.items() if isinstance(current, dict)
                      else enumerate(current) if isinstance(current, list) else ())
        for key, item in items:
            paths.append((*path, key))
            stack.append((item, (*path, key)))
    return paths


def mutate(draw: Callable[[Any], Any], base: Any) -> Any:
    """``base`` (a real answer) with a few nodes replaced by hostile values or removed."""
    value = json.loads(json.dumps(base))
    paths = _paths(value)
    for index in draw(st.lists(st.integers(0, len(paths) - 1), min_size=1, max_size=4)):
        path = paths[index]
        if not path:
            return draw(json_values)
        parent = value
        try:
            for key in path[:-1]:
                parent = parent[key]
            if draw(st.booleans()) and isinstance(parent, dict):
                parent.pop(path[-1], None)
            else:
                parent[path[-1]] = draw(json_values)
        except (KeyError, IndexError, TypeError):
            continue  # an earlier mutation removed this path
    return value


RAW_BODIES = [
    b"", b"not json", b"<html><body>502 Bad Gateway</body></html>", b"\xff\xfe\x00", b"null",
    b"[]", b"{}", b'{"data": null}', b'{"errors": []}', b'{"errors": "boom"}',
    b'{"errors": [{"message": null}]}', b'{"data": {"flow_run": null}}', b"[" * 5000,
    b'{"data": ' + b"[" * 3000 + b"]" * 3000 + b"}", b'{"data": {"x": ' + b"1" * 5000 + b"}}",
    b'{"data": {}, "errors": [{"extensions": {"code": "API_ERROR"}}]}',
]

# Arguments of every type a careless caller could pass.
odd_arguments = st.one_of(
    scalars,
    st.binary(max_size=10),
    st.lists(st.text(max_size=5), max_size=3),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=2),
    st.sampled_from([object(), Path("x"), timedelta(seconds=-1), timedelta(days=10**8), float("inf"),
                     float("nan"), -1, 0, 10**30, "4c0101af-c6bb-4b96-8661-63a5bbfb5596",
                     ["4c0101af-c6bb-4b96-8661-63a5bbfb5596"], None, "", " ", "a" * 10_000,
                     datetime(9999, 12, 31, 23, 59, tzinfo=timezone(-timedelta(hours=23))),
                     datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=23))), datetime.max]),
)
