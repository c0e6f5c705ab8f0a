"""The mentorship domain's routes: mentors and discovery, slots and meetings, the live room.

``Mentorship`` is the dependency a handler takes to reach the domain's services (and only them).
"""

from typing import Any

from litestar import Controller, Request
from litestar.di import NamedDependency, Provide

from mas.core.identity.policy import Caller
from mas.core.mentorship.services import MentorshipServices
from mas.http.auth import resolve_caller

Mentorship = NamedDependency[MentorshipServices]


async def _caller_after_mentorship(
    request: Request[Any, Any, Any], mentorship: Mentorship
) -> Caller:
    # Depending on ``mentorship`` makes Litestar resolve the two in turn instead of spawning a
    # task group for them on every request.
    del mentorship
    return await resolve_caller(request)


class MentorshipController(Controller):
    """Base of the domain's controllers: the caller is resolved after the domain's services."""

    dependencies = {"caller": Provide(_caller_after_mentorship)}
