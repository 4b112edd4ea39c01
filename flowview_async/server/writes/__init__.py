"""The write side of the local backend: Prefect Server 1.x's mutations, one module per API area.

Each area module maps mutation names to plain functions ``write(tx, input) -> payload``;
:func:`attach_mutations` wraps each into a resolver that runs it as one transaction on the
database thread (:mod:`._core`). Mutations of the schema no module implements (cloud hooks, which
call out to the internet) answer a clear error instead of null.
"""

from __future__ import annotations

from typing import Any

from graphql import GraphQLError, GraphQLSchema

from flowview_async.server.writes import (
    agents,
    artifacts,
    flow_groups,
    flows,
    logs,
    projects,
    runs,
    states,
    tasks,
)
from flowview_async.server.writes._core import (
    PREFECT_HEADERS,
    Write,
    WriteError,
    mutation_resolver,
    prefect_headers,
)

__all__ = ["PREFECT_HEADERS", "WRITES", "WriteError", "attach_mutations", "prefect_headers"]

WRITES: dict[str, Write] = {
    **projects.MUTATIONS,
    **flows.MUTATIONS,
    **tasks.MUTATIONS,
    **flow_groups.MUTATIONS,
    **runs.MUTATIONS,
    **states.MUTATIONS,
    **logs.MUTATIONS,
    **agents.MUTATIONS,
    **artifacts.MUTATIONS,
}


def _unsupported(name: str) -> Any:
    def resolve(*_args: Any, **_kwargs: Any) -> Any:
        raise GraphQLError(
            f"{name} is not supported by the local backend (cloud hooks call external services); "
            "use a Prefect Server for it."
        )

    return resolve


def attach_mutations(schema: GraphQLSchema) -> None:
    """Set ``resolve`` on every Mutation field of ``schema``."""
    mutation = schema.mutation_type
    if mutation is None:
        return
    for name, field in mutation.fields.items():
        write = WRITES.get(name)
        field.resolve = mutation_resolver(write) if write is not None else _unsupported(name)
