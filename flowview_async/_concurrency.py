"""Structured concurrency for every fan-out of the SDK, and timeouts that keep cancellations.

- :func:`gather` runs awaitables concurrently as one unit: when one fails, the others are cancelled
  *and awaited* before the first error is raised, so no request of the call outlives it (and a
  temporary client is closed only after its last request). A ``TaskGroup`` on Python 3.11+; on
  3.10, the same contract built from ``asyncio.wait``.
- :func:`timeout` is ``asyncio.timeout`` on 3.11+ and ``async_timeout.timeout`` on 3.10. Unlike
  ``asyncio.wait_for`` on Python <= 3.11, neither can swallow a ``task.cancel()`` that arrives
  together with the answer.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Coroutine, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any, TypeVar

__all__ = ["gather", "timeout"]

T = TypeVar("T")


if sys.version_info >= (3, 11):

    def timeout(seconds: float | None) -> AbstractAsyncContextManager[Any]:
        """Cancel the block after ``seconds`` (raising ``TimeoutError``); ``None``: no limit."""
        return asyncio.timeout(seconds)

else:  # pragma: no cover - exercised on Python 3.10 only
    import async_timeout

    def timeout(seconds: float | None) -> AbstractAsyncContextManager[Any]:
        """Cancel the block after ``seconds`` (raising ``TimeoutError``); ``None``: no limit."""
        limit: AbstractAsyncContextManager[Any] = async_timeout.timeout(seconds)
        return limit


if sys.version_info >= (3, 11):

    def _first(failures: BaseExceptionGroup[BaseException]) -> BaseException:  # noqa: F821
        error: BaseException = failures.exceptions[0]
        while isinstance(error, BaseExceptionGroup):  # noqa: F821
            error = error.exceptions[0]
        return error


async def _run(awaitable: Awaitable[T]) -> T:
    return await awaitable


def _coroutine(awaitable: Awaitable[T]) -> Coroutine[Any, Any, T]:
    return awaitable if isinstance(awaitable, Coroutine) else _run(awaitable)


async def gather(*awaitables: Awaitable[Any]) -> list[Any]:
    """Await all of ``awaitables`` concurrently and return their results in order.

    The first failure cancels the others, waits for them to finish, and is raised as itself (not
    wrapped in an exception group), so callers keep catching the typed errors they know.
    Cancelling the caller cancels them all, and waits for them too.
    """
    if sys.version_info >= (3, 11):
        error: BaseException | None = None
        try:
            async with asyncio.TaskGroup() as group:
                tasks = [group.create_task(_coroutine(a)) for a in awaitables]
        except BaseExceptionGroup as failures:  # noqa: F821
            error = _first(failures)
        if error is not None:
            raise error  # outside the handler: its own cause and context stay as they were
        return [task.result() for task in tasks]
    return await _gather_310(awaitables)  # pragma: no cover - Python 3.10 only


async def _gather_310(awaitables: tuple[Awaitable[Any], ...]) -> list[Any]:  # pragma: no cover
    tasks = [asyncio.ensure_future(_coroutine(a)) for a in awaitables]
    try:
        _, pending = await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
    except BaseException:
        await _cancel_and_wait(tasks)  # the caller was cancelled: take the children with it
        raise
    failed = [t for t in tasks if t.done() and not t.cancelled() and t.exception() is not None]
    if failed:
        await _cancel_and_wait(list(pending))
        error = failed[0].exception()
        assert error is not None
        raise error
    return [task.result() for task in tasks]


async def _cancel_and_wait(tasks: Sequence[asyncio.Future[Any]]) -> None:  # pragma: no cover
    for task in tasks:
        task.cancel()
    while True:
        # Keep waiting even if we are cancelled again meanwhile: no child may outlive the call.
        try:
            await asyncio.gather(*tasks, return_exceptions=True)
            return
        except asyncio.CancelledError:
            if all(task.done() for task in tasks):
                raise
