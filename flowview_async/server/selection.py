"""The fields a GraphQL selection asks for, flattened for the SQL compiler.

graphql-core validates and executes the document, but the compiler needs the whole subtree of a root
field up front (to build one SQL statement). This module walks it: fragments and inline fragments
are expanded, ``@skip``/``@include`` honoured, arguments coerced against the schema, and the key
order of ``order_by`` objects kept as written (Hasura sorts by keys in the order given, while
graphql-core rebuilds input objects in definition order).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import attrs
from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLField,
    GraphQLIncludeDirective,
    GraphQLObjectType,
    GraphQLSchema,
    GraphQLSkipDirective,
    InlineFragmentNode,
    ListValueNode,
    ObjectValueNode,
    SelectionSetNode,
    ValueNode,
    VariableNode,
    get_named_type,
)
from graphql.execution.values import get_argument_values, get_directive_values


@attrs.frozen
class SelectedField:
    """One response key of a selection: the field, its coerced arguments and sub-selections."""

    key: str
    name: str
    definition: GraphQLField | None
    arguments: dict[str, Any]
    nodes: tuple[FieldNode, ...]


@attrs.frozen
class QueryContext:
    """What is needed to read selections anywhere in one operation."""

    schema: GraphQLSchema
    fragments: Mapping[str, FragmentDefinitionNode]
    # graphql-core's coerced variables (a dict in 3.2, a VariableValues tuple in 3.3), passed
    # back to its own helpers untouched.
    variable_values: Any
    raw_variables: Mapping[str, Any]

    def fields(self, parent_type: GraphQLObjectType, nodes: Sequence[FieldNode]) -> list[SelectedField]:
        """The fields selected under ``nodes`` (all of one response key), in document order."""
        grouped: dict[str, list[FieldNode]] = {}
        for node in nodes:
            if node.selection_set is not None:
                self._collect(parent_type, node.selection_set, grouped, set())
        selected = []
        for key, field_nodes in grouped.items():
            name = field_nodes[0].name.value
            definition = parent_type.fields.get(name)
            arguments = self.arguments(definition, field_nodes[0]) if definition is not None else {}
            selected.append(SelectedField(key, name, definition, arguments, tuple(field_nodes)))
        return selected

    def arguments(self, definition: GraphQLField, node: FieldNode) -> dict[str, Any]:
        """The coerced arguments of ``node``, with ``order_by`` keys in written order."""
        arguments = get_argument_values(definition, node, self.variable_values)
        return self._keep_written_order(arguments, node)

    def field_type(self, field: SelectedField) -> GraphQLObjectType | None:
        if field.definition is None:
            return None
        named = get_named_type(field.definition.type)
        return named if isinstance(named, GraphQLObjectType) else None

    def _included(self, node: FieldNode | FragmentSpreadNode | InlineFragmentNode) -> bool:
        variables = self.variable_values
        skip = get_directive_values(GraphQLSkipDirective, node, variables)
        if skip and skip.get("if") is True:
            return False
        include = get_directive_values(GraphQLIncludeDirective, node, variables)
        return not (include and include.get("if") is False)

    def _collect(
        self,
        parent_type: GraphQLObjectType,
        selection_set: SelectionSetNode,
        grouped: dict[str, list[FieldNode]],
        visited_fragments: set[str],
    ) -> None:
        for selection in selection_set.selections:
            if not self._included(selection):  # type: ignore[arg-type]
                continue
            if isinstance(selection, FieldNode):
                key = selection.alias.value if selection.alias else selection.name.value
                grouped.setdefault(key, []).append(selection)
            elif isinstance(selection, InlineFragmentNode):
                self._collect(parent_type, selection.selection_set, grouped, visited_fragments)
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                fragment = self.fragments.get(name)
                if fragment is None or name in visited_fragments:
                    continue
                visited_fragments.add(name)
                self._collect(parent_type, fragment.selection_set, grouped, visited_fragments)

    def _keep_written_order(self, arguments: dict[str, Any], node: FieldNode) -> dict[str, Any]:
        if "order_by" not in arguments:
            return arguments
        for argument in node.arguments or ():
            if argument.name.value == "order_by":
                ordered = _reorder(arguments["order_by"], argument.value, self.raw_variables)
                return {**arguments, "order_by": ordered}
        return arguments


def _reorder(value: Any, ast: ValueNode | None, raw_variables: Mapping[str, Any]) -> Any:
    """``value`` with dict keys in the order of the literal (or raw variable) that produced it."""
    if isinstance(ast, VariableNode):
        return _reorder_like(value, raw_variables.get(ast.name.value))
    if isinstance(value, list):
        if isinstance(ast, ListValueNode):
            return [
                _reorder(item, item_ast, raw_variables)
                for item, item_ast in zip(value, ast.values, strict=False)
            ]
        # A single object given where a list is expected (GraphQL list coercion).
        return [_reorder(item, ast, raw_variables) for item in value]
    if isinstance(value, dict) and isinstance(ast, ObjectValueNode):
        ordered: dict[str, Any] = {}
        for field in ast.fields:
            key = field.name.value
            if key in value:
                ordered[key] = _reorder(value[key], field.value, raw_variables)
        for key, item in value.items():
            ordered.setdefault(key, item)
        return ordered
    return value


def _reorder_like(value: Any, raw: Any) -> Any:
    if isinstance(value, list):
        raws = raw if isinstance(raw, list) else [raw] * len(value)
        return [_reorder_like(item, item_raw) for item, item_raw in zip(value, raws, strict=False)]
    if isinstance(value, dict) and isinstance(raw, dict):
        ordered = {key: _reorder_like(value[key], raw[key]) for key in raw if key in value}
        for key, item in value.items():
            ordered.setdefault(key, item)
        return ordered
    return value
