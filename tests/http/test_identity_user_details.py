"""``GET /api/user-details`` on SQLite and PostgreSQL: one's own account (as the profile shows
it) and one's token balance read through the ``balances`` port the tokens domain provides;
every role may read its own, nobody else's, and no private field is ever in it."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from typing import Any

import httpx
import pytest

from mas.core.identity.details import AccountDetails
from mas.core.identity.model import AuthMethod, User
from mas.core.identity.policy import Caller, Platform, Role
from mas.core.platform.ports.balances import NoBalances
from mas.core.tokens.wallet.model import NewGrant
from mas.core.tokens.wallet.purse import TokenKind, UsageType
from tests.http.conftest import add_user, app_for

Client = httpx.AsyncClient
PRIVATE = ("password_hash", "google_id", "token_version", "hash", "secret", "totp", "otp")


def keys(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        for key, inner in value.items():
            yield str(key)
            yield from keys(inner)
    elif isinstance(value, list):
        for inner in value:
            yield from keys(inner)


def private_keys(payload: Any) -> list[str]:
    return [k for k in keys(payload) if any(word in k.lower() for word in PRIVATE)]


@pytest.fixture
async def api(container: Any) -> AsyncIterator[Client]:
    """The app on the test's own loop (``ASGITransport``), so that on PostgreSQL it shares the
    test's rolled-back transaction. No lifespan: it would only hand over the container (done
    here) and start the job release loop, a second user of that one connection."""
    async with app_for(container) as app:
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://mas.test") as client:
            yield client


def headers(
    c: Any, user: User, platform: Platform = Platform.MY_ANALYTICS_SCHOOL
) -> dict[str, str]:
    token = c.identity.issuer.access_token(user, platform, AuthMethod.PASSWORD, None)
    return {"Authorization": f"Bearer {token}", "X-Platform": platform.value}


async def give(c: Any, user: User, tokens: int) -> None:
    async with c.uow() as uow:
        await c.tokens.wallet.purse.credit(
            uow,
            user_id=user.id,
            kind=TokenKind.MENTOR,
            tokens=tokens,
            usage_type=UsageType.PURCHASE,
            key=f"purchase:{uuid.uuid4()}",
        )
        await uow.commit()


async def test_my_details_carry_my_profile_and_my_balance(container: Any, api: Client) -> None:
    student = await add_user(container, Role.USER)
    admin = await add_user(container, Role.ADMIN)
    await give(container, student, 3)
    grant = NewGrant(
        user_id=student.id,
        token_count=2,
        expires_at=container.clock.now() + timedelta(days=10),
        reason="launch",
    )
    await container.tokens.wallet.accounts.grant(
        Caller(user_id=admin.id, role=Role.ADMIN, platform=Platform.MY_ANALYTICS_SCHOOL), grant
    )
    mine = headers(container, student)
    answer = await api.get("/api/user-details", headers=mine)
    assert answer.status_code == 200, answer.text
    details = answer.json()
    profile = (await api.get("/api/user/profile", headers=mine)).json()
    balance = (await api.get("/api/tokens/balance", headers=mine)).json()
    assert details["user"] == profile
    assert details["tokens"] == balance
    assert (details["tokens"]["mentor"]["wallet"], details["tokens"]["mentor"]["promo"]) == (3, 2)
    assert details["tokens"]["mentor"]["total"] == 5
    assert details["tokens"]["resume"]["total"] == 0
    assert details["user"]["id"] == str(student.id) and details["user"]["has_password"] is True
    assert private_keys(details) == []
    assert "argon2" not in answer.text


async def test_every_role_reads_only_its_own_details(container: Any, api: Client) -> None:
    assert (await api.get("/api/user-details")).status_code == 401
    forged = {"Authorization": "Bearer not-a-token"}
    assert (await api.get("/api/user-details", headers=forged)).status_code == 401
    for role in Role:
        user = await add_user(container, role)
        answer = await api.get("/api/user-details", headers=headers(container, user))
        assert answer.status_code == 200, (role, answer.text)
        body = answer.json()
        assert (body["user"]["id"], body["user"]["role"]) == (str(user.id), role.value)
        assert body["tokens"]["mentor"]["total"] == 0
        assert private_keys(body) == []


async def test_a_blocked_account_reads_nothing(container: Any, api: Client) -> None:
    user = await add_user(container, Role.USER)
    token = headers(container, user)
    admin = await add_user(container, Role.ADMIN)
    blocked = await api.post(f"/api/admin/users/{user.id}/block", headers=headers(container, admin))
    assert blocked.status_code in (200, 204), blocked.text
    assert (await api.get("/api/user-details", headers=token)).status_code == 401


async def test_without_a_token_domain_the_balance_is_null(container: Any) -> None:
    """The null object identity falls back on when no domain provides ``balances``."""
    user = await add_user(container, Role.USER)
    await give(container, user, 1)
    details = await AccountDetails(container.uow, container.identity.access, NoBalances()).of(
        user.id
    )
    assert details.tokens is None
    assert details.user.id == user.id
    provided = await container.identity.details.of(user.id)
    assert provided.tokens is not None and provided.tokens.mentor.total == 1
