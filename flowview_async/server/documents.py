"""From query text to a document fit to execute: size limit, parse, cost limit, validation.

Clients send the same few documents over and over, and validating against this large schema costs
more than running the SQL, so parse and validation results are cached by query text — in a cache
bounded by the (estimated) memory of what it holds, not only by its number of entries, since one
hostile client can send many distinct large documents. Large documents are parsed and validated in
a worker thread so the event loop keeps serving other requests meanwhile.
"""

from __future__ import annotations

import asyncio
import re
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

import attrs
from graphql import DocumentNode, GraphQLError, GraphQLSchema, parse, validate
from graphql.error import GraphQLSyntaxError

from flowview_async.server.limits import Cost, LimitExceeded, Limits, check_document
from flowview_async.server.payloads import Payload, error_body

_SINGLE_QUOTED = re.compile(r"'([^'\s]*)'")
# A parsed and validated document takes roughly this many times its text's size in memory.
_MEMORY_PER_CHARACTER = 40
_ENTRY_OVERHEAD = 2048


def formatted_error(error: GraphQLError, default_code: str, *, js_quotes: bool = False) -> dict[str, Any]:
    """An error as Apollo formats it, with ``extensions.code`` always set."""
    formatted: dict[str, Any] = dict(error.formatted)
    if js_quotes:
        # graphql-js (what Apollo runs) quotes names with double quotes; graphql-core 3.3 single.
        formatted["message"] = _SINGLE_QUOTED.sub(r'"\1"', str(formatted["message"]))
    extensions: dict[str, Any] = dict(formatted.get("extensions") or {})
    extensions.setdefault("code", default_code)
    formatted["extensions"] = extensions
    return formatted


@attrs.define
class _Entry:
    """One query text: its document (or parse errors), and its validation errors once known."""

    document: DocumentNode | None
    errors: tuple[dict[str, Any], ...] = ()
    validation: tuple[dict[str, Any], ...] | None = None


class DocumentCache:
    """Least recently used entries, bounded by count and by the estimated memory they hold."""

    def __init__(self, max_bytes: int, max_entries: int = 4096) -> None:
        self._max_bytes = max_bytes
        self._max_entries = max_entries
        self._entries: OrderedDict[str, _Entry] = OrderedDict()
        self._bytes = 0

    @staticmethod
    def _size(query: str) -> int:
        return _ENTRY_OVERHEAD + len(query) * _MEMORY_PER_CHARACTER

    @property
    def estimated_bytes(self) -> int:
        return self._bytes

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, query: str) -> _Entry | None:
        entry = self._entries.get(query)
        if entry is not None:
            self._entries.move_to_end(query)
        return entry

    def put(self, query: str, entry: _Entry) -> None:
        size = self._size(query)
        if size > self._max_bytes:
            return  # too big to keep: it is simply checked again next time
        if query in self._entries:
            self._bytes -= self._size(query)
        self._entries[query] = entry
        self._entries.move_to_end(query)
        self._bytes += size
        while self._bytes > self._max_bytes or len(self._entries) > self._max_entries:
            oldest, _ = self._entries.popitem(last=False)
            self._bytes -= self._size(oldest)


@attrs.frozen
class Checked:
    """A document that passed every check, with the cost of the operation it will run."""

    document: DocumentNode
    cost: Cost


class Refused(Exception):
    """A request refused before execution, with the HTTP status and JSON body to answer."""

    def __init__(self, status: int, body: dict[str, Any]) -> None:
        super().__init__(status)
        self.status = status
        self.body = body


class DocumentChecker:
    """Checks the documents of one application against its schema and limits."""

    def __init__(self, schema: GraphQLSchema, limits: Limits) -> None:
        self.schema = schema
        self.limits = limits
        self.cache = DocumentCache(limits.cache_bytes)

    def cached_document(self, query: str) -> DocumentNode | None:
        """The document of ``query`` if it was parsed lately (never parses)."""
        entry = self.cache.get(query)
        return entry.document if entry is not None else None

    async def _off_loop_if_large(self, query: str, function: Any, *args: Any) -> Any:
        if len(query) >= self.limits.offload_bytes:
            return await asyncio.to_thread(function, *args)
        return function(*args)

    def _parse(self, query: str) -> _Entry:
        try:
            return _Entry(parse(query, max_tokens=self.limits.max_tokens))
        except GraphQLSyntaxError as error:
            if "tokens. Parsing aborted" in error.message:
                message = (
                    f"the document has more than {self.limits.max_tokens:,} tokens, the limit; "
                    "split it into several requests"
                )
                return _Entry(None, ({"message": message, "extensions": {"code": "QUERY_TOO_COMPLEX"}},))
            return _Entry(None, (formatted_error(error, "GRAPHQL_PARSE_FAILED", js_quotes=True),))
        except RecursionError:
            message = "Syntax Error: the document nests too deeply to be parsed."
            return _Entry(None, ({"message": message, "extensions": {"code": "GRAPHQL_PARSE_FAILED"}},))

    def _validate(self, document: DocumentNode) -> tuple[dict[str, Any], ...]:
        errors: Sequence[GraphQLError] = validate(self.schema, document)
        return tuple(formatted_error(e, "GRAPHQL_VALIDATION_FAILED", js_quotes=True) for e in errors)

    async def check(self, payload: Payload) -> Checked:
        """The checked document of ``payload``; raises :class:`Refused` otherwise."""
        size = len(payload.query.encode("utf-8", "surrogatepass"))
        if size > self.limits.max_document_bytes:
            raise Refused(400, error_body(
                f"the GraphQL document is {size:,} bytes; the limit is "
                f"{self.limits.max_document_bytes:,}: send a shorter query (put large values in "
                "variables)",
                "QUERY_TOO_LARGE",
            ))
        query = payload.query
        entry = self.cache.get(query)
        if entry is None:
            entry = await self._off_loop_if_large(query, self._parse, query)
            self.cache.put(query, entry)
        if entry.document is None:
            raise Refused(400, {"errors": list(entry.errors)})
        try:
            cost = check_document(
                self.schema, entry.document, payload.operation_name, payload.variables, self.limits
            )
        except LimitExceeded as error:
            raise Refused(400, error_body(error.message, error.code)) from None
        if entry.validation is None:
            entry.validation = await self._off_loop_if_large(query, self._validate, entry.document)
        if entry.validation:
            raise Refused(400, {"errors": list(entry.validation)})
        return Checked(entry.document, cost)
