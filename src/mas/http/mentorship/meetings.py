"""Slots and meetings over HTTP (mentorship.md §5): publishing availability, booking, the
mentor's decisions (in the app or from the mail's one-click link), cancellations, and reading
meetings. Every route answers for the caller's own rows; an ADMIN may act on any meeting where
the spec lets them.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from html import escape
from typing import Annotated, Any
from urllib.parse import urlencode

from litestar import Request, Response, delete, get, post, put
from litestar.enums import MediaType
from litestar.params import FromPath, HeaderParameter, JSONBody, QueryParameter

from mas.core.mentorship.meetings.model import (
    AvailabilityRequest,
    BookingRequest,
    Completion,
    DecisionNote,
    EmailAction,
    Feedback,
    NewAvailabilityRequest,
    NewFeedback,
    PublishSlots,
    RemovedSlots,
    RemoveSlots,
    SlotProgress,
    SlotStatus,
    SlotView,
)
from mas.core.mentorship.meetings.reading import MeetingDetails
from mas.core.platform.errors import DomainError
from mas.core.platform.paging import Page, PageRequest
from mas.http.errors import status_of
from mas.http.mentorship import Mentorship, MentorshipController
from mas.http.params import CallerDep, PageNo, PageSize

ILLEGAL = "the meeting is not in the state this move starts from"
NOT_YOURS = "the caller is a participant allowed to make this move"
MISSING = "the meeting exists"
CHANGED = "nobody changed the meeting meanwhile"
MOVE_RULES = {
    "illegal_transition": ILLEGAL,
    "not_participant": NOT_YOURS,
    "meeting_not_found": MISSING,
    "slot_changed": CHANGED,
}
MOVE_STATUS = {
    "illegal_transition": 409,
    "not_participant": 403,
    "meeting_not_found": 404,
    "slot_changed": 409,
}
Token = Annotated[str, QueryParameter(min_length=1, max_length=128, description="link token")]
BookingKeyHeader = Annotated[
    str | None,
    HeaderParameter(
        name="Idempotency-Key",
        min_length=1,
        max_length=255,
        pattern=r"^[!-~]+$",
        description="a retry with the same key and body answers the first booking (201, "
        "Idempotent-Replayed: true) and holds no second token; kept 48 hours",
        schema_extra={"one_of": None, "type": "string"},
    ),
]

LINK_RULES = {
    "link_used": "the link was not used before and the meeting is undecided",
    "link_expired": "the slot has not started",
    **MOVE_RULES,
}
LINK_STATUS = {"link_used": 410, "link_expired": 410, **MOVE_STATUS}


def _optional_reason(data: DecisionNote | None) -> str | None:
    return data.reason if data is not None else None


class SlotController(MentorshipController):
    path = "/api/mentors"
    tags = ["mentorship: slots"]

    @post(
        "/slots/available",
        operation_id="publishSlots",
        summary="Publish 30-minute slots (all or nothing; identical open slots are reused)",
        opt={
            "policy": "expert",
            "rules": {
                "invalid_slots": "each slot lasts 30 minutes from :00 or :30, in the future, "
                "within 60 days, listed once",
                "slot_overlap": "no slot overlaps a live slot of the mentor",
            },
            "rules_status": {"invalid_slots": 422, "slot_overlap": 409},
        },
    )
    async def publish(
        self, mentorship: Mentorship, caller: CallerDep, data: JSONBody[PublishSlots]
    ) -> list[SlotView]:
        return await mentorship.meetings.availability.publish(caller, data)

    @delete(
        "/slots/available",
        operation_id="removeSlots",
        summary="Remove my open slots (booked ones are left and reported)",
        status_code=200,
        opt={"policy": "expert"},
    )
    async def remove(
        self, mentorship: Mentorship, caller: CallerDep, data: JSONBody[RemoveSlots]
    ) -> RemovedSlots:
        return await mentorship.meetings.availability.remove(caller, data)

    @get(
        "/{mentor_id:uuid}/slots/available",
        operation_id="mentorOpenSlots",
        summary="A mentor's future open slots, earliest first",
        opt={
            "public": True,
            "rules": {"mentor_not_found": "the mentor exists"},
            "rules_status": 404,
        },
    )
    async def open_slots(
        self,
        mentorship: Mentorship,
        mentor_id: FromPath[uuid.UUID],
        page: PageNo = 1,
        page_size: PageSize = 20,
    ) -> Page[SlotView]:
        return await mentorship.meetings.availability.open_of(
            mentor_id, PageRequest(page, page_size)
        )

    @get(
        "/{mentor_id:uuid}/slots",
        operation_id="mentorSlots",
        summary="All slots of a mentor (the mentor or an admin), earliest first",
        opt={
            "policy": "expert",
            "rules": {
                "not_your_slots": "the caller is the mentor or an admin",
                "mentor_not_found": "the mentor exists",
            },
            "rules_status": {"not_your_slots": 403, "mentor_not_found": 404},
        },
    )
    async def all_slots(
        self,
        mentorship: Mentorship,
        caller: CallerDep,
        mentor_id: FromPath[uuid.UUID],
        page: PageNo = 1,
        page_size: PageSize = 20,
    ) -> Page[SlotView]:
        return await mentorship.meetings.availability.all_of(
            caller, mentor_id, PageRequest(page, page_size)
        )

    @post(
        "/slots",
        operation_id="bookSlot",
        summary="Ask for a mentor's open slot (holds 1 token until the mentor decides)",
        opt={
            "policy": "student",
            "rules": {
                "too_late_to_book": "the slot starts at least 2 hours from now",
                "own_slot": "nobody books their own slot",
                "slot_not_found": "the mentor has an open slot at exactly that time",
                "slot_taken": "the slot is still open",
                "overlapping_booking": "the student has no other booking at that time",
                "insufficient_tokens": "the student holds a mentor token",
                "mentor_not_found": "the mentor exists",
                "idempotency_key_reused": "an Idempotency-Key names one booking request",
                "idempotency_key_in_use": "the first request with the key finished",
                "invalid_idempotency_key": "the key is 1-255 printable characters, no spaces",
            },
            "rules_status": {
                "too_late_to_book": 422,
                "own_slot": 403,
                "slot_not_found": 404,
                "slot_taken": 409,
                "overlapping_booking": 409,
                "insufficient_tokens": 402,
                "mentor_not_found": 404,
                "idempotency_key_reused": 422,
                "idempotency_key_in_use": 409,
                "invalid_idempotency_key": 422,
            },
        },
    )
    async def book(
        self,
        mentorship: Mentorship,
        caller: CallerDep,
        data: JSONBody[BookingRequest],
        idempotency_key: BookingKeyHeader = None,
    ) -> Response[SlotView]:
        booked = await mentorship.meetings.bookings.book_once(caller, data, idempotency_key)
        replayed = {"Idempotent-Replayed": "true"} if booked.replayed else {}
        return Response(booked.slot, status_code=201, headers=replayed)

    @get(
        "/users/{user_id:uuid}/meetings",
        operation_id="userMeetings",
        summary="A user's meetings (self or admin), newest first",
        opt={
            "policy": "authenticated",
            "rules": {
                "not_your_meetings": "the caller is that user or an admin",
                "user_not_found": "the user exists",
            },
            "rules_status": {"not_your_meetings": 403, "user_not_found": 404},
        },
    )
    async def meetings_of(
        self,
        mentorship: Mentorship,
        caller: CallerDep,
        user_id: FromPath[uuid.UUID],
        status: Annotated[
            SlotStatus | None, QueryParameter(description="only meetings in this status")
        ] = None,
        start_from: Annotated[
            datetime | None, QueryParameter(name="from", description="start at or after")
        ] = None,
        start_to: Annotated[
            datetime | None, QueryParameter(name="to", description="start before")
        ] = None,
        page: PageNo = 1,
        page_size: PageSize = 20,
    ) -> Page[SlotView]:
        return await mentorship.meetings.meetings.of_user(
            caller, user_id, status, start_from, start_to, PageRequest(page, page_size)
        )

    @post(
        "/users/{user_id:uuid}/meetings/{meeting_id:uuid}/feedback",
        operation_id="giveMeetingFeedback",
        summary="Rate a completed meeting (once per side: the student or the mentor)",
        opt={
            "policy": "authenticated",
            "rules": {
                "not_your_meetings": "the path names the caller",
                "not_participant": NOT_YOURS,
                "meeting_not_found": MISSING,
                "meeting_not_completed": "the meeting is completed",
                "feedback_exists": "this side gave no feedback before",
                "joined_on_time_required": "a student says whether the mentor joined on time",
            },
            "rules_status": {
                "not_your_meetings": 403,
                "not_participant": 403,
                "meeting_not_found": 404,
                "meeting_not_completed": 409,
                "feedback_exists": 409,
                "joined_on_time_required": 422,
            },
        },
    )
    async def give_feedback(
        self,
        mentorship: Mentorship,
        caller: CallerDep,
        user_id: FromPath[uuid.UUID],
        meeting_id: FromPath[uuid.UUID],
        data: JSONBody[NewFeedback],
    ) -> Feedback:
        return await mentorship.meetings.feedback.give(caller, user_id, meeting_id, data)

    @post(
        "/{mentor_id:uuid}/availability-requests",
        operation_id="requestMentorAvailability",
        summary="Ask a mentor to publish slots (at most 3 waiting per student)",
        opt={
            "policy": "student",
            "rules": {
                "mentor_not_found": "the mentor exists",
                "too_many_pending_requests": "the student has fewer than 3 waiting requests",
                "preferred_date_out_of_range": "the date is between today and 60 days ahead",
                "own_slot": "nobody asks themselves",
            },
            "rules_status": {
                "mentor_not_found": 404,
                "too_many_pending_requests": 409,
                "preferred_date_out_of_range": 422,
                "own_slot": 403,
            },
        },
    )
    async def request_availability(
        self,
        mentorship: Mentorship,
        caller: CallerDep,
        mentor_id: FromPath[uuid.UUID],
        data: JSONBody[NewAvailabilityRequest],
    ) -> AvailabilityRequest:
        return await mentorship.meetings.requests.ask(caller, mentor_id, data)


class MeetingController(MentorshipController):
    path = "/api/mentors/meetings/{meeting_id:uuid}"
    tags = ["mentorship: meetings"]

    @post(
        "/approve",
        operation_id="approveMeeting",
        summary="Confirm a tentative request (its mentor)",
        status_code=200,
        opt={"policy": "expert", "rules": MOVE_RULES, "rules_status": MOVE_STATUS},
    )
    async def approve(
        self, mentorship: Mentorship, caller: CallerDep, meeting_id: FromPath[uuid.UUID]
    ) -> SlotView:
        return await mentorship.meetings.bookings.approve(caller, meeting_id)

    @post(
        "/reject",
        operation_id="rejectMeeting",
        summary="Refuse a tentative request (its mentor); the student's token comes back",
        status_code=200,
        opt={"policy": "expert", "rules": MOVE_RULES, "rules_status": MOVE_STATUS},
    )
    async def reject(
        self,
        mentorship: Mentorship,
        caller: CallerDep,
        meeting_id: FromPath[uuid.UUID],
        data: JSONBody[DecisionNote | None] = None,
    ) -> SlotView:
        return await mentorship.meetings.bookings.reject(caller, meeting_id, _optional_reason(data))

    @post(
        "/request-cancellation",
        operation_id="requestMeetingCancellation",
        summary="Ask the mentor to cancel a confirmed meeting (its student)",
        status_code=200,
        opt={"policy": "student", "rules": MOVE_RULES, "rules_status": MOVE_STATUS},
    )
    async def request_cancellation(
        self,
        mentorship: Mentorship,
        caller: CallerDep,
        meeting_id: FromPath[uuid.UUID],
        data: JSONBody[DecisionNote | None] = None,
    ) -> SlotView:
        return await mentorship.meetings.bookings.request_cancellation(
            caller, meeting_id, _optional_reason(data)
        )

    @put(
        "/approve-cancellation",
        operation_id="approveMeetingCancellation",
        summary="Accept a cancellation request (the mentor or an admin); the token comes back",
        opt={"policy": "expert", "rules": MOVE_RULES, "rules_status": MOVE_STATUS},
    )
    async def approve_cancellation(
        self, mentorship: Mentorship, caller: CallerDep, meeting_id: FromPath[uuid.UUID]
    ) -> SlotView:
        return await mentorship.meetings.bookings.approve_cancellation(caller, meeting_id)

    @put(
        "/decline-cancellation",
        operation_id="declineMeetingCancellation",
        summary="Refuse a cancellation request (its mentor): the meeting stays confirmed",
        opt={"policy": "expert", "rules": MOVE_RULES, "rules_status": MOVE_STATUS},
    )
    async def decline_cancellation(
        self, mentorship: Mentorship, caller: CallerDep, meeting_id: FromPath[uuid.UUID]
    ) -> SlotView:
        return await mentorship.meetings.bookings.decline_cancellation(caller, meeting_id)

    @post(
        "/cancel",
        operation_id="cancelMeeting",
        summary="Cancel: the student while tentative, the mentor or an admin once confirmed",
        status_code=200,
        opt={"policy": "authenticated", "rules": MOVE_RULES, "rules_status": MOVE_STATUS},
    )
    async def cancel(
        self,
        mentorship: Mentorship,
        caller: CallerDep,
        meeting_id: FromPath[uuid.UUID],
        data: JSONBody[DecisionNote | None] = None,
    ) -> SlotView:
        return await mentorship.meetings.bookings.cancel(caller, meeting_id, _optional_reason(data))

    @get(
        "/details",
        operation_id="meetingDetails",
        summary="One meeting with its mentor and student (a participant or an admin)",
        opt={
            "policy": "authenticated",
            "rules": {"not_participant": NOT_YOURS, "meeting_not_found": MISSING},
            "rules_status": {"not_participant": 403, "meeting_not_found": 404},
        },
    )
    async def details(
        self, mentorship: Mentorship, caller: CallerDep, meeting_id: FromPath[uuid.UUID]
    ) -> MeetingDetails:
        return await mentorship.meetings.meetings.details(caller, meeting_id)

    @get(
        "/email-action",
        operation_id="meetingEmailActionPage",
        summary="The booking mail's approve / reject link: a page whose button decides",
        media_type=MediaType.HTML,
        opt={"public": True, "rules": LINK_RULES, "rules_status": LINK_STATUS},
    )
    async def email_action_page(
        self,
        request: Request[Any, Any, Any],
        mentorship: Mentorship,
        meeting_id: FromPath[uuid.UUID],
        action: Annotated[EmailAction, QueryParameter(description="approve or reject")],
        token: Token,
    ) -> Response[str]:
        """Opening the link changes nothing (mail scanners open links): the page asks, and its
        button POSTs the same link."""
        try:
            slot = await mentorship.meetings.bookings.check_link(meeting_id, action, token)
        except DomainError as refused:
            return _refused_page(request, refused)
        verb = "Confirm" if action is EmailAction.APPROVE else "Decline"
        target = f"{request.url.path}?{urlencode({'action': action.value, 'token': token})}"
        form = (
            f"<form method='post' action='{escape(target)}'>"
            f"<button type='submit'>{verb} the meeting</button></form>"
        )
        when = slot.start_date_time.isoformat()
        return _page(200, f"{verb} this meeting?", f"The meeting on {when}.", form)

    @post(
        "/email-action",
        operation_id="meetingEmailAction",
        summary="Decide by the booking mail's link (the page's button; single use)",
        status_code=200,
        media_type=MediaType.HTML,
        opt={"public": True, "rules": LINK_RULES, "rules_status": LINK_STATUS},
    )
    async def email_action(
        self,
        request: Request[Any, Any, Any],
        mentorship: Mentorship,
        meeting_id: FromPath[uuid.UUID],
        action: Annotated[EmailAction, QueryParameter(description="approve or reject")],
        token: Token,
    ) -> Response[str]:
        try:
            slot = await mentorship.meetings.bookings.email_action(meeting_id, action, token)
        except DomainError as refused:
            return _refused_page(request, refused)
        word = "confirmed" if slot.status is SlotStatus.CONFIRMED else "declined"
        when = slot.start_date_time.isoformat()
        return _page(
            200, f"Meeting {word}", f"The meeting on {when} is {word}. You can close this page."
        )


def _refused_page(request: Request[Any, Any, Any], refused: DomainError) -> Response[str]:
    """A mentor's browser gets a page saying why; any other client the problem JSON."""
    if request.accept.best_match([MediaType.JSON, MediaType.HTML]) != MediaType.HTML:
        raise refused
    return _page(status_of(refused), "Nothing changed", refused.detail)


def _page(status: int, title: str, message: str, form: str = "") -> Response[str]:
    """``form``: markup built here from escaped values (never user text as is)."""
    page = (
        "<!doctype html><html><head><meta charset='utf-8'>"
        f"<title>{escape(title)}</title></head><body><h1>{escape(title)}</h1>"
        f"<p>{escape(message)}</p>{form}</body></html>"
    )
    return Response(page, status_code=status, media_type=MediaType.HTML)


class SlotProgressController(MentorshipController):
    path = "/api/slots/{slot_id:uuid}"
    tags = ["mentorship: meetings"]

    @post(
        "/start",
        operation_id="startMeeting",
        summary="Mark a confirmed meeting started (once; from 10 minutes before its start)",
        status_code=200,
        opt={
            "policy": "authenticated",
            "rules": {
                **MOVE_RULES,
                "already_started": "the meeting has not started yet",
                "too_early": "it is at most 10 minutes before the start",
            },
            "rules_status": {**MOVE_STATUS, "already_started": 409, "too_early": 422},
        },
    )
    async def start(
        self, mentorship: Mentorship, caller: CallerDep, slot_id: FromPath[uuid.UUID]
    ) -> SlotProgress:
        return await mentorship.meetings.conduct.start(caller, slot_id)

    @post(
        "/complete",
        operation_id="completeMeeting",
        summary="Complete a confirmed meeting and credit the mentor (an admin may override "
        "the attendance check with a reason)",
        status_code=200,
        opt={
            "policy": "expert",
            "rules": {
                **MOVE_RULES,
                "attendance_not_verified": "both participants' attendance is verified (no "
                "participation is recorded yet: only an admin override completes)",
                "override_admin": "only an admin overrides",
                "override_reason": "an override gives a reason",
            },
            "rules_status": {
                **MOVE_STATUS,
                "attendance_not_verified": 409,
                "override_admin": 403,
                "override_reason": 422,
            },
        },
    )
    async def complete(
        self,
        mentorship: Mentorship,
        caller: CallerDep,
        slot_id: FromPath[uuid.UUID],
        data: JSONBody[Completion | None] = None,
    ) -> SlotProgress:
        return await mentorship.meetings.conduct.complete(caller, slot_id, data)

    @get(
        "/details",
        operation_id="slotProgress",
        summary="A meeting's actual times, duration and earnings flags",
        opt={
            "policy": "authenticated",
            "rules": {"not_participant": NOT_YOURS, "meeting_not_found": MISSING},
            "rules_status": {"not_participant": 403, "meeting_not_found": 404},
        },
    )
    async def details(
        self, mentorship: Mentorship, caller: CallerDep, slot_id: FromPath[uuid.UUID]
    ) -> SlotProgress:
        return await mentorship.meetings.conduct.details(caller, slot_id)
