"""CORS for the origins given with ``flowview serve --cors ORIGIN``, and for nobody else.

By default the backend sends no CORS header at all, so no web page can read its answers. An allowed
origin (Prefect's legacy UI served from its own port, say) gets its preflights answered ``204`` with
the methods and the request headers it asks for, and its answers carry
``Access-Control-Allow-Origin`` set to that origin; a preflight from any other origin is refused
with ``403`` and no CORS header.
"""

from __future__ import annotations

from aiohttp import web
from aiohttp.typedefs import Middleware

from flowview_async.server.faults import Handler
from flowview_async.server.http_guard import HttpPolicy
from flowview_async.server.payloads import error_body

# What Prefect's legacy UI (src/vue-apollo.js and its Apollo client) sets on its requests; allowed
# whether or not a preflight lists them.
UI_REQUEST_HEADERS = (
    "content-type",
    "authorization",
    "x-backend",
    "x-prefect-ui",
    "x-prefect-tenant-id",
    "x-prefect-user-id",
    "x-frame-options",
    "x-content-type-options",
    "x-permitted-cross-domain-policies",
    "content-security-policy",
    "apollographql-client-name",
    "apollographql-client-version",
)
ALLOWED_METHODS = "GET, POST, OPTIONS"
_PREFLIGHT_MAX_AGE_S = "600"


def _allowed_headers(requested: str) -> str:
    names = list(UI_REQUEST_HEADERS)
    for name in requested.split(","):
        name = name.strip().lower()
        if name and name not in names:
            names.append(name)
    return ", ".join(names)


def cors_middleware(policy: HttpPolicy) -> Middleware:
    """Answers preflights and labels answers, for the policy's allowed origins only."""

    @web.middleware
    async def cors(request: web.Request, handler: Handler) -> web.StreamResponse:
        origin = request.headers.get("Origin")
        preflight = request.method == "OPTIONS" and "Access-Control-Request-Method" in request.headers
        if preflight:
            if origin is None or not policy.origin_allowed(origin):
                return web.json_response(
                    error_body(
                        f"the origin {origin!r} is not allowed to call this server; allow it with "
                        "`flowview serve --cors ORIGIN`",
                        "FORBIDDEN_ORIGIN",
                    ),
                    status=403,
                )
            return web.Response(
                status=204,
                headers={
                    "Access-Control-Allow-Origin": origin,
                    "Access-Control-Allow-Methods": ALLOWED_METHODS,
                    "Access-Control-Allow-Headers": _allowed_headers(
                        request.headers.get("Access-Control-Request-Headers", "")
                    ),
                    "Access-Control-Max-Age": _PREFLIGHT_MAX_AGE_S,
                    "Vary": "Origin",
                },
            )
        if origin is None or not policy.origin_allowed(origin):
            return await handler(request)
        try:
            response = await handler(request)
        except web.HTTPException as error:
            _label(error, origin)
            raise
        _label(response, origin)
        return response

    return cors


def _label(response: web.StreamResponse, origin: str) -> None:
    response.headers["Access-Control-Allow-Origin"] = origin
    response.headers["Vary"] = "Origin"
