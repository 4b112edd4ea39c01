"""The served GraphQL schema: exactly the bundled Prefect Server SDL, built with graphql-core."""

from __future__ import annotations

import functools
from importlib import resources

from graphql import GraphQLSchema, build_schema

SDL_RESOURCE = "prefect_server_schema.graphql"


@functools.cache
def load_sdl() -> str:
    """The bundled SDL text (the same file the SDK validates its queries against)."""
    return (resources.files("flowview_async") / "resources" / SDL_RESOURCE).read_text("utf-8")


def build_server_schema() -> GraphQLSchema:
    """A fresh schema object built from the SDL; the caller attaches resolvers to it.

    A new object per call, because resolvers are assigned onto the field definitions and two apps
    must not share (and overwrite) each other's.
    """
    return build_schema(load_sdl())
