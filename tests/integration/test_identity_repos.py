"""The identity repositories on SQLite and PostgreSQL, through the container's unit of work."""

from __future__ import annotations

import copy
import re
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from mas.core.identity.model import (
    AuditEvent,
    AuditKind,
    AuthMethod,
    OtpCode,
    OtpPurpose,
    RefreshSession,
    RevokeReason,
    User,
    UserStage,
    VendorKey,
)
from mas.core.identity.policy import Platform, Role
from mas.core.identity.tokens import RequestInfo
from mas.core.platform.errors import Unauthorized
from mas.core.platform.ids import uuid7
from mas.core.platform.paging import PageRequest
from mas.core.platform.ports.uow import DuplicateKey

T0 = datetime(2025, 3, 1, 10, 0, tzinfo=UTC)
EMAIL = "asha@example.com"


def a_user(email: str, role: Role = Role.USER, minute: int = 0, **fields: Any) -> User:
    return User(
        id=uuid7(), email=email, role=role, created_at=T0 + timedelta(minutes=minute), **fields
    )


async def add_users(c: Any, *users: User) -> None:
    async with c.uow() as uow:
        for user in users:
            await uow.users.add(user)
        await uow.commit()


# --- users -------------------------------------------------------------------------------------


async def test_users_add_read_save_and_refuse_duplicates(container: Any) -> None:
    asha = a_user(
        EMAIL,
        Role.EXPERT,
        password_hash="h",
        full_name="Asha",
        google_id="g-1",
        is_super_mentor=True,
        signup_platform=Platform.MR_MENTOR,
        last_login_at=T0,
    )
    asha.advance(UserStage.OTP_VERIFIED)
    async with container.uow() as uow:
        await uow.users.add(asha)
        with pytest.raises(DuplicateKey):
            await uow.users.add(a_user(EMAIL))
        with pytest.raises(DuplicateKey):
            await uow.users.add(a_user("other@example.com", google_id="g-1"))
        # The refused inserts leave the transaction usable; two users without Google are fine.
        await uow.users.add(a_user("ravi@example.com"))
        await uow.users.add(a_user("meera@example.com"))
        await uow.commit()
    async with container.uow() as uow:
        assert await uow.users.get(asha.id) == asha
        assert await uow.users.by_email(EMAIL) == asha
        assert await uow.users.by_google_id("g-1") == asha
        assert await uow.users.by_email("nobody@example.com") is None
        assert await uow.users.by_google_id("g-404") is None
        assert await uow.users.get(uuid.uuid4()) is None
        stored = await uow.users.get(asha.id)
    assert stored is not None
    assert stored.role is Role.EXPERT and stored.stage is UserStage.OTP_VERIFIED
    assert stored.signup_platform is Platform.MR_MENTOR and stored.created_at.tzinfo is not None

    user = a_user("save@example.com")
    await add_users(container, user)
    before = copy.deepcopy(user)
    user.advance(UserStage.OTP_VERIFIED)
    user.advance(UserStage.PROFILE_COMPLETE)
    user.full_name, user.phone, user.profession, user.domain = "Asha", "+91999", "Analyst", "BI"
    user.profile_photo, user.google_id, user.password_hash = "p.png", "g-9", "h2"
    user.password_changed_at = user.last_login_at = T0 + timedelta(hours=1)
    user.role, user.is_super_mentor = Role.EXPERT, True
    user.block()
    async with container.uow() as uow:
        await uow.users.save(user)  # never committed
    async with container.uow() as uow:
        assert await uow.users.get(user.id) == before
        await uow.users.save(user)
        await uow.commit()
    async with container.uow() as uow:
        assert await uow.users.get(user.id) == user
        assert await uow.users.by_google_id("g-9") == user
    user.delete(T0 + timedelta(days=1))
    async with container.uow() as uow:
        await uow.users.save(user)
        await uow.commit()
    async with container.uow() as uow:
        stored = await uow.users.get(user.id)
    assert stored is not None and stored.is_deleted and stored.token_version == 2


async def test_user_pages_and_counts(container: Any) -> None:
    asha = a_user("asha.rao@example.com", full_name="Asha Rao", minute=0)
    ravi = a_user("ravi@example.com", Role.EXPERT, full_name="Ravi ASHANTI", minute=1)
    meera = a_user("meera@example.com", Role.EXPERT, minute=2)
    gone = a_user("asha.old@example.com", minute=3, deleted_at=T0)
    zed = a_user("zed@example.com", Role.FINANCE, full_name="Zed", minute=4)
    await add_users(container, asha, ravi, meera, gone, zed)
    async with container.uow() as uow:
        everyone = await uow.users.page(None, None, PageRequest(1, 2))
        second = await uow.users.page(None, None, PageRequest(2, 2))
        third = await uow.users.page(None, None, PageRequest(3, 2))
        experts = await uow.users.page([Role.EXPERT], None, PageRequest())
        mixed = await uow.users.page([Role.USER, Role.FINANCE], None, PageRequest())
        searched = await uow.users.page(None, "  ASHA ", PageRequest())
        by_email = await uow.users.page(None, "MEERA@EXAMPLE", PageRequest())
        narrowed = await uow.users.page([Role.USER], "asha", PageRequest())
        nothing = await uow.users.page([Role.SALES], None, PageRequest())
    assert (everyone.total, everyone.page, everyone.page_size) == (4, 1, 2)
    assert [u.id for u in everyone.items + second.items] == [zed.id, meera.id, ravi.id, asha.id]
    assert third.items == [] and third.total == 4
    assert [u.id for u in experts.items] == [meera.id, ravi.id] and experts.total == 2
    assert [u.id for u in mixed.items] == [zed.id, asha.id]
    assert [u.id for u in searched.items] == [ravi.id, asha.id], "name and email, any case"
    assert [u.id for u in by_email.items] == [meera.id]
    assert [u.id for u in narrowed.items] == [asha.id]
    assert (nothing.items, nothing.total) == ([], 0)

    top = a_user("top@example.com", Role.SUPERADMIN)
    top2 = a_user("top2@example.com", Role.SUPERADMIN, deleted_at=T0)
    admin = a_user("admin@example.com", Role.ADMIN)
    blocked = a_user("blocked@example.com", Role.ADMIN, is_blocked=True)
    gone_admin = a_user("gone@example.com", Role.ADMIN, deleted_at=T0)
    await add_users(container, top, top2, admin, blocked, gone_admin, a_user(EMAIL))
    async with container.uow() as uow:
        assert await uow.users.count_active(Role.SUPERADMIN) == 1
        assert await uow.users.count_active(Role.ADMIN) == 2, "blocked still counts"
        assert await uow.users.count_active(Role.FINANCE) == 1
        assert await uow.users.count_active(Role.BATCH_LEAD) == 0
        alerted = await uow.users.active_with_roles([Role.ADMIN, Role.SUPERADMIN])
        assert await uow.users.active_with_roles([Role.BATCH_LEAD]) == []
    assert {u.id for u in alerted} == {top.id, admin.id}


async def test_user_search_takes_wildcards_literally(container: Any) -> None:
    await add_users(container, a_user("a_b@example.com"), a_user("axb@example.com"))
    async with container.uow() as uow:
        found = await uow.users.page(None, "a_b", PageRequest())
    assert [u.email for u in found.items] == ["a_b@example.com"]


async def test_sales_head_permissions_and_the_master_counter(container: Any) -> None:
    head = a_user("head@example.com", Role.SALES_HEAD)
    seller = a_user("seller@example.com", Role.SALES)
    boss = a_user("boss@example.com", Role.ADMIN)
    await add_users(container, head, seller, boss)
    async with container.uow() as uow:
        await uow.users.set_permissions(head.id, ["crm.targets", "crm.leads"], boss.id)
        await uow.users.set_permissions(seller.id, ["crm.leads"], boss.id)
        await uow.commit()
    async with container.uow() as uow:
        assert (await uow.users.get(head.id)).page_permissions == ["crm.leads", "crm.targets"]
        assert (await uow.users.by_email(seller.email)).page_permissions == []
        listed = await uow.users.page([Role.SALES_HEAD], None, PageRequest())
        assert listed.items[0].page_permissions == ["crm.leads", "crm.targets"]
        await uow.users.set_permissions(head.id, ["crm.imports"], boss.id)
        await uow.commit()
    async with container.uow() as uow:
        assert (await uow.users.by_email(head.email)).page_permissions == ["crm.imports"]
        await uow.users.set_permissions(head.id, [], boss.id)
        await uow.commit()
    async with container.uow() as uow:
        assert (await uow.users.get(head.id)).page_permissions == []

    async with container.uow() as uow:
        assert await uow.users.master_counter() == 0
        await uow.users.set_master_counter(58_000_000)
        await uow.commit()
    async with container.uow() as uow:
        assert await uow.users.master_counter() == 58_000_000
        await uow.users.set_master_counter(58_000_001)
        await uow.commit()
    async with container.uow() as uow:
        assert await uow.users.master_counter() == 58_000_001
        await uow.users.set_master_counter(1)  # rolled back
    async with container.uow() as uow:
        assert await uow.users.master_counter() == 58_000_001


# --- refresh sessions --------------------------------------------------------------------------


def a_session(
    user: User, family: uuid.UUID | None = None, minute: int = 0, **fields: Any
) -> RefreshSession:
    session_id = uuid7()
    created = T0 + timedelta(minutes=minute)
    values: dict[str, Any] = {
        "expires_at": created + timedelta(days=7),
        "platform": Platform.MY_ANALYTICS_SCHOOL,
        "auth_method": AuthMethod.PASSWORD,
    }
    values.update(fields)
    return RefreshSession(
        id=session_id,
        user_id=user.id,
        token_hash=f"{session_id.hex}{'0' * 32}",
        family_id=family or session_id,
        created_at=created,
        **values,
    )


async def test_sessions_rotate_once_and_revoke_by_family_and_user(container: Any) -> None:
    asha, ravi = a_user(EMAIL), a_user("ravi@example.com")
    await add_users(container, asha, ravi)
    first = a_session(asha, ip="10.0.0.1", user_agent="pytest", platform=Platform.MR_HIRE)
    second = a_session(asha, first.family_id, minute=1, auth_method=AuthMethod.OTP)
    other_login = a_session(asha, minute=2)
    stale = a_session(asha, minute=-60 * 24 * 40, expires_at=T0 - timedelta(days=33))
    theirs = a_session(ravi, minute=3)
    async with container.uow() as uow:
        for session in (first, second, other_login, stale, theirs):
            await uow.sessions.add(session)
        await uow.commit()
    now = T0 + timedelta(minutes=5)
    async with container.uow() as uow:
        assert await uow.sessions.by_hash(first.token_hash) == first
        assert await uow.sessions.get(second.id) == second
        assert await uow.sessions.by_hash("f" * 64) is None
        assert await uow.sessions.get(uuid.uuid4()) is None
        assert await uow.sessions.rotate(first.id, second.id, now) is True
        await uow.commit()
    async with container.uow() as uow:
        assert await uow.sessions.rotate(first.id, uuid7(), now) is False, "already rotated"
        rotated = await uow.sessions.get(first.id)
        active = await uow.sessions.active_for_user(asha.id, now)
    assert rotated is not None and rotated.revoked_reason is RevokeReason.ROTATED
    assert (rotated.replaced_by_id, rotated.revoked_at, rotated.last_used_at) == (
        second.id,
        now,
        now,
    )
    assert [s.id for s in active] == [other_login.id, second.id], "newest first, live only"
    async with container.uow() as uow:
        assert await uow.sessions.revoke_family(first.family_id, RevokeReason.LOGOUT, now) == [
            second.id
        ]
        assert await uow.sessions.revoke_family(first.family_id, RevokeReason.LOGOUT, now) == []
        revoked = await uow.sessions.revoke_user(asha.id, RevokeReason.PASSWORD_CHANGED, now)
        assert sorted(revoked) == sorted([other_login.id, stale.id])
        await uow.commit()
    async with container.uow() as uow:
        assert await uow.sessions.active_for_user(asha.id, now) == []
        assert [s.id for s in await uow.sessions.active_for_user(ravi.id, now)] == [theirs.id]
        reason = (await uow.sessions.get(second.id)).revoked_reason
        assert reason is RevokeReason.LOGOUT
        assert await uow.sessions.purge(T0 - timedelta(days=30)) == 1
        await uow.commit()
    async with container.uow() as uow:
        assert await uow.sessions.get(stale.id) is None
        assert await uow.sessions.get(first.id) is not None


# --- one-time codes ----------------------------------------------------------------------------


def a_code(email: str, purpose: OtpPurpose, minute: int) -> OtpCode:
    created = T0 + timedelta(minutes=minute)
    return OtpCode(
        id=uuid7(),
        email=email,
        purpose=purpose,
        code_hash=f"{minute:064d}",
        expires_at=created + timedelta(minutes=10),
        created_at=created,
    )


async def test_codes_newest_live_supersede_count_and_purge(container: Any) -> None:
    old = a_code(EMAIL, OtpPurpose.SIGNUP, 0)
    new = a_code(EMAIL, OtpPurpose.SIGNUP, 1)
    reset = a_code(EMAIL, OtpPurpose.PASSWORD_RESET, 2)
    theirs = a_code("ravi@example.com", OtpPurpose.SIGNUP, 3)
    async with container.uow() as uow:
        for code in (old, new, reset, theirs):
            await uow.otps.add(code)
        await uow.commit()
    async with container.uow() as uow:
        assert await uow.otps.newest(EMAIL, OtpPurpose.SIGNUP) == new
        assert await uow.otps.live(EMAIL, OtpPurpose.SIGNUP) == new
        assert await uow.otps.newest("nobody@example.com", OtpPurpose.SIGNUP) is None
        assert await uow.otps.count_since(EMAIL, OtpPurpose.SIGNUP, T0) == 2
        assert await uow.otps.count_since(EMAIL, OtpPurpose.SIGNUP, T0 + timedelta(seconds=1)) == 1
        assert await uow.otps.count_since(EMAIL, OtpPurpose.PASSWORD_RESET, T0) == 1
        new.attempts, new.consumed_at = 2, T0 + timedelta(minutes=2)
        await uow.otps.save(new)
        await uow.commit()
    async with container.uow() as uow:
        assert await uow.otps.newest(EMAIL, OtpPurpose.SIGNUP) == new
        assert await uow.otps.live(EMAIL, OtpPurpose.SIGNUP) == old, "consumed is not live"
        await uow.otps.supersede(EMAIL, OtpPurpose.SIGNUP, T0 + timedelta(minutes=4))
        await uow.commit()
    async with container.uow() as uow:
        assert await uow.otps.live(EMAIL, OtpPurpose.SIGNUP) is None
        superseded = await uow.otps.newest(EMAIL, OtpPurpose.SIGNUP)
        assert superseded == new, "a consumed code is not superseded"
        assert await uow.otps.live(EMAIL, OtpPurpose.PASSWORD_RESET) == reset
        assert await uow.otps.live("ravi@example.com", OtpPurpose.SIGNUP) == theirs
        assert await uow.otps.purge(T0 + timedelta(minutes=2)) == 2
        await uow.commit()
    async with container.uow() as uow:
        assert await uow.otps.count_since(EMAIL, OtpPurpose.SIGNUP, T0) == 0
        assert await uow.otps.newest(EMAIL, OtpPurpose.PASSWORD_RESET) == reset

    lone = a_code("lone@example.com", OtpPurpose.SIGNUP, 0)
    async with container.uow() as uow:
        await uow.otps.add(lone)
        await uow.otps.supersede(lone.email, OtpPurpose.SIGNUP, T0 + timedelta(minutes=1))
        await uow.commit()
    async with container.uow() as uow:
        stored = await uow.otps.newest(lone.email, OtpPurpose.SIGNUP)
    assert stored is not None and stored.superseded_at == T0 + timedelta(minutes=1)
    assert stored.state(T0) == "SUPERSEDED"


# --- vendor keys and audit ---------------------------------------------------------------------


async def test_vendor_keys_and_the_audit_log(container: Any) -> None:
    boss = a_user("boss@example.com", Role.ADMIN)
    await add_users(container, boss)
    first = VendorKey(
        id=uuid7(),
        vendor_name="LeadCo",
        key_prefix="abcdefabcdef",
        secret_hash="1" * 64,
        scopes=["leads:read", "leads:write"],
        created_at=T0,
        created_by=boss.id,
    )
    second = VendorKey(
        id=uuid7(),
        vendor_name="OtherCo",
        key_prefix="zyxwvu",
        secret_hash="2" * 64,
        scopes=["leads:write"],
        created_at=T0 + timedelta(minutes=1),
    )
    async with container.uow() as uow:
        await uow.vendor_keys.add(first)
        await uow.vendor_keys.add(second)
        await uow.commit()
    async with container.uow() as uow:
        assert await uow.vendor_keys.by_prefix("abcdefabcdef") == first
        assert await uow.vendor_keys.by_prefix("nope") is None
        assert await uow.vendor_keys.get(second.id) == second
        assert await uow.vendor_keys.get(uuid.uuid4()) is None
        assert [k.id for k in await uow.vendor_keys.all()] == [second.id, first.id]
        first.use_count, first.last_used_at = 3, T0 + timedelta(hours=1)
        first.revoked_at = T0 + timedelta(hours=2)
        first.vendor_name = "Renamed"  # not a field save writes
        await uow.vendor_keys.save(first)
        await uow.commit()
    async with container.uow() as uow:
        stored = await uow.vendor_keys.get(first.id)
    assert stored is not None and stored.vendor_name == "LeadCo"
    assert (stored.use_count, stored.last_used_at, stored.revoked_at) == (
        3,
        T0 + timedelta(hours=1),
        T0 + timedelta(hours=2),
    )
    assert stored.scopes == ["leads:read", "leads:write"]

    target, other = uuid7(), uuid7()
    events = [
        AuditEvent(
            id=uuid7(),
            event=AuditKind.LOGIN_OK,
            created_at=T0,
            target_user_id=target,
            platform=Platform.MR_HIRE,
            ip="10.0.0.1",
        ),
        AuditEvent(
            id=uuid7(),
            event=AuditKind.IMPERSONATION,
            created_at=T0 + timedelta(minutes=1),
            actor_id=other,
            target_user_id=target,
            reason="support ticket 4411",
            detail={"n": 1, "ok": True, "none": None, "text": "x"},
        ),
        AuditEvent(id=uuid7(), event=AuditKind.OTP_SENT, created_at=T0 + timedelta(minutes=2)),
    ]
    async with container.uow() as uow:
        for event in events:
            await uow.audit.append(event)
        await uow.commit()
    async with container.uow() as uow:
        mine = await uow.audit.page(target, PageRequest())
        everything = await uow.audit.page(None, PageRequest(1, 2))
        nobody = await uow.audit.page(uuid.uuid4(), PageRequest())
    assert mine.items == [events[1], events[0]] and mine.total == 2
    assert [e.id for e in everything.items] == [events[2].id, events[1].id]
    assert everything.total == 3
    assert (nobody.items, nobody.total) == ([], 0)


# --- the whole flow on each database -----------------------------------------------------------


async def test_signup_verify_refresh_and_reuse(container: Any) -> None:
    info = RequestInfo(platform=Platform.MR_MENTOR, ip="10.0.0.7", user_agent="pytest")
    result = await container.identity.registration.signup(
        " Flow@Example.com ", "correct horse battery", None, info
    )
    box = await container.platform.delivery.mailbox(None, "flow@example.com", PageRequest(1, 1))
    assert box.total == 1 and "Mr. Mentor" in box.items[0].subject
    match = re.search(r"\b(\d{6})\b", box.items[0].body_text)
    assert match is not None
    user, first = await container.identity.registration.verify_otp(
        "flow@example.com", match.group(1), info
    )
    assert user.id == result.user_id and user.stage is UserStage.OTP_VERIFIED
    second = await container.identity.sessions.refresh(first.refresh_token, info)
    caller = await container.identity.access.authenticate(second.access_token)
    assert (caller.user_id, caller.platform) == (user.id, Platform.MR_MENTOR)
    # Within the reuse interval the same token gets the same pair (a second tab)…
    assert await container.identity.sessions.refresh(first.refresh_token, info) == second
    third = await container.identity.sessions.refresh(second.refresh_token, info)
    # …but not once that pair was itself used: now it is a copy, and the sign-in ends.
    with pytest.raises(Unauthorized) as reused:
        await container.identity.sessions.refresh(first.refresh_token, info)
    assert reused.value.code == "refresh_reused"
    with pytest.raises(Unauthorized):
        await container.identity.sessions.refresh(third.refresh_token, info)
    with pytest.raises(Unauthorized) as ended:
        await container.identity.access.authenticate(third.access_token)
    assert ended.value.code == "session_revoked"
    async with container.uow() as uow:
        reasons = {
            s.id: s.revoked_reason
            for s in [
                await uow.sessions.get(first.session_id),
                await uow.sessions.get(second.session_id),
                await uow.sessions.get(third.session_id),
            ]
            if s is not None
        }
        kinds = [e.event for e in (await uow.audit.page(user.id, PageRequest())).items]
    assert reasons == {
        first.session_id: RevokeReason.ROTATED,
        second.session_id: RevokeReason.ROTATED,
        third.session_id: RevokeReason.REUSE_DETECTED,
    }
    assert AuditKind.REFRESH_REUSE in kinds and AuditKind.OTP_VERIFIED in kinds
