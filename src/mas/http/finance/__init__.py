"""The finance domain's routes (payments-finance.md §5): FINANCE and ADMIN on /api/finance/*.

``Finance`` is the dependency a handler takes to reach the domain's services (and only them).
"""

from typing import Any

from litestar import Controller, Request
from litestar.di import NamedDependency, Provide

from mas.core.finance.services import FinanceServices
from mas.core.identity.policy import Caller
from mas.http.auth import resolve_caller

Finance = NamedDependency[FinanceServices]


async def _caller_after_finance(request: Request[Any, Any, Any], finance: Finance) -> Caller:
    # Depending on ``finance`` makes Litestar resolve the two in turn instead of spawning a task
    # group for them on every request.
    del finance
    return await resolve_caller(request)


class FinanceController(Controller):
    """Base of the domain's controllers: the caller is resolved after the domain's services."""

    dependencies = {"caller": Provide(_caller_after_finance)}
