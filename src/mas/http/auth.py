"""Authentication and guards.

``Authenticator`` turns a bearer token into a ``Caller``; the identity issue extends it with the
user snapshot (token version, blocked). Guards name an entry of the policy table
(``mas.core.identity.policy.POLICY``) in the handler's ``opt["policy"]``; public routes say
``opt["public"] = True``. The route-grid tests read these.
"""

from __future__ import annotations

import uuid
from typing import Any

import jwt
from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler

from mas.core.identity.policy import Caller, Platform, Role, allows, platform_allows
from mas.core.shared.errors import Forbidden, Unauthorized

REQUIRED_CLAIMS = ["sub", "role", "plt", "tv", "jti", "exp", "iat"]


class Authenticator:
    def __init__(self, secret: str) -> None:
        self._secret = secret

    async def authenticate(self, token: str) -> Caller:
        try:
            claims = jwt.decode(
                token, self._secret, algorithms=["HS256"], options={"require": REQUIRED_CLAIMS}
            )
            return Caller(
                user_id=uuid.UUID(claims["sub"]),
                role=Role(claims["role"]),
                platform=Platform(claims["plt"]),
                session_id=uuid.UUID(claims["sid"]) if claims.get("sid") else None,
                token_version=int(claims["tv"]),
            )
        except jwt.ExpiredSignatureError:
            raise Unauthorized("the access token has expired", code="token_expired") from None
        except (jwt.PyJWTError, ValueError, KeyError):
            raise Unauthorized("the access token is not valid", code="invalid_token") from None


async def resolve_caller(connection: ASGIConnection[Any, Any, Any, Any]) -> Caller:
    """The caller of this request (cached on the connection); 401 when not authenticated."""
    state = connection.scope.setdefault("state", {})
    cached = state.get("caller")
    if isinstance(cached, Caller):
        return cached
    header = connection.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("send 'Authorization: Bearer <access token>'", code="not_authenticated")
    authenticator: Authenticator = connection.app.state.authenticator
    caller = await authenticator.authenticate(token.strip())
    platform: Platform = state.get("platform", Platform.MY_ANALYTICS_SCHOOL)
    if platform is Platform.MR_HIRE and caller.platform is not Platform.MR_HIRE:
        raise Forbidden("this token was not issued for mr-hire", code="wrong_platform")
    if not platform_allows(platform, caller.role):
        raise Forbidden(f"{caller.role.value} may not use {platform.value}", code="platform_denied")
    state["caller"] = caller
    return caller


async def policy_guard(
    connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler
) -> None:
    """The one guard: checks the caller against ``opt["policy"]`` of the handler."""
    if handler.opt.get("public"):
        return
    policy = handler.opt.get("policy")
    if policy is None:
        # A route nobody classified is closed, not open.
        raise Forbidden("this route has no access policy", code="no_policy")
    caller = await resolve_caller(connection)
    if not allows(policy, caller.role):
        raise Forbidden(
            f"role {caller.role.value} may not use this route (needs '{policy}')",
            code="role_forbidden",
        )


async def provide_caller(request: Any) -> Caller:
    return await resolve_caller(request)
