"""The mentorship manifest's calendar part: its table, repositories, controllers, mail and how
its services are built from the container.

Google is reached with ``settings.google_client_id`` / ``google_client_secret`` (both the OAuth
connection and Calendar v3); without them connecting answers 503 and no meeting is synced.
Tokens are sealed by communications' secret box (``encryption_key``, else the installation's
JWT secret; the same versioned keys that seal provider credentials).
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import TYPE_CHECKING, Any

from mas.adapters.db.mentorship.calendar import SqlCalendarSlots, SqlGoogleCredentials
from mas.adapters.mentorship.google_calendar import GoogleCalendar
from mas.adapters.mentorship.google_oauth import GoogleOAuthClient
from mas.core.mentorship.calendar import CalendarPorts, CalendarServices, build_calendar
from mas.core.mentorship.calendar.mails import MAIL_TEMPLATES as CALENDAR_MAILS
from mas.core.mentorship.calendar.model import GoogleGrant
from mas.core.mentorship.ports.calendar import CalendarOwner
from mas.modules.container import Container

if TYPE_CHECKING:
    import httpx

TABLES: list[str] = ["mas.adapters.db.mentorship.calendar_tables"]
REPOSITORIES: dict[str, Any] = {
    "google_credentials": SqlGoogleCredentials,
    "calendar_slots": SqlCalendarSlots,
}
CONTROLLERS: list[str] = [
    "mas.http.mentorship.calendar:MentorCalendarController",
    "mas.http.mentorship.calendar:CalendarCallbackController",
    "mas.http.mentorship.calendar:PlatformCalendarController",
]
MAIL_TEMPLATES: dict[str, Any] = dict(CALENDAR_MAILS)
CALLBACK_PATH = "/api/mentors/me/calendar/callback"


def state_secret(installation_secret: str) -> bytes:
    """A key of its own for the OAuth state, derived from the installation's secret."""
    return hashlib.sha256(b"mas.mentorship.calendar_state:" + installation_secret.encode()).digest()


class GoogleAdapters:
    """The part's Google adapters (OAuth and Calendar v3) behind both ports, so that
    ``install`` can move them onto another HTTP client in a built container: the services,
    the tasks bound at start-up and the ``MeetingMoved`` subscription all hold this object."""

    def __init__(self, c: Container, http: httpx.AsyncClient | None = None) -> None:
        self._c = c
        self.use(http)

    def use(self, http: httpx.AsyncClient | None) -> None:
        s, clock = self._c.settings, self._c.clock
        self.oauth = GoogleOAuthClient(
            client_id=s.google_client_id,
            client_secret=s.google_client_secret,
            http=http,
            auth_url=s.google_oauth_auth_url,
            token_url=s.google_oauth_token_url,
            now=clock.now,
        )
        self.calendar = GoogleCalendar(
            client_id=s.google_client_id,
            client_secret=s.google_client_secret,
            http=http,
            api_base=s.google_calendar_api_base,
            token_url=s.google_oauth_token_url,
            now=lambda: clock.now().timestamp(),
        )
        self._c.closers.extend([self.oauth.aclose, self.calendar.aclose])

    # GoogleOAuth
    @property
    def configured(self) -> bool:
        return self.oauth.configured

    def consent_url(self, state: str, redirect_uri: str) -> str:
        return self.oauth.consent_url(state, redirect_uri)

    async def exchange_code(self, code: str, redirect_uri: str) -> GoogleGrant:
        return await self.oauth.exchange_code(code, redirect_uri)

    async def refresh(self, refresh_token: str) -> GoogleGrant:
        return await self.oauth.refresh(refresh_token)

    # CalendarPort
    async def create_event(
        self,
        owner: CalendarOwner,
        title: str,
        start: datetime,
        end: datetime,
        attendees: list[str],
        idempotency_key: str,
    ) -> str:
        return await self.calendar.create_event(
            owner, title, start, end, attendees, idempotency_key
        )

    async def delete_event(self, owner: CalendarOwner, event_id: str) -> None:
        await self.calendar.delete_event(owner, event_id)


def build(c: Container) -> CalendarServices:
    s = c.settings
    google = GoogleAdapters(c)
    redirect = s.google_calendar_redirect_url or s.public_base_url.rstrip("/") + CALLBACK_PATH
    return build_calendar(
        CalendarPorts(
            uow=c.uow,
            clock=c.clock,
            calendar=google,
            oauth=google,
            box=c.secret_box,
            jobs=c.jobs,
            messenger=c.messenger,
            state_secret=state_secret(s.effective_jwt_secret),
            redirect_uri=redirect,
        )
    )


def install(c: Container, http: httpx.AsyncClient) -> None:
    """Send the built container's Google calls over ``http`` (a test's fake Google)."""
    google = c.mentorship.calendar.calendar
    assert isinstance(google, GoogleAdapters)
    google.use(http)
