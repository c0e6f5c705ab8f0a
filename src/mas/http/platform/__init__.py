"""The platform's routes: health, the job ledger and the outbox.

``Platform`` is the dependency a handler takes to reach the domain's services (and only them).
"""

from typing import Any

from litestar import Controller, Request
from litestar.di import NamedDependency, Provide

from mas.core.identity.policy import Caller
from mas.core.platform.services import PlatformServices
from mas.http.auth import resolve_caller

Platform = NamedDependency[PlatformServices]


async def _caller_after_platform(request: Request[Any, Any, Any], platform: Platform) -> Caller:
    # Depending on ``platform`` makes Litestar resolve the two in turn instead of spawning a task
    # group for them on every request.
    del platform
    return await resolve_caller(request)


class PlatformController(Controller):
    """Base of the domain's controllers: the caller is resolved after the domain's services."""

    dependencies = {"caller": Provide(_caller_after_platform)}
