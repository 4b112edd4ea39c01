"""How column values are stored in SQLite, and how GraphQL/fixture input is converted to them.

* ``timestamptz``: ISO 8601 text in UTC, written the way Postgres/Hasura print it
  (``2021-05-12T17:59:56.383629+00:00``; trailing zeros of the fraction dropped). Always UTC, so
  plain text comparison sorts chronologically (see :func:`format_timestamp`).
* ``uuid``: lower-case canonical text.
* ``jsonb``: compact JSON text with sorted keys, so equal documents compare equal as text.
* ``Boolean``: 0/1. ``Int``/``Float``/``String``/``interval``: as is.

Invalid input raises :class:`ValueError` with the Postgres wording; callers turn it into the error
shape of their layer (GraphQL ``data-exception`` or :class:`~flowview_async.errors.FixtureError`).
"""

from __future__ import annotations

import datetime as dt
import json
import re
import uuid
from typing import Any

_TIMESTAMP = re.compile(
    r"^(?P<date>\d{4}-\d{2}-\d{2})"
    r"(?:[Tt ](?P<hour>\d{2}):(?P<minute>\d{2})(?::(?P<second>\d{2})(?:[.,](?P<fraction>\d+))?)?)?"
    r"\s*(?P<tz>Z|z|[+-]\d{2}(?::?\d{2})?)?$"
)

SQL_TYPE_NAMES = {
    "uuid": "uuid",
    "timestamptz": "timestamp with time zone",
    "Int": "integer",
    "Float": "double precision",
    "Boolean": "boolean",
    "String": "character varying",
    "jsonb": "jsonb",
    "interval": "interval",
}


def _invalid(scalar: str, value: Any) -> ValueError:
    shown = value if isinstance(value, str) else json.dumps(value)
    return ValueError(f'invalid input syntax for type {SQL_TYPE_NAMES[scalar]}: "{shown}"')


def parse_timestamp(value: str) -> dt.datetime:
    """The backend's one timestamp parser: ISO 8601 and the Postgres forms (``T``/``t``/space,
    ``Z``/``z``, ``+HH``/``+HHMM``/``+HH:MM``, any fraction digits, a bare date); no offset means
    UTC (the server's session time zone). The result is in UTC; a moment outside that range
    raises :class:`ValueError` with the Postgres wording, like any invalid input."""
    match = _TIMESTAMP.match(value.strip())
    if match is None:
        raise _invalid("timestamptz", value)
    try:
        date = dt.date.fromisoformat(match["date"])
        fraction = (match["fraction"] or "0")[:6].ljust(6, "0")
        moment = dt.datetime(
            date.year,
            date.month,
            date.day,
            int(match["hour"] or 0),
            int(match["minute"] or 0),
            int(match["second"] or 0),
            int(fraction),
        )
    except ValueError:
        raise _invalid("timestamptz", value) from None
    tz_text = match["tz"]
    if tz_text is None or tz_text in ("Z", "z"):
        offset = dt.timedelta(0)
    else:
        digits = tz_text[1:].replace(":", "")
        offset = dt.timedelta(hours=int(digits[:2]), minutes=int(digits[2:4] or 0))
        if tz_text[0] == "-":
            offset = -offset
    try:
        return moment.replace(tzinfo=dt.timezone(offset)).astimezone(dt.timezone.utc)
    except OverflowError:  # e.g. 9999-12-31T23:59:59-23:59: no such moment in UTC's range
        raise _invalid("timestamptz", value) from None


def format_timestamp(moment: dt.datetime) -> str:
    """The stored (and served) text of an aware datetime, as Postgres prints it.

    Trailing zeros of the fraction are dropped ("…:04.5+00:00"); text order stays chronological
    because '+' sorts before every digit and before '.'.
    """
    text = moment.astimezone(dt.timezone.utc).replace(tzinfo=None).isoformat()
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text + "+00:00"


def normalize_timestamp(value: Any) -> str:
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.timezone.utc)
        return format_timestamp(value)
    if not isinstance(value, str):
        raise _invalid("timestamptz", value)
    return format_timestamp(parse_timestamp(value))


def normalize_uuid(value: Any) -> str:
    if isinstance(value, uuid.UUID):
        return str(value)
    if not isinstance(value, str):
        raise _invalid("uuid", value)
    try:
        return str(uuid.UUID(value.strip()))
    except ValueError:
        raise _invalid("uuid", value) from None


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def to_storage(scalar: str, value: Any) -> Any:
    """Convert one non-null input value of GraphQL scalar ``scalar`` to its stored form."""
    if scalar == "uuid":
        return normalize_uuid(value)
    if scalar == "timestamptz":
        return normalize_timestamp(value)
    if scalar == "jsonb":
        return canonical_json(value)
    if scalar == "Boolean":
        if not isinstance(value, bool):
            raise _invalid("Boolean", value)
        return int(value)
    if scalar == "Int":
        if isinstance(value, bool) or not isinstance(value, int):
            raise _invalid("Int", value)
        return value
    if scalar == "Float":
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise _invalid("Float", value)
        return float(value)
    if not isinstance(value, str):
        raise _invalid(scalar, value)
    return value


def utc_now() -> str:
    return format_timestamp(dt.datetime.now(dt.timezone.utc))
