"""Identity's routes: sign-in and accounts, the admin's user management, vendor keys.

``Identity`` is the dependency a handler takes to reach the domain's services (and only them).
"""

from typing import Any

from litestar import Controller, Request
from litestar.di import NamedDependency, Provide

from mas.core.identity.policy import Caller
from mas.core.identity.services import IdentityServices
from mas.http.auth import resolve_caller

Identity = NamedDependency[IdentityServices]


async def _caller_after_identity(request: Request[Any, Any, Any], identity: Identity) -> Caller:
    # Depending on ``identity`` makes Litestar resolve the two in turn instead of spawning a task
    # group for them on every request.
    del identity
    return await resolve_caller(request)


class IdentityController(Controller):
    """Base of the domain's controllers: the caller is resolved after the domain's services."""

    dependencies = {"caller": Provide(_caller_after_identity)}
