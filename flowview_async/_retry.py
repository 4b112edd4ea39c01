"""When and how long to wait before trying a request again."""

from __future__ import annotations

import asyncio
import email.utils
import logging
import math
import random
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import attrs

from flowview_async.errors import BackendUnavailableError, FlowViewError, InvalidArgumentError

__all__ = ["RetryPolicy", "Retryable", "parse_retry_after", "with_retries"]

T = TypeVar("T")
logger = logging.getLogger("flowview_async")


class Retryable(Exception):
    """An attempt failed in a way worth retrying; carries the error to raise if none is left."""

    def __init__(self, final: FlowViewError, retry_after: float | None = None) -> None:
        super().__init__(str(final))
        self.final = final
        self.retry_after = retry_after


def _positive(instance: object, attribute: attrs.Attribute[float], value: float) -> None:
    if not isinstance(value, (int, float)) or isinstance(value, bool) or value <= 0:
        msg = f"RetryPolicy({attribute.name}=...) must be a positive number of seconds, got {value!r}."
        raise InvalidArgumentError(msg)


def _at_least_one(instance: object, attribute: attrs.Attribute[int], value: int) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        msg = f"RetryPolicy(attempts=...) must be an integer of at least 1, got {value!r}."
        raise InvalidArgumentError(msg)


def _callable_or_none(instance: object, attribute: attrs.Attribute[Any], value: Any) -> None:
    if value is not None and not callable(value):
        msg = f"RetryPolicy({attribute.name}=...) must be callable, got {type(value).__name__}."
        raise InvalidArgumentError(msg)


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header: delay-seconds (fractional accepted, as many
    servers send them) or an HTTP date. ``None`` when absent or unreadable; never negative."""
    if not value:
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            return None
        seconds = when.timestamp() - (time.time() if now is None else now)
    if math.isnan(seconds) or math.isinf(seconds):
        return None
    return max(0.0, seconds)


@attrs.frozen(kw_only=True)
class RetryPolicy:
    """Exponential backoff with full jitter, bounded by a number of attempts and a total deadline.

    Retried, whatever the body says: connection errors, timeouts, HTTP 429 and 5xx (waiting at
    least ``Retry-After``), Prefect's ``API_ERROR``, and, for queries only, a 200 answer that is not
    a GraphQL response. Never retried: 401/403, validation errors, other 4xx, cassette misses, and
    a mutation whose answer was unreadable (it may have been applied). A wait that would end past
    the deadline is not started: the last error is raised instead.

    Attributes:
        attempts: the most tries of one request, the first included.
        backoff: the first wait, in seconds; each later one doubles, up to ``max_backoff``.
        max_backoff: the longest single wait, in seconds.
        deadline: total seconds one request may take, waits and retries included.
        sleep: how to wait (default: the client's own, which does not wait when replaying).
            Tests pass a recorder of the waits.
        clock: a monotonic clock for the deadline, in seconds (default: the event loop's).
        wall_clock: the time of day, for HTTP-date ``Retry-After`` values (default ``time.time``).
        rng: the jitter's random source (default: the ``random`` module).
    """

    attempts: int = attrs.field(default=5, validator=_at_least_one)
    backoff: float = attrs.field(default=0.25, validator=_positive)
    max_backoff: float = attrs.field(default=8.0, validator=_positive)
    deadline: float = attrs.field(default=60.0, validator=_positive)
    sleep: Callable[[float], Awaitable[None]] | None = attrs.field(
        default=None, eq=False, repr=False, validator=_callable_or_none)
    clock: Callable[[], float] | None = attrs.field(
        default=None, eq=False, repr=False, validator=_callable_or_none)
    wall_clock: Callable[[], float] | None = attrs.field(
        default=None, eq=False, repr=False, validator=_callable_or_none)
    rng: random.Random | None = attrs.field(default=None, eq=False, repr=False)

    def delay(self, attempt: int, *, retry_after: float | None = None,
              rng: random.Random | None = None) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (1-based)."""
        ceiling = min(self.max_backoff, self.backoff * (2 ** (attempt - 1)))
        # Full jitter spreads the retries of many concurrent callers (AWS architecture blog).
        wait = (rng or self.rng or random).uniform(0, ceiling)
        if retry_after is not None:
            wait = max(wait, retry_after)
        return wait

    def retry_after(self, header: str | None) -> float | None:
        """The wait a ``Retry-After`` header asks for, read with this policy's wall clock."""
        return parse_retry_after(header, now=self.wall_clock() if self.wall_clock else None)

    @classmethod
    def none(cls) -> RetryPolicy:
        """A policy that never retries."""
        return cls(attempts=1)


async def with_retries(policy: RetryPolicy, attempt: Callable[[float], Awaitable[T]], *,
                       timeout: float, sleep: Callable[[float], Awaitable[None]],
                       name: str | None) -> T:
    """Run ``attempt(seconds_it_may_take)`` until it returns, retrying on :class:`Retryable`
    within ``policy``; the last attempt's error is raised as itself (with its cause)."""
    clock = policy.clock or asyncio.get_running_loop().time
    wait_for = policy.sleep or sleep
    deadline = clock() + policy.deadline
    tries = 0
    while True:
        tries += 1
        try:
            return await attempt(min(timeout, deadline - clock()))
        except Retryable as failure:
            final = failure.final
            wait = policy.delay(tries, retry_after=failure.retry_after)
            if tries >= policy.attempts or clock() + wait >= deadline:
                if isinstance(final, BackendUnavailableError):
                    final.attempts = tries
                raise final from failure.__cause__
            logger.debug("retrying %s after attempt %d failed (%s); waiting %.2fs",
                         name or "<anonymous>", tries, final, wait)
            await wait_for(wait)
