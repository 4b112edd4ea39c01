"""Reading backend rows defensively: whatever the server answers, a bad shape becomes a
:class:`~flowview_async.errors.MalformedResponseError` naming the field, never a bare KeyError."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any, NoReturn

from flowview_async import _timestamps
from flowview_async._timestamps import format_timestamp
from flowview_async.errors import ImmutableViewError, MalformedResponseError

__all__ = [
    "FrozenDict", "FrozenList", "Row", "format_timestamp", "freeze", "parse_timestamp", "rows_of",
]


def parse_timestamp(value: Any, *, field: str = "timestamp") -> datetime:
    """Parse a backend timestamp into an aware datetime: the SDK's one parser
    (:func:`flowview_async._timestamps.parse_timestamp`); naive values are taken as UTC."""
    return _timestamps.parse_timestamp(value, field=field)


def _malformed(detail: str) -> NoReturn:
    msg = f"The backend answered with unexpected data: {detail}. Is this a Prefect 1 backend?"
    raise MalformedResponseError(msg)


class FrozenDict(dict[str, Any]):
    """A read-only dict: JSON-serializable like a dict, but the views stay immutable snapshots."""

    def _refuse(self, *args: Any, **kwargs: Any) -> NoReturn:
        msg = "View fields are read-only snapshots; copy with dict(...) to modify."
        raise ImmutableViewError(msg)

    __setitem__ = __delitem__ = clear = pop = popitem = setdefault = update = _refuse
    __ior__ = _refuse

    def __hash__(self) -> int:  # type: ignore[override]
        return hash(json.dumps(self, sort_keys=True, default=str))

    def __repr__(self) -> str:
        return dict.__repr__(self)


class FrozenList(list[Any]):
    """A read-only list: equal to the plain list it holds and JSON-serializable like one (Prefect 1
    returned lists), but the views stay immutable snapshots."""

    def _refuse(self, *args: Any, **kwargs: Any) -> NoReturn:
        msg = "View fields are read-only snapshots; copy with list(...) to modify."
        raise ImmutableViewError(msg)

    __setitem__ = __delitem__ = append = extend = insert = pop = remove = clear = _refuse
    sort = reverse = __iadd__ = __imul__ = _refuse

    def __hash__(self) -> int:  # type: ignore[override]
        return hash(tuple(self))

    def __repr__(self) -> str:
        return list.__repr__(self)


def freeze(value: Any) -> Any:
    """Deep-freeze JSON: dicts become :class:`FrozenDict`, lists :class:`FrozenList`."""
    if isinstance(value, Mapping):
        return FrozenDict({str(k): freeze(v) for k, v in value.items()})
    if isinstance(value, (list, tuple)):
        return FrozenList(freeze(v) for v in value)
    return value


def thaw(value: Any) -> Any:
    """The inverse of :func:`freeze`: plain dicts and lists, for JSON output."""
    if isinstance(value, Mapping):
        return {k: thaw(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [thaw(v) for v in value]
    return value


class Row:
    """One object of a GraphQL answer, with typed accessors that fail clearly."""

    __slots__ = ("_data", "_what")

    def __init__(self, data: Any, what: str) -> None:
        if not isinstance(data, Mapping):
            _malformed(f"a {what} should be an object, got {type(data).__name__}")
        self._data = data
        self._what = what

    @property
    def raw(self) -> Mapping[str, Any]:
        return self._data

    def _get(self, key: str, required: bool) -> Any:
        if key not in self._data:
            if required:
                _malformed(f"a {self._what} has no {key!r} field")
            return None
        return self._data[key]

    def string(self, key: str) -> str:
        value = self._get(key, True)
        if not isinstance(value, str):
            _malformed(f"{self._what}.{key} should be a string, got {value!r}")
        return value

    def opt_string(self, key: str) -> str | None:
        value = self._get(key, False)
        if value is not None and not isinstance(value, str):
            _malformed(f"{self._what}.{key} should be a string or null, got {value!r}")
        return value

    def integer(self, key: str) -> int:
        value = self._get(key, True)
        if not isinstance(value, int) or isinstance(value, bool):
            _malformed(f"{self._what}.{key} should be an integer, got {value!r}")
        return value

    def opt_integer(self, key: str) -> int | None:
        value = self._get(key, False)
        if value is not None and (not isinstance(value, int) or isinstance(value, bool)):
            _malformed(f"{self._what}.{key} should be an integer or null, got {value!r}")
        return value

    def boolean(self, key: str, default: bool = False) -> bool:
        value = self._get(key, False)
        if value is None:
            return default
        if not isinstance(value, bool):
            _malformed(f"{self._what}.{key} should be a boolean, got {value!r}")
        return value

    def timestamp(self, key: str) -> datetime:
        return parse_timestamp(self._get(key, True), field=f"{self._what}.{key}")

    def opt_timestamp(self, key: str) -> datetime | None:
        value = self._get(key, False)
        return None if value is None else parse_timestamp(value, field=f"{self._what}.{key}")

    def json(self, key: str) -> Any:
        """A jsonb column: a JSON value, or a string holding one (some proxies double-encode)."""
        value = self._get(key, False)
        if isinstance(value, str):
            try:
                return json.loads(value)
            except ValueError:
                return value
        return value

    def mapping(self, key: str) -> Mapping[str, Any]:
        value = self.json(key)
        if value is None:
            return {}
        if not isinstance(value, Mapping):
            _malformed(f"{self._what}.{key} should be a JSON object, got {value!r}")
        return value

    def string_list(self, key: str) -> FrozenList:
        value = self.json(key)
        if value is None:
            return FrozenList()
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            _malformed(f"{self._what}.{key} should be a list of strings, got {value!r}")
        return FrozenList(value)

    def row(self, key: str, what: str) -> Row:
        return Row(self._get(key, True), what)

    def opt_row(self, key: str, what: str) -> Row | None:
        value = self._get(key, False)
        return None if value is None else Row(value, what)

    def rows(self, key: str, what: str) -> list[Row]:
        return rows_of(self._get(key, True), what)


def rows_of(value: Any, what: str) -> list[Row]:
    """A list field of a GraphQL answer, as rows."""
    if not isinstance(value, list):
        _malformed(f"the list of {what}s should be a list, got {type(value).__name__}")
    return [Row(item, what) for item in value]


def root_rows(data: Mapping[str, Any], field: str, what: str) -> list[Row]:
    """The rows under a root field of ``data`` (``data.flow_run`` …)."""
    if field not in data:
        _malformed(f"the answer has no {field!r} field")
    return rows_of(data[field], what)


def ids_of(rows: Iterable[Row]) -> list[str]:
    return [row.string("id") for row in rows]
