"""A time budget per request for the database work it causes, and its cancellation.

The HTTP layer opens a :func:`statement_budget` around executing a request; every database call
made inside it (whatever resolver or mutation makes it) carries the budget to the database thread,
where SQLite's progress handler checks it every few thousand virtual-machine steps and interrupts
the statement once the deadline has passed or the request was cancelled (the client went away).
A call still queued behind others when that happens does not start at all.

Work started outside any budget (loading fixtures, generating synthetic data) is never interrupted.
"""

from __future__ import annotations

import contextlib
import sqlite3
import time
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from typing import TypeVar

import attrs

T = TypeVar("T")
# SQLite calls the progress handler every this many virtual-machine instructions (well under 1 ms).
_PROGRESS_STEPS = 5_000


@attrs.define
class Budget:
    """The deadline (``time.monotonic``) of one request's database work, and whether it is gone."""

    seconds: float
    deadline: float
    cancelled: bool = False

    def exhausted(self) -> bool:
        return self.cancelled or time.monotonic() > self.deadline


class StatementTimeout(Exception):
    """The request's database work ran out of time (or its client went away) and was stopped."""

    def __init__(self, budget: Budget) -> None:
        if budget.cancelled:
            message = "the request was cancelled (its client went away); its database work was stopped"
        else:
            message = (
                f"the query ran longer than the statement time limit of {budget.seconds:g} s and "
                "was stopped; narrow it (`where:`, `limit:`) or raise the limit "
                "(`flowview serve --statement-timeout SECONDS`)"
            )
        super().__init__(message)
        # graphql-core copies an original error's `extensions` into the GraphQL error.
        self.extensions = {"code": "STATEMENT_TIMEOUT"}


_BUDGET: ContextVar[Budget | None] = ContextVar("flowview_statement_budget", default=None)


@contextlib.contextmanager
def statement_budget(seconds: float) -> Iterator[Budget]:
    """Database calls made inside (in this task and the tasks it starts) share one budget."""
    budget = Budget(seconds, time.monotonic() + seconds)
    token = _BUDGET.set(budget)
    try:
        yield budget
    finally:
        _BUDGET.reset(token)


def current_budget() -> Budget | None:
    return _BUDGET.get()


class Interrupter:
    """Installed on the database connection; runs each call under its request's budget."""

    def __init__(self) -> None:
        self._active: Budget | None = None
        self._connection: sqlite3.Connection | None = None

    def install(self, connection: sqlite3.Connection) -> None:
        self._connection = connection

    def _progress(self) -> int:
        budget = self._active
        return 1 if budget is not None and budget.exhausted() else 0

    def run(self, budget: Budget | None, function: Callable[[], T]) -> T:
        """Run ``function`` (in the database thread) interruptible by ``budget``."""
        if budget is None:
            return function()
        if budget.exhausted():
            raise StatementTimeout(budget)
        self._active = budget
        if self._connection is not None:
            # Set again each time: other jobs (synthetic data) install handlers of their own.
            self._connection.set_progress_handler(self._progress, _PROGRESS_STEPS)
        try:
            return function()
        except sqlite3.OperationalError as error:
            if budget.exhausted() and "interrupt" in str(error):
                raise StatementTimeout(budget) from None
            raise
        finally:
            self._active = None

