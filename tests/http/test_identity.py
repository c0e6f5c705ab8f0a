"""Identity through HTTP: the acceptance checks of the identity spec."""

from __future__ import annotations

import re
from typing import Any

from litestar.testing import AsyncTestClient

from mas.core.identity.model import User
from mas.core.identity.policy import Platform, Role
from mas.core.platform.paging import PageRequest
from tests.http.conftest import PASSWORD, Auth, add_user, http_client

NEW_PASSWORD = "a much better passphrase"


async def last_code(c: Any, email: str) -> str:
    box = await c.platform.delivery.mailbox(None, email, PageRequest(1, 1))
    match = re.search(r"\b(\d{6})\b", box.items[0].body_text)
    assert match, box.items[0].body_text
    return match.group(1)


async def signup(client: AsyncTestClient[Any], email: str, platform: str | None = None) -> Any:
    headers = {"X-Platform": platform} if platform else {}
    return await client.post(
        "/api/auth/signup",
        json={"email": email, "password": PASSWORD, "full_name": "Asha"},
        headers=headers,
    )


async def verified_user(client: AsyncTestClient[Any], c: Any, email: str) -> dict[str, Any]:
    assert (await signup(client, email)).status_code == 201
    code = await last_code(c, email)
    response = await client.post("/api/auth/verify-otp", json={"email": email, "code": code})
    assert response.status_code == 200, response.text
    return dict(response.json())


def bearer(token: str, platform: str = "my-analytics-school") -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", "X-Platform": platform}


async def test_signup_sends_one_code_and_login_waits_for_it(
    client: AsyncTestClient[Any], sqlite_container: Any
) -> None:
    response = await signup(client, " New.Student@Example.com ", "mr-mentor")
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["email"] == "new.student@example.com" and body["stage"] == 1
    box = await sqlite_container.platform.delivery.mailbox(
        None, "new.student@example.com", PageRequest()
    )
    assert box.total == 1 and "Mr. Mentor" in box.items[0].subject
    login = await client.post(
        "/api/auth/login", json={"email": "new.student@example.com", "password": PASSWORD}
    )
    assert login.status_code == 403 and login.json()["code"] == "email_not_verified"
    async with sqlite_container.uow() as uow:
        user = await uow.users.by_email("new.student@example.com")
    assert user is not None and user.signup_platform is Platform.MR_MENTOR
    assert user.role is Role.USER


async def test_a_code_signs_in_once(client: AsyncTestClient[Any], sqlite_container: Any) -> None:
    email = "once@example.com"
    await signup(client, email)
    code = await last_code(sqlite_container, email)
    first = await client.post("/api/auth/verify-otp", json={"email": email, "code": code})
    assert first.status_code == 200, first.text
    body = first.json()
    assert body["user"]["stage"] == 2 and body["expires_in"] == 900
    assert body["access_token"] and body["refresh_token"]
    again = await client.post("/api/auth/verify-otp", json={"email": email, "code": code})
    assert again.status_code == 410
    profile = await client.get("/api/user/profile", headers=bearer(body["access_token"]))
    assert profile.status_code == 200 and profile.json()["email"] == email


async def test_otp_brute_force_ends_in_429_then_410(
    client: AsyncTestClient[Any], sqlite_container: Any
) -> None:
    email = "brute@example.com"
    await signup(client, email)
    code = await last_code(sqlite_container, email)
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    statuses = []
    for _ in range(6):
        response = await client.post("/api/auth/verify-otp", json={"email": email, "code": wrong})
        statuses.append(response.status_code)
        if response.status_code == 400:
            assert response.json()["errors"][0]["field"] == "code"
    assert statuses == [400, 400, 400, 400, 410, 429], statuses
    assert "retry-after" in {k.lower() for k in response.headers}
    # After the Retry-After the limiter lets the right code through, but the code is locked.
    wait = int(response.headers["retry-after"])
    limiter = sqlite_container.rate_limiter
    real_now = limiter._now
    limiter._now = lambda: real_now() + wait
    right = await client.post("/api/auth/verify-otp", json={"email": email, "code": code})
    assert right.status_code == 410, right.text


async def test_resend_has_a_cooldown(client: AsyncTestClient[Any]) -> None:
    await signup(client, "cool@example.com")
    response = await client.post("/api/auth/resend-otp", json={"email": "cool@example.com"})
    assert response.status_code == 429
    assert int(response.headers["retry-after"]) > 0


async def test_login_gives_the_same_401_for_unknown_email_and_wrong_password(
    client: AsyncTestClient[Any], accounts: dict[Role, User]
) -> None:
    unknown = await client.post(
        "/api/auth/login", json={"email": "ghost@example.com", "password": PASSWORD}
    )
    wrong = await client.post(
        "/api/auth/login", json={"email": accounts[Role.USER].email, "password": "not it at all"}
    )
    assert unknown.status_code == wrong.status_code == 401
    assert unknown.json()["detail"] == wrong.json()["detail"]
    assert unknown.json()["code"] == wrong.json()["code"] == "bad_credentials"


async def test_mr_hire_admits_recruiters_and_admins_only(
    client: AsyncTestClient[Any], accounts: dict[Role, User]
) -> None:
    def login(role: Role) -> Any:
        return client.post(
            "/api/auth/login",
            json={"email": accounts[role].email, "password": PASSWORD},
            headers={"X-Platform": "mr-hire"},
        )

    student = await login(Role.USER)
    assert student.status_code == 403 and student.json()["code"] == "platform_forbidden"
    for role in (Role.EXTERNAL_HR, Role.ADMIN):
        response = await login(role)
        assert response.status_code == 200, response.text
        token = response.json()["access_token"]
        ok = await client.get("/api/user/profile", headers=bearer(token, "mr-hire"))
        assert ok.status_code == 200
    mentor_token = (
        await client.post(
            "/api/auth/login", json={"email": accounts[Role.EXPERT].email, "password": PASSWORD}
        )
    ).json()["access_token"]
    refused = await client.get("/api/user/profile", headers=bearer(mentor_token, "mr-hire"))
    assert refused.status_code == 403


async def test_refresh_rotates_and_reuse_revokes_the_family(
    client: AsyncTestClient[Any], sqlite_container: Any
) -> None:
    first = await verified_user(client, sqlite_container, "rotate@example.com")
    second = await client.post("/api/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert second.status_code == 200, second.text
    newest = second.json()
    assert newest["refresh_token"] != first["refresh_token"]
    assert (
        await client.get("/api/user/profile", headers=bearer(newest["access_token"]))
    ).status_code == 200
    tab = await client.post("/api/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert tab.status_code == 200 and tab.json() == newest, "a second tab, within 30 s"
    third = await client.post("/api/auth/refresh", json={"refresh_token": newest["refresh_token"]})
    assert third.status_code == 200, third.text
    reuse = await client.post("/api/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert reuse.status_code == 401 and reuse.json()["code"] == "refresh_reused"
    latest = third.json()
    after = await client.post("/api/auth/refresh", json={"refresh_token": latest["refresh_token"]})
    assert after.status_code == 401, "the whole family is revoked"
    gone = await client.get("/api/user/profile", headers=bearer(latest["access_token"]))
    assert gone.status_code == 401 and gone.json()["code"] == "session_revoked"


async def test_logout_ends_the_session_and_sessions_are_listed(
    client: AsyncTestClient[Any], sqlite_container: Any
) -> None:
    signed = await verified_user(client, sqlite_container, "leaver@example.com")
    headers = bearer(signed["access_token"])
    sessions = await client.get("/api/auth/sessions", headers=headers)
    assert sessions.status_code == 200
    assert [s["current"] for s in sessions.json()["items"]] == [True]
    assert sessions.json()["total"] == 1
    assert (await client.post("/api/auth/logout", headers=headers)).status_code == 204
    assert (await client.get("/api/user/profile", headers=headers)).status_code == 401
    refresh = await client.post(
        "/api/auth/refresh", json={"refresh_token": signed["refresh_token"]}
    )
    assert refresh.status_code == 401


async def test_change_password_revokes_older_tokens(
    client: AsyncTestClient[Any], sqlite_container: Any
) -> None:
    signed = await verified_user(client, sqlite_container, "changer@example.com")
    old = bearer(signed["access_token"])
    weak = await client.post(
        "/api/auth/change-password",
        json={"current_password": PASSWORD, "new_password": "short"},
        headers=old,
    )
    assert weak.status_code == 422 and weak.json()["errors"][0]["field"] == "new_password"
    changed = await client.post(
        "/api/auth/change-password",
        json={"current_password": PASSWORD, "new_password": NEW_PASSWORD},
        headers=old,
    )
    assert changed.status_code == 200, changed.text
    assert (await client.get("/api/user/profile", headers=old)).status_code == 401
    fresh = bearer(changed.json()["access_token"])
    assert (await client.get("/api/user/profile", headers=fresh)).status_code == 200
    login = await client.post(
        "/api/auth/login", json={"email": "changer@example.com", "password": NEW_PASSWORD}
    )
    assert login.status_code == 200


async def test_forgot_password_never_tells_and_reset_works(
    client: AsyncTestClient[Any], sqlite_container: Any, accounts: dict[Role, User]
) -> None:
    email = accounts[Role.USER].email
    known = await client.post("/api/auth/forgot-password", json={"email": email})
    unknown = await client.post("/api/auth/forgot-password", json={"email": "nobody@example.com"})
    assert known.status_code == unknown.status_code == 202
    assert known.json() == unknown.json()
    code = await last_code(sqlite_container, email)
    reset = await client.post(
        "/api/auth/reset-password",
        json={"email": email, "code": code, "new_password": NEW_PASSWORD},
    )
    assert reset.status_code == 204, reset.text
    login = await client.post("/api/auth/login", json={"email": email, "password": NEW_PASSWORD})
    assert login.status_code == 200


async def test_block_refuses_a_live_token_at_once(
    client: AsyncTestClient[Any], auth: Auth, accounts: dict[Role, User]
) -> None:
    student = auth(Role.USER)
    assert (await client.get("/api/user/profile", headers=student)).status_code == 200
    blocked = await client.post(
        f"/api/admin/users/{accounts[Role.USER].id}/block", headers=auth(Role.ADMIN)
    )
    assert blocked.status_code == 200 and blocked.json()["is_blocked"] is True
    refused = await client.get("/api/user/profile", headers=student)
    assert refused.status_code == 401 and refused.json()["code"] == "account_blocked"
    login = await client.post(
        "/api/auth/login", json={"email": accounts[Role.USER].email, "password": PASSWORD}
    )
    assert login.status_code == 403 and login.json()["code"] == "account_blocked"
    itself = await client.post(
        f"/api/admin/users/{accounts[Role.ADMIN].id}/block", headers=auth(Role.SUPERADMIN)
    )
    assert itself.status_code == 200
    own = await client.post(
        f"/api/admin/users/{accounts[Role.SUPERADMIN].id}/block", headers=auth(Role.SUPERADMIN)
    )
    assert own.status_code == 409


async def test_only_superadmin_grants_admin_and_the_last_one_stays(
    client: AsyncTestClient[Any], auth: Auth, accounts: dict[Role, User]
) -> None:
    target = accounts[Role.USER].id
    by_admin = await client.put(
        f"/api/admin/users/{target}/role", json={"role": "ADMIN"}, headers=auth(Role.ADMIN)
    )
    assert by_admin.status_code == 403 and by_admin.json()["code"] == "superadmin_required"
    created = await client.post(
        "/api/admin/admins", json={"email": "new-admin@example.com"}, headers=auth(Role.ADMIN)
    )
    assert created.status_code == 403
    by_super = await client.put(
        f"/api/admin/users/{target}/role", json={"role": "ADMIN"}, headers=auth(Role.SUPERADMIN)
    )
    assert by_super.status_code == 200 and by_super.json()["role"] == "ADMIN"
    last = await client.put(
        f"/api/admin/users/{accounts[Role.SUPERADMIN].id}/role",
        json={"role": "ADMIN"},
        headers=auth(Role.SUPERADMIN),
    )
    assert last.status_code == 409 and last.json()["code"] == "last_superadmin"
    unknown = await client.put(
        f"/api/admin/users/{target}/role", json={"role": "WIZARD"}, headers=auth(Role.SUPERADMIN)
    )
    assert unknown.status_code == 422 and unknown.json()["errors"][0]["field"] == "role"
    mentor = await client.put(
        f"/api/admin/users/{accounts[Role.EXPERT].id}/role",
        json={"role": "SUPER_MENTOR"},
        headers=auth(Role.ADMIN),
    )
    assert mentor.json()["role"] == "EXPERT" and mentor.json()["is_super_mentor"] is True


async def test_role_change_takes_effect_on_the_next_request(
    client: AsyncTestClient[Any], auth: Auth, accounts: dict[Role, User]
) -> None:
    old = auth(Role.FINANCE)
    await client.put(
        f"/api/admin/users/{accounts[Role.FINANCE].id}/role",
        json={"role": "USER"},
        headers=auth(Role.ADMIN),
    )
    assert (await client.get("/api/user/profile", headers=old)).status_code == 401


async def test_admin_creates_accounts_and_credentials_go_out(
    client: AsyncTestClient[Any], auth: Auth, sqlite_container: Any
) -> None:
    response = await client.post(
        "/api/admin/experts",
        json={"email": "Mentor@Example.com", "full_name": "Ravi"},
        headers=auth(Role.ADMIN),
    )
    assert response.status_code == 201, response.text
    assert response.json()["role"] == "EXPERT" and response.json()["is_verified"] is True
    mail = await sqlite_container.platform.delivery.mailbox(
        None, "mentor@example.com", PageRequest()
    )
    assert mail.total == 1 and "Temporary password" in mail.items[0].body_text
    again = await client.post(
        "/api/admin/experts", json={"email": "mentor@example.com"}, headers=auth(Role.ADMIN)
    )
    assert again.status_code == 409
    listed = await client.get("/api/admin/experts?search=ravi", headers=auth(Role.ADMIN))
    assert [u["email"] for u in listed.json()["items"]] == ["mentor@example.com"]
    bad = await client.post("/api/admin/students", json={"email": 42}, headers=auth(Role.ADMIN))
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "email"


async def test_soft_delete(
    client: AsyncTestClient[Any], auth: Auth, accounts: dict[Role, User], sqlite_container: Any
) -> None:
    student = auth(Role.USER)
    target = accounts[Role.USER].id
    assert (
        await client.delete(f"/api/admin/users/{target}", headers=auth(Role.ADMIN))
    ).status_code == 204
    assert (
        await client.get(f"/api/admin/users/{target}", headers=auth(Role.ADMIN))
    ).status_code == 404
    assert (await client.get("/api/user/profile", headers=student)).status_code == 401
    other_admin = await add_user(sqlite_container, Role.ADMIN)
    refused = await client.delete(f"/api/admin/users/{other_admin.id}", headers=auth(Role.ADMIN))
    assert refused.status_code == 403
    by_super = await client.delete(
        f"/api/admin/users/{other_admin.id}", headers=auth(Role.SUPERADMIN)
    )
    assert by_super.status_code == 204
    last = await client.delete(
        f"/api/admin/users/{accounts[Role.SUPERADMIN].id}", headers=auth(Role.SUPERADMIN)
    )
    assert last.status_code == 409, "yourself, and the last SUPERADMIN"


async def test_impersonation(
    client: AsyncTestClient[Any], auth: Auth, accounts: dict[Role, User], sqlite_container: Any
) -> None:
    target = accounts[Role.USER]
    off = await client.post(
        f"/api/admin/users/{target.id}/impersonate",
        json={"reason": "support ticket 4411"},
        headers=auth(Role.ADMIN),
    )
    assert off.status_code == 404, "off unless configured"
    sqlite_container.identity.impersonation.enabled = True
    no_reason = await client.post(
        f"/api/admin/users/{target.id}/impersonate", json={"reason": ""}, headers=auth(Role.ADMIN)
    )
    assert no_reason.status_code == 422
    response = await client.post(
        f"/api/admin/users/{target.id}/impersonate",
        json={"reason": "support ticket 4411"},
        headers=auth(Role.ADMIN),
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["refresh_token"] is None and body["expires_in"] == 900
    me = await client.get("/api/user/profile", headers=bearer(body["access_token"]))
    assert me.json()["id"] == str(target.id)
    async with sqlite_container.uow() as uow:
        events = await uow.audit.page(target.id, PageRequest())
    imp = [e for e in events.items if e.event.value == "IMPERSONATION"]
    assert imp and imp[0].actor_id == accounts[Role.ADMIN].id and imp[0].reason
    other_admin = await client.post(
        f"/api/admin/users/{accounts[Role.SUPERADMIN].id}/impersonate",
        json={"reason": "curious about it"},
        headers=auth(Role.ADMIN),
    )
    assert other_admin.status_code == 403


async def test_sales_head_pages_are_granted_without_relogin(
    client: AsyncTestClient[Any], auth: Auth, accounts: dict[Role, User], sqlite_container: Any
) -> None:
    head = accounts[Role.SALES_HEAD]
    url = f"/api/admin/sales-heads/{head.id}/permissions"
    bad = await client.put(url, json={"page_keys": ["crm.nope"]}, headers=auth(Role.ADMIN))
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "page_keys"
    token = auth(Role.SALES_HEAD)
    caller = await sqlite_container.identity.access.authenticate(token["Authorization"].split()[1])
    assert not caller.has_page("crm.targets")
    granted = await client.put(url, json={"page_keys": ["crm.targets"]}, headers=auth(Role.ADMIN))
    assert granted.json()["page_keys"] == ["crm.targets"]
    caller = await sqlite_container.identity.access.authenticate(token["Authorization"].split()[1])
    assert caller.has_page("crm.targets"), "the same token sees the new page"
    not_head = await client.get(
        f"/api/admin/sales-heads/{accounts[Role.SALES].id}/permissions", headers=auth(Role.ADMIN)
    )
    assert not_head.status_code == 404


async def test_vendor_keys(client: AsyncTestClient[Any], auth: Auth) -> None:
    created = await client.post(
        "/api/admin/vendor-keys",
        json={"vendor_name": "LeadCo", "scopes": ["leads:read", "leads:write"]},
        headers=auth(Role.ADMIN),
    )
    assert created.status_code == 201, created.text
    api_key = created.json()["api_key"]
    assert re.fullmatch(r"vk_live_[A-Za-z0-9]{12}\.[A-Za-z0-9_-]{40,}", api_key), api_key
    listed = await client.get("/api/admin/vendor-keys", headers=auth(Role.ADMIN))
    assert api_key.split(".")[1] not in listed.text and "api_key" not in listed.text
    assert [k["vendor_name"] for k in listed.json()["items"]] == ["LeadCo"]
    who = await client.get("/api/vendor/whoami", headers={"X-API-Key": api_key})
    assert who.status_code == 200 and who.json()["vendor_name"] == "LeadCo"
    as_admin = await client.get("/api/vendor/whoami", headers=auth(Role.ADMIN))
    assert as_admin.status_code == 401, "an admin's JWT is not a vendor key"
    forged = api_key[:-3] + "abc"
    assert (
        await client.get("/api/vendor/whoami", headers={"X-API-Key": forged})
    ).status_code == 401
    key_id = created.json()["key"]["id"]
    assert (
        await client.delete(f"/api/admin/vendor-keys/{key_id}", headers=auth(Role.ADMIN))
    ).status_code == 200
    revoked = await client.get("/api/vendor/whoami", headers={"X-API-Key": api_key})
    assert revoked.status_code == 401 and revoked.json()["code"] == "api_key_revoked"
    twice = await client.delete(f"/api/admin/vendor-keys/{key_id}", headers=auth(Role.ADMIN))
    assert twice.status_code == 409


async def test_signup_without_mail_transport_is_503_and_keeps_the_code(
    sqlite_url: str, tmp_path: Any
) -> None:
    from tests.conftest import make_settings, open_container

    c = await open_container(
        make_settings(sqlite_url, tmp_path, mail_transport="smtp", smtp_host="")
    )
    try:
        async with http_client(c) as client:
            response = await signup(client, "nomail@example.com")
        assert response.status_code == 503
        assert response.json()["code"] == "integration_not_configured"
        box = await c.platform.delivery.mailbox(None, "nomail@example.com", PageRequest())
        assert [m.status.value for m in box.items] == ["pending_config"]
    finally:
        await c.close()


async def test_duplicate_signup(client: AsyncTestClient[Any], sqlite_container: Any) -> None:
    assert (await signup(client, "twice@example.com")).status_code == 201
    assert (await signup(client, "bad-email")).status_code == 422
    await verified_user(client, sqlite_container, "done@example.com")
    again = await signup(client, "done@example.com")
    assert again.status_code == 409 and again.json()["code"] == "email_taken"


async def test_login_is_rate_limited_per_ip_and_email(
    client: AsyncTestClient[Any], accounts: dict[Role, User]
) -> None:
    body = {"email": accounts[Role.USER].email, "password": "wrong password here"}
    statuses = [(await client.post("/api/auth/login", json=body)).status_code for _ in range(6)]
    assert statuses == [401] * 5 + [429], statuses
    other = {"email": accounts[Role.EXPERT].email, "password": PASSWORD}
    assert (await client.post("/api/auth/login", json=other)).status_code == 200


async def test_complete_profile_moves_the_stage(
    client: AsyncTestClient[Any], sqlite_container: Any
) -> None:
    signed = await verified_user(client, sqlite_container, "profile@example.com")
    headers = bearer(signed["access_token"])
    missing = await client.post("/api/auth/complete-profile", json={}, headers=headers)
    assert missing.status_code == 422 and missing.json()["errors"][0]["field"] == "full_name"
    done = await client.post(
        "/api/auth/complete-profile",
        json={"full_name": "Asha Rao", "phone": "+919876543210", "profession": "student"},
        headers=headers,
    )
    assert done.status_code == 200, done.text
    assert done.json()["stage"] == 3 and done.json()["is_profile_complete"] is True
    profile = await client.get("/api/user/profile", headers=headers)
    assert profile.json()["full_name"] == "Asha Rao", "the cached profile was refreshed"
