"""Google Calendar connections over HTTP (mentorship.md §3, §6): a mentor connects their own
calendar (``/api/mentors/me/calendar``), an ADMIN the platform's account
(``/api/admin/mentorship/calendar``), through Google's consent page and one public callback.

The connect routes answer the consent URL (the client sends the browser there); Google sends
the browser back to the callback with a code and our signed state, which names whose
calendar it is. The callback answers a small HTML page to a browser and problem JSON to any
other client. No route ever shows a token.
"""

from __future__ import annotations

from html import escape
from typing import Annotated, Any

from litestar import Request, Response, delete, get
from litestar.enums import MediaType
from litestar.params import QueryParameter

from mas.core.mentorship.calendar.model import CalendarConnection, ConnectLink
from mas.core.platform.errors import BadRequest, DomainError
from mas.http.errors import status_of
from mas.http.mentorship import Mentorship, MentorshipController
from mas.http.params import CallerDep

CALLBACK_RULES = {
    "bad_oauth_state": "the state is the one the connect link carried, within 10 minutes",
    "oauth_denied": "the owner granted access on Google's consent page",
}
CALLBACK_STATUS = 400
OUTSIDE = (503,)
"""integration_not_configured (no Google client), calendar_unavailable (Google unreachable)."""
State = Annotated[
    str, QueryParameter(name="state", min_length=1, max_length=512, description="signed state")
]
OAuthError = Annotated[
    str | None, QueryParameter(max_length=256, description="Google's refusal (access_denied)")
]


class MentorCalendarController(MentorshipController):
    path = "/api/mentors/me/calendar"
    tags = ["mentorship: calendar"]

    @get(
        "",
        operation_id="myCalendar",
        summary="Whether my Google calendar is connected",
        opt={"policy": "expert"},
    )
    async def status(self, mentorship: Mentorship, caller: CallerDep) -> CalendarConnection:
        return await mentorship.calendar.accounts.status(caller.user_id)

    @get(
        "/connect",
        operation_id="connectMyCalendar",
        summary="Google's consent page to connect my calendar (send the browser there)",
        opt={"policy": "expert", "problems": OUTSIDE},
    )
    async def connect(self, mentorship: Mentorship, caller: CallerDep) -> ConnectLink:
        return mentorship.calendar.accounts.connect_link(caller.user_id)

    @delete(
        "",
        operation_id="disconnectMyCalendar",
        summary="Disconnect my Google calendar (events already made stay)",
        opt={"policy": "expert"},
    )
    async def disconnect(self, mentorship: Mentorship, caller: CallerDep) -> None:
        await mentorship.calendar.accounts.disconnect(caller.user_id)


class PlatformCalendarController(MentorshipController):
    path = "/api/admin/mentorship/calendar"
    tags = ["mentorship: calendar"]

    @get(
        "",
        operation_id="platformCalendar",
        summary="Whether the platform's Google calendar (for mentors without one) is connected",
        opt={"policy": "admin"},
    )
    async def status(self, mentorship: Mentorship, caller: CallerDep) -> CalendarConnection:
        return await mentorship.calendar.accounts.status(None)

    @get(
        "/connect",
        operation_id="connectPlatformCalendar",
        summary="Google's consent page to connect the platform's calendar account",
        opt={"policy": "admin", "problems": OUTSIDE},
    )
    async def connect(self, mentorship: Mentorship, caller: CallerDep) -> ConnectLink:
        return mentorship.calendar.accounts.connect_link(None)

    @delete(
        "",
        operation_id="disconnectPlatformCalendar",
        summary="Disconnect the platform's Google calendar",
        opt={"policy": "admin"},
    )
    async def disconnect(self, mentorship: Mentorship, caller: CallerDep) -> None:
        await mentorship.calendar.accounts.disconnect(None)


class CalendarCallbackController(MentorshipController):
    path = "/api/mentors/me/calendar/callback"
    tags = ["mentorship: calendar"]

    @get(
        "",
        operation_id="calendarOAuthCallback",
        summary="Google's redirect after consent: stores the calendar's tokens",
        media_type=MediaType.HTML,
        opt={
            "public": True,
            "rules": CALLBACK_RULES,
            "rules_status": CALLBACK_STATUS,
            "problems": (502, 503),  # Google refused the code / is unreachable or unconfigured
        },
    )
    async def callback(
        self,
        request: Request[Any, Any, Any],
        mentorship: Mentorship,
        oauth_state: State,
        code: Annotated[str | None, QueryParameter(min_length=1, max_length=2048)] = None,
        error: OAuthError = None,
    ) -> Response[str]:
        try:
            if code is None:
                raise BadRequest(
                    f"Google did not grant access ({error or 'no code'})", code="oauth_denied"
                )
            await mentorship.calendar.accounts.complete(code, oauth_state)
        except DomainError as refused:
            if request.accept.best_match([MediaType.JSON, MediaType.HTML]) != MediaType.HTML:
                raise
            return _page(status_of(refused), "Calendar not connected", refused.detail)
        return _page(200, "Calendar connected", "Meetings will appear on this calendar.")


def _page(status: int, title: str, message: str) -> Response[str]:
    page = (
        "<!doctype html><html><head><meta charset='utf-8'>"
        f"<title>{escape(title)}</title></head><body><h1>{escape(title)}</h1>"
        f"<p>{escape(message)}</p></body></html>"
    )
    return Response(page, status_code=status, media_type=MediaType.HTML)
