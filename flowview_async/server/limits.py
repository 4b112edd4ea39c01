"""How much one request may ask of the local backend, and the check that holds it to that.

A GraphQL document is small to send and can be huge to run: aliases repeat a root field thousands
of times, fragments spread into each other double the selection at every level, and every list
field multiplies what is below it by the rows it returns. :func:`check_document` walks the parsed
document once, memoizing each fragment, so the walk itself stays linear in the document's size
whatever the expansion; it runs before validation (graphql-core's validation rules are themselves
quadratic in some shapes) and before execution.

The cost estimate is Hasura-like: each selected field costs 1, times the rows every enclosing list
field may return: its ``limit`` argument when given (literal or variable), else
:attr:`Limits.default_list_rows`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs
from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    IntValueNode,
    OperationDefinitionNode,
    SelectionSetNode,
    VariableNode,
    get_named_type,
)

MIB = 1024 * 1024
DEFAULT_STATEMENT_TIME_S = 5.0
DEFAULT_HISTORY = 10_000
DEFAULT_HISTORY_BYTES = 32 * MIB


@attrs.frozen
class Limits:
    """The bounds ``flowview serve`` puts on every request (defaults suit Prefect 1.4.1 and its UI).

    Attributes:
        max_body_bytes: request body size; Prefect 1.4.1 ships log batches and flow registrations
            of up to ~5 MB, so this stays above that.
        max_json_depth: nesting of the JSON body (variables included).
        max_document_bytes: size of one GraphQL document (the query text, not its variables).
        max_tokens: lexical tokens of one document (bounds the parser's work: ~20 us a token).
        max_root_fields: fields (aliases included) at the root of one operation.
        max_fields: selected fields of one operation once fragments are expanded (bounds the
            validation's work; Prefect's legacy UI selects at most 181, Prefect 1.4.1 fewer).
        max_nesting: nesting of selection sets and fragment spreads (introspection needs ~15).
        max_depth: Apollo's operation depth limit as Prefect Server sets it (graphql-depth-limit:
            root fields are depth 0, introspection fields do not count).
        max_cost: estimated fields x rows of one operation, or of a whole batch.
        default_list_rows: the rows a list field is assumed to return when it has no ``limit``.
        max_batch: operations in one batched request.
        max_pattern_length: length of a ``_like``/``_similar``/``_regex`` pattern.
        statement_time_s: how long one request may keep the database busy.
        header_time_s: how long a connection may take to send its request's headers (and how long
            an idle keep-alive connection is kept).
        body_time_s: how long reading a request body may take.
        history: requests kept by :class:`~flowview_async.server.app.Traffic` (oldest dropped).
        history_bytes: total size of the queries and variables kept in that history.
        cache_bytes: total size of the query texts whose parse/validation result is cached.
        offload_bytes: documents at least this large are parsed and validated in a worker
            thread, so the event loop keeps answering meanwhile.
    """

    max_body_bytes: int = 16 * MIB
    max_json_depth: int = 64
    max_document_bytes: int = 64 * 1024
    max_tokens: int = 10_000
    max_root_fields: int = 100
    max_fields: int = 500
    max_nesting: int = 32
    max_depth: int = 7
    max_cost: int = 2_000_000
    default_list_rows: int = 100
    max_batch: int = 25
    max_pattern_length: int = 2_000
    statement_time_s: float = DEFAULT_STATEMENT_TIME_S
    header_time_s: float = 10.0
    body_time_s: float = 30.0
    history: int = DEFAULT_HISTORY
    history_bytes: int = DEFAULT_HISTORY_BYTES
    cache_bytes: int = 8 * MIB
    offload_bytes: int = 8 * 1024


class LimitExceeded(Exception):
    """A request over one of the :class:`Limits`; ``code`` goes in the error's ``extensions``."""

    def __init__(self, message: str, code: str = "QUERY_TOO_COMPLEX") -> None:
        super().__init__(message)
        self.message = message
        self.code = code


@attrs.frozen
class Cost:
    """What one operation asks for: fields once fragments are expanded, the row estimate, and
    its depth as Apollo's depth limit counts it."""

    fields: int
    cost: int
    depth: int = 0


@attrs.frozen
class _Tally:
    fields: int = 0
    cost: int = 0
    depth: int = 0


class _Walker:
    """One pass over an operation: memoized per fragment, so fan-out costs nothing to count."""

    def __init__(
        self,
        schema: GraphQLSchema,
        fragments: Mapping[str, FragmentDefinitionNode],
        variables: Mapping[str, Any],
        limits: Limits,
    ) -> None:
        self._schema = schema
        self._fragments = fragments
        self._variables = variables
        self._limits = limits
        self._memo: dict[str, _Tally] = {}
        self._in_progress: set[str] = set()

    def selection_set(
        self, selection_set: SelectionSetNode, parent: GraphQLObjectType | None, nesting: int
    ) -> _Tally:
        """Fields, cost (per row of the parent) and Apollo depth below one selection set."""
        if nesting > self._limits.max_nesting:
            raise LimitExceeded(
                f"the query nests selections (and fragment spreads) deeper than "
                f"{self._limits.max_nesting} levels; flatten it or split it into several queries"
            )
        fields = cost = depth = 0
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                found = self._field(selection, parent, nesting)
            elif isinstance(selection, InlineFragmentNode):
                found = self.selection_set(
                    selection.selection_set, self._type_named(selection, parent), nesting + 1
                )
            elif isinstance(selection, FragmentSpreadNode):
                found = self._fragment(selection.name.value, nesting + 1)
            else:  # pragma: no cover - graphql-core has no other selection kind
                continue
            fields += found.fields
            cost += found.cost
            depth = max(depth, found.depth)
            # Stop as soon as it is clear: a fan-out's totals grow exponentially.
            if fields > self._limits.max_fields or cost > self._limits.max_cost:
                break
        return _Tally(fields, cost, depth)

    def _field(self, node: FieldNode, parent: GraphQLObjectType | None, nesting: int) -> _Tally:
        if node.selection_set is None:
            return _Tally(1, 1, 0)
        definition = parent.fields.get(node.name.value) if parent is not None else None
        child: GraphQLObjectType | None = None
        rows = 1
        if definition is not None:
            named = get_named_type(definition.type)
            child = named if isinstance(named, GraphQLObjectType) else None
            field_type = definition.type
            if isinstance(field_type, GraphQLNonNull):
                field_type = field_type.of_type
            if isinstance(field_type, GraphQLList):
                rows = self._rows(node)
        below = self.selection_set(node.selection_set, child, nesting + 1)
        # graphql-depth-limit leaves introspection fields out of the depth.
        depth = 0 if node.name.value.startswith("__") else 1 + below.depth
        return _Tally(1 + below.fields, 1 + rows * below.cost, depth)

    def _rows(self, node: FieldNode) -> int:
        for argument in node.arguments or ():
            if argument.name.value != "limit":
                continue
            value: Any = None
            if isinstance(argument.value, IntValueNode):
                value = int(argument.value.value)
            elif isinstance(argument.value, VariableNode):
                value = self._variables.get(argument.value.name.value)
            if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
                return max(1, value)
        return self._limits.default_list_rows

    def _fragment(self, name: str, nesting: int) -> _Tally:
        if name in self._memo:
            return self._memo[name]
        fragment = self._fragments.get(name)
        if fragment is None or name in self._in_progress:
            return _Tally()  # unknown or cyclic: validation reports it
        self._in_progress.add(name)
        try:
            found = self.selection_set(fragment.selection_set, self._type_named(fragment, None), nesting)
        finally:
            self._in_progress.discard(name)
        self._memo[name] = found
        return found

    def _type_named(
        self, node: InlineFragmentNode | FragmentDefinitionNode, default: GraphQLObjectType | None
    ) -> GraphQLObjectType | None:
        if node.type_condition is None:
            return default
        found = self._schema.get_type(node.type_condition.name.value)
        return found if isinstance(found, GraphQLObjectType) else None


def operation_of(document: DocumentNode, operation_name: str | None) -> OperationDefinitionNode | None:
    """The operation to run: the one named, else the only one (``None`` when ambiguous/absent)."""
    operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
    if operation_name is None:
        return operations[0] if len(operations) == 1 else None
    return next((o for o in operations if o.name is not None and o.name.value == operation_name), None)


def check_document(
    schema: GraphQLSchema,
    document: DocumentNode,
    operation_name: str | None,
    variables: Mapping[str, Any] | None,
    limits: Limits,
) -> Cost:
    """The cost of the operation to run; raises :class:`LimitExceeded` over any limit.

    An operation that cannot be found is left to validation/execution to report (cost 0).
    Apollo's depth limit comes first, with Apollo's own message (what Prefect Server answers).
    """
    operation = operation_of(document, operation_name)
    if operation is None:
        return Cost(0, 0)
    root_fields = sum(1 for s in operation.selection_set.selections if isinstance(s, FieldNode))
    if root_fields > limits.max_root_fields:
        raise LimitExceeded(
            f"the operation selects {root_fields} root fields (aliases included); the limit is "
            f"{limits.max_root_fields}: split it into several requests"
        )
    fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
    root = schema.get_root_type(operation.operation)
    walker = _Walker(schema, fragments, variables or {}, limits)
    tally = walker.selection_set(operation.selection_set, root, 0)
    fields, cost = tally.fields, tally.cost
    if tally.depth > limits.max_depth:
        name = operation.name.value if operation.name else ""
        raise LimitExceeded(
            f"'{name}' exceeds maximum operation depth of {limits.max_depth}", "GRAPHQL_VALIDATION_FAILED"
        )
    if fields > limits.max_fields:
        raise LimitExceeded(
            f"the operation selects more than {limits.max_fields} fields once its fragments are "
            "expanded; select fewer fields or split it into several requests"
        )
    if cost > limits.max_cost:
        raise LimitExceeded(cost_message(cost, limits))
    return Cost(fields, cost, tally.depth)


def cost_message(cost: int, limits: Limits) -> str:
    shown = f"{cost:,}" if cost < 10**15 else "more than 10**15"
    return (
        f"the estimated cost of {shown} (fields x rows) exceeds the limit of {limits.max_cost:,}; "
        f"pass `limit:` on list fields (a list without one counts as {limits.default_list_rows} "
        "rows) or split the query"
    )
