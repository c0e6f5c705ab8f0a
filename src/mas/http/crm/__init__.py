"""The CRM's routes: leads, campaigns and tags, imports and vendor intake, assignment.

``Crm`` is the dependency a handler takes to reach the domain's services (and only them).
"""

from typing import Any

from litestar import Controller, Request
from litestar.di import NamedDependency, Provide

from mas.core.crm.services import CrmServices
from mas.core.identity.policy import Caller
from mas.http.auth import resolve_caller

Crm = NamedDependency[CrmServices]


async def _caller_after_crm(request: Request[Any, Any, Any], crm: Crm) -> Caller:
    # Depending on ``crm`` makes Litestar resolve the two in turn instead of spawning a task
    # group for them on every request.
    del crm
    return await resolve_caller(request)


class CrmController(Controller):
    """Base of the domain's controllers: the caller is resolved after the domain's services."""

    dependencies = {"caller": Provide(_caller_after_crm)}
