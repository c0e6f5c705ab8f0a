"""The mentorship manifest's meetings part: its tables, repositories, controllers and how its
services are built from the container (the token holds through ``c.tokens.wallet.purse``)."""

from __future__ import annotations

import hashlib
import uuid
from typing import Any

from mas.adapters.db.mentorship.coaching import (
    SqlBookingKeys,
    SqlCoachingRoster,
    SqlSlotQueries,
)
from mas.adapters.db.mentorship.earnings_sweep import SqlUncreditedMeetings
from mas.adapters.db.mentorship.meetings import (
    SqlAvailabilityRequestRepository,
    SqlSlotFeedbackRepository,
    SqlSlotRepository,
)
from mas.core.mentorship.meetings import MeetingPorts, MeetingServices, build_meetings
from mas.core.mentorship.meetings.coaching import COACHING_SCHEDULED, coaching_scheduled
from mas.core.mentorship.meetings.mails import MAIL_TEMPLATES as MEETING_MAILS
from mas.core.mentorship.room.attendance import ParticipationLog
from mas.core.platform.ports.uow import UnitOfWork
from mas.modules.container import Container

TABLES: list[str] = [
    "mas.adapters.db.mentorship.meetings_tables",
    "mas.adapters.db.mentorship.coaching_tables",
]
REPOSITORIES: dict[str, Any] = {
    "slots": SqlSlotRepository,
    "slot_feedback": SqlSlotFeedbackRepository,
    "availability_requests": SqlAvailabilityRequestRepository,
    "coaching_roster": SqlCoachingRoster,
    "booking_keys": SqlBookingKeys,
    "slot_queries": SqlSlotQueries,
    "uncredited_meetings": SqlUncreditedMeetings,
}
CONTROLLERS: list[str] = [
    "mas.http.mentorship.meetings:SlotController",
    "mas.http.mentorship.meetings:MeetingController",
    "mas.http.mentorship.meetings:SlotProgressController",
    "mas.http.mentorship.coaching:CoachingController",
    "mas.http.mentorship.coaching:CoachingRosterController",
    "mas.http.mentorship.coaching:MeetingStatusController",
    "mas.http.mentorship.coaching:SlotStatsController",
]
MAIL_TEMPLATES: dict[str, Any] = {**MEETING_MAILS, COACHING_SCHEDULED: coaching_scheduled}


class MentorsStats:
    """``MentorServices.stats`` of the container, looked up on use: the parts are built in
    turn, so the mentors part's services are not on the container yet while this one builds."""

    def __init__(self, c: Container) -> None:
        self._c = c

    async def adjust_open_slots(self, uow: UnitOfWork, mentor_id: uuid.UUID, delta: int) -> None:
        await self._c.mentorship.mentors.stats.adjust_open_slots(uow, mentor_id, delta)

    async def record_completion(self, uow: UnitOfWork, mentor_id: uuid.UUID) -> None:
        await self._c.mentorship.mentors.stats.record_completion(uow, mentor_id)

    async def record_rating(self, uow: UnitOfWork, mentor_id: uuid.UUID, rating: float) -> None:
        await self._c.mentorship.mentors.stats.record_rating(uow, mentor_id, rating)


def link_secret(installation_secret: str) -> bytes:
    """A key of its own for the decision links, derived from the installation's secret."""
    return hashlib.sha256(b"mas.mentorship.email_action:" + installation_secret.encode()).digest()


def build(c: Container) -> MeetingServices:
    return build_meetings(
        MeetingPorts(
            uow=c.uow,
            clock=c.clock,
            holds=c.tokens.wallet.purse,
            messenger=c.messenger,
            earnings=c.tokens.earnings,
            stats=MentorsStats(c),
            link_secret=link_secret(c.settings.effective_jwt_secret),
            base_url=c.settings.public_base_url,
            timezone=c.settings.timezone,
            attendance=ParticipationLog(c.uow, c.clock, c.settings.min_verified_minutes),
        )
    )
