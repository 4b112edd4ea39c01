"""Checking the ids and names callers pass, before any request is made."""

from __future__ import annotations

import uuid
from typing import Any

from flowview_async.errors import InvalidArgumentError

__all__ = ["check_id", "check_name"]


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


def check_name(value: Any, what: str) -> str:
    if not isinstance(value, str) or not value:
        msg = f"{what} must be a non-empty string, got {value!r}."
        raise InvalidArgumentError(msg)
    return value
