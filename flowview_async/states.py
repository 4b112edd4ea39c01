"""Prefect 1 states, parsed from the backend's ``serialized_state``, as frozen values.

The hierarchy, the ``is_*`` predicates, ``parents()``/``children()`` and the repr are those of
Prefect 1.4.1's ``prefect.engine.state`` (checked against the real library by
``tests/test_states_differential.py``)::

    State
    ├── Pending
    │   └── Scheduled            start_time
    │       ├── Paused
    │       ├── Resume
    │       └── Retrying         run_count
    ├── _MetaState (private)     state: the wrapped state
    │   ├── ClientFailed
    │   ├── Submitted
    │   └── Queued               start_time   (is_scheduled() is True, is_pending() is False)
    ├── Running
    │   └── Cancelling           (is_running() is True)
    └── Finished
        ├── Looped               loop_count
        ├── Success
        │   ├── Cached           cached_parameters, cached_result_expiration, hashed_inputs
        │   ├── Mapped           n_map_states
        │   └── Skipped          (is_successful() is True)
        ├── Cancelled            (finished, neither successful nor failed)
        └── Failed
            ├── TimedOut
            ├── TriggerFailed
            └── ValidationFailed

Every state also carries ``message``, ``context``, ``cached_inputs`` (name to :class:`ResultInfo`),
``result_info`` (the ``_result`` envelope, for :func:`flowview_async.results.load_result`),
``timestamp`` (set on history entries only) and ``raw`` (the payload as received).

Decisions where this module differs from Prefect 1.4.1, on purpose:

- **Equality is structural**: two states are equal when they are the same class and every field
  is equal, ``message``, ``context``, ``result_info``, the wrapped ``state`` and ``timestamp``
  included (``raw`` is not compared). Prefect's ``State.__eq__`` ignores message, context and
  private attributes; for immutable snapshots plain value equality is the least surprising.
  States are hashable (the dict-valued fields are left out of the hash).
- **No invented times**: Prefect's constructors fill a missing ``start_time`` of Scheduled,
  Retrying and Queued with "now"; here it stays ``None``, so parsing is deterministic.
- **Unknown types do not fail**: a ``type`` that Prefect 1.4.1 does not know (a newer Prefect, a
  Cloud-only state, the abstract ``State``) parses to :class:`UnknownState`, which keeps the type
  name and the raw payload. It is a direct child of :class:`State`, so every ``is_*`` predicate
  answers False (in particular it is not finished: a watcher keeps polling), its repr is
  ``<UnknownState 'Foo': "msg">`` and ``serialize()`` gives the payload back unchanged.
  Prefect 1.4.1 raises ``ValidationError`` instead.
- An unknown ``_result`` type keeps its name (Prefect renames it ``CustomResult``); loading it
  raises :class:`~flowview_async.errors.ResultError` either way.

Everything else that Prefect 1.4.1 refuses to load (no ``type``, a non-string ``message``, a
context that is not an object, a bad timestamp, a null ``_result`` or ``loop_count``...) raises
:class:`~flowview_async.errors.MalformedResponseError` naming the field. Timestamps are
timezone-aware :class:`datetime.datetime`; a timestamp without an offset is read as UTC, as
Prefect (pendulum) does.
"""

from __future__ import annotations

import builtins
import copy
import json
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any, ClassVar, Final, Literal, overload

import attrs

from flowview_async import _timestamps
from flowview_async.errors import MalformedResponseError
from flowview_async.results import NO_RESULT, ResultInfo, parse_result_info

__all__ = [
    "NULL_FLOW_RUN_STATE",
    "NULL_TASK_RUN_STATE",
    "PREFECT_STATE_CLASSES",
    "Cached",
    "Cancelled",
    "Cancelling",
    "ClientFailed",
    "Failed",
    "Finished",
    "Looped",
    "Mapped",
    "Paused",
    "Pending",
    "Queued",
    "Resume",
    "Retrying",
    "Running",
    "Scheduled",
    "Skipped",
    "State",
    "Submitted",
    "Success",
    "TimedOut",
    "TriggerFailed",
    "UnknownState",
    "ValidationFailed",
    "parse_state",
    "parse_state_history",
    "parse_timestamp",
]

# A meta state wraps another state; real payloads nest one level. The limit turns a hostile or
# corrupt payload into a MalformedResponseError instead of a RecursionError.
_MAX_NESTING: Final = 32
_TOO_DEEP: Final = (
    "the serialized state is too deeply nested to be a Prefect 1 state (its context or "
    "parameters nest thousands of levels); the backend data looks corrupt."
)


def _unwrap_meta_state(state: State | None) -> State | None:
    # Prefect's _MetaState.state setter does the same: a meta state never wraps another one.
    while isinstance(state, _MetaState):
        state = state.state
    return state


@attrs.frozen(kw_only=True, repr=False)
class State:
    """Base class of every Prefect 1 state. Use the ``is_*`` predicates rather than isinstance."""

    color: ClassVar[str] = "#696969"

    message: str | None = None
    context: Mapping[str, Any] = attrs.field(factory=dict, hash=False)
    cached_inputs: Mapping[str, ResultInfo] = attrs.field(factory=dict, hash=False)
    result_info: ResultInfo = NO_RESULT
    timestamp: datetime | None = None
    raw: Mapping[str, Any] = attrs.field(factory=dict, eq=False, repr=False)

    # --- identity ---------------------------------------------------------------------------

    @property
    def name(self) -> str:
        """The state type name, as in the serialized ``type`` (e.g. ``"Success"``)."""
        return builtins.type(self).__name__

    @property
    def type(self) -> str:
        """Same as :attr:`name`: the serialized ``type`` of this state."""
        return self.name

    def __repr__(self) -> str:
        # Prefect 1.4.1 tests for None, so an empty message still shows as <Success: "">.
        if self.message is not None:
            return f'<{self.name}: "{self.message}">'
        return f"<{self.name}>"

    @overload
    @classmethod
    def parents(cls, names_only: Literal[False] = False) -> list[builtins.type[State]]: ...
    @overload
    @classmethod
    def parents(cls, names_only: Literal[True]) -> list[str]: ...
    @classmethod
    def parents(cls, names_only: bool = False) -> list[builtins.type[State]] | list[str]:
        """The public state classes this one derives from, nearest first (as Prefect 1)."""
        found = [
            parent
            for parent in cls.__mro__[1:]
            if issubclass(parent, State) and not parent.__name__.startswith("_")
        ]
        return [parent.__name__ for parent in found] if names_only else found

    @overload
    @classmethod
    def children(
        cls, include_self: bool = False, names_only: Literal[False] = False
    ) -> list[builtins.type[State]]: ...
    @overload
    @classmethod
    def children(cls, include_self: bool = False, *, names_only: Literal[True]) -> list[str]: ...
    @classmethod
    def children(
        cls, include_self: bool = False, names_only: bool = False
    ) -> list[builtins.type[State]] | list[str]:
        """The public Prefect state classes deriving from this one, depth first (as Prefect 1).

        :class:`UnknownState` is not one of them: it stands for types Prefect 1.4.1 lacks.
        """
        found: list[builtins.type[State]] = [
            child for child in PREFECT_STATE_CLASSES if child is not cls and issubclass(child, cls)
        ]
        if include_self:
            found.append(cls)
        return [child.__name__ for child in found] if names_only else found

    # --- predicates: isinstance checks, exactly as Prefect 1.4.1 --------------------------------

    def is_pending(self) -> bool:
        """Pending, Scheduled, Paused, Resume, Retrying (not Queued or Submitted)."""
        return isinstance(self, Pending)

    def is_scheduled(self) -> bool:
        """Scheduled and its subclasses, and also Queued."""
        return isinstance(self, (Scheduled, Queued))

    def is_retrying(self) -> bool:
        return isinstance(self, Retrying)

    def is_queued(self) -> bool:
        return isinstance(self, Queued)

    def is_submitted(self) -> bool:
        return isinstance(self, Submitted)

    def is_running(self) -> bool:
        """Running and Cancelling."""
        return isinstance(self, Running)

    def is_cancelling(self) -> bool:
        """Cancelling. Not in Prefect 1.4.1 (which has no such predicate): an extension."""
        return isinstance(self, Cancelling)

    def is_finished(self) -> bool:
        return isinstance(self, Finished)

    def is_successful(self) -> bool:
        """Success, Cached, Mapped and Skipped."""
        return isinstance(self, Success)

    def is_failed(self) -> bool:
        """Failed, TimedOut, TriggerFailed, ValidationFailed (not Cancelled)."""
        return isinstance(self, Failed)

    def is_cached(self) -> bool:
        return isinstance(self, Cached)

    def is_mapped(self) -> bool:
        return isinstance(self, Mapped)

    def is_skipped(self) -> bool:
        return isinstance(self, Skipped)

    def is_looped(self) -> bool:
        return isinstance(self, Looped)

    def is_meta_state(self) -> bool:
        """Submitted, Queued and ClientFailed: states that wrap another state."""
        return isinstance(self, _MetaState)

    # --- serialization ------------------------------------------------------------------------

    def serialize(self) -> dict[str, Any]:
        """This state in Prefect 1's serialized form; :func:`parse_state` reads it back equal.

        For a state parsed from a Prefect 1 payload this gives that payload back, minus any keys
        Prefect itself does not know.
        """
        data: dict[str, Any] = {
            "type": self.name,
            "message": self.message,
            "context": copy.deepcopy(dict(self.context)),
            "cached_inputs": {name: info.serialize() for name, info in self.cached_inputs.items()},
            "_result": self.result_info.serialize(),
        }
        data.update(self._serialize_own_fields())
        if "__version__" in self.raw:
            data["__version__"] = self.raw["__version__"]
        return data

    def _serialize_own_fields(self) -> dict[str, Any]:
        """The class-specific keys of the serialized form; subclasses add theirs."""
        return {}


@attrs.frozen(kw_only=True, repr=False)
class Pending(State):
    """Waiting for its upstream dependencies or for a worker."""

    color: ClassVar[str] = "#7ebdff"


@attrs.frozen(kw_only=True, repr=False)
class Scheduled(Pending):
    """Scheduled to run at ``start_time`` (None: not recorded)."""

    color: ClassVar[str] = "#ffab00"

    start_time: datetime | None = None

    def _serialize_own_fields(self) -> dict[str, Any]:
        return {"start_time": _format_datetime(self.start_time)}


@attrs.frozen(kw_only=True, repr=False)
class Paused(Scheduled):
    """Waiting for approval; ``start_time`` None means paused indefinitely."""

    color: ClassVar[str] = "#99a8e8"


@attrs.frozen(kw_only=True, repr=False)
class Resume(Scheduled):
    """A paused run that was approved and may proceed."""

    color: ClassVar[str] = "#f58c0c"


@attrs.frozen(kw_only=True, repr=False)
class Retrying(Scheduled):
    """Failed and scheduled to run again; ``run_count`` is the number of runs so far."""

    color: ClassVar[str] = "#f66a0a"

    run_count: int = 1

    def _serialize_own_fields(self) -> dict[str, Any]:
        return {**super()._serialize_own_fields(), "run_count": self.run_count}


@attrs.frozen(kw_only=True, repr=False)
class _MetaState(State):
    """A state that wraps another one (Prefect's private ``_MetaState``)."""

    state: State | None = attrs.field(default=None, converter=_unwrap_meta_state)

    def _serialize_own_fields(self) -> dict[str, Any]:
        return {"state": None if self.state is None else self.state.serialize()}


@attrs.frozen(kw_only=True, repr=False)
class ClientFailed(_MetaState):
    """The client failed to set a state; ``state`` is the state it tried to set."""

    color: ClassVar[str] = "#eb0000"


@attrs.frozen(kw_only=True, repr=False)
class Submitted(_MetaState):
    """Submitted for execution (e.g. picked up by an agent); ``state`` is the state before."""

    color: ClassVar[str] = "#ffdf5d"


@attrs.frozen(kw_only=True, repr=False)
class Queued(_MetaState):
    """Held back by a concurrency limit, to be retried at ``start_time``."""

    color: ClassVar[str] = "#ffea7f"

    start_time: datetime | None = None

    def _serialize_own_fields(self) -> dict[str, Any]:
        return {**super()._serialize_own_fields(), "start_time": _format_datetime(self.start_time)}


@attrs.frozen(kw_only=True, repr=False)
class Running(State):
    """Running."""

    color: ClassVar[str] = "#3d67ff"


@attrs.frozen(kw_only=True, repr=False)
class Cancelling(Running):
    """Cancellation was requested; still counts as running."""

    color: ClassVar[str] = "#E8E8E8"


@attrs.frozen(kw_only=True, repr=False)
class Finished(State):
    """Done, whatever the outcome."""

    color: ClassVar[str] = "#003ccb"


@attrs.frozen(kw_only=True, repr=False)
class Looped(Finished):
    """One iteration of a looping task finished; ``loop_count`` iterations so far."""

    color: ClassVar[str] = "#003ccb"

    loop_count: int = 1

    def _serialize_own_fields(self) -> dict[str, Any]:
        return {"loop_count": self.loop_count}


@attrs.frozen(kw_only=True, repr=False)
class Success(Finished):
    """Finished successfully."""

    color: ClassVar[str] = "#28a745"


@attrs.frozen(kw_only=True, repr=False)
class Cached(Success):
    """Finished successfully by reusing a cached result."""

    color: ClassVar[str] = "#34d058"

    cached_parameters: Any = attrs.field(default=None, hash=False)
    cached_result_expiration: datetime | None = None
    hashed_inputs: Mapping[str, str | None] | None = attrs.field(default=None, hash=False)

    def _serialize_own_fields(self) -> dict[str, Any]:
        return {
            "cached_parameters": copy.deepcopy(self.cached_parameters),
            "cached_result_expiration": _format_datetime(self.cached_result_expiration),
            "hashed_inputs": None if self.hashed_inputs is None else dict(self.hashed_inputs),
        }


@attrs.frozen(kw_only=True, repr=False)
class Mapped(Success):
    """A mapped parent: its ``n_map_states`` children are task runs with a map_index >= 0.

    Prefect does not serialize a mapped parent's result or child states, so ``result_info`` is
    always "no result": load the children's results instead.
    """

    color: ClassVar[str] = "#003ccb"

    n_map_states: int = 0

    def serialize(self) -> dict[str, Any]:
        data = super().serialize()
        del data["_result"]  # Prefect's MappedSchema excludes it
        return data

    def _serialize_own_fields(self) -> dict[str, Any]:
        return {"n_map_states": self.n_map_states}


@attrs.frozen(kw_only=True, repr=False)
class Skipped(Success):
    """Skipped (e.g. a SKIP signal or a false condition); counts as successful."""

    color: ClassVar[str] = "#62757f"


@attrs.frozen(kw_only=True, repr=False)
class Cancelled(Finished):
    """Cancelled by a user; finished, but neither successful nor failed."""

    color: ClassVar[str] = "#bdbdbd"


@attrs.frozen(kw_only=True, repr=False)
class Failed(Finished):
    """Finished with an error."""

    color: ClassVar[str] = "#eb0000"


@attrs.frozen(kw_only=True, repr=False)
class TimedOut(Failed):
    """Failed because it ran longer than its timeout."""

    color: ClassVar[str] = "#ff4e33"


@attrs.frozen(kw_only=True, repr=False)
class TriggerFailed(Failed):
    """Not run because its trigger failed (e.g. an upstream task failed)."""

    color: ClassVar[str] = "#ff5131"


@attrs.frozen(kw_only=True, repr=False)
class ValidationFailed(Failed):
    """Failed a result validator."""

    color: ClassVar[str] = "#ff5131"


@attrs.frozen(kw_only=True, repr=False)
class UnknownState(State):
    """A state whose ``type`` Prefect 1.4.1 does not know; every predicate answers False."""

    type_name: str

    @property
    def name(self) -> str:
        return self.type_name

    def __repr__(self) -> str:
        # Prefect 1.4.1 tests for None, so an empty message still shows as <Success: "">.
        if self.message is not None:
            return f'<UnknownState {self.type_name!r}: "{self.message}">'
        return f"<UnknownState {self.type_name!r}>"

    def serialize(self) -> dict[str, Any]:
        # We do not know this type's fields, so the payload as received is the only faithful form.
        if self.raw:
            return copy.deepcopy(dict(self.raw))
        return {**super().serialize(), "type": self.type_name}


#: Every public Prefect 1.4.1 state class, in Prefect's ``State.children()`` order.
PREFECT_STATE_CLASSES: Final[tuple[builtins.type[State], ...]] = (
    Pending,
    Scheduled,
    Paused,
    Resume,
    Retrying,
    ClientFailed,
    Submitted,
    Queued,
    Running,
    Cancelling,
    Finished,
    Looped,
    Success,
    Cached,
    Mapped,
    Skipped,
    Cancelled,
    Failed,
    TimedOut,
    TriggerFailed,
    ValidationFailed,
)

_CLASSES_BY_TYPE: Final[dict[str, builtins.type[State]]] = {
    cls.__name__: cls for cls in PREFECT_STATE_CLASSES
}

#: What the sync FlowRunView shows for a flow run whose serialized state is null (PrefectHQ#5554).
NULL_FLOW_RUN_STATE: Final = Pending(message="A state for this flow run is not yet available.")
#: What the sync TaskRunView shows for a task run whose serialized state is null.
NULL_TASK_RUN_STATE: Final = Scheduled()


# --- parsing -------------------------------------------------------------------------------------


def parse_state(data: Mapping[str, Any] | str | None, *, if_null: State | None = None) -> State:
    """Parse a ``serialized_state`` (an object, or its JSON text) into a :class:`State`.

    Args:
        data: the serialized state as the backend returns it.
        if_null: what a null ``data`` means. The backend sends null for a run that has no state
            yet; pass :data:`NULL_FLOW_RUN_STATE` or :data:`NULL_TASK_RUN_STATE` to get what the
            sync Prefect views show. Without it, null is an error.

    Raises:
        MalformedResponseError: the payload is not a serialized Prefect 1 state.
    """
    if data is None:
        if if_null is not None:
            return if_null
        raise MalformedResponseError(
            "serialized_state is null: the run has no state yet. Pass if_null= (for example "
            "NULL_FLOW_RUN_STATE) to parse_state to choose what a missing state means."
        )
    if isinstance(data, str):
        try:
            data = json.loads(data)
        except (ValueError, RecursionError) as error:
            raise MalformedResponseError(
                f"serialized_state is a string but not valid JSON ({error}). The backend should "
                "send the state produced by Prefect's State.serialize()."
            ) from None
    try:
        return _parse_state(data, "serialized_state", depth=0)
    except RecursionError:
        raise MalformedResponseError(_TOO_DEEP) from None


def parse_state_history(rows: Iterable[Mapping[str, Any]]) -> tuple[State, ...]:
    """Parse a run's state history (``states { timestamp serialized_state }``), oldest first.

    Each state gets its row's ``timestamp``. Rows with equal timestamps keep their order.

    Raises:
        MalformedResponseError: ``rows`` is not a list of such objects, or a state is malformed.
    """
    if isinstance(rows, (str, bytes, Mapping)) or not isinstance(rows, Iterable):
        raise MalformedResponseError(
            f"the state history must be a list of {{timestamp, serialized_state}} objects, got "
            f"{_describe(rows)}."
        )
    states = []
    for index, row in enumerate(rows):
        path = f"states[{index}]"
        if not isinstance(row, Mapping):
            raise MalformedResponseError(
                f"{path} must be an object with timestamp and serialized_state, got {_describe(row)}."
            )
        if "timestamp" not in row or row["timestamp"] is None:
            raise MalformedResponseError(
                f"{path}.timestamp is missing: select `timestamp` in the states query."
            )
        timestamp = parse_timestamp(row["timestamp"], path=f"{path}.timestamp")
        if row.get("serialized_state") is None:
            raise MalformedResponseError(
                f"{path}.serialized_state is missing or null: select `serialized_state` in the "
                "states query (the backend stores it for every history entry)."
            )
        try:
            state = _parse_state(row["serialized_state"], f"{path}.serialized_state", depth=0)
        except RecursionError:
            raise MalformedResponseError(f"{path}: {_TOO_DEEP}") from None
        states.append(attrs.evolve(state, timestamp=timestamp))
    # sorted() is stable, so entries sharing a timestamp stay in the order the backend sent.
    return tuple(sorted(states, key=_timestamp_of))


def _timestamp_of(state: State) -> datetime:
    assert state.timestamp is not None  # parse_state_history sets it on every entry
    return state.timestamp


def parse_timestamp(value: object, *, path: str = "timestamp") -> datetime:
    """Parse a backend timestamp into a timezone-aware datetime (the SDK's one parser,
    :func:`flowview_async._timestamps.parse_timestamp`; no offset means UTC).

    Raises:
        MalformedResponseError: ``value`` is not such a timestamp; the message names ``path``.
    """
    return _timestamps.parse_timestamp(value, field=path)


def _format_datetime(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def _parse_state(data: object, path: str, depth: int) -> State:
    if depth > _MAX_NESTING:
        raise MalformedResponseError(
            f"{path}: meta states are nested more than {_MAX_NESTING} levels deep; a real "
            "Prefect 1 state nests at most one."
        )
    if not isinstance(data, Mapping):
        raise MalformedResponseError(
            f"{path} must be a JSON object (a serialized Prefect 1 state), got {_describe(data)}."
        )
    if "type" not in data:
        raise MalformedResponseError(
            f"{path} has no 'type': it is not a serialized Prefect 1 state. Keys present: "
            f"{sorted(str(key) for key in data)[:10]}."
        )
    type_name = data["type"]
    if not isinstance(type_name, str) or not type_name:
        raise MalformedResponseError(
            f"{path}.type must be a state class name such as 'Success', got {_describe(type_name)}."
        )
    common: dict[str, Any] = {
        "message": _optional_str(data, "message", path),
        "context": _json_object(data, "context", path),
        "cached_inputs": _cached_inputs(data, path),
    }
    cls = _CLASSES_BY_TYPE.get(type_name)
    if cls is None:
        return UnknownState(
            type_name=type_name,
            result_info=_result_info(data, path),
            raw=copy.deepcopy(dict(data)),
            **common,
        )
    if cls is not Mapped:
        # Prefect's MappedSchema excludes _result: a mapped parent never has one.
        common["result_info"] = _result_info(data, path)
    # Class fields first: they parse a wrapped state, whose depth check must run before the
    # deep copy below walks the whole payload.
    own_fields = _own_fields(cls, data, path, depth)
    return cls(raw=copy.deepcopy(dict(data)), **common, **own_fields)


def _own_fields(cls: builtins.type[State], data: Mapping[str, Any], path: str, depth: int) -> dict[str, Any]:
    """The class-specific constructor arguments of ``cls``, read and validated from ``data``."""
    fields: dict[str, Any] = {}
    if issubclass(cls, (Scheduled, Queued)):
        fields["start_time"] = _optional_datetime(data, "start_time", path)
    if issubclass(cls, Retrying):
        # Prefect's Retrying defaults a missing or null run_count to 1.
        fields["run_count"] = _optional_int(data, "run_count", path, default=1)
    if issubclass(cls, Looped):
        fields["loop_count"] = _required_int(data, "loop_count", path, default=1)
    if issubclass(cls, Mapped):
        fields["n_map_states"] = _required_int(data, "n_map_states", path, default=0)
    if issubclass(cls, Cached):
        fields["cached_parameters"] = copy.deepcopy(data.get("cached_parameters"))
        fields["cached_result_expiration"] = _optional_datetime(data, "cached_result_expiration", path)
        fields["hashed_inputs"] = _hashed_inputs(data, path)
    if issubclass(cls, _MetaState):
        nested = data.get("state")
        fields["state"] = None if nested is None else _parse_state(nested, f"{path}.state", depth + 1)
    return fields


def _result_info(data: Mapping[str, Any], path: str) -> ResultInfo:
    if "_result" not in data:
        return NO_RESULT
    if data["_result"] is None:
        # Prefect 1.4.1 refuses it too ("Field may not be null").
        raise MalformedResponseError(
            f"{path}._result is null; a serialized state either omits it or describes the "
            'result (at least {"type": "NoResultType"}).'
        )
    return parse_result_info(data["_result"], path=f"{path}._result")


def _cached_inputs(data: Mapping[str, Any], path: str) -> dict[str, ResultInfo]:
    value = data.get("cached_inputs")
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise MalformedResponseError(
            f"{path}.cached_inputs must be an object mapping input names to results, got {_describe(value)}."
        )
    return {
        str(name): parse_result_info(info, path=f"{path}.cached_inputs.{name}")
        for name, info in value.items()
    }


def _hashed_inputs(data: Mapping[str, Any], path: str) -> dict[str, str | None] | None:
    value = data.get("hashed_inputs")
    if value is None:
        return None
    if not isinstance(value, Mapping) or not all(
        isinstance(key, str) and (item is None or isinstance(item, str)) for key, item in value.items()
    ):
        raise MalformedResponseError(
            f"{path}.hashed_inputs must be an object of input names to hash strings, got {_describe(value)}."
        )
    return dict(value)


def _json_object(data: Mapping[str, Any], key: str, path: str) -> dict[str, Any]:
    value = data.get(key)
    if value is None:
        return {}
    if not isinstance(value, Mapping) or not all(isinstance(name, str) for name in value):
        raise MalformedResponseError(f"{path}.{key} must be a JSON object or null, got {_describe(value)}.")
    return copy.deepcopy(dict(value))


def _optional_str(data: Mapping[str, Any], key: str, path: str) -> str | None:
    value = data.get(key)
    if value is not None and not isinstance(value, str):
        raise MalformedResponseError(f"{path}.{key} must be a string or null, got {_describe(value)}.")
    return value


def _optional_int(data: Mapping[str, Any], key: str, path: str, *, default: int) -> int:
    value = data.get(key)
    if value is None:
        return default
    return _checked_int(value, key, path)


def _required_int(data: Mapping[str, Any], key: str, path: str, *, default: int) -> int:
    """An int that may be omitted (then ``default``) but, as in Prefect, not null."""
    if key not in data:
        return default
    return _checked_int(data[key], key, path)


def _checked_int(value: object, key: str, path: str) -> int:
    # bool is an int subclass, but true/false is not a count.
    if isinstance(value, bool) or not isinstance(value, int):
        raise MalformedResponseError(f"{path}.{key} must be an integer, got {_describe(value)}.")
    return value


def _optional_datetime(data: Mapping[str, Any], key: str, path: str) -> datetime | None:
    value = data.get(key)
    return None if value is None else parse_timestamp(value, path=f"{path}.{key}")


def _describe(value: object) -> str:
    text = repr(value)
    if len(text) > 60:
        text = text[:57] + "..."
    return f"{builtins.type(value).__name__} {text}"
