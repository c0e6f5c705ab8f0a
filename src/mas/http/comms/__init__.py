"""Communications' routes: email templates and the send log, notifications, WhatsApp, calls.

``Comms`` is the dependency a handler takes to reach the domain's services (and only them).
"""

from typing import Any

from litestar import Controller, Request
from litestar.di import NamedDependency, Provide

from mas.core.comms.services import CommsServices
from mas.core.identity.policy import Caller
from mas.http.auth import resolve_caller

Comms = NamedDependency[CommsServices]


async def _caller_after_comms(request: Request[Any, Any, Any], comms: Comms) -> Caller:
    # Depending on ``comms`` makes Litestar resolve the two in turn instead of spawning a task
    # group for them on every request.
    del comms
    return await resolve_caller(request)


class CommsController(Controller):
    """Base of the domain's controllers: the caller is resolved after the domain's services."""

    dependencies = {"caller": Provide(_caller_after_comms)}
