"""The calendar routes through the test client: a mentor connects Google Calendar (consent URL,
Google's redirect to the callback, status, disconnect), an ADMIN the platform's account;
without Google's client settings connecting is 503, never a link that cannot work."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import httpx
import pytest
from litestar.testing import AsyncTestClient

from mas.core.identity.model import AuthMethod, User
from mas.core.identity.policy import Platform, Role
from mas.modules.mentorship import calendar as calendar_part
from tests.conftest import make_settings, open_container
from tests.google_calendar_fake import CLIENT_ID, CLIENT_SECRET, FakeGoogleCalendar
from tests.http.conftest import Auth, add_user, http_client

MINE = "/api/mentors/me/calendar"
PLATFORM = "/api/admin/mentorship/calendar"
CALLBACK = "/api/mentors/me/calendar/callback"
HTML = {"Accept": "text/html"}


async def test_connecting_without_google_settings_is_503(
    client: AsyncTestClient[Any], auth: Auth
) -> None:
    answer = await client.get(f"{MINE}/connect", headers=auth(Role.EXPERT))
    assert answer.status_code == 503
    assert answer.json()["code"] == "integration_not_configured"
    answer = await client.get(f"{PLATFORM}/connect", headers=auth(Role.ADMIN))
    assert answer.status_code == 503
    answer = await client.get(CALLBACK, params={"code": "4/x", "state": "a.b.c.d"})
    assert answer.status_code == 503
    mine = await client.get(MINE, headers=auth(Role.EXPERT))
    assert mine.status_code == 200
    assert mine.json() == {"connected": False, "connected_at": None, "scope": None}
    assert (await client.get(MINE, headers=auth(Role.USER))).status_code == 403
    assert (await client.get(PLATFORM, headers=auth(Role.EXPERT))).status_code == 403


class World:
    def __init__(self, c: Any, google: FakeGoogleCalendar, api: AsyncTestClient[Any]) -> None:
        self.c, self.google, self.api = c, google, api

    def auth(self, user: User) -> dict[str, str]:
        token = self.c.identity.issuer.access_token(
            user, Platform.MY_ANALYTICS_SCHOOL, AuthMethod.PASSWORD, None
        )
        return {"Authorization": f"Bearer {token}", "X-Platform": Platform.MY_ANALYTICS_SCHOOL}


@pytest.fixture
async def world(sqlite_url: str, tmp_path: Path) -> AsyncIterator[World]:
    c = await open_container(
        make_settings(
            sqlite_url,
            tmp_path,
            public_base_url="https://mas.example",
            google_client_id=CLIENT_ID,
            google_client_secret=CLIENT_SECRET,
        )
    )
    google = FakeGoogleCalendar()
    http = httpx.AsyncClient(transport=httpx.ASGITransport(app=google))
    calendar_part.install(c, http)
    async with http_client(c) as api:
        yield World(c, google, api)
    await http.aclose()
    await c.close()


async def consent(w: World, path: str, user: User) -> tuple[str, str]:
    """Follow the connect link as Google's consent page would: the code and the state."""
    answer = await w.api.get(f"{path}/connect", headers=w.auth(user))
    assert answer.status_code == 200, answer.text
    query = parse_qs(urlparse(answer.json()["url"]).query)
    return w.google.authorize(query["redirect_uri"][0]), query["state"][0]


async def test_a_mentor_connects_and_disconnects(world: World) -> None:
    mentor = await add_user(world.c, Role.EXPERT)
    code, state = await consent(world, MINE, mentor)
    page = await world.api.get(CALLBACK, params={"code": code, "state": state}, headers=HTML)
    assert page.status_code == 200 and "Calendar connected" in page.text
    mine = (await world.api.get(MINE, headers=world.auth(mentor))).json()
    assert mine["connected"] is True and "calendar.events" in mine["scope"]
    assert "token" not in str(mine)
    assert (await world.api.get(PLATFORM, headers=world.auth(mentor))).status_code == 403

    gone = await world.api.delete(MINE, headers=world.auth(mentor))
    assert gone.status_code == 204
    assert (await world.api.get(MINE, headers=world.auth(mentor))).json()["connected"] is False


async def test_the_callback_refuses_a_tampered_state(world: World) -> None:
    mentor = await add_user(world.c, Role.EXPERT)
    code, state = await consent(world, MINE, mentor)
    tampered = state[:-1] + ("0" if state[-1] != "0" else "1")
    answer = await world.api.get(CALLBACK, params={"code": code, "state": tampered})
    assert answer.status_code == 400 and answer.json()["code"] == "bad_oauth_state"
    page = await world.api.get(CALLBACK, params={"code": code, "state": tampered}, headers=HTML)
    assert page.status_code == 400 and "Calendar not connected" in page.text
    denied = await world.api.get(CALLBACK, params={"error": "access_denied", "state": state})
    assert denied.status_code == 400 and denied.json()["code"] == "oauth_denied"
    assert (await world.api.get(MINE, headers=world.auth(mentor))).json()["connected"] is False
    # The untouched state still works (the code was never traded).
    ok = await world.api.get(CALLBACK, params={"code": code, "state": state})
    assert ok.status_code == 200
    reused = await world.api.get(CALLBACK, params={"code": code, "state": state})
    assert reused.status_code == 502 and reused.json()["code"] == "calendar_rejected"


async def test_an_admin_connects_the_platform_account(world: World) -> None:
    admin = await add_user(world.c, Role.ADMIN)
    code, state = await consent(world, PLATFORM, admin)
    assert state.startswith("platform.")
    assert (await world.api.get(CALLBACK, params={"code": code, "state": state})).status_code == 200
    assert (await world.api.get(PLATFORM, headers=world.auth(admin))).json()["connected"] is True
    assert (await world.api.get(MINE, headers=world.auth(admin))).json()["connected"] is False
    assert (await world.api.delete(PLATFORM, headers=world.auth(admin))).status_code == 204
    assert (await world.api.get(PLATFORM, headers=world.auth(admin))).json()["connected"] is False
