"""Mentorship: the meetings part (mentorship.md §3-§6). Built by its manifest part,
``mas.modules.mentorship.meetings``.

``availability`` publishes, removes and lists a mentor's slots; ``bookings`` books one (the
token held through the tokens domain's purse in the same unit of work) and carries every
decision on it; ``meetings`` reads a user's meetings; ``cleanup`` is the 5-minute cron that
settles rows whose start passed undecided; ``conduct`` starts and completes a meeting (the
mentor credited through the tokens domain's earnings).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from mas.core.mentorship.meetings import tasks
from mas.core.mentorship.meetings.availability import Availability
from mas.core.mentorship.meetings.bookings import Bookings, TokenHolds
from mas.core.mentorship.meetings.cleanup import SlotCleanup
from mas.core.mentorship.meetings.conduct import Conduct, MeetingEarnings
from mas.core.mentorship.meetings.feedback import Feedbacks
from mas.core.mentorship.meetings.ports import (
    AttendanceLog,
    MeetingsUnitOfWork,
    MentorStats,
    NoParticipation,
    NoStats,
)
from mas.core.mentorship.meetings.reading import Meetings
from mas.core.mentorship.meetings.requests import AvailabilityRequests
from mas.core.platform.events import Subscription
from mas.core.platform.ports.clock import Clock
from mas.core.platform.ports.messenger import Messenger
from mas.core.platform.ports.uow import UnitOfWorkFactory
from mas.core.platform.tasking import Handler, Task


@dataclass(frozen=True)
class MeetingPorts:
    uow: UnitOfWorkFactory[MeetingsUnitOfWork]
    clock: Clock
    holds: TokenHolds
    messenger: Messenger
    earnings: MeetingEarnings
    link_secret: bytes
    """Signs the one-click decision links (the installation's secret)."""
    base_url: str
    """Where the links point (``MAS_PUBLIC_BASE_URL``)."""
    attendance: AttendanceLog = NoParticipation()
    """Who joined a meeting (the live room's participation rows, once it writes them)."""
    stats: MentorStats = NoStats()
    """The mentors part's counters (``MentorServices.stats``)."""


@dataclass(frozen=True)
class MeetingServices:
    availability: Availability
    bookings: Bookings
    meetings: Meetings
    cleanup: SlotCleanup
    conduct: Conduct
    feedback: Feedbacks
    requests: AvailabilityRequests


def build_meetings(ports: MeetingPorts) -> MeetingServices:
    return MeetingServices(
        availability=Availability(ports.uow, ports.clock, ports.stats),
        bookings=Bookings(
            ports.uow,
            ports.clock,
            ports.holds,
            ports.messenger,
            ports.link_secret,
            ports.base_url,
            ports.stats,
        ),
        meetings=Meetings(ports.uow),
        cleanup=SlotCleanup(ports.uow, ports.clock, ports.holds, ports.attendance, ports.stats),
        conduct=Conduct(ports.uow, ports.clock, ports.earnings, ports.stats),
        feedback=Feedbacks(ports.uow, ports.clock, ports.stats),
        requests=AvailabilityRequests(ports.uow, ports.clock, ports.messenger),
    )


HANDLERS: Sequence[Handler[MeetingServices, Any]] = (
    Handler(tasks.SLOT_CLEANUP, tasks.slot_cleanup),
    Handler(tasks.EXPIRE_AVAILABILITY_REQUESTS, tasks.expire_availability_requests),
)
CRONS: Mapping[Task[Any], str] = {
    tasks.SLOT_CLEANUP: "*/5 * * * *",
    tasks.EXPIRE_AVAILABILITY_REQUESTS: "30 3 * * *",
}
SUBSCRIPTIONS: Sequence[Subscription[MeetingServices, Any]] = ()
