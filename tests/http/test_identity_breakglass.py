"""Google sign-in (through the fake provider) and the break-glass master login."""

from __future__ import annotations

from typing import Any

import pyotp
import pytest
from litestar.testing import AsyncTestClient

from mas.adapters.fakes.identity import FakeIdentityProvider
from mas.core.identity.model import User
from mas.core.identity.policy import Role
from mas.core.identity.ports import GoogleIdentity
from mas.core.platform.paging import PageRequest
from tests.http.conftest import Auth

TOTP_SECRET = pyotp.random_base32(32)
MASTER = "the master passphrase for emergencies"


@pytest.fixture
def google(sqlite_container: Any) -> FakeIdentityProvider:
    fake = FakeIdentityProvider()
    sqlite_container.identity.sign_in.google = fake
    return fake


async def test_google_not_configured_is_503(client: AsyncTestClient[Any]) -> None:
    response = await client.post("/api/auth/google", json={"id_token": "x" * 40})
    assert response.status_code == 503
    assert response.json()["code"] == "integration_not_configured"


async def test_google_creates_a_verified_user(
    client: AsyncTestClient[Any], google: FakeIdentityProvider
) -> None:
    google.add(
        "token-new-person-0001",
        GoogleIdentity(
            sub="g-1", email="New.Person@gmail.com", email_verified=True, name="New Person"
        ),
    )
    response = await client.post("/api/auth/google", json={"id_token": "token-new-person-0001"})
    assert response.status_code == 200, response.text
    user = response.json()["user"]
    assert user["email"] == "new.person@gmail.com" and user["stage"] == 2
    assert user["is_verified"] and user["has_google"] and not user["has_password"]
    bad = await client.post("/api/auth/google", json={"id_token": "token-nobody-knows-0002"})
    assert bad.status_code == 401


async def test_google_links_an_existing_password_account(
    client: AsyncTestClient[Any],
    google: FakeIdentityProvider,
    accounts: dict[Role, User],
    auth: Auth,
) -> None:
    student = accounts[Role.USER]
    google.add(
        "token-existing-0003", GoogleIdentity(sub="g-2", email=student.email, email_verified=True)
    )
    response = await client.post("/api/auth/google", json={"id_token": "token-existing-0003"})
    assert response.status_code == 200
    assert response.json()["user"]["id"] == str(student.id)
    assert response.json()["user"]["has_google"] and response.json()["user"]["has_password"]
    listed = await client.get("/api/admin/mentees", headers=auth(Role.ADMIN))
    assert [u["email"] for u in listed.json()["items"]].count(student.email) == 1


@pytest.fixture
async def master(sqlite_container: Any) -> pyotp.TOTP:
    from mas.adapters.identity.totp import PyOtpVerifier

    break_glass = sqlite_container.identity.break_glass
    break_glass.totp = PyOtpVerifier(TOTP_SECRET)
    break_glass.master_password_hash = sqlite_container.identity.hasher.hash(MASTER)
    return pyotp.TOTP(TOTP_SECRET)


async def test_master_login_is_404_when_off(client: AsyncTestClient[Any]) -> None:
    response = await client.post(
        "/api/auth/master-login",
        json={"email": "a@b.co", "master_password": "x", "totp_code": "123456", "reason": "outage"},
    )
    assert response.status_code == 404


async def test_master_login(
    client: AsyncTestClient[Any],
    master: pyotp.TOTP,
    accounts: dict[Role, User],
    sqlite_container: Any,
) -> None:
    admin = accounts[Role.ADMIN]
    body = {
        "email": admin.email,
        "master_password": MASTER,
        "totp_code": master.now(),
        "reason": "SSO outage, ticket 12",
    }
    no_reason = await client.post("/api/auth/master-login", json={**body, "reason": ""})
    assert no_reason.status_code == 422
    response = await client.post("/api/auth/master-login", json=body)
    assert response.status_code == 200, response.text
    assert response.json()["refresh_token"] is None
    token = response.json()["access_token"]
    caller = await sqlite_container.identity.access.authenticate(token)
    assert caller.auth_method == "master" and caller.user_id == admin.id
    replay = await client.post("/api/auth/master-login", json=body)
    assert replay.status_code == 401, "a TOTP code works once"
    async with sqlite_container.uow() as uow:
        events = await uow.audit.page(admin.id, PageRequest())
    assert any(e.event.value == "MASTER_LOGIN" and e.reason for e in events.items)
    alerts = await sqlite_container.platform.delivery.mailbox(None, admin.email, PageRequest())
    assert any("master login" in m.subject for m in alerts.items)


async def test_master_login_only_opens_admin_accounts_and_locks_out(
    client: AsyncTestClient[Any],
    master: pyotp.TOTP,
    accounts: dict[Role, User],
) -> None:
    body = {
        "email": accounts[Role.USER].email,
        "master_password": MASTER,
        "totp_code": master.now(),
        "reason": "testing the gate",
    }
    assert (await client.post("/api/auth/master-login", json=body)).status_code == 403
    wrong = {**body, "email": accounts[Role.ADMIN].email, "master_password": "guess"}
    statuses = [
        (await client.post("/api/auth/master-login", json=wrong)).status_code for _ in range(6)
    ]
    assert statuses == [401] * 5 + [429], statuses
