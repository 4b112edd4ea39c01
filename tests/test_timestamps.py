"""One timestamp parser for the SDK and one for the backend, against Prefect's (pendulum) and
Postgres' forms; out-of-range moments are typed errors, never OverflowError."""

from __future__ import annotations

import json
import textwrap
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from flowview_async._timestamps import parse_timestamp
from flowview_async.errors import MalformedResponseError
from flowview_async.server import values
from tests.prefect1_peer import run_in_peer

# What Prefect Server/Hasura, marshmallow, pendulum and Postgres write.
FORMS = [
    "2021-06-01T12:00:00+00:00",
    "2021-06-01T12:00:00.123456+00:00",
    "2021-06-01T12:00:00.5+00:00",  # Postgres drops trailing zeros
    "2021-06-01T12:00:00.1234567891+00:00",  # 10 fraction digits
    "2021-06-01T12:00:00Z",
    "2021-06-01T12:00:00z",
    "2021-06-01t12:00:00Z",
    "2021-06-01 12:00:00+00",  # psql
    "2021-06-01 12:00:00.25-03",
    "2021-06-01 12:00:00+0530",
    "2021-06-01T12:00:00+05:30",
    "2021-06-01T12:00+02:00",
    "2021-06-01T12:00:00",  # no offset: UTC
    "2021-06-01",  # a bare date: midnight UTC
    "2021-06-01T12:00:00,75Z",
    "0001-01-01T00:00:00+00:00",
    "9999-12-31T23:59:59+00:00",
]

OUT_OF_RANGE = ["9999-12-31T23:59:59-23:59", "0001-01-01T00:00:00+01:00"]
NOT_TIMESTAMPS = ["noon", "2021-13-01", "2021-02-30T00:00:00Z", "2021-06-01T25:00:00Z", "", 17, None,
                  "2021-06-01T12:00:00+00:00 junk", "infinity"]


@pytest.mark.parametrize("text", FORMS)
def test_sdk_and_backend_agree_on_every_form(text: str) -> None:
    ours = parse_timestamp(text)
    assert ours.tzinfo is not None
    assert ours.astimezone(timezone.utc) == values.parse_timestamp(text)


@pytest.mark.parametrize("text", OUT_OF_RANGE)
def test_moments_outside_the_utc_range_are_typed_errors(text: str) -> None:
    with pytest.raises(MalformedResponseError, match="outside the range"):
        parse_timestamp(text, field="log.timestamp")
    # The backend's parser: a ValueError like any bad input, worded (and typed) as out of range.
    with pytest.raises(values.TimestampOutOfRangeError, match="timestamp out of range"):
        values.parse_timestamp(text)


def test_the_earliest_utc_moment_is_representable() -> None:
    earliest = parse_timestamp("0001-01-01T00:00:00+00:00")
    assert earliest == datetime(1, 1, 1, tzinfo=timezone.utc)
    assert sorted([parse_timestamp("2021-06-01"), earliest])[0] == earliest


@pytest.mark.parametrize("value", NOT_TIMESTAMPS)
def test_non_timestamps_are_typed_errors_naming_the_field(value: object) -> None:
    with pytest.raises(MalformedResponseError, match=r"states\[2\]\.timestamp"):
        parse_timestamp(value, field="states[2].timestamp")


def test_the_same_instants_as_prefects_pendulum() -> None:
    """Prefect 1.4.1 reads every timestamp with ``pendulum.parse``: same instants, same offsets."""
    script = textwrap.dedent(f"""
        import json, pendulum
        out = []
        for text in {FORMS!r}:
            try:
                parsed = pendulum.parse(text)
                out.append([parsed.in_timezone("UTC").isoformat(), parsed.utcoffset().total_seconds()])
            except Exception as error:
                out.append(None)
        print(json.dumps(out))
    """)
    theirs = run_in_peer(script)
    for text, answer in zip(FORMS, theirs, strict=True):
        if answer is None:  # pendulum refuses it; we are more lenient, which is allowed
            continue
        instant, offset = answer
        ours = parse_timestamp(text)
        assert ours.astimezone(timezone.utc) == datetime.fromisoformat(instant), text
        assert ours.utcoffset() == timedelta(seconds=offset), text


@given(st.datetimes(min_value=datetime(2, 1, 1), max_value=datetime(9998, 12, 31),
                    timezones=st.sampled_from([timezone.utc, timezone(timedelta(hours=5, minutes=30)),
                                               timezone(timedelta(hours=-3))])),
       st.sampled_from(["T", " ", "t"]), st.sampled_from(["iso", "compact", "hours"]))
def test_round_trip(moment: datetime, separator: str, offset_form: str) -> None:
    text = moment.isoformat(sep=separator)
    if offset_form != "iso" and text.endswith(("+00:00", "+05:30", "-03:00")):
        head, offset = text[:-6], text[-6:]
        offset = offset.replace(":", "") if offset_form == "compact" else offset
        if offset_form == "hours" and offset.endswith(":00"):
            offset = offset[:-3]
        text = head + offset
    assert parse_timestamp(text) == moment
    assert values.parse_timestamp(text) == moment
    assert json.dumps(parse_timestamp(text).isoformat())
