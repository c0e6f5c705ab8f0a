"""GoogleOAuthClient against the fake Google token endpoint (its real wire format): the consent
URL, the code exchange, the refresh, and Google's refusals mapped to the port's errors."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlparse

import httpx
import pytest

from mas.adapters.mentorship.google_oauth import GoogleOAuthClient
from mas.core.mentorship.calendar.model import SCOPE
from mas.core.mentorship.ports.calendar import CalendarRejected, CalendarUnavailable
from mas.core.platform.errors import NotConfigured, Transient
from tests.google_calendar_fake import CLIENT_ID, CLIENT_SECRET, FakeGoogleCalendar

NOW = datetime(2026, 12, 10, 8, 0, tzinfo=UTC)
REDIRECT = "https://mas.example/api/mentors/me/calendar/callback"


@pytest.fixture
def google() -> FakeGoogleCalendar:
    return FakeGoogleCalendar()


@pytest.fixture
async def http(google: FakeGoogleCalendar) -> AsyncIterator[httpx.AsyncClient]:
    client = httpx.AsyncClient(transport=httpx.ASGITransport(app=google))
    yield client
    await client.aclose()


def oauth(http: httpx.AsyncClient, secret: str = CLIENT_SECRET) -> GoogleOAuthClient:
    return GoogleOAuthClient(client_id=CLIENT_ID, client_secret=secret, http=http, now=lambda: NOW)


def test_the_consent_url_asks_for_offline_calendar_access(http: httpx.AsyncClient) -> None:
    url = oauth(http).consent_url("s.t.a.te", REDIRECT)
    query = parse_qs(urlparse(url).query)
    assert url.startswith("https://accounts.google.com/o/oauth2/v2/auth?")
    assert query == {
        "client_id": [CLIENT_ID],
        "redirect_uri": [REDIRECT],
        "response_type": ["code"],
        "scope": [SCOPE],
        "access_type": ["offline"],
        "prompt": ["consent"],
        "include_granted_scopes": ["true"],
        "state": ["s.t.a.te"],
    }


async def test_a_code_is_traded_once_then_refreshed(
    http: httpx.AsyncClient, google: FakeGoogleCalendar
) -> None:
    client = oauth(http)
    code = google.authorize(REDIRECT)
    grant = await client.exchange_code(code, REDIRECT)
    assert grant.refresh_token in google.refresh_tokens
    assert google.access_tokens[grant.access_token] == grant.refresh_token
    assert grant.expires_at == NOW + timedelta(seconds=3599)
    assert grant.scope == SCOPE
    with pytest.raises(CalendarRejected, match="invalid_grant"):
        await client.exchange_code(code, REDIRECT)

    fresh = await client.refresh(grant.refresh_token)
    assert fresh.access_token != grant.access_token and fresh.refresh_token == ""
    google.refresh_tokens.discard(grant.refresh_token)  # revoked by the owner
    with pytest.raises(CalendarRejected, match="revoked"):
        await client.refresh(grant.refresh_token)


async def test_google_refusals_and_outages(
    http: httpx.AsyncClient, google: FakeGoogleCalendar
) -> None:
    with pytest.raises(CalendarRejected, match="redirect_uri_mismatch"):
        await oauth(http).exchange_code(google.authorize(REDIRECT), "https://evil.example/cb")
    with pytest.raises(CalendarRejected, match="invalid_client"):
        await oauth(http, secret="wrong").exchange_code(google.authorize(REDIRECT), REDIRECT)
    with pytest.raises(NotConfigured):
        await oauth(http, secret="").refresh("1//x")
    assert not oauth(http, secret="").configured

    def down(request: httpx.Request) -> httpx.Response:
        return httpx.Response(503, json={"error": "backend"})

    async with httpx.AsyncClient(transport=httpx.MockTransport(down)) as broken:
        with pytest.raises(CalendarUnavailable) as outage:
            await oauth(broken).refresh("1//x")
        assert isinstance(outage.value, Transient)

    def unreachable(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("no route", request=request)

    async with httpx.AsyncClient(transport=httpx.MockTransport(unreachable)) as broken:
        with pytest.raises(CalendarUnavailable, match="unreachable"):
            await oauth(broken).refresh("1//x")
