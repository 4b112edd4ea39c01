"""Where a watch is: what it has delivered, as plain data, and the opaque cursor string for it.

The bookkeeping (:class:`Book`) is changed only through :func:`apply`, one small :data:`Change`
at a time. A watch records every change of one step (a poll, a page of backlog) in a
:class:`Journal` that starts from a frozen copy of the book; an event keeps a :class:`Mark`
(the journal and how many changes came before it), so its cursor string is built only when asked
for, by replaying those changes on the copy. Events thereby cost no copy of the book each, and a
cursor is exactly the bookkeeping right after its event.

What is remembered, per watch:

* ``created`` (C): the newest insertion time (``created``, the backend's own clock) of a log line or
  task-run state delivered so far; each poll asks for rows created since ``C - late window``.
* ``recent``: the ids delivered with ``created`` in that window, so a row read twice is delivered
  once (rows that share a time, or commit a little after rows created later).

and per run: the highest flow-run state ``version`` delivered (states are read by version, so a
state written late with an older timestamp is still new), whether its final state was delivered,
and, while its backlog is read, the keyset ``(timestamp, id)`` reached in its task-run states and
log lines. Runs whose :class:`~flowview_async.watch.RunFinished` or
:class:`~flowview_async.watch.RunError` was delivered are listed as ended.
"""

from __future__ import annotations

import base64
import binascii
import copy
import hashlib
import json
import zlib
from collections.abc import Iterable
from datetime import datetime, timedelta, timezone
from typing import Any, Literal

import attrs

from flowview_async._rows import format_timestamp, parse_timestamp
from flowview_async.errors import InvalidArgumentError, MalformedResponseError

__all__ = [
    "Book",
    "Change",
    "Journal",
    "Mark",
    "RunPosition",
    "apply",
    "decode",
    "encode",
    "fingerprint",
    "newest",
]

_PREFIX = "fvw1."
_FINGERPRINT_BYTES = 8
# A cursor is a user's input: refuse absurd ones before decompressing them.
_MAX_CURSOR_CHARS = 64 * 1024 * 1024

Mode = Literal["backlog", "now", "live"]
# A recent row: its `created`, its flow run, its kind ("l" log line, "t" task-run state).
Recent = tuple[str, str, str]
Key = tuple[str, str]


@attrs.define
class RunPosition:
    """What has been delivered for one run."""

    mode: Mode = "backlog"
    # Every state row with a version up to this one was delivered; `extra` holds the ids (and
    # versions) of rows delivered above it, out of version order (a state stamped late).
    version: int = 0
    extra: dict[str, int] = attrs.field(factory=dict)
    top: int = 0
    final: bool = False
    task_key: Key | None = None
    log_key: Key | None = None
    tasks_done: bool = False
    logs_done: bool = False


@attrs.define
class Book:
    """The whole bookkeeping of a watch: plain data, copied for cursors."""

    window: float
    created: str | None = None
    # Fingerprints of recent row ids (8 bytes each keeps cursors small) -> their `created`, run
    # and kind ("l" log line, "t" task-run state): a quiet poll only counts rows, and compares.
    recent: dict[bytes, Recent] = attrs.field(factory=dict)
    runs: dict[str, RunPosition] = attrs.field(factory=dict)
    ended: set[str] = attrs.field(factory=set)
    _floor: tuple[str, datetime] | None = attrs.field(default=None, eq=False, repr=False)

    def since(self) -> str | None:
        """The ``created`` lower bound of the next live poll."""
        floor = self.floor()
        return None if floor is None else format_timestamp(floor)

    def expected(self, runs: Iterable[str], kind: str) -> int:
        """How many rows of ``kind`` of these runs a live poll's window holds: all delivered."""
        wanted = set(runs)
        return sum(1 for _, run, k in self.recent.values() if k == kind and run in wanted)

    def forget(self, run: str) -> None:
        """Drop a run's recent ids (it is polled no more; a re-added run reads its backlog)."""
        self.recent = {i: r for i, r in self.recent.items() if r[1] != run}

    def floor(self) -> datetime | None:
        """:meth:`since` as a datetime (computed once per mark: it is checked for every row)."""
        if self.created is None:
            return None
        if self._floor is None or self._floor[0] != self.created:
            self._floor = (self.created,
                           parse_timestamp(self.created) - timedelta(seconds=self.window))
        return self._floor[1]


# A change is a tuple whose first item names it; see apply().
Change = tuple[Any, ...]


def apply(book: Book, change: Change) -> None:
    """Apply one change to ``book`` (the only way the bookkeeping changes)."""
    kind = change[0]
    if kind in ("state", "key", "exhausted", "mode") and change[1] not in book.runs:
        return  # the run was removed (or ended) meanwhile
    if kind == "row":  # ("row", id, created, run, "l"|"t"): a line or task-run state delivered
        floor = book.floor()
        # Older than the window, it can never come back from a poll: nothing to remember.
        if floor is None or parse_timestamp(change[2]) >= floor:
            book.recent[fingerprint(change[1])] = (change[2], change[3], change[4])
    elif kind == "state":  # ("state", run, state id, version, floor, final)
        run = book.runs[change[1]]
        _, _, state_id, version, floor, final = change
        if version >= run.top:
            run.top, run.final = version, final
        if version > run.version:
            run.extra[state_id] = version
        run.version = max(run.version, floor)
        run.extra = {i: v for i, v in run.extra.items() if v > run.version}
    elif kind == "key":  # ("key", run, "task"|"log", (timestamp, id)): backlog read that far
        if change[2] == "task":
            book.runs[change[1]].task_key = change[3]
        else:
            book.runs[change[1]].log_key = change[3]
    elif kind == "exhausted":  # ("exhausted", run, "task"|"log")
        if change[2] == "task":
            book.runs[change[1]].tasks_done = True
        else:
            book.runs[change[1]].logs_done = True
    elif kind == "mode":  # ("mode", run, mode)
        book.runs[change[1]].mode = change[2]
    elif kind == "advance":  # ("advance", created): a step ended; forget ids out of the window
        newest = change[1]
        if newest is not None and (book.created is None
                                   or parse_timestamp(newest) > parse_timestamp(book.created)):
            book.created = newest
        floor = book.floor()
        if floor is not None:
            book.recent = {i: r for i, r in book.recent.items() if parse_timestamp(r[0]) >= floor}
    elif kind == "add":  # ("add", run, mode)
        book.runs[change[1]] = RunPosition(mode=change[2])
        book.ended.discard(change[1])
    elif kind == "remove":  # ("remove", run)
        book.runs.pop(change[1], None)
        book.forget(change[1])
    elif kind == "end":  # ("end", run): its last event was delivered
        book.runs.pop(change[1], None)
        book.ended.add(change[1])
        book.forget(change[1])
    else:  # pragma: no cover - a programming error, not a user's
        raise AssertionError(f"unknown bookkeeping change {kind!r}")


@attrs.define
class Journal:
    """The changes of one step, from a frozen copy of the book taken when the step began.

    Cursors are usually read in delivery order, so the book of the last one read is kept and
    rolled forward: reading every event's cursor costs one pass over the step, not one each.
    """

    base: Book
    changes: list[Change] = attrs.field(factory=list)
    _rolled: Book | None = None
    _rolled_count: int = 0

    @classmethod
    def start(cls, book: Book) -> Journal:
        return cls(copy.deepcopy(book))

    def book_at(self, count: int) -> Book:
        if self._rolled is None or self._rolled_count > count:
            self._rolled, self._rolled_count = copy.deepcopy(self.base), 0
        for change in self.changes[self._rolled_count:count]:
            apply(self._rolled, change)
        self._rolled_count = count
        return self._rolled


@attrs.frozen
class Mark:
    """A point in a journal: the bookkeeping right after one event."""

    journal: Journal
    count: int

    def cursor(self) -> str:
        return encode(self.journal.book_at(self.count))  # encode() only reads the book


# --- the string form -----------------------------------------------------------------------------


def _position_document(position: RunPosition) -> dict[str, Any]:
    document: dict[str, Any] = {"m": position.mode, "v": position.version, "t": position.top}
    if position.extra:
        document["x"] = position.extra
    if position.final:
        document["f"] = 1
    if position.task_key is not None:
        document["tk"] = list(position.task_key)
    if position.log_key is not None:
        document["lk"] = list(position.log_key)
    if position.tasks_done:
        document["td"] = 1
    if position.logs_done:
        document["ld"] = 1
    return document


def encode(book: Book) -> str:
    """The cursor string of ``book``: compressed JSON, URL-safe, prefixed with its format."""
    # Recent ids grouped by (created, run, kind); times as microseconds after the oldest one and
    # runs as indexes into one list keep a row at a dozen characters or so.
    groups: dict[tuple[str, str, str], bytearray] = {}
    for row_id, entry in book.recent.items():
        groups.setdefault(entry, bytearray()).extend(row_id)
    moments = {moment: _microseconds(moment) for moment, _, _ in groups}
    origin = min(moments.values(), default=0)
    runs = sorted({run for _, run, _ in groups})
    index = {run: number for number, run in enumerate(runs)}
    document = {
        "c": book.created,
        "r": {"o": origin, "k": runs,
              "e": [[moments[moment] - origin, index[run], kind, base64.b64encode(ids).decode()]
                    for (moment, run, kind), ids in groups.items()]},
        "runs": {run: _position_document(p) for run, p in book.runs.items()},
        "ended": sorted(book.ended),
    }
    raw = json.dumps(document, separators=(",", ":"), sort_keys=True).encode()
    return _PREFIX + base64.urlsafe_b64encode(zlib.compress(raw, 6)).decode().rstrip("=")


def _bad(detail: str) -> InvalidArgumentError:
    return InvalidArgumentError(
        f"start= is not a cursor from watch events ({detail}). Pass start='now', "
        "start='beginning', or the .cursor string of an event exactly as it was."
    )


def _key(value: Any) -> Key | None:
    if value is None:
        return None
    if (not isinstance(value, list) or len(value) != 2
            or not all(isinstance(part, str) for part in value)):
        raise _bad("a keyset is not two strings")
    return (value[0], value[1])


def _is_count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _position(value: Any) -> RunPosition:
    if not isinstance(value, dict) or value.get("m") not in ("backlog", "now", "live"):
        raise _bad("a run position is malformed")
    version, top, extra = value.get("v", 0), value.get("t", 0), value.get("x", {})
    if not all(_is_count(v) for v in (version, top)) or not isinstance(extra, dict) \
            or not all(_is_count(v) for v in extra.values()):
        raise _bad("a state version is not a count")
    return RunPosition(mode=value["m"], version=version, top=top,
                       extra={str(i): v for i, v in extra.items()}, final=bool(value.get("f")),
                       task_key=_key(value.get("tk")), log_key=_key(value.get("lk")),
                       tasks_done=bool(value.get("td")), logs_done=bool(value.get("ld")))


def _timestamp_text(value: Any) -> str:
    try:
        if not isinstance(value, str):
            raise MalformedResponseError("not a string")
        parse_timestamp(value)
    except MalformedResponseError:
        raise _bad("a time is malformed") from None
    return value


def decode(cursor: str, *, window: float) -> Book:
    """The bookkeeping a cursor string stands for; raises InvalidArgumentError for anything else."""
    if not cursor.startswith(_PREFIX) or len(cursor) > _MAX_CURSOR_CHARS:
        raise _bad("it does not start with 'fvw1.'")
    body = cursor[len(_PREFIX):]
    try:
        raw = zlib.decompress(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
        document = json.loads(raw)
    except (binascii.Error, zlib.error, ValueError):
        raise _bad("it is truncated or altered") from None
    if not isinstance(document, dict):
        raise _bad("its content is not an object")
    runs = document.get("runs")
    recent = document.get("r")
    ended = document.get("ended")
    if not isinstance(runs, dict) or not isinstance(recent, dict) or not isinstance(ended, list):
        raise _bad("a part is missing")
    created = document.get("c")
    book = Book(window=window, created=None if created is None else _timestamp_text(created))
    origin, runs_of, entries = recent.get("o"), recent.get("k"), recent.get("e")
    if not _is_count(origin) or not isinstance(runs_of, list) or not isinstance(entries, list):
        raise _bad("recent ids are malformed")
    for entry in entries:
        if not (isinstance(entry, list) and len(entry) == 4 and _is_count(entry[0])
                and _is_count(entry[1]) and entry[1] < len(runs_of) and entry[2] in ("l", "t")
                and isinstance(entry[3], str)):
            raise _bad("recent ids are malformed")
        try:
            ids = base64.b64decode(entry[3], validate=True)
        except binascii.Error:
            raise _bad("recent ids are malformed") from None
        if len(ids) % _FINGERPRINT_BYTES:
            raise _bad("recent ids are malformed")
        moment = format_timestamp(_EPOCH + timedelta(microseconds=origin + entry[0]))
        value = (moment, str(runs_of[entry[1]]), entry[2])
        book.recent.update(dict.fromkeys(
            (ids[i:i + _FINGERPRINT_BYTES] for i in range(0, len(ids), _FINGERPRINT_BYTES)), value))
    for run, position in runs.items():
        book.runs[str(run)] = _position(position)
    book.ended = {str(run) for run in ended}
    return book


_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def _microseconds(moment: str) -> int:
    return (parse_timestamp(moment) - _EPOCH) // timedelta(microseconds=1)


def fingerprint(row_id: str) -> bytes:
    """What the watch remembers of a delivered row's id: 64 bits (a collision among the few
    thousand rows of one window is a one-in-10^12 event)."""
    return hashlib.blake2b(row_id.encode(), digest_size=_FINGERPRINT_BYTES).digest()


def newest(first: str | None, second: str | None) -> str | None:
    """The later of two ``created`` texts (None counts as nothing)."""
    if first is None:
        return second
    if second is None:
        return first
    return first if parse_timestamp(first) >= parse_timestamp(second) else second


def as_key(timestamp: datetime | str, row_id: str) -> Key:
    text = timestamp if isinstance(timestamp, str) else format_timestamp(timestamp)
    return (text, row_id)
