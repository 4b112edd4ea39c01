"""Unit tests for flowview_async.states: classes, predicates, parsing, errors, history, equality."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import attrs
import pytest

import flowview_async.states as states_module
from flowview_async.errors import FlowViewError, MalformedResponseError
from flowview_async.results import NO_RESULT, ResultInfo
from flowview_async.states import (
    NULL_FLOW_RUN_STATE,
    NULL_TASK_RUN_STATE,
    PREFECT_STATE_CLASSES,
    Cached,
    Cancelled,
    Cancelling,
    ClientFailed,
    Failed,
    Finished,
    Looped,
    Mapped,
    Paused,
    Pending,
    Queued,
    Resume,
    Retrying,
    Running,
    Scheduled,
    Skipped,
    State,
    Submitted,
    Success,
    TimedOut,
    TriggerFailed,
    UnknownState,
    ValidationFailed,
    parse_state,
    parse_state_history,
    parse_timestamp,
)

REFERENCE_STATES = (
    Path(__file__).resolve().parent / "data" / "prefect1_serialized_states.json"
)
UTC = timezone.utc
T0 = datetime(2022, 1, 2, 3, 4, 5, tzinfo=UTC)

# The predicate table of Prefect 1.4.1 (prefect1_backend.md §9.2): the predicates that are True.
TRUE_PREDICATES: dict[type[State], set[str]] = {
    Pending: {"is_pending"},
    Scheduled: {"is_pending", "is_scheduled"},
    Paused: {"is_pending", "is_scheduled"},
    Resume: {"is_pending", "is_scheduled"},
    Retrying: {"is_pending", "is_scheduled", "is_retrying"},
    Submitted: {"is_submitted", "is_meta_state"},
    Queued: {"is_scheduled", "is_queued", "is_meta_state"},
    ClientFailed: {"is_meta_state"},
    Running: {"is_running"},
    Cancelling: {"is_running", "is_cancelling"},
    Finished: {"is_finished"},
    Looped: {"is_finished", "is_looped"},
    Success: {"is_finished", "is_successful"},
    Cached: {"is_finished", "is_successful", "is_cached"},
    Mapped: {"is_finished", "is_successful", "is_mapped"},
    Skipped: {"is_finished", "is_successful", "is_skipped"},
    Cancelled: {"is_finished"},
    Failed: {"is_finished", "is_failed"},
    TimedOut: {"is_finished", "is_failed"},
    TriggerFailed: {"is_finished", "is_failed"},
    ValidationFailed: {"is_finished", "is_failed"},
}
PREDICATES = sorted(name for name in dir(State) if name.startswith("is_"))


# --- classes and predicates ------------------------------------------------------------------


def test_the_predicate_table_covers_every_class() -> None:
    assert set(TRUE_PREDICATES) == set(PREFECT_STATE_CLASSES)
    assert len(PREFECT_STATE_CLASSES) == 21


@pytest.mark.parametrize("cls", PREFECT_STATE_CLASSES, ids=lambda cls: cls.__name__)
def test_predicates_match_prefect(cls: type[State]) -> None:
    state = parse_state({"type": cls.__name__})
    assert type(state) is cls
    true = {name for name in PREDICATES if getattr(state, name)()}
    assert true == TRUE_PREDICATES[cls]


@pytest.mark.parametrize("cls", PREFECT_STATE_CLASSES, ids=lambda cls: cls.__name__)
def test_repr_name_and_type(cls: type[State]) -> None:
    assert repr(cls()) == f"<{cls.__name__}>"
    assert repr(cls(message="All good.")) == f'<{cls.__name__}: "All good.">'
    assert cls().name == cls().type == cls.__name__


def test_repr_keeps_quotes_and_empty_messages_like_prefect() -> None:
    assert repr(Success(message="")) == '<Success: "">'
    assert repr(Failed(message='said "no"')) == '<Failed: "said "no"">'


def test_parents_and_children() -> None:
    assert Retrying.parents(names_only=True) == ["Scheduled", "Pending", "State"]
    assert Queued.parents() == [State]  # the private _MetaState is hidden
    assert Success.children(names_only=True) == ["Cached", "Mapped", "Skipped"]
    assert Failed.children() == [TimedOut, TriggerFailed, ValidationFailed]
    assert Running.children(include_self=True) == [Cancelling, Running]
    assert State.children() == list(PREFECT_STATE_CLASSES)
    assert UnknownState not in State.children()


def test_colors_are_prefects() -> None:
    assert State.color == "#696969"
    assert Success.color == "#28a745"
    assert Failed.color == "#eb0000"


# --- parsing the recorded Prefect 1.4.1 output -------------------------------------------------


def test_reference_round_trips_match_prefect_repr_and_class() -> None:
    reference = json.loads(REFERENCE_STATES.read_text())
    for name, expected in reference["deserialize_roundtrip"].items():
        state = parse_state(reference["synthetic_serialized"][name])
        assert repr(state) == expected["repr"]
        assert state.name == expected["class"]
        assert dict(state.context) == expected["context"]
    for entry in reference["deserialize_minimal_dicts"]:
        if "ERROR" in entry:
            continue
        state = parse_state(entry["input"])
        assert (state.name, repr(state)) == (entry["class"], entry["repr"])


def test_serialize_gives_back_the_recorded_payload() -> None:
    reference = json.loads(REFERENCE_STATES.read_text())
    for payload in reference["synthetic_serialized"].values():
        if "ERROR" not in payload:
            assert parse_state(payload).serialize() == payload


def test_class_specific_fields() -> None:
    retrying = parse_state(
        {"type": "Retrying", "start_time": "2022-01-02T03:04:05.123456+00:00", "run_count": 2}
    )
    assert isinstance(retrying, Retrying)
    assert retrying.start_time == T0.replace(microsecond=123456)
    assert retrying.run_count == 2
    looped = parse_state({"type": "Looped", "loop_count": 4})
    assert isinstance(looped, Looped)
    assert looped.loop_count == 4
    mapped = parse_state({"type": "Mapped", "n_map_states": 3})
    assert isinstance(mapped, Mapped)
    assert mapped.n_map_states == 3
    assert mapped.result_info == NO_RESULT
    assert "_result" not in mapped.serialize()
    cached = parse_state(
        {
            "type": "Cached",
            "cached_parameters": {"x": 1},
            "cached_result_expiration": "2022-01-02T03:04:05+00:00",
            "hashed_inputs": {"a": "abc", "b": None},
        }
    )
    assert isinstance(cached, Cached)
    assert cached.cached_parameters == {"x": 1}
    assert cached.cached_result_expiration == T0
    assert cached.hashed_inputs == {"a": "abc", "b": None}


def test_defaults_follow_prefect_but_never_invent_times() -> None:
    retrying = parse_state({"type": "Retrying", "run_count": None})
    assert isinstance(retrying, Retrying)
    assert (retrying.run_count, retrying.start_time) == (1, None)
    looped = parse_state({"type": "Looped"})
    assert isinstance(looped, Looped)
    assert looped.loop_count == 1
    mapped = parse_state({"type": "Mapped"})
    assert isinstance(mapped, Mapped)
    assert mapped.n_map_states == 0
    success = parse_state({"type": "Success", "context": None, "cached_inputs": None})
    assert (success.message, success.context, success.cached_inputs) == (None, {}, {})
    assert success.result_info == NO_RESULT


def test_result_envelope_and_cached_inputs() -> None:
    state = parse_state(
        {
            "type": "Pending",
            "cached_inputs": {"x": {"type": "PrefectResult", "location": "1"}},
            "_result": {"type": "LocalResult", "dir": "/srv", "location": "/srv/r.json"},
        }
    )
    assert state.cached_inputs == {"x": ResultInfo(type="PrefectResult", location="1")}
    assert state.result_info == ResultInfo(type="LocalResult", dir="/srv", location="/srv/r.json")


def test_meta_states_wrap_one_level() -> None:
    submitted = parse_state({"type": "Submitted", "state": {"type": "Queued", "state": {"type": "Running"}}})
    assert isinstance(submitted, Submitted)
    assert submitted.state == Running()  # nested meta states unwrap, as in Prefect
    assert Submitted(state=Queued(state=Running(message="r"))).state == Running(message="r")
    queued = parse_state({"type": "Queued", "start_time": "2022-01-02T03:04:05Z"})
    assert isinstance(queued, Queued)
    assert (queued.state, queued.start_time) == (None, T0)
    assert queued.is_scheduled()
    assert not queued.is_pending()


def test_json_text_is_accepted() -> None:
    assert parse_state('{"type": "Success", "message": "ok"}') == Success(message="ok")


def test_null_state_needs_an_explicit_meaning() -> None:
    with pytest.raises(MalformedResponseError, match="if_null"):
        parse_state(None)
    assert parse_state(None, if_null=NULL_FLOW_RUN_STATE) is NULL_FLOW_RUN_STATE
    assert repr(NULL_FLOW_RUN_STATE) == '<Pending: "A state for this flow run is not yet available.">'
    assert parse_state(None, if_null=NULL_TASK_RUN_STATE).is_scheduled()


# --- malformed payloads ----------------------------------------------------------------------

MALFORMED: dict[str, tuple[Any, str]] = {
    "a list": ([{"type": "Success"}], "serialized_state must be a JSON object"),
    "a number": (42, "serialized_state must be a JSON object"),
    "bad JSON text": ('{"type": ', "not valid JSON"),
    "JSON text of a list": ("[1, 2]", "must be a JSON object"),
    "no type": ({"message": "hi"}, "has no 'type'"),
    "type not a string": ({"type": 3}, r"serialized_state\.type must be"),
    "empty type": ({"type": ""}, r"serialized_state\.type must be"),
    "message not a string": ({"type": "Success", "message": 5}, r"\.message must be a string"),
    "context a list": ({"type": "Success", "context": [1]}, r"\.context must be a JSON object"),
    "context non-str keys": ({"type": "Success", "context": {1: 2}}, r"\.context must be"),
    "cached_inputs a list": ({"type": "Pending", "cached_inputs": []}, r"\.cached_inputs must"),
    "cached input not an object": (
        {"type": "Pending", "cached_inputs": {"x": 1}},
        r"cached_inputs\.x must be a JSON object",
    ),
    "null _result": ({"type": "Success", "_result": None}, r"_result is null"),
    "_result a string": ({"type": "Success", "_result": "x"}, r"_result must be a JSON object"),
    "_result type an int": ({"type": "Success", "_result": {"type": 1}}, r"_result\.type must"),
    "location an int": (
        {"type": "Success", "_result": {"type": "PrefectResult", "location": 1}},
        r"_result\.location must be a string",
    ),
    "start_time garbage": (
        {"type": "Scheduled", "start_time": "yesterday"},
        r"serialized_state\.start_time must be an ISO 8601",
    ),
    "start_time a number": ({"type": "Scheduled", "start_time": 12}, r"start_time must be"),
    "start_time impossible date": (
        {"type": "Scheduled", "start_time": "2022-13-01T00:00:00+00:00"},
        r"start_time is not a valid timestamp",
    ),
    "run_count a string": ({"type": "Retrying", "run_count": "2"}, r"run_count must be an int"),
    "run_count a bool": ({"type": "Retrying", "run_count": True}, r"run_count must be an int"),
    "loop_count null": ({"type": "Looped", "loop_count": None}, r"loop_count must be an int"),
    "n_map_states a float": ({"type": "Mapped", "n_map_states": 2.5}, r"n_map_states must be"),
    "hashed_inputs bad": ({"type": "Cached", "hashed_inputs": {"a": 1}}, r"hashed_inputs must"),
    "cached_result_expiration bad": (
        {"type": "Cached", "cached_result_expiration": "soon"},
        r"cached_result_expiration must be",
    ),
    "nested state malformed": (
        {"type": "Submitted", "state": {"message": "x"}},
        r"serialized_state\.state has no 'type'",
    ),
    "nested state not an object": (
        {"type": "Queued", "state": "Running"},
        r"serialized_state\.state must be a JSON object",
    ),
}


@pytest.mark.parametrize(("payload", "message"), MALFORMED.values(), ids=list(MALFORMED))
def test_malformed_payloads_raise_a_typed_error(payload: Any, message: str) -> None:
    with pytest.raises(MalformedResponseError, match=message) as caught:
        parse_state(payload)
    assert isinstance(caught.value, FlowViewError)
    # Python's own errors (KeyError, TypeError, marshmallow's) never leak through as the cause.
    assert caught.value.__cause__ is None


def test_absurd_nesting_is_refused_not_a_recursion_error() -> None:
    payload: dict[str, Any] = {"type": "Running"}
    for _ in range(2000):
        payload = {"type": "Submitted", "state": payload}
    with pytest.raises(MalformedResponseError, match="nested more than"):
        parse_state(payload)
    deep_context: Any = []
    for _ in range(5000):
        deep_context = [deep_context]
    with pytest.raises(MalformedResponseError, match="too deeply nested"):
        parse_state({"type": "Success", "context": {"x": deep_context}})


def test_parsing_copies_its_input() -> None:
    payload: dict[str, Any] = {"type": "Success", "context": {"tags": ["a"]}}
    state = parse_state(payload)
    payload["context"]["tags"].append("b")
    payload["type"] = "Failed"
    assert state.context == {"tags": ["a"]}
    assert state.raw["type"] == "Success"
    state.serialize()["context"]["tags"].append("c")
    assert state.context == {"tags": ["a"]}


def test_unknown_keys_are_ignored_but_kept_in_raw() -> None:
    state = parse_state({"type": "Success", "flavour": "new"})
    assert state == Success()
    assert state.raw["flavour"] == "new"
    assert "flavour" not in state.serialize()


# --- unknown state types -----------------------------------------------------------------------


def test_unknown_type_is_kept_with_all_predicates_false() -> None:
    payload = {"type": "Crashed", "message": "worker died", "extra": [1], "_result": {}}
    state = parse_state(payload)
    assert isinstance(state, UnknownState)
    assert (state.name, state.type, state.type_name) == ("Crashed", "Crashed", "Crashed")
    assert state.message == "worker died"
    assert repr(state) == "<UnknownState 'Crashed': \"worker died\">"
    assert repr(UnknownState(type_name="X")) == "<UnknownState 'X'>"
    assert not any(getattr(state, name)() for name in PREDICATES)
    assert state.serialize() == payload
    assert UnknownState.parents(names_only=True) == ["State"]
    assert state.result_info == ResultInfo(type="Result")


def test_abstract_prefect_names_are_unknown_too() -> None:
    assert isinstance(parse_state({"type": "State"}), UnknownState)
    assert isinstance(parse_state({"type": "_MetaState"}), UnknownState)


def test_unknown_state_serializes_without_raw() -> None:
    state = UnknownState(type_name="Crashed", message="m")
    assert parse_state(state.serialize()) == attrs.evolve(state, raw=state.serialize())


# --- equality, hashing, immutability -------------------------------------------------------


def test_equality_is_structural() -> None:
    assert parse_state({"type": "Success", "message": "a"}) == Success(message="a")
    assert Success(message="a") != Success(message="b")  # Prefect would say equal; we do not
    assert Success() != Finished()
    assert Success(context={"tags": []}) != Success()
    assert Scheduled(start_time=T0) != Scheduled(start_time=T0 + timedelta(seconds=1))
    assert Success(timestamp=T0) != Success()
    assert Submitted(state=Running()) != Submitted(state=Pending())
    # raw is not compared: same content with or without __version__ is the same state.
    assert parse_state({"type": "Success", "__version__": "1.4.1"}) == parse_state({"type": "Success"})


def test_states_are_hashable_and_frozen() -> None:
    a = parse_state({"type": "Success", "context": {"tags": ["x"]}, "message": "m"})
    b = parse_state({"type": "Success", "context": {"tags": ["x"]}, "message": "m"})
    assert hash(a) == hash(b)
    assert len({a, b, Failed()}) == 2
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        a.message = "changed"  # type: ignore[misc]


@pytest.mark.parametrize(
    "state",
    [
        Scheduled(message="s", start_time=T0, context={"a": 1}),
        Paused(start_time=None),
        Retrying(start_time=T0, run_count=3),
        Queued(start_time=T0, state=Running(message="r")),
        ClientFailed(state=None),
        Looped(loop_count=2),
        Cached(cached_parameters={"x": [1]}, cached_result_expiration=T0, hashed_inputs={"x": "h"}),
        Mapped(n_map_states=4),
        Success(result_info=ResultInfo(type="S3Result", bucket="b", location="k")),
        Failed(cached_inputs={"x": ResultInfo(type="PrefectResult", location="1")}),
    ],
    ids=repr,
)
def test_constructed_states_round_trip_through_serialize(state: State) -> None:
    parsed = parse_state(state.serialize())
    assert parsed == state
    assert parsed.serialize() == state.serialize()


# --- history ------------------------------------------------------------------------------------


def _row(timestamp: Any, type_name: str, message: str | None = None) -> dict[str, Any]:
    return {"timestamp": timestamp, "serialized_state": {"type": type_name, "message": message}}


def test_history_is_sorted_by_timestamp_and_stable_for_ties() -> None:
    rows = [
        _row("2022-01-02T03:04:07+00:00", "Success"),
        _row("2022-01-02T03:04:05+00:00", "Scheduled"),
        _row("2022-01-02T03:04:06+00:00", "Running", "first"),
        _row("2022-01-02T04:04:06+01:00", "Running", "second, same instant"),
    ]
    history = parse_state_history(rows)
    assert [repr(state) for state in history] == [
        "<Scheduled>",
        '<Running: "first">',
        '<Running: "second, same instant">',
        "<Success>",
    ]
    assert history[0].timestamp == T0
    assert all(state.timestamp is not None and state.timestamp.tzinfo for state in history)
    assert parse_state_history([]) == ()


BAD_HISTORIES: dict[str, tuple[Any, str]] = {
    "not a list": ({"timestamp": "x"}, "must be a list"),
    "a string": ("states", "must be a list"),
    "row not an object": ([1], r"states\[0\] must be an object"),
    "missing timestamp": ([{"serialized_state": {"type": "Running"}}], r"timestamp is missing"),
    "bad timestamp": ([_row("noon", "Running")], r"states\[0\]\.timestamp must be an ISO 8601"),
    "null state": ([{"timestamp": "2022-01-02T03:04:05Z", "serialized_state": None}], "null"),
    "bad state": (
        [
            _row("2022-01-02T03:04:05Z", "Running"),
            {"timestamp": "2022-01-02T03:04:05Z", "serialized_state": {"type": 1}},
        ],
        r"states\[1\]\.serialized_state\.type",
    ),
}


@pytest.mark.parametrize(("rows", "message"), BAD_HISTORIES.values(), ids=list(BAD_HISTORIES))
def test_bad_history_raises_a_typed_error(rows: Any, message: str) -> None:
    with pytest.raises(MalformedResponseError, match=message):
        parse_state_history(rows)


# --- timestamps ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2022-01-02T03:04:05+00:00", T0),
        ("2022-01-02T03:04:05Z", T0),
        ("2022-01-02T03:04:05", T0),  # no offset: UTC, as pendulum reads it
        ("2022-01-02 03:04:05+0000", T0),
        ("2022-01-02T03:04:05.5+00:00", T0.replace(microsecond=500000)),
        ("2022-01-02T03:04:05.123456789Z", T0.replace(microsecond=123456)),
        ("2022-01-02T05:04:05+02:00", T0),
        ("2022-01-02T01:04:05-02", T0),
        ("2022-01-02T03:04Z", T0.replace(second=0)),
        ("2022-01-02", T0.replace(hour=0, minute=0, second=0)),  # a bare date: midnight UTC
    ],
)
def test_parse_timestamp_variants(text: str, expected: datetime) -> None:
    parsed = parse_timestamp(text)
    assert parsed == expected
    assert parsed.tzinfo is not None


@pytest.mark.parametrize("value", ["", "2022-01-32", "2022-01-02T25:00:00Z", None, 1.5, "now"])
def test_parse_timestamp_refuses_garbage(value: Any) -> None:
    with pytest.raises(MalformedResponseError, match="when"):
        parse_timestamp(value, path="when")


# --- module surface -----------------------------------------------------------------------------


def test_public_names_are_sorted_and_importable() -> None:
    names = states_module.__all__
    # ruff's RUF022 order: CONSTANTS, then Classes, then functions, each alphabetical.
    assert names == sorted(names, key=lambda n: (not n.isupper(), not n[0].isupper(), n))
    for name in names:
        assert hasattr(states_module, name), name
