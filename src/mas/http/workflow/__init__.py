"""The workflow domain's routes (workflow.md §7): ADMIN on /api/admin/workflows/*, any
signed-in user on /api/mr-hire/workflow/* (their own rules).

``Workflow`` is the dependency a handler takes to reach the domain's services (and only them).
"""

from typing import Any

from litestar import Controller, Request
from litestar.di import NamedDependency, Provide

from mas.core.identity.policy import Caller
from mas.core.workflow.services import WorkflowServices
from mas.http.auth import resolve_caller

Workflow = NamedDependency[WorkflowServices]


async def _caller_after_workflow(request: Request[Any, Any, Any], workflow: Workflow) -> Caller:
    # Depending on ``workflow`` makes Litestar resolve the two in turn instead of spawning a task
    # group for them on every request.
    del workflow
    return await resolve_caller(request)


class WorkflowController(Controller):
    """Base of the domain's controllers: the caller is resolved after the domain's services."""

    dependencies = {"caller": Provide(_caller_after_workflow)}
