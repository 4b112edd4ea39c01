"""The recorder/replayer of one client: an aiohttp client middleware on that client's session.

It is never a process-wide patch, so two clients with two cassettes in one event loop never see
each other's traffic. Requests are keyed by what GraphQL means (see :mod:`.keys`), each request
takes a sequence number when it is *issued*, and answers are served first-in first-out per key:
identical requests sent concurrently get, on replay, the answers they got live, in the same order.
"""

from __future__ import annotations

import asyncio
import collections
import itertools
import json
import os
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

from yarl import URL

from flowview_async.errors import (
    CassetteFormatError,
    CassetteMismatchError,
    ClientClosedError,
    InvalidArgumentError,
    SchemaDriftWarning,
)
from flowview_async.recording.cassette_file import (
    build_metadata,
    load_cassette_file,
    save_cassette_file,
)
from flowview_async.recording.hooks import Hooks, RequestHook, ResponseHook
from flowview_async.recording.index import ReplayIndex
from flowview_async.recording.interaction import Interaction, key_request, pretty_body_text, stored_body
from flowview_async.recording.keys import decode_payload
from flowview_async.recording.matching import DEFAULT_MATCH_ON, MatcherSpec, Matching
from flowview_async.recording.mismatch import mismatch_error
from flowview_async.recording.modes import RecordMode, RepeatPolicy
from flowview_async.recording.redacted_slots import Slot, fill_redacted_slots, redacted_slots
from flowview_async.recording.redaction import (
    DEFAULT_REQUEST_HEADERS,
    DEFAULT_RESPONSE_HEADERS,
    MIN_SECRET_LENGTH,
    keep_headers,
    scrub_json,
    scrub_text,
)
from flowview_async.recording.replayed_response import body_stream, build_replayed_response
from flowview_async.recording.variable_rules import VariableRule

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

    from aiohttp import ClientRequest, ClientResponse
    from aiohttp.client_middlewares import ClientHandlerType

    from flowview_async.recording.interaction import KeyedRequest
    from flowview_async.recording.keys import RequestKey

__all__ = ["Recorder"]


def _slot_scope(key: RequestKey) -> tuple[str, str, str | None, str]:
    """A request key without its variables: requests that can share redacted slots."""
    return key.method, key.path, key.operation, key.document_sha256


def _slots_of(interactions: Iterable[Interaction]) -> dict[tuple[str, str, str | None, str],
                                                           frozenset[Slot]]:
    found: dict[tuple[str, str, str | None, str], frozenset[Slot]] = {}
    for interaction in interactions:
        slots = redacted_slots(interaction.key.variables)
        if slots:
            scope = _slot_scope(interaction.key)
            found[scope] = found.get(scope, frozenset()) | slots
    return found


def _sdk_version() -> str:
    # Read at call time: flowview_async/__init__ imports the client, which imports this module.
    import flowview_async

    return str(flowview_async.__version__)


def _schema_sha256() -> str:
    from flowview_async._schema import schema_hash

    return schema_hash()


class Recorder:
    """Records a client's GraphQL traffic to a vcrpy cassette, or replays it from one.

    Args:
        path: the cassette file (``.json``, or ``.yaml``/``.yml`` for vcrpy's YAML).
        record_mode: ``"none"``, ``"once"`` (default), ``"new_episodes"`` or ``"all"``,
            with vcrpy's meaning, or pytest-recording's ``"rewrite"`` (see :class:`RecordMode`).
        repeat: what replay does when a request's recorded answers are used up: ``"error"``
            (default), ``"repeat_last"`` or ``"cycle"`` (see :class:`RepeatPolicy`).
        allow_playback_repeats: vcrpy's spelling of "an answer may be played again": with the
            default ``repeat="error"`` it means ``"repeat_last"``.
        match_on: which parts of a request must agree (see :mod:`.matching`): any of
            ``"method"``, ``"path"``, ``"operation"``, ``"document"``, ``"variables"``, names
            registered with ``register_matcher``, or key functions. Default: all five built-ins.
        variable_rules: variables to ignore or normalise when matching
            (``ignore_variable``, ``normalise_variable``, ``relative_time``; see
            :mod:`.variable_rules`); more can be added with :meth:`add_variable_rules`.
        before_record_request / before_record_response: vcrpy's hooks (a function or a list of
            them), given a copy of the request/response in the cassette's shape and returning it
            changed, or ``None``: a request hook's ``None`` sends that request to the backend
            untouched by the cassette (neither replayed nor recorded); a response hook's ``None``
            keeps the exchange out of the file. Both also run on the interactions of a loaded
            cassette, as vcrpy does.
        secrets: values that must never reach the file (API keys, tenant ids); more can be added
            with :meth:`add_secrets`. Values shorter than 4 characters are ignored.
        request_headers / response_headers: extra header names to record (``content-type`` is
            always kept; credentials and cookies are always dropped).
        match_path: match on the URL path (default). ``False`` ignores it, for replaying with no
            backend URL at all.
        uri_origin: if set (e.g. ``"http://localhost:4200"``), recorded URIs use this scheme,
            host and port instead of the real ones: re-recording against a backend on a random
            port then gives the same file.
        rerecord_command: a shell command that re-records the missing answers, quoted in
            mismatch errors (the pytest plugin passes one); without it, errors say which
            ``record_mode`` to open the client with.
        canonical_order: save interactions grouped by request key (first-in first-out within a
            key) instead of in issue order. Concurrent requests interleave differently from one
            recording to the next; this makes re-recording give the same file.
        save: ``False`` records nothing to the file (the pytest plugin's live mode); requests
            are still counted (:meth:`calls`).

    Use it through ``Client(..., cassette=path)`` or ``Client(..., recorder=Recorder(...))``; the
    client calls :meth:`open` and :meth:`close` and installs :attr:`middleware` on its session.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        record_mode: str | RecordMode = RecordMode.ONCE,
        repeat: str | RepeatPolicy = RepeatPolicy.ERROR,
        secrets: Iterable[str | None] = (),
        request_headers: Iterable[str] = (),
        response_headers: Iterable[str] = (),
        match_path: bool = True,
        uri_origin: str | None = None,
        rerecord_command: str | None = None,
        canonical_order: bool = False,
        allow_playback_repeats: bool = False,
        match_on: Iterable[MatcherSpec] = DEFAULT_MATCH_ON,
        variable_rules: Iterable[VariableRule] = (),
        before_record_request: RequestHook | Iterable[RequestHook] | None = None,
        before_record_response: ResponseHook | Iterable[ResponseHook] | None = None,
        save: bool = True,
    ) -> None:
        self.path = Path(path)
        self.record_mode = RecordMode.coerce(record_mode)
        self.repeat = RepeatPolicy.coerce(repeat)
        if allow_playback_repeats and self.repeat is RepeatPolicy.ERROR:
            self.repeat = RepeatPolicy.REPEAT_LAST
        if not match_path:
            match_on = [spec for spec in match_on if spec != "path"]
        self._matching = Matching(match_on, variable_rules)
        self._hooks = Hooks(before_record_request, before_record_response)
        self._save_enabled = save
        self._secrets: list[str] = []
        self.add_secrets(*secrets)
        self._request_headers = DEFAULT_REQUEST_HEADERS | {h.lower() for h in request_headers}
        self._response_headers = DEFAULT_RESPONSE_HEADERS | {h.lower() for h in response_headers}
        self._uri_origin = URL(uri_origin) if uri_origin else None
        self._rerecord_command = rerecord_command
        self._canonical_order = canonical_order
        self._state = "new"
        self._saving: asyncio.Task[None] | None = None
        self._file_existed = False
        self._loaded: tuple[Interaction, ...] = ()
        self._index = ReplayIndex((), self.repeat)
        self._raw_loaded: tuple[tuple[Mapping[str, Any], Mapping[str, Any]], ...] = ()
        # Where recorded requests hold "<REDACTED>", per request minus its variables.
        self._slots: dict[tuple[str, str, str | None, str], frozenset[Slot]] = {}
        self._recorded: dict[int, Interaction] = {}
        # Issue order: taken synchronously when a request reaches the middleware.
        self._sequence = itertools.count()
        self._played = 0
        self._checked_bodies: set[int] = set()  # positions whose recorded body parsed as JSON
        self._calls: collections.Counter[str | None] = collections.Counter()

    def __repr__(self) -> str:
        return (
            f"Recorder(path={str(self.path)!r}, record_mode={self.record_mode.value!r}, "
            f"repeat={self.repeat.value!r}, state={self._state!r})"
        )

    @property
    def match_on(self) -> tuple[str, ...]:
        """The names of the matchers requests are matched on."""
        return self._matching.names

    def add_variable_rules(self, *rules: VariableRule) -> None:
        """Add variable rules, before the first request (the cassette is keyed again with them).

        The CLI calls this once it knows which of its variables are relative times.
        """
        if self._recorded or self._index.played_any:
            msg = (f"{self!r} already handled requests: add variable rules before the first "
                   "request (or pass variable_rules= to the Recorder).")
            raise InvalidArgumentError(msg)
        self._matching.add_rules(rules)
        if self._state == "open" and self._raw_loaded:
            learned: list[str] = []
            self._loaded = self._key_loaded(self._raw_loaded, learned)
            self.add_secrets(*learned)
            self._index = ReplayIndex(self._loaded, self.repeat)
            self._slots = _slots_of(self._loaded)

    # --- configuration ---------------------------------------------------------------------------

    def add_secrets(self, *values: str | None) -> None:
        """Register values that must never be written (redacted when recorded, refused at save)."""
        for value in values:
            if value and len(value) >= MIN_SECRET_LENGTH and value not in self._secrets:
                self._secrets.append(value)

    @property
    def replaying(self) -> bool:
        """Whether answers come from the cassette (mode ``none``, or ``once`` with a file)."""
        if self.record_mode is RecordMode.NONE:
            return True
        return self.record_mode is RecordMode.ONCE and self._file_existed

    @property
    def state(self) -> str:
        """``"new"``, ``"open"`` or ``"closed"``."""
        return self._state

    @property
    def recorded_url(self) -> str | None:
        """The URL of the first loaded interaction (a replay-only client can point there)."""
        return str(self._loaded[0].request["uri"]) if self._loaded else None

    @property
    def _serves_recorded(self) -> bool:
        return self._serves_recorded_mode

    @property
    def _sends_live(self) -> bool:
        if self.record_mode is RecordMode.ONCE:
            return not self._file_existed
        return self.record_mode is not RecordMode.NONE

    @property
    def _serves_recorded_mode(self) -> bool:
        return self.record_mode not in (RecordMode.ALL, RecordMode.REWRITE)

    # --- lifecycle -------------------------------------------------------------------------------

    async def open(self) -> None:
        """Load the cassette (in a worker thread). Idempotent while open."""
        if self._state == "open":
            return
        if self._state == "closed":
            raise ClientClosedError(f"{self!r} was closed; create a new Recorder to record again.")
        loaded, raw, metadata, learned, empty = await asyncio.to_thread(self._load)
        # Values a foreign cassette stored under secret-looking names: never write them again.
        self.add_secrets(*learned)
        # An empty file counts as no file: 'once' records into it (nothing recorded can be lost),
        # exactly as the plugin decides when it starts a backend for a test.
        self._file_existed = loaded is not None
        if empty and self.record_mode is RecordMode.NONE:
            msg = (
                f"Cassette {self.path} is empty, so there is nothing to replay (record mode "
                "'none'). It was probably created empty or truncated by an interrupted tool: "
                f"restore it from version control, or {self._fix_advice()}."
            )
            raise CassetteFormatError(msg)
        if loaded is None and self.record_mode is RecordMode.NONE:
            msg = (
                f"Cassette {self.path} does not exist and the record mode is 'none' (replay only). "
                f"Record it first: {self._fix_advice()}."
            )
            raise CassetteMismatchError(msg)
        self._loaded = loaded or ()
        self._raw_loaded = raw
        self._index = ReplayIndex(self._loaded, self.repeat)
        self._slots = _slots_of(self._loaded)
        self._warn_on_schema_drift(metadata)
        self._state = "open"

    async def close(self) -> None:
        """Save the cassette if something new was recorded (in a worker thread). Idempotent.

        The save runs in a task of its own: cancelling ``close`` does not lose the recording,
        and a second ``close`` waits for the first one's save.
        """
        if self._saving is not None:
            await asyncio.shield(self._saving)
            return
        if self._state == "closed":
            return
        was_open = self._state == "open"
        self._state = "closed"
        if not was_open or not self._save_enabled:
            return
        if not self._recorded:
            if self.record_mode is RecordMode.REWRITE:
                # Rewritten with nothing in it: no cassette at all, as pytest-recording leaves it.
                await asyncio.to_thread(self.path.unlink, True)
            return
        entries = [(item.request, item.response) for item in self._interactions_to_save()]
        secrets = tuple(self._secrets)
        self._saving = asyncio.get_running_loop().create_task(
            asyncio.to_thread(self._save, entries, secrets)
        )
        await asyncio.shield(self._saving)

    async def __aenter__(self) -> Recorder:
        await self.open()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    def _load(self) -> tuple[tuple[Interaction, ...] | None, tuple[Any, ...], Mapping[str, Any],
                             list[str], bool]:
        """Runs in a worker thread: reads, checks and keys the cassette; mutates nothing.

        Returns the interactions (``None`` when there is no file or an empty one), the file's
        raw entries (to key again if variable rules are added), our metadata, the values learnt
        to be secret, and whether the file exists but is empty.
        """
        learned: list[str] = []
        if self.record_mode is RecordMode.REWRITE:
            return None, (), {}, learned, False  # nothing of the old file survives a rewrite
        data = load_cassette_file(self.path)
        if data is None or data.empty:
            return None, (), {}, learned, data is not None
        interactions = self._key_loaded(data.interactions, learned)
        _schema_sha256()  # warm the cache here, off the event loop
        return interactions, data.interactions, data.metadata, learned, False

    def _key_loaded(self, entries: Iterable[tuple[Mapping[str, Any], Mapping[str, Any]]],
                    learned: list[str]) -> tuple[Interaction, ...]:
        """Key a cassette's entries, through the hooks (an entry a hook drops is left out)."""
        keyed = []
        for position, (request, response) in enumerate(entries):
            body = self._redact_request_body(decode_payload(request.get("body")), learned)
            if self._hooks.active:
                hooked = self._hooks.loaded(request, body, response)
                if hooked is None:
                    continue
                request, body, response = hooked
            keyed.append(Interaction.build(request, response, matching=self._matching,
                                           request_body=body, position=position))
        return tuple(keyed)

    def _save(self, entries: list[tuple[Mapping[str, Any], Mapping[str, Any]]],
              secrets: tuple[str, ...]) -> None:
        metadata = build_metadata(sdk_version=_sdk_version(), schema_sha256=_schema_sha256())
        save_cassette_file(self.path, entries, metadata, secrets)

    def _warn_on_schema_drift(self, metadata: Mapping[str, Any]) -> None:
        recorded = metadata.get("schema_sha256")
        if recorded is not None and recorded != _schema_sha256():
            warnings.warn(
                SchemaDriftWarning(
                    f"Cassette {self.path} was recorded against GraphQL schema {recorded}, but "
                    f"this SDK bundles schema {_schema_sha256()}: its answers may not match "
                    f"what a backend says today. Re-record it: {self._fix_advice()}."
                ),
                stacklevel=3,
            )

    def _interactions_to_save(self) -> list[Interaction]:
        new = [self._recorded[seq] for seq in sorted(self._recorded)]
        if self.record_mode is RecordMode.ALL:
            # vcrpy 9 semantics: a re-recorded request replaces what was recorded for it before.
            replaced = {item.match_key for item in new}
            chosen = [item for item in self._loaded if item.match_key not in replaced] + new
        else:
            chosen = list(self._loaded) + new
        if self._canonical_order:
            # sorted() is stable: answers to one key keep their issue order, so FIFO replay holds.
            chosen.sort(key=lambda item: (item.key.operation or "", item.key.path,
                                          item.key.document_sha256, item.key.variables))
        return chosen

    # --- the middleware --------------------------------------------------------------------------

    async def middleware(self, request: ClientRequest, handler: ClientHandlerType) -> ClientResponse:
        """The aiohttp client middleware: ``ClientSession(middlewares=(recorder.middleware,))``."""
        if self._state != "open":
            msg = f"{self!r} is not open: use the client as `async with`, or await open() first."
            raise ClientClosedError(msg)
        sequence = next(self._sequence)
        # For in-memory payloads (all gql sends) as_bytes returns without suspending, so no other
        # request can overtake this one between its sequence number and its claim on an answer.
        body = request.body
        body_bytes = b"" if isinstance(body, bytes) else await body.as_bytes()
        learned: list[str] = []
        request_json = self._redact_request_body(decode_payload(body_bytes), learned)
        self.add_secrets(*learned)
        stored: dict[str, Any] = {
            "method": request.method,
            "uri": self._stored_uri(request.url),
            "body": request_json,
            "headers": self._headers(request.headers, self._request_headers),
        }
        if self._hooks.active:
            hooked = self._hooks.request(stored)
            if hooked is None:
                return await handler(request)  # left out by a hook: straight to the backend
            stored = hooked
        keyed = self._key(stored)
        self._calls[keyed.key.operation] += 1
        if self._serves_recorded:
            answer = self._index.take(keyed.match_key)
            if answer is not None:
                self._check_recorded_body(answer)
                self._played += 1
                return build_replayed_response(
                    request, status=answer.status, reason=answer.reason,
                    headers=answer.header_pairs(), body=answer.body,
                )
            if not self._sends_live:
                raise self._miss(keyed)
        response = await handler(request)
        answer_bytes = await response.read()
        # Reading drained the live stream; give the caller a fresh one over the same bytes, so
        # streaming a recorded response works (vcrpy's aiohttp stub long got this wrong).
        response.content = body_stream(answer_bytes, asyncio.get_running_loop())
        recorded = self._record(stored, keyed, response, answer_bytes)
        if recorded is not None:
            self._recorded[sequence] = recorded
        return response

    def _key(self, stored: dict[str, Any]) -> KeyedRequest:
        """Key a new request; a value in a slot redacted in the recording is redacted here too."""
        keyed = key_request(stored["method"], stored["uri"], stored["body"], stored["headers"],
                            self._matching)
        slots = self._slots.get(_slot_scope(keyed.key))
        body = stored["body"]
        if slots and isinstance(body, dict) and isinstance(body.get("variables"), dict):
            variables, secret_values = fill_redacted_slots(body["variables"], slots)
            if variables != body["variables"]:
                self.add_secrets(*secret_values)
                stored["body"] = {**body, "variables": variables}
                keyed = key_request(stored["method"], stored["uri"], stored["body"],
                                    stored["headers"], self._matching)
        return keyed

    def _check_recorded_body(self, answer: Interaction) -> None:
        """Refuse to serve a recorded body that claims to be JSON and is not (an edited file).

        Checked when served, once per interaction, not at load: loading a 10,000-entry cassette
        must not parse every body twice, and most replays use a fraction of a shared cassette.
        Served as is, the client would blame the backend URL for what is a damaged file.
        """
        if answer.position is None or answer.position in self._checked_bodies:
            return
        if answer.claims_json:
            try:
                json.loads(answer.body.decode("utf-8"))
            except ValueError as exc:  # UnicodeDecodeError is a ValueError too
                operation = answer.key.operation or "<anonymous operation>"
                msg = (
                    f"Cassette {self.path} is damaged: the response of interaction "
                    f"#{answer.position} (operation {operation!r}) says it is JSON but its body is "
                    f"not ({exc}). Restore the file from version control, or record it again "
                    "with record_mode='all' (new_episodes would keep replaying this entry)."
                )
                raise CassetteFormatError(msg) from None
        self._checked_bodies.add(answer.position)

    # --- recording -------------------------------------------------------------------------------

    def _redact_request_body(self, body: Any, found: list[str]) -> Any:
        """``body`` with secrets replaced; values redacted for their name are added to ``found``.

        Pure (it may run in the loading thread): the caller registers ``found`` as secrets, since
        a value sent as ``password``/``apiKey`` is a secret wherever it shows up next.
        """
        secrets = frozenset(self._secrets)
        if isinstance(body, dict):
            # Without registered secrets only the by-name pass has work to do (a 10,000-entry
            # cassette is keyed at load time, so this matters).
            redacted = scrub_json(body, secrets, by_name=False) if secrets else dict(body)
            if isinstance(redacted.get("variables"), dict):
                redacted["variables"] = scrub_json(
                    redacted["variables"], secrets, by_name=True, found=found
                )
            return redacted
        if isinstance(body, list):
            return [self._redact_request_body(item, found) for item in body]
        if isinstance(body, str):
            return scrub_text(body, secrets)
        return body

    def _stored_uri(self, url: URL) -> str:
        if self._uri_origin is not None:
            url = self._uri_origin.join(URL(url.raw_path_qs, encoded=True))
        return scrub_text(str(url), self._secrets)

    def _headers(self, headers: Mapping[str, str], allowed: frozenset[str]) -> dict[str, list[str]]:
        kept = keep_headers(headers.items(), allowed)
        return {name: [scrub_text(v, self._secrets) for v in values] for name, values in kept.items()}

    def _stored_body_text(self, answer_bytes: bytes) -> str:
        """The response body as stored: pretty JSON with secrets replaced at any depth."""
        if not self._secrets:
            return pretty_body_text(answer_bytes)
        secrets = frozenset(self._secrets)
        try:
            document = json.loads(answer_bytes.decode("utf-8"))
        except ValueError:  # UnicodeDecodeError is a ValueError too
            return scrub_text(pretty_body_text(answer_bytes), secrets)
        redacted = scrub_json(document, secrets, by_name=False)
        return json.dumps(redacted, indent=2, sort_keys=True, ensure_ascii=False)

    def _record(self, stored: dict[str, Any], keyed: KeyedRequest, response: ClientResponse,
                answer_bytes: bytes) -> Interaction | None:
        """The exchange as the cassette keeps it, or ``None`` if a response hook dropped it."""
        text = self._stored_body_text(answer_bytes)
        stored_request = {**stored, "body": stored_body(stored["body"], self._matching)}
        stored_response: dict[str, Any] = {
            "status": {"code": response.status, "message": response.reason},
            "headers": self._headers(response.headers, self._response_headers),
            "body": {"string": text},
        }
        if self._hooks.active:
            hooked = self._hooks.response(stored_response)
            if hooked is None:
                return None
            stored_response = hooked
            # A hook may have rewritten the body: serve and save what it left.
            text = str(stored_response.get("body", {}).get("string") or "")
        return Interaction(
            key=keyed.key, payload=keyed.payload, match_key=keyed.match_key,
            request=stored_request, response=stored_response, body=text.encode("utf-8"),
        )

    # --- replay misses ---------------------------------------------------------------------------

    def _fix_advice(self) -> str:
        """How to record what is missing, as a clause ("run `cmd` ..."): backticks only ever
        surround a command a user can paste, never prose."""
        if self._rerecord_command:
            return f"run `{self._rerecord_command}` to record the missing answers"
        # The CLI rewrites "open the client with record_mode='new_episodes'" into its options.
        return (
            f"open the client with record_mode='new_episodes' to record the missing answers into "
            f"{self.path} (record_mode='all' records it again from scratch)"
        )

    def _miss(self, keyed: KeyedRequest) -> CassetteMismatchError:
        key, payload = keyed.key, keyed.payload
        recorded = self._index.recorded(keyed.match_key)
        if recorded:
            reason = (
                f"all {recorded} recorded answer(s) for it were already played "
                f"and the repeat policy is {self.repeat.value!r}"
            )
        else:
            reason = "the cassette has no entry for this request"
        return mismatch_error(
            key=key, payload=payload, reason=reason, cassette_path=self.path,
            record_mode=self.record_mode.value, repeat=self.repeat.value,
            closest=[] if recorded else self._index.closest(key),
            how_to_record=self._fix_advice(),
            secrets=tuple(self._secrets),
        )

    # --- what happened (for tests and the pytest plugin) -----------------------------------------

    @property
    def interactions(self) -> tuple[Interaction, ...]:
        """The loaded interactions, then the ones recorded in this session, in issue order."""
        return tuple(self._loaded) + tuple(self._recorded[seq] for seq in sorted(self._recorded))

    @property
    def play_count(self) -> int:
        """How many requests were answered from the cassette."""
        return self._played

    @property
    def record_count(self) -> int:
        """How many requests were sent to the backend and recorded in this session."""
        return len(self._recorded)

    @property
    def all_played(self) -> bool:
        """Whether every loaded interaction was replayed at least once."""
        return not self._index.unplayed()

    def unplayed(self) -> list[str]:
        """``operation(variables)`` of each loaded interaction no request asked for."""
        return [f"{item.key.operation}({item.key.variables})" for item in self._index.unplayed()]

    def calls(self, operation: str | None = None) -> int:
        """How many requests went through the recorder, all of them or for one operation name."""
        if operation is None:
            return sum(self._calls.values())
        return self._calls[operation]
