"""The meetings part's crons (mentorship.md §6)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from mas.core.platform.tasking import NoArgs, Task, TaskPolicy

if TYPE_CHECKING:
    from mas.core.mentorship.meetings import MeetingServices

SLOT_CLEANUP = Task("mentorship.slot_cleanup", NoArgs, TaskPolicy(attempts=2))
AUTO_COMPLETE = Task("mentorship.auto_complete", NoArgs, TaskPolicy(attempts=2))
EXPIRE_AVAILABILITY_REQUESTS = Task(
    "mentorship.availability_request_expiry", NoArgs, TaskPolicy(attempts=2)
)


async def slot_cleanup(meetings: MeetingServices, _: NoArgs) -> None:
    """Idempotent: every row moves by compare-and-set, every refund is keyed."""
    await meetings.cleanup.run()


async def auto_complete(meetings: MeetingServices, _: NoArgs) -> None:
    """Idempotent: every completion moves by compare-and-set, every credit is keyed by slot."""
    await meetings.conduct.auto_complete()


async def expire_availability_requests(meetings: MeetingServices, _: NoArgs) -> None:
    """Idempotent: one predicate update on PENDING rows."""
    await meetings.requests.expire()
