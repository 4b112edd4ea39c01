"""What a request must look like before the backend reads it: the right ``Host``, JSON POSTs only.

A web page the developer visits can make the browser send requests to ``localhost``; these checks
keep such a page from reading or stalling the backend:

* ``Host`` must name this server (``localhost``, ``127.0.0.1``, ``[::1]``, the bound host, or a
  name allowed with ``--allow-host``): a DNS-rebinding page's requests carry its own host name.
* GraphQL POSTs must be ``application/json``. A ``text/plain`` or form POST is a "simple" request
  that browsers send cross-origin without asking first; JSON needs a CORS preflight, which only the
  origins given with ``--cors`` pass (see :mod:`.cors`).
* ``GET /graphql?query=`` (also a simple request) is served only when asked for (``--allow-get``).
"""

from __future__ import annotations

import socket
from collections.abc import Iterable

import attrs
from aiohttp import web
from aiohttp.typedefs import Middleware

from flowview_async.server.faults import Handler
from flowview_async.server.payloads import error_body

LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1")
_ANY_ADDRESS = ("", "0.0.0.0", "::")
JSON_TYPES = ("application/json", "application/graphql-response+json")


def _normalized_origin(origin: str) -> str:
    return origin.strip().rstrip("/").lower()


def _origins(items: Iterable[str]) -> tuple[str, ...]:
    return tuple(_normalized_origin(origin) for origin in items)


def _hosts(items: Iterable[str]) -> tuple[str, ...]:
    return tuple(host.strip().strip("[]").lower().rstrip(".") for host in items)


@attrs.frozen
class HttpPolicy:
    """Who may talk to the backend over HTTP.

    Attributes:
        cors_origins: origins (``http://localhost:8080``) allowed to read answers from a browser;
            none by default. ``"*"`` allows every origin.
        allowed_hosts: ``Host`` names accepted besides the loopback names and the bound host;
            ``"*"`` accepts any.
        allow_get: serve ``GET`` requests carrying ``?query=``.
    """

    cors_origins: tuple[str, ...] = attrs.field(default=(), converter=_origins)
    allowed_hosts: tuple[str, ...] = attrs.field(default=(), converter=_hosts)
    allow_get: bool = False

    def origin_allowed(self, origin: str | None) -> bool:
        if not origin or not self.cors_origins:
            return False
        return "*" in self.cors_origins or _normalized_origin(origin) in self.cors_origins

    def host_names(self, bound_host: str) -> frozenset[str]:
        """Every ``Host`` name accepted when listening on ``bound_host``."""
        names = {*LOOPBACK_NAMES, *self.allowed_hosts, bound_host.strip("[]").lower()}
        if bound_host in _ANY_ADDRESS:
            # Listening everywhere: the machine's own name is how others reach it.
            names.add(socket.gethostname().lower())
        return frozenset(names)


def host_name(header: str) -> str:
    """The host part of a ``Host`` header (``[::1]:4200`` -> ``::1``), lower case."""
    header = header.strip().lower()
    if header.startswith("["):
        return header[1 : header.find("]")] if "]" in header else header
    return header.rsplit(":", 1)[0] if header.count(":") == 1 else header


def _json_error(message: str, code: str, status: int, headers: dict[str, str] | None = None) -> web.Response:
    return web.json_response(error_body(message, code), status=status, headers=headers)


def host_middleware(policy: HttpPolicy, bound_host: str) -> Middleware:
    """Refuses requests whose ``Host`` header does not name this server."""
    names = policy.host_names(bound_host)
    accept_any = "*" in names

    @web.middleware
    async def check_host(request: web.Request, handler: Handler) -> web.StreamResponse:
        header = request.headers.get("Host")
        if accept_any or (header is not None and host_name(header).rstrip(".") in names):
            return await handler(request)
        shown = "no Host header" if header is None else f"the Host header {header!r}"
        return _json_error(
            f"{shown} does not name this server; it answers for {_listed(names)}. Allow other "
            "names with `flowview serve --allow-host NAME`",
            "FORBIDDEN_HOST",
            403,
        )

    return check_host


def _listed(names: Iterable[str]) -> str:
    return ", ".join(f"[{n}]" if ":" in n else n for n in sorted(names))


def request_shape_middleware(policy: HttpPolicy, graphql_paths: tuple[str, ...]) -> Middleware:
    """Refuses GraphQL requests a browser could send cross-origin without a preflight."""

    @web.middleware
    async def check_shape(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path in graphql_paths:
            if request.method == "POST" and request.content_type not in JSON_TYPES:
                return _json_error(
                    f"GraphQL requests must be POSTed as application/json, not "
                    f"{request.content_type or 'without a Content-Type'}",
                    "BAD_REQUEST",
                    415,
                )
            if request.method == "GET" and "query" in request.query and not policy.allow_get:
                return _json_error(
                    "GET requests are not served; POST the query as application/json (or start "
                    "the server with `flowview serve --allow-get`)",
                    "BAD_REQUEST",
                    405,
                    {"Allow": "POST"},
                )
        return await handler(request)

    return check_shape
