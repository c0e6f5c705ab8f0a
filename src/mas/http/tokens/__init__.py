"""The tokens domain's routes: balance and ledger, purchases, grants and allotments, earnings.

``Tokens`` is the dependency a handler takes to reach the domain's services (and only them).
"""

from typing import Any

from litestar import Controller, Request
from litestar.di import NamedDependency, Provide

from mas.core.identity.policy import Caller
from mas.core.tokens.services import TokensServices
from mas.http.auth import resolve_caller

Tokens = NamedDependency[TokensServices]


async def _caller_after_tokens(request: Request[Any, Any, Any], tokens: Tokens) -> Caller:
    # Depending on ``tokens`` makes Litestar resolve the two in turn instead of spawning a task
    # group for them on every request.
    del tokens
    return await resolve_caller(request)


class TokensController(Controller):
    """Base of the domain's controllers: the caller is resolved after the domain's services."""

    dependencies = {"caller": Provide(_caller_after_tokens)}
