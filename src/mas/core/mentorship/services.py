"""The mentorship domain's services, as the platform builds them once per process."""

from __future__ import annotations

from dataclasses import dataclass

from mas.core.mentorship.calendar import CalendarServices
from mas.core.mentorship.meetings import MeetingServices
from mas.core.mentorship.mentors import MentorServices
from mas.core.mentorship.recordings import RecordingServices
from mas.core.mentorship.room import RoomServices


@dataclass(frozen=True)
class MentorshipServices:
    mentors: MentorServices
    meetings: MeetingServices
    room: RoomServices
    recordings: RecordingServices
    calendar: CalendarServices
