"""Checking the ids and names callers pass, before any request is made."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

from flowview_async.errors import InvalidArgumentError

__all__ = ["check_id", "check_ids", "check_map_index", "check_name"]


def check_id(value: Any, what: str) -> str:
    """Return ``value`` as a canonical UUID string, or raise a clear error.

    Prefect Server keys every object by UUID; a malformed one would only fail at the database with
    an obscure message, so it is refused here.
    """
    if not isinstance(value, str):
        msg = f"{what} must be a UUID string, got {type(value).__name__}: {value!r}."
        raise InvalidArgumentError(msg)
    try:
        return str(uuid.UUID(value.strip()))
    except ValueError:
        msg = f"{what} {value!r} is not a UUID (expected e.g. '4c0101af-c6bb-4b96-8661-63a5bbfb5596')."
        raise InvalidArgumentError(msg) from None


def check_ids(values: Any, what: str) -> list[str]:
    """A list (or other iterable, not a string) of UUID strings, each checked by :func:`check_id`."""
    if isinstance(values, (str, bytes)) or not isinstance(values, Iterable):
        msg = (f"{what}s must be a list of UUID strings, got {type(values).__name__}"
               + (" (one id: use the single-id call)" if isinstance(values, str) else "") + ".")
        raise InvalidArgumentError(msg)
    return [check_id(value, what) for value in values]


def check_name(value: Any, what: str) -> str:
    if not isinstance(value, str) or not value:
        msg = f"{what} must be a non-empty string, got {value!r}."
        raise InvalidArgumentError(msg)
    return value


def check_map_index(map_index: Any) -> int:
    """A task run's map index: ``-1`` (not a mapped child) or a child's index."""
    if not isinstance(map_index, int) or isinstance(map_index, bool) or map_index < -1:
        msg = f"map_index must be an integer >= -1 (-1 = not a mapped child), got {map_index!r}."
        raise InvalidArgumentError(msg)
    return map_index
