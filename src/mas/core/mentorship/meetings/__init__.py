"""Mentorship: the meetings part (mentorship.md §3-§6). Built by its manifest part,
``mas.modules.mentorship.meetings``.

``availability`` publishes, removes and lists a mentor's slots; ``bookings`` books one (the
token held through the tokens domain's purse in the same unit of work) and carries every
decision on it; ``meetings`` reads a user's meetings; ``cleanup`` is the 5-minute cron that
settles rows whose start passed undecided; ``conduct`` starts and completes a meeting (the
mentor credited through the tokens domain's earnings); ``coaching`` schedules super mentors'
token-free meetings and keeps who they coach; ``status`` is the original clients' one status
route over the explicit moves; ``slot_stats`` counts slots for ADMINs; ``booking_keys`` purges
the bookings' lapsed ``Idempotency-Key`` rows.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from mas.core.mentorship.meetings import tasks
from mas.core.mentorship.meetings.availability import Availability
from mas.core.mentorship.meetings.booking_keys import (
    PURGE_BOOKING_KEYS,
    BookingKeyPurge,
    purge_booking_keys,
)
from mas.core.mentorship.meetings.bookings import Bookings, TokenHolds
from mas.core.mentorship.meetings.cleanup import SlotCleanup
from mas.core.mentorship.meetings.coaching import Coaching
from mas.core.mentorship.meetings.conduct import Conduct, MeetingEarnings
from mas.core.mentorship.meetings.facade import StatusFacade
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
from mas.core.mentorship.meetings.stats import SlotStatistics
from mas.core.mentorship.meetings.sweep import SWEEP_UNCREDITED, EarningsSweep, sweep_uncredited
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
    """Who joined a meeting (the room part's participation rows, ``ParticipationLog``)."""
    stats: MentorStats = NoStats()
    """The mentors part's counters (``MentorServices.stats``)."""
    timezone: str = "Asia/Kolkata"
    """The zone whose days the slot statistics count (``MAS_TIMEZONE``)."""


@dataclass(frozen=True)
class MeetingServices:
    availability: Availability
    bookings: Bookings
    meetings: Meetings
    cleanup: SlotCleanup
    conduct: Conduct
    feedback: Feedbacks
    requests: AvailabilityRequests
    coaching: Coaching
    status: StatusFacade
    slot_stats: SlotStatistics
    booking_keys: BookingKeyPurge
    sweep: EarningsSweep
    """``earnings.sweep_uncredited``: credits completed meetings missed (tokens' interface)."""


def build_meetings(ports: MeetingPorts) -> MeetingServices:
    bookings = Bookings(
        ports.uow,
        ports.clock,
        ports.holds,
        ports.messenger,
        ports.link_secret,
        ports.base_url,
        ports.stats,
    )
    conduct = Conduct(ports.uow, ports.clock, ports.earnings, ports.stats, ports.attendance)
    return MeetingServices(
        availability=Availability(ports.uow, ports.clock, ports.stats),
        bookings=bookings,
        meetings=Meetings(ports.uow),
        cleanup=SlotCleanup(ports.uow, ports.clock, ports.holds, ports.attendance, ports.stats),
        conduct=conduct,
        feedback=Feedbacks(ports.uow, ports.clock, ports.stats),
        requests=AvailabilityRequests(ports.uow, ports.clock, ports.messenger),
        coaching=Coaching(ports.uow, ports.clock, ports.messenger),
        status=StatusFacade(ports.uow, bookings, conduct),
        slot_stats=SlotStatistics(ports.uow, ports.timezone),
        booking_keys=BookingKeyPurge(ports.uow, ports.clock),
        sweep=EarningsSweep(ports.uow, ports.clock, ports.earnings),
    )


HANDLERS: Sequence[Handler[MeetingServices, Any]] = (
    Handler(tasks.SLOT_CLEANUP, tasks.slot_cleanup),
    Handler(tasks.AUTO_COMPLETE, tasks.auto_complete),
    Handler(tasks.EXPIRE_AVAILABILITY_REQUESTS, tasks.expire_availability_requests),
    Handler(PURGE_BOOKING_KEYS, purge_booking_keys),
    Handler(SWEEP_UNCREDITED, sweep_uncredited),
)
CRONS: Mapping[Task[Any], str] = {
    tasks.SLOT_CLEANUP: "*/5 * * * *",
    tasks.AUTO_COMPLETE: "*/5 * * * *",
    tasks.EXPIRE_AVAILABILITY_REQUESTS: "30 3 * * *",
    PURGE_BOOKING_KEYS: "45 3 * * *",
    SWEEP_UNCREDITED: "25 * * * *",
}
SUBSCRIPTIONS: Sequence[Subscription[MeetingServices, Any]] = ()
