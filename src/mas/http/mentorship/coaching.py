"""Super-mentor coaching, the original clients' status route and the ADMIN slot statistics
over HTTP (mentorship.md §5).

``/super-mentor/meetings``: a super mentor (an EXPERT with ``is_super_mentor``) or an ADMIN
schedules and lists token-free coaching meetings; ``/admin/super-mentors/{id}/students``: an
ADMIN keeps who each super mentor coaches; ``/mentors/users/{userId}/meetings/{meetingId}/
status``: one target status mapped onto the explicit moves; ``/admin/slots/stats``: counts.
"""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated

from litestar import delete, get, post, put
from litestar.params import FromPath, JSONBody, QueryParameter

from mas.core.mentorship.meetings.model import (
    Assignment,
    NewAssignment,
    NewCoachingMeeting,
    SlotStats,
    SlotStatus,
    SlotView,
    StatusChange,
)
from mas.core.platform.paging import Page, PageRequest
from mas.http.mentorship import Mentorship, MentorshipController
from mas.http.mentorship.meetings import MOVE_RULES, MOVE_STATUS
from mas.http.params import CallerDep, PageNo, PageSize

StatusFilter = Annotated[
    SlotStatus | None, QueryParameter(description="only meetings in this status")
]


class CoachingController(MentorshipController):
    path = "/api/super-mentor/meetings"
    tags = ["mentorship: coaching"]

    @post(
        "/",
        operation_id="scheduleCoachingMeeting",
        summary="Schedule a token-free coaching meeting with an assigned student (confirmed at "
        "once; an admin names the super mentor)",
        opt={
            "policy": "expert",
            "rules": {
                "not_super_mentor": "the caller is a super mentor scheduling for themselves, "
                "or an admin naming a super mentor",
                "student_not_assigned": "the student is assigned to the super mentor",
                "mentor_required": "an admin names the super mentor (mentorId)",
                "invalid_slot": "the meeting lasts 30 minutes from :00 or :30, in the future, "
                "within 60 days",
                "user_not_found": "the student exists",
                "mentor_busy": "the super mentor has no live slot overlapping it",
                "student_busy": "the student has no meeting overlapping it",
            },
            "rules_status": {
                "not_super_mentor": 403,
                "student_not_assigned": 403,
                "mentor_required": 422,
                "invalid_slot": 422,
                "user_not_found": 404,
                "mentor_busy": 409,
                "student_busy": 409,
            },
        },
    )
    async def schedule(
        self, mentorship: Mentorship, caller: CallerDep, data: JSONBody[NewCoachingMeeting]
    ) -> SlotView:
        return await mentorship.meetings.coaching.schedule(caller, data)

    @get(
        "/",
        operation_id="coachingMeetings",
        summary="Coaching meetings: a super mentor's own; an admin's all (or one mentor's)",
        opt={
            "policy": "expert",
            "rules": {"not_your_meetings": "a mentor lists their own meetings"},
            "rules_status": 403,
        },
    )
    async def meetings(
        self,
        mentorship: Mentorship,
        caller: CallerDep,
        mentor_id: Annotated[
            uuid.UUID | None,
            QueryParameter(name="mentorId", description="only this super mentor's meetings"),
        ] = None,
        status: StatusFilter = None,
        page: PageNo = 1,
        page_size: PageSize = 20,
    ) -> Page[SlotView]:
        return await mentorship.meetings.coaching.meetings(
            caller, mentor_id, status, PageRequest(page, page_size)
        )


ROSTER_RULES = {
    "super_mentor_not_found": "the super mentor exists",
    "user_not_found": "the student exists",
    "not_super_mentor": "the mentor is an EXPERT with the super-mentor flag",
    "not_a_student": "the student is a USER",
    "already_assigned": "the student is not assigned to them yet",
}
ROSTER_STATUS = {
    "super_mentor_not_found": 404,
    "user_not_found": 404,
    "not_super_mentor": 422,
    "not_a_student": 422,
    "already_assigned": 409,
}


class CoachingRosterController(MentorshipController):
    path = "/api/admin/super-mentors/{mentor_id:uuid}/students"
    tags = ["mentorship: coaching"]

    @post(
        "/",
        operation_id="assignCoachingStudent",
        summary="Assign a student to a super mentor",
        opt={"policy": "admin", "rules": ROSTER_RULES, "rules_status": ROSTER_STATUS},
    )
    async def assign(
        self,
        mentorship: Mentorship,
        caller: CallerDep,
        mentor_id: FromPath[uuid.UUID],
        data: JSONBody[NewAssignment],
    ) -> Assignment:
        return await mentorship.meetings.coaching.assign(caller, mentor_id, data)

    @get(
        "/",
        operation_id="coachingStudents",
        summary="The students a super mentor coaches, newest assignment first",
        opt={
            "policy": "admin",
            "rules": {"super_mentor_not_found": "the super mentor exists"},
            "rules_status": 404,
        },
    )
    async def students(
        self,
        mentorship: Mentorship,
        mentor_id: FromPath[uuid.UUID],
        page: PageNo = 1,
        page_size: PageSize = 20,
    ) -> Page[Assignment]:
        return await mentorship.meetings.coaching.students(mentor_id, PageRequest(page, page_size))

    @delete(
        "/{student_id:uuid}",
        operation_id="unassignCoachingStudent",
        summary="Unassign a student (meetings already scheduled stay)",
        status_code=204,
        opt={
            "policy": "admin",
            "rules": {"not_assigned": "the student is assigned to them"},
            "rules_status": 404,
        },
    )
    async def unassign(
        self,
        mentorship: Mentorship,
        mentor_id: FromPath[uuid.UUID],
        student_id: FromPath[uuid.UUID],
    ) -> None:
        await mentorship.meetings.coaching.unassign(mentor_id, student_id)


class MeetingStatusController(MentorshipController):
    path = "/api/mentors/users/{user_id:uuid}/meetings/{meeting_id:uuid}"
    tags = ["mentorship: meetings"]

    @put(
        "/status",
        operation_id="setMeetingStatus",
        summary="Move a meeting to a status (the original route: mapped onto approve, reject, "
        "request-cancellation, approve/decline-cancellation, cancel, complete)",
        opt={
            "policy": "authenticated",
            "rules": {
                **MOVE_RULES,
                "not_your_meetings": "the path names the caller (or the caller is an admin)",
                "unsupported_status": "the status is one a move reaches: confirmed, rejected, "
                "cancellation_requested, cancelled, completed",
                "attendance_not_verified": "both participants' attendance is verified",
            },
            "rules_status": {
                **MOVE_STATUS,
                "not_your_meetings": 403,
                "unsupported_status": 422,
                "attendance_not_verified": 409,
            },
        },
    )
    async def set_status(
        self,
        mentorship: Mentorship,
        caller: CallerDep,
        user_id: FromPath[uuid.UUID],
        meeting_id: FromPath[uuid.UUID],
        data: JSONBody[StatusChange],
    ) -> SlotView:
        return await mentorship.meetings.status.set_status(caller, user_id, meeting_id, data)


class SlotStatsController(MentorshipController):
    path = "/api/admin/slots/stats"
    tags = ["mentorship: slots"]

    @get(
        "/",
        operation_id="slotStats",
        summary="Slots starting in a range of days (at most 366): by status, top mentors, by day",
        opt={
            "policy": "admin",
            "rules": {
                "range_reversed": "to is on or after from",
                "range_too_long": "the range spans at most 366 days",
                "range_out_of_bounds": "the days are between 2000-01-01 and 2200-12-31",
            },
            "rules_status": 422,
        },
    )
    async def stats(
        self,
        mentorship: Mentorship,
        from_day: Annotated[date, QueryParameter(name="from", description="first day")],
        to_day: Annotated[date, QueryParameter(name="to", description="last day (inclusive)")],
        top: Annotated[int, QueryParameter(ge=1, le=50, description="mentors listed")] = 10,
    ) -> SlotStats:
        return await mentorship.meetings.slot_stats.between(from_day, to_day, top)
