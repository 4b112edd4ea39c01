"""When and how long to wait before trying a request again."""

from __future__ import annotations

import random

import attrs

from flowview_async.errors import InvalidArgumentError

__all__ = ["RetryPolicy"]


def _positive(instance: object, attribute: attrs.Attribute[float], value: float) -> None:
    if not isinstance(value, (int, float)) or isinstance(value, bool) or value <= 0:
        msg = f"RetryPolicy({attribute.name}=...) must be a positive number of seconds, got {value!r}."
        raise InvalidArgumentError(msg)


def _at_least_one(instance: object, attribute: attrs.Attribute[int], value: int) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        msg = f"RetryPolicy(attempts=...) must be an integer of at least 1, got {value!r}."
        raise InvalidArgumentError(msg)


@attrs.frozen(kw_only=True)
class RetryPolicy:
    """Exponential backoff with full jitter, bounded by a number of attempts and a total deadline.

    Retried: connection errors, timeouts, HTTP 5xx, HTTP 429 (waiting at least ``Retry-After``)
    and Prefect's ``API_ERROR``. Never retried: validation errors, other 4xx, cassette misses.

    Attributes:
        attempts: the most tries of one request, the first included.
        backoff: the first wait, in seconds; each later one doubles, up to ``max_backoff``.
        max_backoff: the longest single wait, in seconds.
        deadline: total seconds one request may take, waits and retries included.
    """

    attempts: int = attrs.field(default=5, validator=_at_least_one)
    backoff: float = attrs.field(default=0.25, validator=_positive)
    max_backoff: float = attrs.field(default=8.0, validator=_positive)
    deadline: float = attrs.field(default=60.0, validator=_positive)

    def delay(self, attempt: int, *, retry_after: float | None = None,
              rng: random.Random | None = None) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (1-based)."""
        ceiling = min(self.max_backoff, self.backoff * (2 ** (attempt - 1)))
        # Full jitter spreads the retries of many concurrent callers (AWS architecture blog).
        wait = (rng or random).uniform(0, ceiling)
        if retry_after is not None:
            wait = max(wait, retry_after)
        return wait

    @classmethod
    def none(cls) -> RetryPolicy:
        """A policy that never retries."""
        return cls(attempts=1)
