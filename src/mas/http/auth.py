"""The one guard, ``access_guard``: ``policy_guard`` checks roles, ``vendor_guard`` vendor keys.

A handler names a policy of the one policy table (``mas.modules.POLICY_TABLE``: what the
domains declare) in ``opt["policy"]`` (and a
SALES_HEAD page in ``opt["page"]``), or says ``opt["public"] = True``; a vendor route says
``opt["vendor_scope"]``. The route-grid tests read these. Tokens come from
``Authorization: Bearer``, then the ``token`` or ``authToken`` cookie.
"""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.connection import ASGIConnection
from litestar.di import NamedDependency
from litestar.handlers.base import BaseRouteHandler

from mas.core.identity.policy import Caller, Platform, check_platform
from mas.core.identity.tokens import RequestInfo
from mas.core.identity.vendor import VendorCaller
from mas.core.platform.errors import Forbidden, Unauthorized
from mas.modules.container import Container

Connection = ASGIConnection[Any, Any, Any, Any]


def bearer_token(connection: Connection) -> str | None:
    header = connection.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    return connection.cookies.get("token") or connection.cookies.get("authToken")


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
    if page and not caller.has_page(page):
        raise Forbidden(f"this page needs the '{page}' permission", code="page_forbidden")


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
    """Both checks as one guard: Litestar copies the handler for every guard on every request."""
    await policy_guard(connection, handler)
    await vendor_guard(connection, handler)


async def provide_caller(
    request: Request[Any, Any, Any], container: NamedDependency[Container]
) -> Caller:
    # ``container`` is not used: depending on it puts this provider after the container's, so
    # Litestar resolves the two in turn instead of spawning a task group for them per request.
    del container
    return await resolve_caller(request)


async def provide_request_info(request: Request[Any, Any, Any]) -> RequestInfo:
    return request_info(request)
