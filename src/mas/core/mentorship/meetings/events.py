"""The meetings part's domain events: facts other parts and domains subscribe to (relayed after
commit). The calendar sync follows ``MeetingMoved``; gamification will count completions."""

from __future__ import annotations

import uuid
from datetime import datetime

from mas.core.mentorship.meetings.model import Slot
from mas.core.platform.events import DomainEvent


class MeetingMoved(DomainEvent, frozen=True, kw_only=True):
    """A slot changed status (recorded in the moving transaction, once per move)."""

    subject = "mas.mentorship.meeting_moved"
    slot_id: uuid.UUID
    mentor_id: uuid.UUID
    student_id: uuid.UUID | None
    previous: str
    status: str
    version: int
    start: datetime
    end: datetime
    meeting_type: str

    @classmethod
    def of(cls, previous: str, slot: Slot) -> MeetingMoved:
        return cls(
            slot_id=slot.id,
            mentor_id=slot.mentor_id,
            student_id=slot.student_id,
            previous=previous,
            status=slot.status.value,
            version=slot.version,
            start=slot.start_date_time,
            end=slot.end_date_time,
            meeting_type=slot.meeting_type.value,
        )
