"""Log lines of a flow run."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any, overload

import attrs

from flowview_async import _queries
from flowview_async._paging import keyset_pages
from flowview_async._rows import Row

if TYPE_CHECKING:
    from flowview_async.client import Client

__all__ = ["FlowRunLog", "level_number", "log_pages"]

_LEVELS = {
    "CRITICAL": logging.CRITICAL,
    "FATAL": logging.CRITICAL,
    "ERROR": logging.ERROR,
    "WARNING": logging.WARNING,
    "WARN": logging.WARNING,
    "INFO": logging.INFO,
    "DEBUG": logging.DEBUG,
    "NOTSET": logging.NOTSET,
}


def level_number(name: str | int | None) -> int:
    """The numeric level of a backend level name (``"INFO"`` -> 20).

    Prefect 1 turned an unknown name into the *string* ``"Level FOO"``, which broke sorting; here an
    unknown name is level 0 (``NOTSET``) and the name itself stays in ``FlowRunLog.level_name``.
    """
    if isinstance(name, int) and not isinstance(name, bool):
        return name
    if not isinstance(name, str):
        return logging.NOTSET
    text = name.strip()
    if text.lstrip("-").isdigit():
        return int(text)
    return _LEVELS.get(text.upper(), logging.NOTSET)


@attrs.frozen(kw_only=True, repr=False)
class FlowRunLog:
    """One log line of a flow run (or of one of its task runs).

    Attributes:
        timestamp: when it was logged (timezone-aware).
        level: the numeric level (``logging.INFO`` is 20).
        message: the text.
        level_name: the level as the backend stores it (``"INFO"``).
        name: the logger name, e.g. ``prefect.CloudTaskRunner``, where the backend has it.
        task_run_id: the task run that logged it, or None for flow-level lines.
        id: the backend's id of the line (keeps lines with equal timestamps apart).
    """

    timestamp: datetime
    level: int
    message: str
    level_name: str | None = None
    name: str | None = None
    task_run_id: str | None = None
    id: str | None = attrs.field(default=None, eq=True)

    @classmethod
    def from_row(cls, row: Row) -> FlowRunLog:
        level_name = row.opt_string("level")
        return cls(
            timestamp=row.timestamp("timestamp"),
            level=level_number(level_name),
            message=row.opt_string("message") or "",
            level_name=level_name,
            name=row.opt_string("name"),
            task_run_id=row.opt_string("task_run_id"),
            id=row.opt_string("id"),
        )

    def __repr__(self) -> str:
        return (
            f"FlowRunLog(timestamp={self.timestamp!r}, level={self.level!r}, "
            f"message={self.message!r})"
        )

    # --- Prefect's FlowRunLog is a NamedTuple (timestamp, level, message): unpack and sort alike --

    def _triple(self) -> tuple[datetime, int, str]:
        return (self.timestamp, self.level, self.message)

    def __iter__(self) -> Iterator[Any]:
        """``timestamp, level, message = log``, as with Prefect's NamedTuple."""
        return iter(self._triple())

    def __len__(self) -> int:
        return 3

    @overload
    def __getitem__(self, index: int) -> Any: ...
    @overload
    def __getitem__(self, index: slice) -> tuple[Any, ...]: ...
    def __getitem__(self, index: int | slice) -> Any:
        """``log[0]`` is the timestamp, ``log[1]`` the level, ``log[2]`` the message."""
        return self._triple()[index]

    def __lt__(self, other: object) -> bool:
        """Ordered like Prefect's tuples: by timestamp, then level, then message."""
        if not isinstance(other, FlowRunLog):
            return NotImplemented
        return self._triple() < other._triple()

    def __le__(self, other: object) -> bool:
        if not isinstance(other, FlowRunLog):
            return NotImplemented
        return self._triple() <= other._triple()

    def __gt__(self, other: object) -> bool:
        if not isinstance(other, FlowRunLog):
            return NotImplemented
        return self._triple() > other._triple()

    def __ge__(self, other: object) -> bool:
        if not isinstance(other, FlowRunLog):
            return NotImplemented
        return self._triple() >= other._triple()

    def to_dict(self) -> dict[str, object]:
        """A JSON-ready dict (timestamp as ISO 8601)."""
        return {
            "timestamp": self.timestamp.isoformat(),
            "level": self.level,
            "level_name": self.level_name,
            "message": self.message,
            "name": self.name,
            "task_run_id": self.task_run_id,
            "id": self.id,
        }


async def log_pages(client: Client, where: Mapping[str, Any], *,
                    page_size: int) -> AsyncIterator[list[FlowRunLog]]:
    """The log lines matching ``where``, oldest first, one page at a time.

    Keyset paging on ``(timestamp, id)``: lines that share a timestamp are neither lost nor
    repeated, however many there are.
    """
    async for rows in keyset_pages(client, _queries.LOGS_PAGE, root="log", where=where,
                                   keys=("timestamp", "id"), page_size=page_size,
                                   what="log line"):
        yield [FlowRunLog.from_row(row) for row in rows]
