"""Identity's hardening through HTTP: two tabs refreshing, the per-account sign-in wait, e-mail
addresses that must be refused, and a sign-up started again. The clock is the test's."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from mas.adapters.fakes.platform import FakeClock
from mas.core.identity.model import AccountThrottle, AuthMethod
from mas.core.identity.policy import Role
from mas.core.platform.paging import PageRequest
from tests.conftest import make_settings, open_container
from tests.http.conftest import PASSWORD, add_user, http_client


class Clocked:
    def __init__(self, container: Any, clock: FakeClock, client: AsyncTestClient[Any]) -> None:
        self.c = container
        self.clock = clock
        self.client = client


@pytest.fixture
async def app(sqlite_url: str, tmp_path: Path) -> AsyncIterator[Clocked]:
    clock = FakeClock(datetime.now(UTC))  # the JWT codec checks expiry against the real time
    container = await open_container(make_settings(sqlite_url, tmp_path), clock=clock)
    async with http_client(container) as client:
        yield Clocked(container, clock, client)
    await container.close()


async def codes_sent(c: Any, email: str) -> list[str]:
    box = await c.platform.delivery.mailbox(None, email, PageRequest(1, 50))
    found = [re.search(r"\b(\d{6})\b", mail.body_text) for mail in box.items]
    return [m.group(1) for m in found if m]


# --- two tabs ----------------------------------------------------------------------------------


async def test_two_tabs_refreshing_at_once_stay_signed_in(app: Clocked) -> None:
    user = await add_user(app.c, Role.USER)
    login = await app.client.post(
        "/api/auth/login", json={"email": user.email, "password": PASSWORD}
    )
    token = login.json()["refresh_token"]
    answers = await asyncio.gather(
        *(app.client.post("/api/auth/refresh", json={"refresh_token": token}) for _ in range(3))
    )
    assert [a.status_code for a in answers] == [200] * 3, [a.text for a in answers]
    assert answers[0].content == answers[1].content == answers[2].content, "the same pair"
    pair = answers[0].json()
    profile = await app.client.get(
        "/api/user/profile", headers={"Authorization": f"Bearer {pair['access_token']}"}
    )
    assert profile.status_code == 200
    app.clock.advance(seconds=30)
    late = await app.client.post("/api/auth/refresh", json={"refresh_token": token})
    assert late.status_code == 401 and late.json()["code"] == "refresh_reused"
    newest = await app.client.post(
        "/api/auth/refresh", json={"refresh_token": pair["refresh_token"]}
    )
    assert newest.status_code == 401, "a copy used after the interval ends the sign-in"


# --- the per-account wait ----------------------------------------------------------------------


async def test_an_account_waiting_answers_429_and_an_unknown_email_looks_the_same(
    app: Clocked,
) -> None:
    user = await add_user(app.c, Role.USER, "waiting@example.com")
    now = app.clock.now()
    async with app.c.uow() as uow:
        for email in (user.email, "nobody@example.com"):
            state = AccountThrottle(
                subject=app.c.identity.lockout.subject(email),
                failures=11,
                last_attempt_at=now,
                blocked_until=now + timedelta(seconds=64),
            )
            assert await uow.account_throttles.put(state, None)
        await uow.commit()
    answers = [
        await app.client.post("/api/auth/login", json={"email": email, "password": PASSWORD})
        for email in (" Waiting@Example.com", "nobody@example.com")
    ]
    for answer in answers:
        assert answer.status_code == 429
        assert answer.headers["retry-after"] == "64"
        assert answer.headers["content-type"].startswith("application/problem+json")
    same = [{k: v for k, v in a.json().items() if k != "request_id"} for a in answers]
    assert same[0] == same[1], "nothing tells whether the account exists"
    app.clock.advance(seconds=64)
    ok = await app.client.post("/api/auth/login", json={"email": user.email, "password": PASSWORD})
    assert ok.status_code == 200, ok.text


# --- e-mail addresses --------------------------------------------------------------------------

BAD_EMAILS = ["a\u202e@evil.com", "a\u2066b@x.com", "a\tb@x.com", "asha@x.com\n", "a..b@x.com"]


@pytest.mark.parametrize("email", BAD_EMAILS)
async def test_a_bad_address_is_422_naming_the_field_wherever_it_enters(
    app: Clocked, email: str
) -> None:
    for path, body in [
        ("/api/auth/signup", {"email": email, "password": PASSWORD}),
        ("/api/auth/login", {"email": email, "password": PASSWORD}),
        ("/api/auth/forgot-password", {"email": email}),
        ("/api/auth/resend-otp", {"email": email}),
        ("/api/auth/verify-otp", {"email": email, "code": "123456"}),
        ("/api/auth/reset-password", {"email": email, "code": "123456", "new_password": PASSWORD}),
    ]:
        answer = await app.client.post(path, json=body)
        assert answer.status_code == 422, (path, answer.text)
        assert [e["field"] for e in answer.json()["errors"]] == ["email"], (path, answer.text)
    async with app.c.uow() as uow:
        assert await uow.users.by_email(email.strip().lower()) is None


async def test_an_admin_cannot_create_an_account_with_a_bidi_address(app: Clocked) -> None:
    admin = await add_user(app.c, Role.ADMIN)
    token = app.c.identity.issuer.access_token(
        admin, admin.signup_platform, AuthMethod.PASSWORD, None
    )
    answer = await app.client.post(
        "/api/admin/students",
        json={"email": "student\u202e@evil.com", "full_name": "S"},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert answer.status_code == 422 and answer.json()["errors"][0]["field"] == "email"


async def test_a_nul_in_the_address_is_refused_on_sqlite_too(app: Clocked) -> None:
    answer = await app.client.post(
        "/api/auth/signup", json={"email": "a\u0000@x.com", "password": PASSWORD}
    )
    assert answer.status_code == 422, answer.text
    async with app.c.uow() as uow:
        assert (await uow.users.page(None, None, PageRequest())).total == 0


# --- a sign-up started again -------------------------------------------------------------------


async def test_a_duplicate_unverified_signup_answers_200_with_a_fresh_code(app: Clocked) -> None:
    email = "again@example.com"
    first = await app.client.post("/api/auth/signup", json={"email": email, "password": PASSWORD})
    assert first.status_code == 201 and first.json()["created"] is True
    soon = await app.client.post("/api/auth/signup", json={"email": email, "password": PASSWORD})
    assert soon.status_code == 429 and soon.headers["retry-after"], "one code a minute"
    app.clock.advance(seconds=61)
    again = await app.client.post(
        "/api/auth/signup", json={"email": email, "password": "a new passphrase"}
    )
    assert again.status_code == 200, again.text
    assert again.json()["created"] is False
    assert again.json()["user_id"] == first.json()["user_id"]
    newest, oldest = await codes_sent(app.c, email)  # the mailbox lists the newest first
    stale = await app.client.post("/api/auth/verify-otp", json={"email": email, "code": oldest})
    assert stale.status_code == 410, "the first code died with the restart"
    verified = await app.client.post("/api/auth/verify-otp", json={"email": email, "code": newest})
    assert verified.status_code == 200, verified.text
    login = await app.client.post(
        "/api/auth/login", json={"email": email, "password": "a new passphrase"}
    )
    assert login.status_code == 200, "the password given the second time counts"
    taken = await app.client.post("/api/auth/signup", json={"email": email, "password": PASSWORD})
    assert taken.status_code == 409 and taken.json()["code"] == "email_taken"


async def test_the_document_lists_both_signup_answers(app: Clocked) -> None:
    document = (await app.client.get("/schema/openapi.json")).json()
    responses = document["paths"]["/api/auth/signup"]["post"]["responses"]
    assert {"200", "201"} <= set(responses)
    for status in ("200", "201"):
        schema = responses[status]["content"]["application/json"]["schema"]
        assert schema == responses["201"]["content"]["application/json"]["schema"]
