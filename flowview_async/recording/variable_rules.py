"""Variable rules: which request variables replay ignores or normalises when it matches.

A rule names places in a request's ``variables`` by a dotted path (mapping keys and list indexes),
where ``*`` stands for one step and ``**`` for any number of steps::

    ignore_variable("idempotencyKey")                        # a generated id: any value matches
    normalise_variable("where.name._like", str.lower)        # a normaliser of your own
    relative_time("where.timestamp._gt", now=started_at)     # "10 minutes ago", not a date

Rules change the *key* a request is matched by, never what is sent. An ignored value is stored as
sent (it is still useful to read); a relative time is stored in its normalised form
(``"<now - 600s>"``) because what it means depends on when it was recorded: stored that way, the
cassette replays at any later time without anyone freezing a clock.
"""

from __future__ import annotations

import datetime as dt
import fnmatch
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import attrs

from flowview_async._timestamps import parse_timestamp
from flowview_async.errors import InvalidArgumentError, MalformedResponseError

__all__ = [
    "IGNORED",
    "VariableRule",
    "apply_variable_rules",
    "ignore_variable",
    "normalise_variable",
    "relative_time",
]

IGNORED = "<ignored>"  # what an ignored value becomes in the matching key
_SYMBOLIC_TIME = re.compile(r"^<now [+-] \d+(?:\.\d+)?s>$")

Clock = Callable[[], dt.datetime]


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def _split(path: str) -> tuple[str, ...]:
    if not isinstance(path, str) or not path.strip() or any(not part for part in path.split(".")):
        msg = (f"A variable rule path must be dotted names such as 'where.timestamp._gt' "
               f"('*' one step, '**' any steps), got {path!r}.")
        raise InvalidArgumentError(msg)
    return tuple(path.split("."))


@attrs.frozen
class VariableRule:
    """Where a rule applies, and what it does there.

    ``normalise`` is ``None`` to ignore the value; ``store`` says whether the cassette keeps the
    normalised value instead of the one sent (only for values whose meaning depends on the clock).
    ``operation`` limits the rule to requests of that GraphQL operation name.
    """

    path: str
    normalise: Callable[[Any], Any] | None = None
    operation: str | None = None
    store: bool = False
    _steps: tuple[str, ...] = attrs.field(init=False, repr=False, eq=False)

    def __attrs_post_init__(self) -> None:
        object.__setattr__(self, "_steps", _split(self.path))

    def applies_to(self, operation: str | None) -> bool:
        return self.operation is None or self.operation == operation

    def rewrite(self, variables: Any, *, for_storage: bool) -> Any:
        """``variables`` with this rule applied (a new object where something changed)."""
        if for_storage and not self.store:
            return variables
        return _rewrite(variables, self._steps, self._apply)

    def _apply(self, value: Any) -> Any:
        return IGNORED if self.normalise is None else self.normalise(value)


def _rewrite(value: Any, steps: Sequence[str], apply: Callable[[Any], Any]) -> Any:
    if not steps:
        return apply(value)
    head, rest = steps[0], steps[1:]
    if head == "**":
        # Zero steps here, or one step and "**" again: every depth below.
        value = _rewrite(value, rest, apply)
        return _each_child(value, lambda child: _rewrite(child, steps, apply))
    if isinstance(value, Mapping):
        changed = {key: (_rewrite(item, rest, apply) if fnmatch.fnmatchcase(str(key), head) else item)
                   for key, item in value.items()}
        return changed
    if isinstance(value, list):
        return [_rewrite(item, rest, apply) if fnmatch.fnmatchcase(str(index), head) else item
                for index, item in enumerate(value)]
    return value


def _each_child(value: Any, apply: Callable[[Any], Any]) -> Any:
    if isinstance(value, Mapping):
        return {key: apply(item) for key, item in value.items()}
    if isinstance(value, list):
        return [apply(item) for item in value]
    return value


def apply_variable_rules(
    rules: Iterable[VariableRule], operation: str | None, variables: Any, *, for_storage: bool
) -> Any:
    """The variables as matched (``for_storage=False``) or as stored (``True``)."""
    for rule in rules:
        if rule.applies_to(operation):
            variables = rule.rewrite(variables, for_storage=for_storage)
    return variables


def ignore_variable(path: str, *, operation: str | None = None) -> VariableRule:
    """Match any value at ``path`` (generated ids, nonces): it is left out of the key."""
    return VariableRule(path, None, operation)


def normalise_variable(
    path: str, normalise: Callable[[Any], Any], *, operation: str | None = None
) -> VariableRule:
    """Match the value at ``path`` by ``normalise(value)`` instead of the value itself.

    ``normalise`` must be a pure function of the value (it is applied to recorded requests when a
    cassette is loaded, as well as to new ones).
    """
    if not callable(normalise):
        raise InvalidArgumentError(f"normalise must be a function of the value, got {normalise!r}.")
    return VariableRule(path, normalise, operation)


def _parse_time(value: Any) -> dt.datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return parse_timestamp(value)  # the SDK's one timestamp parser
    except MalformedResponseError:
        return None


def relative_time(
    path: str,
    *,
    now: dt.datetime | Clock | None = None,
    granularity: float = 1.0,
    operation: str | None = None,
) -> VariableRule:
    """Match a timestamp at ``path`` by how long before "now" it is, e.g. ``"<now - 600s>"``.

    ``now`` is the instant the caller computed the timestamp from (exact: the CLI passes the one
    it used for ``--since 10m``), or a clock read when the request is made (``None``: the system
    clock), in which case the offset is rounded to ``granularity`` seconds. A value that is not a
    timestamp, or already in the ``"<now - …s>"`` form, is left as it is.
    """
    if not isinstance(granularity, (int, float)) or isinstance(granularity, bool) or granularity <= 0:
        raise InvalidArgumentError(f"granularity must be a positive number of seconds, got {granularity!r}.")
    if isinstance(now, dt.datetime) and now.tzinfo is None:
        raise InvalidArgumentError("relative_time(now=...) needs an aware datetime (with a time zone).")
    clock: Clock = (lambda: now) if isinstance(now, dt.datetime) else (now or _utc_now)

    def normalise(value: Any) -> Any:
        if isinstance(value, str) and _SYMBOLIC_TIME.match(value):
            return value
        moment = _parse_time(value)
        if moment is None:
            return value
        offset = round((clock() - moment).total_seconds() / granularity) * granularity
        size = abs(offset)
        amount = str(int(size)) if float(size).is_integer() else f"{size:.6f}".rstrip("0")
        return f"<now - {amount}s>" if offset >= 0 else f"<now + {amount}s>"

    return VariableRule(path, normalise, operation, store=True)
