"""The SDK's one timestamp parser: every timestamp read from a backend answer goes through here.

Accepted: ISO 8601 as Prefect Server, Hasura and marshmallow write it, plus what pendulum (Prefect
1's parser) and Postgres also produce: ``T``, ``t`` or a space between date and time; ``Z``/``z``;
offsets ``+HH``, ``+HHMM`` or ``+HH:MM``; 1 to any number of fraction digits (cut to microseconds);
minutes without seconds; a bare date (midnight). No offset means UTC (Prefect Server stores
``timestamptz`` in UTC).

The text is normalised by one regular expression, then read by ``datetime.fromisoformat`` (fast in
C, and the same on every Python version because the normalised form is the plain one). The result
keeps the offset it was written with, and is guaranteed to be convertible to UTC: a moment that
only exists outside ``datetime``'s range (``0001-01-01T00:00:00+01:00``,
``9999-12-31T23:59:59-23:59``) is a :class:`MalformedResponseError`, never an ``OverflowError``
later, when it is compared or sorted.
"""

from __future__ import annotations

import re
from datetime import datetime, timezone

from flowview_async.errors import MalformedResponseError

__all__ = ["format_timestamp", "parse_timestamp"]

_TIMESTAMP = re.compile(
    r"\s*(?P<date>\d{4}-\d{2}-\d{2})"
    r"(?:[Tt ](?P<hour>\d{2}):(?P<minute>\d{2})(?::(?P<second>\d{2})(?:[.,](?P<fraction>\d+))?)?"
    r"\s*(?P<offset>[Zz]|[+-]\d{2}(?::?\d{2})?)?)?\s*"
)


def _malformed(field: str, value: object, why: str) -> MalformedResponseError:
    shown = repr(value) if isinstance(value, str) and len(value) <= 80 else type(value).__name__
    return MalformedResponseError(
        f"The backend answered with unexpected data: {field} {why}, got {shown}. "
        "Is this a Prefect 1 backend?"
    )


def parse_timestamp(value: object, *, field: str = "timestamp") -> datetime:
    """A backend timestamp as an aware ``datetime`` (see the module docstring for the forms).

    Raises:
        MalformedResponseError: ``value`` is not such a timestamp, names no real moment
            (``2021-02-30``), or lies outside the range ``datetime`` can hold in UTC. The message
            names ``field``.
    """
    if isinstance(value, datetime):
        parsed = value if value.tzinfo is not None else value.replace(tzinfo=timezone.utc)
    else:
        match = _TIMESTAMP.fullmatch(value) if isinstance(value, str) else None
        if match is None:
            raise _malformed(field, value, "must be an ISO 8601 timestamp such as "
                                           "'2021-06-01T12:00:00+00:00'")
        offset = match["offset"]
        if offset is None or offset in ("Z", "z"):
            offset = "+00:00"
        elif len(offset) == 3:
            offset += ":00"
        elif len(offset) == 5:
            offset = f"{offset[:3]}:{offset[3:]}"
        fraction = (match["fraction"] or "")[:6].ljust(6, "0")
        text = (f"{match['date']}T{match['hour'] or '00'}:{match['minute'] or '00'}:"
                f"{match['second'] or '00'}.{fraction}{offset}")
        try:
            parsed = datetime.fromisoformat(text)
        except ValueError as error:
            raise _malformed(field, value, f"is not a valid timestamp ({error})") from None
    try:
        parsed.astimezone(timezone.utc)
    except OverflowError:
        raise _malformed(field, value, "is not a valid timestamp (outside the range of a "
                                       "datetime in UTC)") from None
    return parsed


def format_timestamp(value: datetime) -> str:
    """The form sent to the backend: UTC, microseconds, explicit offset (naive means UTC)."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc).isoformat(timespec="microseconds")
