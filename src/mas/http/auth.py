"""The one guard, ``access_guard``: ``policy_guard`` checks roles, ``vendor_guard`` vendor keys.

A handler names a policy of the one policy table (``mas.modules.POLICY_TABLE``: what the
domains declare) in ``opt["policy"]`` (and a
SALES_HEAD page in ``opt["page"]``), or says ``opt["public"] = True``; a vendor route says
``opt["vendor_scope"]``. The route-grid tests read these.

A page gates SALES_HEAD callers twice, from the route's one declaration: the identity
permission (``Caller.passes_page``, 403 ``page_forbidden``), then the owning domain's own switch
(the ``page_check`` its manifest declares, e.g. the CRM profile's flags, 403 ``page_disabled``).

Tokens come from ``Authorization: Bearer``; the ``token`` or ``authToken`` cookie is honoured
only on safe methods (GET, HEAD, OPTIONS) and the websocket handshake. A browser sends cookies
with a cross-site form POST, so a write authenticated by a cookie alone is refused (401
``cookie_auth_unsafe``): writes carry the header, which another site cannot set. A browser also
sends cookies with a cross-site WebSocket handshake (no CORS applies to it), so a handshake
authenticated by a cookie must come from an allowed origin (``cors_origins`` or
``public_base_url``; 403 ``origin_not_allowed``); tickets (``?ticket=``) need no cookie.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from litestar import Request
from litestar.connection import ASGIConnection
from litestar.di import NamedDependency
from litestar.exceptions import WebSocketException
from litestar.handlers.base import BaseRouteHandler

from mas.core.identity.policy import Caller, Platform, check_platform
from mas.core.identity.tokens import RequestInfo
from mas.core.identity.vendor import VendorCaller
from mas.core.platform.errors import DomainError, Forbidden, Unauthorized
from mas.http.errors import status_of
from mas.modules import PAGE_CHECKS
from mas.modules.container import Container

Connection = ASGIConnection[Any, Any, Any, Any]

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
TOKEN_COOKIES = ("token", "authToken")


def cookie_allowed(connection: Connection) -> bool:
    """Cookie authentication: safe methods and the websocket handshake only."""
    if connection.scope.get("type") == "websocket":
        return True
    return str(connection.scope.get("method", "")).upper() in SAFE_METHODS


def bearer_token(connection: Connection) -> str | None:
    """The access token: the ``Authorization`` header, else (safe methods only) a cookie."""
    header = connection.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    cookie = next((connection.cookies[n] for n in TOKEN_COOKIES if connection.cookies.get(n)), None)
    if cookie and not cookie_allowed(connection):
        raise Unauthorized(
            "a cookie authenticates reads only: send 'Authorization: Bearer <access token>' "
            "for writes",
            code="cookie_auth_unsafe",
        )
    if cookie and connection.scope.get("type") == "websocket":
        check_socket_origin(connection)
    return cookie


def allowed_origins(connection: Connection) -> frozenset[str]:
    settings = connection.app.state.container.settings
    base = urlsplit(settings.public_base_url)
    own = f"{base.scheme}://{base.netloc}" if base.scheme and base.netloc else ""
    return frozenset(o.rstrip("/") for o in (*settings.cors_origins, own) if o)


def check_socket_origin(connection: Connection) -> None:
    """A cookie-authenticated WebSocket handshake from another site is refused. Browsers always
    send ``Origin`` on a handshake; a client without one is not a browser carrying cookies for
    someone else."""
    origin = connection.headers.get("origin")
    if origin is not None and origin.rstrip("/") not in allowed_origins(connection):
        raise Forbidden(
            f"a WebSocket authenticated by a cookie may not be opened from {origin[:100]!r}",
            code="origin_not_allowed",
        )


def platform_of(connection: Connection) -> Platform:
    platform: Platform = connection.scope.get("state", {}).get(
        "platform", Platform.MY_ANALYTICS_SCHOOL
    )
    return platform


def request_info(connection: Connection) -> RequestInfo:
    client = connection.scope.get("client")
    return RequestInfo(
        platform=platform_of(connection),
        ip=client[0] if client else None,
        user_agent=connection.headers.get("user-agent"),
    )


async def resolve_caller(connection: Connection) -> Caller:
    """The caller of this request (cached on the connection); 401 when not authenticated."""
    state = connection.scope.setdefault("state", {})
    cached = state.get("caller")
    if isinstance(cached, Caller):
        return cached
    token = bearer_token(connection)
    if not token:
        raise Unauthorized("send 'Authorization: Bearer <access token>'", code="not_authenticated")
    caller = await connection.app.state.container.identity.access.authenticate(token)
    check_platform(platform_of(connection), caller)
    state["caller"] = caller
    return caller


async def policy_guard(connection: Connection, handler: BaseRouteHandler) -> None:
    """Checks the caller against ``opt["policy"]`` (and ``opt["page"]``) of the handler."""
    if handler.opt.get("public") or handler.opt.get("vendor_scope"):
        return
    policy = handler.opt.get("policy")
    if policy is None:
        # A route nobody classified is closed, not open.
        raise Forbidden("this route has no access policy", code="no_policy")
    caller = await resolve_caller(connection)
    if not connection.app.state.policies.allows(policy, caller.role):
        raise Forbidden(
            f"role {caller.role.value} may not use this route (needs '{policy}')",
            code="role_forbidden",
        )
    page = handler.opt.get("page")
    if page:
        if not caller.passes_page(page):
            raise Forbidden(f"this page needs the '{page}' permission", code="page_forbidden")
        check = PAGE_CHECKS.get(page)
        if check is not None:
            await check(connection.app.state.container, caller, page, handler.opt.get("flag"))


async def vendor_guard(connection: Connection, handler: BaseRouteHandler) -> None:
    """Vendor routes take an API key only; an admin's JWT does not pass."""
    scope = handler.opt.get("vendor_scope")
    if not scope:
        return
    raw = connection.headers.get("x-api-key") or connection.headers.get("authorization", "")
    if not raw.strip():
        raise Unauthorized("send 'X-API-Key: vk_live_…'", code="not_authenticated")
    vendor: VendorCaller = await connection.app.state.container.identity.vendor_keys.authenticate(
        raw, scope
    )
    connection.scope.setdefault("state", {})["vendor"] = vendor


async def access_guard(connection: Connection, handler: BaseRouteHandler) -> None:
    """Both checks as one guard: Litestar copies the handler for every guard on every request.

    On a WebSocket handshake a refusal closes the socket with ``4000 + status`` (4401, 4403):
    there is no HTTP response to carry a problem document."""
    try:
        await policy_guard(connection, handler)
        await vendor_guard(connection, handler)
    except DomainError as refused:
        if connection.scope.get("type") != "websocket":
            raise
        status = status_of(refused)
        raise WebSocketException(detail=refused.detail[:120], code=4000 + status) from refused


async def provide_caller(
    request: Request[Any, Any, Any], container: NamedDependency[Container]
) -> Caller:
    # ``container`` is not used: depending on it puts this provider after the container's, so
    # Litestar resolves the two in turn instead of spawning a task group for them per request.
    del container
    return await resolve_caller(request)


async def provide_request_info(request: Request[Any, Any, Any]) -> RequestInfo:
    return request_info(request)
