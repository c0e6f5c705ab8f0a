"""The identity services against in-memory fakes: what a user, an admin or a vendor notices.

The HTTP suite covers the happy paths and the acceptance checks; this file covers time (code
expiry, refresh expiry, rate windows), races and the guard's cache, which need a frozen clock.
The comments name the HTTP status each error class maps to.
"""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import Awaitable
from datetime import UTC, datetime
from typing import Any, TypeVar

import msgspec
import pytest

from mas.adapters.cache.memory import MemoryCache
from mas.adapters.comms.templates import JinjaTemplateEngine
from mas.adapters.fakes.identity import (
    FakeCodec,
    FakeHasher,
    FakeIdentityProvider,
    FakeSecrets,
    FakeTotp,
    FakeUsers,
    IdentityStore,
    IdentityTables,
)
from mas.adapters.fakes.platform import FakeClock
from mas.core.comms.mail.writer import MailWriter
from mas.core.identity.accounts import UserChanges
from mas.core.identity.mail import MAIL_TEMPLATES
from mas.core.identity.model import AccountThrottle, AuthMethod, RevokeReason, User, UserStage
from mas.core.identity.policy import Caller, Platform, Role
from mas.core.identity.ports import GoogleIdentity
from mas.core.identity.services import IdentityPorts, IdentityServices, build_identity
from mas.core.identity.tokens import RequestInfo, TokenPair
from mas.core.platform.errors import (
    Conflict,
    DomainError,
    ExternalUnavailable,
    Forbidden,
    Gone,
    NotFound,
    RateLimited,
    Unauthorized,
    ValidationFailed,
)
from mas.core.platform.ids import uuid7
from mas.core.platform.messages import OutboxMessage
from mas.core.platform.paging import PageRequest
from mas.core.platform.ratelimit import RateLimiter

START = datetime(2025, 3, 1, 10, 0, tzinfo=UTC)
PASSWORD = "correct horse battery"
ACCESS_TTL_S = 900
REFRESH_TTL_S = 7 * 24 * 3600
INFO = RequestInfo(platform=Platform.MY_ANALYTICS_SCHOOL, ip="10.0.0.1", user_agent="pytest")
NEW_PASSWORD = "a much better passphrase"
MASTER = "master passphrase"
REASON = "SSO outage, ticket 12"
E = TypeVar("E", bound=DomainError)


class World:
    """Identity's services as ``build_identity`` makes them, over the fakes and a frozen clock."""

    def __init__(self, reuse_interval_s: int = 30) -> None:
        self.clock = FakeClock(START)
        self.store = IdentityStore()
        self.secrets = FakeSecrets()
        self.hasher = FakeHasher()
        self.totp = FakeTotp()
        self.google = FakeIdentityProvider()
        self.mail_configured = True
        cache = MemoryCache(clock=self.clock.timestamp)
        self.identity: IdentityServices = build_identity(
            IdentityPorts(
                uow=self.store.uow,
                clock=self.clock,
                cache=cache,
                limiter=RateLimiter(cache, now=self.clock.timestamp),
                codec=FakeCodec(self.clock),
                hasher=self.hasher,
                secrets=self.secrets,
                google=self.google,
                totp=self.totp,
                mail_configured=lambda: self.mail_configured,
                # The mail part's writer is the messenger's email side; identity only mails.
                messenger=MailWriter(  # type: ignore[arg-type]
                    clock=self.clock, templates=MAIL_TEMPLATES, engine=JinjaTemplateEngine()
                ),
                pages=frozenset({"crm.leads", "crm.targets"}),
                vendor_scopes=frozenset({"leads:write", "leads:read"}),
                access_ttl_s=ACCESS_TTL_S,
                refresh_ttl_s=REFRESH_TTL_S,
                refresh_reuse_interval_s=reuse_interval_s,
                master_password_hash=self.hasher.hash(MASTER),
                impersonation_enabled=True,
            )
        )

    @property
    def tables(self) -> IdentityTables:
        """What is committed."""
        return self.store.committed

    def user(self, user_id: uuid.UUID) -> User:
        return self.tables.users[user_id]

    async def add_user(
        self,
        role: Role = Role.USER,
        email: str | None = None,
        *,
        verified: bool = True,
        password: str | None = PASSWORD,
        full_name: str | None = None,
    ) -> User:
        user = User(
            id=uuid7(),
            email=email or f"{role.value.lower()}-{len(self.tables.users)}@example.com",
            role=role,
            created_at=self.clock.now(),
            password_hash=self.hasher.hash(password) if password else None,
            full_name=full_name,
        )
        if verified:
            user.advance(UserStage.OTP_VERIFIED)
        async with self.store.uow() as uow:
            await uow.users.add(user)
            await uow.commit()
        return user

    def caller(self, user: User, platform: Platform = Platform.MY_ANALYTICS_SCHOOL) -> Caller:
        return Caller(user_id=user.id, role=user.role, platform=platform)

    def access_token(self, user: User, session_id: uuid.UUID | None = None) -> str:
        return self.identity.issuer.access_token(
            self.user(user.id), Platform.MY_ANALYTICS_SCHOOL, AuthMethod.PASSWORD, session_id
        )

    def mails_to(self, email: str) -> list[OutboxMessage]:
        return [m for m in self.tables.outbox if m.recipient == email]

    def last_code(self, email: str) -> str:
        match = re.search(r"\b(\d{6})\b", self.mails_to(email)[-1].body_text)
        assert match is not None
        return match.group(1)

    def audit_kinds(self) -> list[str]:
        return [e.event.value for e in self.tables.audit]


@pytest.fixture
def world() -> World:
    return World()


async def refused(call: Awaitable[Any], kind: type[E], code: str) -> E:
    with pytest.raises(kind) as caught:
        await call
    assert caught.value.code == code, caught.value.detail
    return caught.value


async def signed_up(world: World, email: str) -> str:
    await world.identity.registration.signup(email, PASSWORD, "Asha", INFO)
    return world.last_code(email)


async def verified(world: World, email: str) -> tuple[User, TokenPair]:
    code = await signed_up(world, email)
    return await world.identity.registration.verify_otp(email, code, INFO)


async def still_works(world: World, pair: TokenPair) -> Caller:
    return await world.identity.access.authenticate(pair.access_token)


# --- sign-up and codes -------------------------------------------------------------------------


async def test_signup_stores_a_stage_1_user_and_mails_one_code(world: World) -> None:
    result = await world.identity.registration.signup(" Asha@Example.com ", PASSWORD, "Asha", INFO)
    assert (result.email, result.stage, result.otp_delivery) == ("asha@example.com", 1, "queued")
    user = world.user(result.user_id)
    assert user.role is Role.USER and not user.is_verified and user.password_hash
    assert len(world.mails_to("asha@example.com")) == 1
    assert world.audit_kinds() == ["SIGNUP", "OTP_SENT"]
    await refused(
        world.identity.sign_in.with_password("asha@example.com", PASSWORD, INFO),
        Forbidden,
        "email_not_verified",
    )


async def test_signup_without_mail_keeps_user_and_code_and_answers_503(world: World) -> None:
    world.mail_configured = False
    with pytest.raises(ExternalUnavailable):  # 503 integration_not_configured
        await world.identity.registration.signup("quiet@example.com", PASSWORD, None, INFO)
    assert len(world.tables.users) == 1 and len(world.tables.otps) == 1
    code = world.last_code("quiet@example.com")
    user, _ = await world.identity.registration.verify_otp("quiet@example.com", code, INFO)
    assert user.is_verified


async def test_bad_signup_input_writes_nothing(world: World) -> None:
    with pytest.raises(ValidationFailed):
        await world.identity.registration.signup("not-an-email", PASSWORD, None, INFO)
    with pytest.raises(ValidationFailed) as weak:
        await world.identity.registration.signup("weak@example.com", "weak@example.com", None, INFO)
    assert weak.value.errors[0].field == "password"
    assert world.tables.users == {} and world.tables.outbox == []


async def test_a_code_expires_after_10_minutes(world: World) -> None:
    code = await signed_up(world, "late@example.com")
    world.clock.advance(minutes=10)
    await refused(
        world.identity.registration.verify_otp("late@example.com", code, INFO), Gone, "otp_gone"
    )  # 410
    assert not world.tables.users[next(iter(world.tables.users))].is_verified


async def test_a_code_works_just_before_it_expires(world: World) -> None:
    code = await signed_up(world, "ontime@example.com")
    world.clock.advance(minutes=9, seconds=59)
    user, pair = await world.identity.registration.verify_otp("ontime@example.com", code, INFO)
    assert user.stage is UserStage.OTP_VERIFIED and pair.refresh_token
    assert (await still_works(world, pair)).user_id == user.id


async def test_a_resend_supersedes_the_old_code(world: World) -> None:
    email = "resend@example.com"
    old = await signed_up(world, email)
    world.clock.advance(seconds=61)
    await world.identity.registration.resend_otp(email, INFO)
    new = world.last_code(email)
    assert new != old and len(world.mails_to(email)) == 2
    with pytest.raises(DomainError):
        await world.identity.registration.verify_otp(email, old, INFO)
    assert not any(c.consumed_at for c in world.tables.otps.values())
    user, _ = await world.identity.registration.verify_otp(email, new, INFO)
    assert user.is_verified


async def test_the_superseded_code_is_410_and_costs_the_new_one_nothing(world: World) -> None:
    email = "resend2@example.com"
    old = await signed_up(world, email)
    world.clock.advance(seconds=61)
    await world.identity.registration.resend_otp(email, INFO)
    with pytest.raises(DomainError) as caught:
        await world.identity.registration.verify_otp(email, old, INFO)
    newest = max(world.tables.otps.values(), key=lambda c: c.created_at)
    assert (type(caught.value), caught.value.code, newest.attempts) == (Gone, "otp_gone", 0)


async def test_resend_has_a_60_s_cooldown(world: World) -> None:
    await signed_up(world, "cool@example.com")
    world.clock.advance(seconds=30)
    limited = await refused(
        world.identity.registration.resend_otp("cool@example.com", INFO),
        RateLimited,
        "rate_limited",
    )
    assert limited.retry_after == 31
    assert len(world.mails_to("cool@example.com")) == 1


async def test_at_most_5_codes_an_hour(world: World) -> None:
    email = "chatty@example.com"
    await signed_up(world, email)
    for _ in range(4):
        world.clock.advance(seconds=61)
        await world.identity.registration.resend_otp(email, INFO)
    world.clock.advance(seconds=61)
    limited = await refused(
        world.identity.registration.resend_otp(email, INFO), RateLimited, "rate_limited"
    )
    assert limited.retry_after is not None and limited.retry_after > 0  # 429 + Retry-After
    assert len(world.mails_to(email)) == 5
    world.clock.advance(hours=1)
    await world.identity.registration.resend_otp(email, INFO)
    assert len(world.mails_to(email)) == 6


async def test_resend_for_unknown_or_verified_email(world: World) -> None:
    await refused(
        world.identity.registration.resend_otp("nobody@example.com", INFO),
        NotFound,
        "signup_not_found",
    )
    await verified(world, "done@example.com")
    world.clock.advance(seconds=61)
    await refused(
        world.identity.registration.resend_otp("done@example.com", INFO),
        Conflict,
        "already_verified",
    )


async def test_five_wrong_codes_lock_it_until_a_resend(world: World) -> None:
    email = "guess@example.com"
    code = await signed_up(world, email)
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    for left in (4, 3, 2, 1):
        error = await refused(
            world.identity.registration.verify_otp(email, wrong, INFO), DomainError, "otp_wrong"
        )
        assert type(error) is DomainError  # 400, with the attempts left on the field
        assert [(e.field, e.message) for e in error.errors] == [("code", f"{left} attempts left")]
    await refused(world.identity.registration.verify_otp(email, wrong, INFO), Gone, "otp_locked")
    world.clock.advance(seconds=120)  # the per-minute limiter has forgotten the attempts
    await refused(world.identity.registration.verify_otp(email, code, INFO), Gone, "otp_gone")
    await world.identity.registration.resend_otp(email, INFO)
    user, _ = await world.identity.registration.verify_otp(email, world.last_code(email), INFO)
    assert user.is_verified


async def test_a_code_is_used_once_and_needs_a_pending_signup(world: World) -> None:
    await refused(
        world.identity.registration.verify_otp("nobody@example.com", "123456", INFO),
        NotFound,
        "otp_not_found",
    )
    code = await signed_up(world, "once@example.com")
    await world.identity.registration.verify_otp("once@example.com", code, INFO)
    await refused(
        world.identity.registration.verify_otp("once@example.com", code, INFO), Gone, "otp_gone"
    )


async def test_an_abandoned_signup_can_start_again_but_a_verified_one_cannot(world: World) -> None:
    first = await world.identity.registration.signup(
        "again@example.com", "first password", None, INFO
    )
    world.clock.advance(seconds=61)
    second = await world.identity.registration.signup("again@example.com", PASSWORD, "Asha K", INFO)
    assert second.user_id == first.user_id
    assert (first.created, second.created) == (True, False), "HTTP 201, then 200"
    assert len(world.mails_to("again@example.com")) == 2, "a fresh code went out"
    await refused(  # the first code died with the restart
        world.identity.registration.verify_otp("again@example.com", world.secrets.codes[0], INFO),
        Gone,
        "otp_gone",
    )
    user = world.user(first.user_id)
    assert user.password_hash == world.hasher.hash(PASSWORD) and user.full_name == "Asha K"
    await world.identity.registration.verify_otp(
        "again@example.com", world.last_code("again@example.com"), INFO
    )
    world.clock.advance(seconds=61)
    await refused(
        world.identity.registration.signup("again@example.com", PASSWORD, None, INFO),
        Conflict,
        "email_taken",
    )


async def test_a_deleted_accounts_email_stays_reserved(world: World) -> None:
    user = await world.add_user(email="gone@example.com")
    boss = await world.add_user(Role.SUPERADMIN)
    await world.identity.accounts.delete(world.caller(boss), user.id)
    await refused(
        world.identity.registration.signup("gone@example.com", PASSWORD, None, INFO),
        Conflict,
        "email_taken",
    )
    await refused(
        world.identity.sign_in.with_password("gone@example.com", PASSWORD, INFO),
        Unauthorized,
        "bad_credentials",
    )


async def test_two_signups_racing_for_one_email_give_the_loser_409(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    await world.identity.registration.signup("race@example.com", PASSWORD, None, INFO)

    async def not_yet_visible(self: FakeUsers, email: str) -> None:
        return None

    monkeypatch.setattr(FakeUsers, "by_email", not_yet_visible)
    world.clock.advance(seconds=61)
    await refused(
        world.identity.registration.signup("race@example.com", "another password", None, INFO),
        Conflict,
        "email_taken",
    )
    assert len(world.tables.users) == 1 and len(world.tables.otps) == 1


async def test_a_pending_code_of_a_deleted_account_signs_nobody_in(world: World) -> None:
    code = await signed_up(world, "deleted@example.com")
    boss = await world.add_user(Role.SUPERADMIN)
    pending = next(u for u in world.tables.users.values() if u.email == "deleted@example.com")
    await world.identity.accounts.delete(world.caller(boss), pending.id)
    await refused(
        world.identity.registration.verify_otp("deleted@example.com", code, INFO),
        NotFound,
        "signup_not_found",
    )
    assert not any(s.user_id == pending.id for s in world.tables.sessions.values())


async def test_complete_profile_needs_a_verified_email(world: World) -> None:
    fresh = await world.add_user(verified=False)
    await refused(
        world.identity.registration.complete_profile(fresh.id, "Asha", None, None, None),
        Conflict,
        "otp_not_verified",
    )
    ready = await world.add_user()
    user = await world.identity.registration.complete_profile(
        ready.id, "Asha", "+919999999999", "Analyst", "BI"
    )
    assert user.stage is UserStage.PROFILE_COMPLETE and user.is_profile_complete
    assert world.user(ready.id).phone == "+919999999999"


# --- logins ------------------------------------------------------------------------------------


async def test_unknown_email_and_wrong_password_look_the_same(world: World) -> None:
    await world.add_user(email="known@example.com")
    unknown = await refused(
        world.identity.sign_in.with_password("ghost@example.com", PASSWORD, INFO),
        Unauthorized,
        "bad_credentials",
    )
    wrong = await refused(
        world.identity.sign_in.with_password("known@example.com", "not it at all", INFO),
        Unauthorized,
        "bad_credentials",
    )
    assert unknown.detail == wrong.detail
    assert world.hasher.blind_checks == 1, "the unknown email still paid for a hash check"
    assert world.audit_kinds()[-2:] == ["LOGIN_FAILED", "LOGIN_FAILED"]


async def test_login_checks_block_and_platform(world: World) -> None:
    student = await world.add_user(email="student@example.com")
    hire = RequestInfo(platform=Platform.MR_HIRE, ip="10.0.0.2")
    await refused(
        world.identity.sign_in.with_password(student.email, PASSWORD, hire),
        Forbidden,
        "platform_forbidden",
    )
    recruiter = await world.add_user(Role.EXTERNAL_HR)
    _, pair = await world.identity.sign_in.with_password(recruiter.email, PASSWORD, hire)
    assert FakeCodec.claims(pair.access_token).plt == "mr-hire"
    boss = await world.add_user(Role.ADMIN)
    await world.identity.accounts.set_blocked(world.caller(boss), student.id, True)
    await refused(
        world.identity.sign_in.with_password(student.email, PASSWORD, INFO),
        Forbidden,
        "account_blocked",
    )


async def test_login_is_limited_per_ip_and_email(world: World) -> None:
    user = await world.add_user()
    for _ in range(5):
        with pytest.raises(Unauthorized):
            await world.identity.sign_in.with_password(user.email, "wrong password", INFO)
    await refused(
        world.identity.sign_in.with_password(user.email, PASSWORD, INFO),
        RateLimited,
        "rate_limited",
    )
    other_ip = RequestInfo(ip="10.9.9.9")
    world.clock.advance(seconds=1)  # the account's own wait after five failures
    assert (await world.identity.sign_in.with_password(user.email, PASSWORD, other_ip))[
        0
    ].id == user.id
    world.clock.advance(seconds=120)  # two windows later the attempts have faded out
    assert (await world.identity.sign_in.with_password(user.email, PASSWORD, INFO))[
        0
    ].last_login_at == (world.clock.now())


def from_anywhere(n: int) -> RequestInfo:
    """Attempt ``n`` comes from its own address, so only the per-account count can stop it."""
    return RequestInfo(ip=f"10.{n // 200}.{n % 200}.9")


async def attempt(world: World, email: str, password: str, n: int) -> DomainError | None:
    try:
        await world.identity.sign_in.with_password(email, password, from_anywhere(n))
    except DomainError as error:
        return error
    return None


async def test_an_account_waits_longer_after_each_failure_from_any_address(world: World) -> None:
    user = await world.add_user(email="target@example.com")
    for n in range(5):  # five failures are free
        assert isinstance(await attempt(world, user.email, "guess", n), Unauthorized)
    waits = []
    for n in range(5, 11):
        refused_now = await attempt(world, user.email, PASSWORD, n)  # even the right password
        assert isinstance(refused_now, RateLimited) and refused_now.retry_after is not None
        waits.append(refused_now.retry_after)
        world.clock.advance(seconds=refused_now.retry_after - 0.5)
        assert isinstance(await attempt(world, user.email, PASSWORD, n), RateLimited)
        world.clock.advance(seconds=0.5)
        assert isinstance(await attempt(world, user.email, "guess", n), Unauthorized)
    assert waits == [1, 2, 4, 8, 16, 32]


async def test_the_wait_is_capped_at_15_minutes_and_a_success_resets_it(world: World) -> None:
    user = await world.add_user(email="patient@example.com")
    subject = world.identity.lockout.subject(user.email)
    world.store.elsewhere(
        lambda tables: tables.account_throttles.__setitem__(
            subject,
            AccountThrottle(
                subject=subject,
                failures=40,
                last_attempt_at=world.clock.now(),
                blocked_until=world.clock.now(),
            ),
        )
    )
    assert isinstance(await attempt(world, user.email, "guess", 1), Unauthorized)
    capped = await attempt(world, user.email, PASSWORD, 2)
    assert isinstance(capped, RateLimited) and capped.retry_after == 15 * 60
    world.clock.advance(minutes=15)
    assert await attempt(world, user.email, PASSWORD, 3) is None
    assert world.tables.account_throttles == {}, "a success starts the count again"
    for n in range(5):
        assert isinstance(await attempt(world, user.email, "guess", 10 + n), Unauthorized)


async def test_an_unknown_email_is_throttled_exactly_like_a_real_one(world: World) -> None:
    await world.add_user(email="real@example.com")
    answers: dict[str, list[tuple[str, str, int | None]]] = {}
    for email in ("real@example.com", "ghost@example.com"):
        seen = []
        for n in range(8):
            error = await attempt(world, email, "guess", n)
            assert error is not None
            seen.append((type(error).__name__, error.detail, error.retry_after))
            if n == 6:
                world.clock.advance(seconds=1)
        answers[email] = seen
    assert answers["real@example.com"] == answers["ghost@example.com"]
    assert [kind for kind, _, _ in answers["ghost@example.com"]] == ["Unauthorized"] * 5 + [
        "RateLimited",
        "RateLimited",
        "Unauthorized",
    ]


async def test_other_accounts_are_not_slowed_down(world: World) -> None:
    victim = await world.add_user(email="victim@example.com")
    bystander = await world.add_user(email="bystander@example.com")
    for n in range(6):
        await attempt(world, victim.email, "guess", n)
    assert await attempt(world, bystander.email, PASSWORD, 99) is None
    assert isinstance(await attempt(world, victim.email, PASSWORD, 100), RateLimited)


async def test_old_failure_counts_are_purged_but_not_a_running_wait(world: World) -> None:
    for n in range(6):
        await attempt(world, "someone@example.com", "guess", n)
    for n in range(2):
        await attempt(world, "briefly@example.com", "guess", 10 + n)
    world.clock.advance(days=1, seconds=1)
    assert await world.identity.housekeeping.purge_expired() == (0, 0, 2)
    assert world.tables.account_throttles == {}


async def test_google_creates_a_verified_user_and_links_an_existing_one(world: World) -> None:
    world.google.add(
        "new",
        GoogleIdentity(
            sub="g-1", email="New@Gmail.com", email_verified=True, name="New", picture="p.png"
        ),
    )
    user, pair = await world.identity.sign_in.with_google("new", INFO)
    assert (user.email, user.stage, user.google_id) == (
        "new@gmail.com",
        UserStage.OTP_VERIFIED,
        "g-1",
    )
    assert user.password_hash is None and FakeCodec.claims(pair.access_token).amr == "google"
    again, _ = await world.identity.sign_in.with_google("new", INFO)
    assert again.id == user.id and len(world.tables.users) == 1

    existing = await world.add_user(email="has.password@example.com", full_name="Has")
    world.google.add(
        "link",
        GoogleIdentity(sub="g-2", email=existing.email, email_verified=True, name="Other Name"),
    )
    linked, _ = await world.identity.sign_in.with_google("link", INFO)
    assert linked.id == existing.id and linked.google_id == "g-2"
    assert linked.full_name == "Has" and linked.password_hash is not None


async def test_google_refuses_bad_tokens_deleted_and_blocked_accounts(world: World) -> None:
    await refused(
        world.identity.sign_in.with_google("forged", INFO), Unauthorized, "invalid_google_token"
    )
    boss = await world.add_user(Role.SUPERADMIN)
    gone = await world.add_user(email="gone@example.com")
    blocked = await world.add_user(email="blocked@example.com")
    await world.identity.accounts.delete(world.caller(boss), gone.id)
    await world.identity.accounts.set_blocked(world.caller(boss), blocked.id, True)
    for token, email in (("t-gone", gone.email), ("t-blocked", blocked.email)):
        world.google.add(token, GoogleIdentity(sub=token, email=email, email_verified=True))
    await refused(world.identity.sign_in.with_google("t-gone", INFO), Unauthorized, "account_gone")
    await refused(
        world.identity.sign_in.with_google("t-blocked", INFO), Forbidden, "account_blocked"
    )


async def test_google_sign_in_over_an_unverified_signup_drops_that_password(world: World) -> None:
    # Anyone can start a sign-up for someone else's address; the owner later uses Google.
    await world.identity.registration.signup("victim@gmail.com", "squatter's password", None, INFO)
    world.google.add(
        "owner", GoogleIdentity(sub="g-owner", email="victim@gmail.com", email_verified=True)
    )
    owner, _ = await world.identity.sign_in.with_google("owner", INFO)
    assert owner.is_verified
    with pytest.raises(Unauthorized):
        await world.identity.sign_in.with_password("victim@gmail.com", "squatter's password", INFO)


# --- refresh, logout, sessions -----------------------------------------------------------------


async def test_refresh_rotates_within_the_family(world: World) -> None:
    _, first = await verified(world, "rotate@example.com")
    world.clock.advance(minutes=20)
    with pytest.raises(Unauthorized):  # the access token lasted 15 minutes
        await still_works(world, first)
    second = await world.identity.sessions.refresh(first.refresh_token or "", INFO)
    assert second.refresh_token != first.refresh_token
    assert (await still_works(world, second)).session_id == second.session_id
    old = world.tables.sessions[first.session_id or uuid.uuid4()]
    new = world.tables.sessions[second.session_id or uuid.uuid4()]
    assert old.revoked_reason is RevokeReason.ROTATED and old.replaced_by_id == new.id
    assert new.family_id == old.family_id and new.revoked_at is None


async def test_an_unknown_refresh_token_is_refused(world: World) -> None:
    await refused(
        world.identity.sessions.refresh("made-up", INFO), Unauthorized, "invalid_refresh_token"
    )


async def test_a_refresh_token_expires_after_7_days(world: World) -> None:
    _, pair = await verified(world, "week@example.com")
    world.clock.advance(days=7)
    await refused(
        world.identity.sessions.refresh(pair.refresh_token or "", INFO),
        Unauthorized,
        "refresh_expired",
    )


async def test_reuse_closes_every_session_of_the_sign_in(world: World) -> None:
    user, first = await verified(world, "reuse@example.com")
    second = await world.identity.sessions.refresh(first.refresh_token or "", INFO)
    _, elsewhere = await world.identity.sign_in.with_password(user.email, PASSWORD, INFO)
    world.clock.advance(seconds=31)  # past the reuse interval
    await refused(
        world.identity.sessions.refresh(first.refresh_token or "", INFO),
        Unauthorized,
        "refresh_reused",
    )
    assert "REFRESH_REUSE" in world.audit_kinds()
    await refused(
        world.identity.sessions.refresh(second.refresh_token or "", INFO),
        Unauthorized,
        "refresh_reused",
    )
    await refused(still_works(world, second), Unauthorized, "session_revoked")
    assert (await still_works(world, elsewhere)).user_id == user.id, "another login is untouched"
    reasons = {s.id: s.revoked_reason for s in world.tables.sessions.values()}
    assert reasons[second.session_id or uuid.uuid4()] is RevokeReason.REUSE_DETECTED


def lose_the_race(world: World, winner: uuid.UUID, successor: str = "winner") -> None:
    """Between our read and our rotate, another refresh of the same token commits (its new
    token is ``successor``)."""

    def other_refresh(session_id: uuid.UUID) -> None:
        def change(tables: IdentityTables) -> None:
            presented = tables.sessions[session_id]
            tables.sessions[winner] = msgspec.structs.replace(
                presented,
                id=winner,
                token_hash=world.secrets.digest(successor),
                created_at=world.clock.now(),
            )
            presented.revoked_at = world.clock.now()
            presented.revoked_reason = RevokeReason.ROTATED
            presented.replaced_by_id = winner

        world.store.elsewhere(change)
        world.store.before_rotate = None

    world.store.before_rotate = other_refresh


async def test_a_racing_second_refresh_gets_the_winners_pair(world: World) -> None:
    _, pair = await verified(world, "race@example.com")
    token = pair.refresh_token or ""
    winner = uuid7()
    lose_the_race(world, winner, world.secrets.successor_token(token))
    second = await world.identity.sessions.refresh(token, INFO)
    assert second.session_id == winner
    assert second.refresh_token == world.secrets.successor_token(token)
    assert set(world.tables.sessions) == {pair.session_id, winner}, "the loser wrote nothing"
    assert world.tables.sessions[winner].revoked_at is None, "the sign-in lives on"


async def test_a_rotation_to_a_token_not_derived_from_it_is_never_replayed(world: World) -> None:
    """A token rotated before the reuse interval existed had a random successor."""
    _, pair = await verified(world, "race2@example.com")
    winner = uuid7()
    lose_the_race(world, winner, "a random token")
    await refused(
        world.identity.sessions.refresh(pair.refresh_token or "", INFO),
        Unauthorized,
        "refresh_reused",
    )
    assert world.tables.sessions[winner].revoked_reason is RevokeReason.REUSE_DETECTED


# --- the reuse interval: two tabs refreshing with one token -------------------------------------


async def test_refreshes_within_the_interval_get_the_same_pair(world: World) -> None:
    _, first = await verified(world, "tabs@example.com")
    token = first.refresh_token or ""
    world.clock.advance(minutes=16)
    pairs = await asyncio.gather(*(world.identity.sessions.refresh(token, INFO) for _ in range(5)))
    world.clock.advance(seconds=29)
    pairs.append(await world.identity.sessions.refresh(token, RequestInfo(ip="10.7.7.7")))
    assert all(p == pairs[0] for p in pairs), "byte for byte the pair of the first refresh"
    assert pairs[0].refresh_token != token
    family = [s for s in world.tables.sessions.values() if s.user_id == first_user(world, first)]
    assert len(family) == 2, "one rotation, however many asked"
    assert [s.revoked_reason for s in family].count(None) == 1
    assert "REFRESH_REUSE" not in world.audit_kinds()
    assert (await still_works(world, pairs[0])).session_id == pairs[0].session_id
    assert (await world.identity.sessions.refresh(pairs[0].refresh_token or "", INFO)).session_id


def first_user(world: World, pair: TokenPair) -> uuid.UUID:
    return world.tables.sessions[pair.session_id or uuid.uuid4()].user_id


async def test_after_the_interval_the_old_token_is_reuse_again(world: World) -> None:
    _, first = await verified(world, "late@example.com")
    second = await world.identity.sessions.refresh(first.refresh_token or "", INFO)
    world.clock.advance(seconds=29.9)
    assert await world.identity.sessions.refresh(first.refresh_token or "", INFO) == second
    world.clock.advance(seconds=0.1)  # 30 s after the rotation
    await refused(
        world.identity.sessions.refresh(first.refresh_token or "", INFO),
        Unauthorized,
        "refresh_reused",
    )
    await refused(still_works(world, second), Unauthorized, "session_revoked")
    assert world.audit_kinds().count("REFRESH_REUSE") == 1


async def test_no_replay_once_the_new_token_was_itself_used_or_ended(world: World) -> None:
    _, first = await verified(world, "chain@example.com")
    second = await world.identity.sessions.refresh(first.refresh_token or "", INFO)
    await world.identity.sessions.refresh(second.refresh_token or "", INFO)
    await refused(  # the pair it would replay is already replaced: a copy, not a tab
        world.identity.sessions.refresh(first.refresh_token or "", INFO),
        Unauthorized,
        "refresh_reused",
    )
    user, other = await verified(world, "ended@example.com")
    again = await world.identity.sessions.refresh(other.refresh_token or "", INFO)
    await world.identity.sessions.logout(user.id, again.session_id)
    await refused(
        world.identity.sessions.refresh(other.refresh_token or "", INFO),
        Unauthorized,
        "refresh_reused",
    )


async def test_a_replay_refuses_an_account_blocked_meanwhile(world: World) -> None:
    user, first = await verified(world, "blockme@example.com")
    await world.identity.sessions.refresh(first.refresh_token or "", INFO)

    def block_without_revoking(tables: IdentityTables) -> None:
        tables.users[user.id].is_blocked = True

    world.store.elsewhere(block_without_revoking)
    await refused(
        world.identity.sessions.refresh(first.refresh_token or "", INFO),
        Unauthorized,
        "account_blocked",
    )


async def test_an_interval_of_zero_is_the_strict_rotation() -> None:
    world = World(reuse_interval_s=0)
    _, first = await verified(world, "strict@example.com")
    second = await world.identity.sessions.refresh(first.refresh_token or "", INFO)
    await refused(
        world.identity.sessions.refresh(first.refresh_token or "", INFO),
        Unauthorized,
        "refresh_reused",
    )
    await refused(still_works(world, second), Unauthorized, "session_revoked")


async def test_refresh_refuses_a_blocked_account_with_a_live_session(world: World) -> None:
    user, pair = await verified(world, "sneaky@example.com")

    def block_without_revoking(tables: IdentityTables) -> None:
        tables.users[user.id].is_blocked = True

    world.store.elsewhere(block_without_revoking)
    await refused(
        world.identity.sessions.refresh(pair.refresh_token or "", INFO),
        Unauthorized,
        "account_blocked",
    )


async def test_logout_all_bumps_the_token_version_and_ends_every_session(world: World) -> None:
    user, a = await verified(world, "leaver@example.com")
    _, b = await world.identity.sign_in.with_password(
        user.email, PASSWORD, RequestInfo(platform=Platform.MR_MENTOR)
    )
    await world.identity.sessions.logout_all(user.id)
    assert world.user(user.id).token_version == 1
    for pair in (a, b):
        with pytest.raises(Unauthorized):
            await still_works(world, pair)
        await refused(
            world.identity.sessions.refresh(pair.refresh_token or "", INFO),
            Unauthorized,
            "refresh_reused",
        )
    assert await world.identity.sessions.active(user.id, None) == []
    _, fresh = await world.identity.sign_in.with_password(user.email, PASSWORD, INFO)
    assert (await still_works(world, fresh)).token_version == 1


async def test_logout_ends_one_sign_in_and_is_idempotent(world: World) -> None:
    user, a = await verified(world, "one@example.com")
    _, b = await world.identity.sign_in.with_password(user.email, PASSWORD, INFO)
    stranger = await world.add_user()
    await world.identity.sessions.logout(user.id, None)
    await world.identity.sessions.logout(stranger.id, a.session_id)  # not theirs: nothing happens
    assert (await still_works(world, a)).user_id == user.id
    await world.identity.sessions.logout(user.id, a.session_id)
    await world.identity.sessions.logout(user.id, a.session_id)
    await refused(still_works(world, a), Unauthorized, "session_revoked")
    assert (await still_works(world, b)).user_id == user.id


async def test_sessions_are_listed_and_revoked_one_by_one(world: World) -> None:
    user, a = await verified(world, "lister@example.com")
    world.clock.advance(seconds=1)
    _, b = await world.identity.sign_in.with_password(
        user.email, PASSWORD, RequestInfo(user_agent="phone")
    )
    listed = await world.identity.sessions.active(user.id, b.session_id)
    assert [(s.id, s.current) for s in listed] == [(b.session_id, True), (a.session_id, False)]
    assert listed[0].user_agent == "phone" and listed[1].auth_method.value == "OTP"
    stranger = await world.add_user()
    await refused(
        world.identity.sessions.revoke(stranger.id, a.session_id or uuid.uuid4()),
        NotFound,
        "session_not_found",
    )
    await world.identity.sessions.revoke(user.id, a.session_id or uuid.uuid4())
    await refused(still_works(world, a), Unauthorized, "session_revoked")
    await refused(
        world.identity.sessions.revoke(user.id, a.session_id or uuid.uuid4()),
        NotFound,
        "session_not_found",
    )
    assert [s.id for s in await world.identity.sessions.active(user.id, None)] == [b.session_id]


# --- passwords ---------------------------------------------------------------------------------


async def test_change_password_revokes_older_tokens_and_returns_a_fresh_pair(world: World) -> None:
    user, before = await verified(world, "changer@example.com")
    pair = await world.identity.passwords.change(user.id, PASSWORD, NEW_PASSWORD, INFO)
    await refused(still_works(world, before), Unauthorized, "token_revoked")
    assert (await still_works(world, pair)).token_version == 1
    await refused(
        world.identity.sessions.refresh(before.refresh_token or "", INFO),
        Unauthorized,
        "refresh_reused",
    )
    await world.identity.sign_in.with_password(user.email, NEW_PASSWORD, INFO)


async def test_change_password_refusals(world: World) -> None:
    world.google.add("g", GoogleIdentity(sub="g", email="g@gmail.com", email_verified=True))
    google_only, _ = await world.identity.sign_in.with_google("g", INFO)
    await refused(
        world.identity.passwords.change(google_only.id, "", NEW_PASSWORD, INFO),
        Conflict,
        "no_password",
    )
    user = await world.add_user()
    await refused(
        world.identity.passwords.change(user.id, PASSWORD, "short", INFO),
        ValidationFailed,
        "validation_failed",
    )
    await refused(
        world.identity.passwords.change(uuid.uuid4(), PASSWORD, NEW_PASSWORD, INFO),
        NotFound,
        "user_not_found",
    )
    assert world.user(user.id).token_version == 0


async def test_a_wrong_current_password_is_a_400(world: World) -> None:
    user = await world.add_user()
    error = await refused(
        world.identity.passwords.change(user.id, "not it", NEW_PASSWORD, INFO),
        DomainError,
        "wrong_password",
    )
    assert not isinstance(error, ValidationFailed), "ValidationFailed answers 422"


async def test_forgot_password_says_nothing_and_sends_only_to_real_accounts(world: World) -> None:
    user = await world.add_user(email="real@example.com")
    await world.identity.passwords.forgot("nobody@example.com", INFO)
    with pytest.raises(ValidationFailed):  # 422: says nothing about any account
        await world.identity.passwords.forgot("not an email", INFO)
    assert world.hasher.blind_checks == 1 and world.tables.outbox == []
    await world.identity.passwords.forgot(" Real@Example.com ", INFO)
    await world.identity.passwords.forgot(user.email, INFO)  # inside the cooldown: silently nothing
    assert len(world.mails_to(user.email)) == 1
    assert world.mails_to(user.email)[0].template == "auth.password_reset_otp"


async def test_forgot_password_sends_nothing_to_a_blocked_account(world: World) -> None:
    user = await world.add_user(email="blocked@example.com")
    boss = await world.add_user(Role.ADMIN)
    await world.identity.accounts.set_blocked(world.caller(boss), user.id, True)
    await world.identity.passwords.forgot(user.email, INFO)
    assert world.mails_to(user.email) == []


async def test_a_reset_code_lasts_15_minutes(world: World) -> None:
    user = await world.add_user(email="reset@example.com")
    await world.identity.passwords.forgot(user.email, INFO)
    code = world.last_code(user.email)
    world.clock.advance(minutes=15)
    await refused(
        world.identity.passwords.reset(user.email, code, NEW_PASSWORD, INFO), Gone, "otp_gone"
    )


async def test_reset_password_ends_every_session(world: World) -> None:
    user = await world.add_user(email="reset2@example.com")
    _, pair = await world.identity.sign_in.with_password(user.email, PASSWORD, INFO)
    await world.identity.passwords.forgot(user.email, INFO)
    code = world.last_code(user.email)
    with pytest.raises(ValidationFailed) as weak:
        await world.identity.passwords.reset(user.email, code, "short", INFO)
    assert weak.value.errors[0].field == "new_password"
    world.clock.advance(minutes=14)
    await world.identity.passwords.reset(user.email, code, NEW_PASSWORD, INFO)
    await refused(still_works(world, pair), Unauthorized, "token_revoked")
    await world.identity.sign_in.with_password(user.email, NEW_PASSWORD, INFO)
    assert "PASSWORD_RESET" in world.audit_kinds()


async def test_a_reset_code_of_a_deleted_account_changes_nothing(world: World) -> None:
    user = await world.add_user(email="leaving@example.com")
    boss = await world.add_user(Role.SUPERADMIN)
    await world.identity.passwords.forgot(user.email, INFO)
    code = world.last_code(user.email)
    await world.identity.accounts.delete(world.caller(boss), user.id)
    await refused(
        world.identity.passwords.reset(user.email, code, NEW_PASSWORD, INFO),
        NotFound,
        "user_not_found",
    )
    assert world.user(user.id).password_hash == world.hasher.hash(PASSWORD)


async def test_purge_drops_old_codes_and_long_expired_sessions(world: World) -> None:
    await verified(world, "old@example.com")
    world.clock.advance(days=38)
    await verified(world, "new@example.com")
    assert await world.identity.housekeeping.purge_expired() == (1, 1, 0)
    assert {c.email for c in world.tables.otps.values()} == {"new@example.com"}
    assert await world.identity.housekeeping.purge_expired() == (0, 0, 0)


# --- the access guard --------------------------------------------------------------------------


async def test_the_second_request_uses_the_cached_snapshot(world: World) -> None:
    user = await world.add_user()
    token = world.access_token(user)
    await world.identity.access.authenticate(token)
    opened = world.store.opened
    caller = await world.identity.access.authenticate(token)
    assert world.store.opened == opened, "no database read"
    assert (caller.user_id, caller.role, caller.auth_method) == (user.id, Role.USER, "pwd")


async def test_forget_makes_the_next_request_read_the_user_again(world: World) -> None:
    user = await world.add_user()
    token = world.access_token(user)
    await world.identity.access.authenticate(token)

    def block(tables: IdentityTables) -> None:
        tables.users[user.id].is_blocked = True

    world.store.elsewhere(block)  # a change made without telling the guard
    assert (await world.identity.access.authenticate(token)).user_id == user.id, (
        "served from the cache"
    )
    await world.identity.access.forget(user.id)
    await refused(world.identity.access.authenticate(token), Unauthorized, "account_blocked")


async def test_the_snapshot_expires_after_30_s(world: World) -> None:
    user = await world.add_user()
    token = world.access_token(user)
    await world.identity.access.authenticate(token)

    def promote(tables: IdentityTables) -> None:
        tables.users[user.id].role = Role.FINANCE

    world.store.elsewhere(promote)
    world.clock.advance(seconds=29)
    assert (await world.identity.access.authenticate(token)).role is Role.USER
    world.clock.advance(seconds=1)
    assert (await world.identity.access.authenticate(token)).role is Role.FINANCE


async def test_an_ended_session_is_refused_for_the_life_of_an_access_token(world: World) -> None:
    user, pair = await verified(world, "ended@example.com")
    await world.identity.access.end_sessions([pair.session_id or uuid.uuid4()])
    await refused(still_works(world, pair), Unauthorized, "session_revoked")
    other = world.access_token(user)  # no session id: not affected
    assert (await world.identity.access.authenticate(other)).session_id is None


async def test_deleted_missing_and_stale_tokens_are_401(world: World) -> None:
    boss = await world.add_user(Role.ADMIN)
    user = await world.add_user()
    token = world.access_token(user)
    await world.identity.accounts.delete(world.caller(boss), user.id)
    await refused(world.identity.access.authenticate(token), Unauthorized, "account_gone")
    stranger = User(id=uuid7(), email="x@example.com", role=Role.USER, created_at=world.clock.now())
    await refused(
        world.identity.access.authenticate(
            world.access_token(boss).replace(str(boss.id), str(stranger.id))
        ),
        Unauthorized,
        "account_gone",
    )
    stale = world.access_token(boss)

    def bump(tables: IdentityTables) -> None:
        tables.users[boss.id].token_version = 7

    world.store.elsewhere(bump)
    await world.identity.access.forget(boss.id)
    await refused(world.identity.access.authenticate(stale), Unauthorized, "token_revoked")


async def test_malformed_and_expired_tokens_are_401(world: World) -> None:
    user = await world.add_user()
    token = world.access_token(user)
    await refused(
        world.identity.access.authenticate(token.replace(str(user.id), "not-a-uuid")),
        Unauthorized,
        "invalid_token",
    )
    await refused(
        world.identity.access.authenticate(token.replace("my-analytics-school", "foo")),
        Unauthorized,
        "invalid_token",
    )
    await refused(world.identity.access.authenticate("garbage"), Unauthorized, "invalid_token")
    world.clock.advance(seconds=900)
    await refused(world.identity.access.authenticate(token), Unauthorized, "token_expired")


# --- administration ----------------------------------------------------------------------------


async def test_admin_creates_accounts_with_a_mailed_password(world: World) -> None:
    boss = await world.add_user(Role.ADMIN)
    created = await world.identity.accounts.create(
        world.caller(boss), " Mentor@Example.com ", Role.EXPERT, "Ravi", None, super_mentor=True
    )
    user = created.user
    assert (user.email, user.is_verified, user.is_super_mentor) == (
        "mentor@example.com",
        True,
        True,
    )
    mail = world.mails_to(user.email)[-1]
    password = mail.body_text.split("Temporary password: ")[1].split("\n")[0]
    assert (await world.identity.sign_in.with_password(user.email, password, INFO))[0].id == user.id
    await refused(
        world.identity.accounts.create(world.caller(boss), user.email, Role.USER, None, PASSWORD),
        Conflict,
        "email_taken",
    )
    await refused(
        world.identity.accounts.create(
            world.caller(boss), "a2@example.com", Role.ADMIN, None, PASSWORD
        ),
        Forbidden,
        "superadmin_required",
    )
    assert world.audit_kinds().count("USER_CREATED") == 1


async def test_admin_lists_and_reads_users(world: World) -> None:
    boss = await world.add_user(Role.ADMIN)
    world.clock.advance(seconds=1)
    await world.add_user(email="asha@example.com", full_name="Asha Rao")
    world.clock.advance(seconds=1)
    mentor = await world.add_user(Role.EXPERT, email="ravi@example.com", full_name="Ravi")
    page = await world.identity.accounts.page([Role.EXPERT, Role.USER], "RAVI", PageRequest())
    assert [u.id for u in page.items] == [mentor.id] and page.total == 1
    assert (await world.identity.accounts.get(mentor.id)).email == "ravi@example.com"
    await refused(world.identity.accounts.get(uuid.uuid4()), NotFound, "user_not_found")
    everyone = await world.identity.accounts.page(None, None, PageRequest(1, 2))
    assert everyone.total == 3 and len(everyone.items) == 2
    assert boss.id not in [u.id for u in everyone.items], "newest first"


async def test_update_changes_only_the_fields_sent(world: World) -> None:
    boss = await world.add_user(Role.ADMIN)
    user = await world.add_user(full_name="Asha")
    await world.identity.accounts.update(world.caller(boss), user.id, UserChanges(phone="+91999"))
    updated = await world.identity.accounts.update(
        world.caller(boss), user.id, UserChanges(full_name=None, profession="Analyst")
    )
    assert (updated.full_name, updated.phone, updated.profession) == (None, "+91999", "Analyst")
    other_admin = await world.add_user(Role.ADMIN)
    await refused(
        world.identity.accounts.update(world.caller(boss), other_admin.id, UserChanges(phone="1")),
        Forbidden,
        "superadmin_required",
    )


async def test_role_change_revokes_tokens_and_guards_admin_roles(world: World) -> None:
    boss = await world.add_user(Role.ADMIN)
    top = await world.add_user(Role.SUPERADMIN)
    user = await world.add_user(Role.FINANCE)
    token = world.access_token(user)
    changed = await world.identity.accounts.change_role(
        world.caller(boss), user.id, Role.EXPERT, True
    )
    assert changed.is_super_mentor and changed.token_version == 1
    await refused(world.identity.access.authenticate(token), Unauthorized, "token_revoked")
    flag_dropped = await world.identity.accounts.change_role(
        world.caller(boss), user.id, Role.USER, True
    )
    assert not flag_dropped.is_super_mentor, "only an EXPERT is a super mentor"
    await refused(
        world.identity.accounts.change_role(world.caller(boss), user.id, Role.ADMIN, False),
        Forbidden,
        "superadmin_required",
    )
    await refused(
        world.identity.accounts.change_role(world.caller(top), top.id, Role.ADMIN, False),
        Conflict,
        "last_superadmin",
    )
    promoted = await world.identity.accounts.change_role(
        world.caller(top), user.id, Role.SUPERADMIN, False
    )
    assert promoted.role is Role.SUPERADMIN
    demoted = await world.identity.accounts.change_role(
        world.caller(top), top.id, Role.ADMIN, False
    )
    assert demoted.role is Role.ADMIN


async def test_block_unblock_and_not_yourself(world: World) -> None:
    boss = await world.add_user(Role.ADMIN)
    user, pair = await verified(world, "blockme@example.com")
    await refused(
        world.identity.accounts.set_blocked(world.caller(boss), boss.id, True),
        Conflict,
        "self_action",
    )
    blocked = await world.identity.accounts.set_blocked(world.caller(boss), user.id, True)
    assert blocked.is_blocked and blocked.token_version == 1
    await refused(still_works(world, pair), Unauthorized, "account_blocked")
    assert all(
        s.revoked_reason is RevokeReason.BLOCKED
        for s in world.tables.sessions.values()
        if s.user_id == user.id
    )
    unblocked = await world.identity.accounts.set_blocked(world.caller(boss), user.id, False)
    assert not unblocked.is_blocked
    await refused(still_works(world, pair), Unauthorized, "token_revoked")
    assert world.audit_kinds()[-2:] == ["BLOCKED", "UNBLOCKED"]


async def test_delete_rules(world: World) -> None:
    boss = await world.add_user(Role.ADMIN)
    top = await world.add_user(Role.SUPERADMIN)
    other_admin = await world.add_user(Role.ADMIN)
    await refused(
        world.identity.accounts.delete(world.caller(boss), boss.id), Conflict, "self_action"
    )
    await refused(
        world.identity.accounts.delete(world.caller(boss), other_admin.id),
        Forbidden,
        "superadmin_required",
    )
    # A SUPERADMIN caller without an account of its own (the CLI) meets the last-one rule.
    cli = Caller(user_id=uuid.uuid4(), role=Role.SUPERADMIN, platform=Platform.MY_ANALYTICS_SCHOOL)
    await refused(world.identity.accounts.delete(cli, top.id), Conflict, "last_superadmin")
    await world.identity.accounts.delete(world.caller(top), other_admin.id)
    await refused(world.identity.accounts.get(other_admin.id), NotFound, "user_not_found")
    await refused(
        world.identity.accounts.delete(world.caller(top), other_admin.id),
        NotFound,
        "user_not_found",
    )


async def test_set_permissions_replaces_and_shows_on_the_next_request(world: World) -> None:
    boss = await world.add_user(Role.ADMIN)
    head = await world.add_user(Role.SALES_HEAD)
    token = world.access_token(head)
    assert not (await world.identity.access.authenticate(token)).has_page("crm.targets")
    keys = await world.identity.sales_head_pages.replace(
        world.caller(boss), head.id, ["crm.targets", "crm.leads", "crm.targets"]
    )
    assert (
        keys
        == ["crm.leads", "crm.targets"]
        == await world.identity.sales_head_pages.granted(head.id)
    )
    assert (await world.identity.access.authenticate(token)).has_page("crm.targets"), "no re-login"
    await world.identity.sales_head_pages.replace(world.caller(boss), head.id, ["crm.leads"])
    caller = await world.identity.access.authenticate(token)
    assert caller.has_page("crm.leads") and not caller.has_page("crm.targets")


async def test_set_permissions_refusals(world: World) -> None:
    boss = await world.add_user(Role.ADMIN)
    head = await world.add_user(Role.SALES_HEAD)
    seller = await world.add_user(Role.SALES)
    bad = await refused(
        world.identity.sales_head_pages.replace(
            world.caller(boss), head.id, ["crm.leads", "crm.nope"]
        ),
        ValidationFailed,
        "validation_failed",
    )  # 422
    assert [e.field for e in bad.errors] == ["page_keys"] and "crm.nope" in bad.detail
    await refused(
        world.identity.sales_head_pages.replace(world.caller(boss), seller.id, ["crm.leads"]),
        NotFound,
        "not_a_sales_head",
    )
    await refused(world.identity.sales_head_pages.granted(seller.id), NotFound, "not_a_sales_head")
    assert world.tables.permissions == {}


async def test_impersonation(world: World) -> None:
    boss = await world.add_user(Role.ADMIN)
    top = await world.add_user(Role.SUPERADMIN)
    user = await world.add_user()
    pair = await world.identity.impersonation.act_as(
        world.caller(boss), user.id, f" {REASON} ", "10.1.1.1"
    )
    assert pair.refresh_token is None and pair.expires_in == 900
    caller = await world.identity.access.authenticate(pair.access_token)
    assert (caller.user_id, caller.impersonated_by, caller.auth_method) == (
        user.id,
        boss.id,
        "impersonation",
    )
    event = world.tables.audit[-1]
    assert (event.event.value, event.actor_id, event.target_user_id, event.reason) == (
        "IMPERSONATION",
        boss.id,
        user.id,
        REASON,
    )
    await refused(
        world.identity.impersonation.act_as(world.caller(boss), top.id, REASON, None),
        Forbidden,
        "impersonation_forbidden",
    )
    other_admin = await world.add_user(Role.ADMIN)
    assert (
        await world.identity.impersonation.act_as(world.caller(top), other_admin.id, REASON, None)
    ).access_token
    with pytest.raises(ValidationFailed) as no_reason:
        await world.identity.impersonation.act_as(world.caller(boss), user.id, "  why ", None)
    assert no_reason.value.errors[0].field == "reason"


async def test_impersonation_is_404_when_switched_off(world: World) -> None:
    world.identity.impersonation.enabled = False
    boss = await world.add_user(Role.ADMIN)
    user = await world.add_user()
    await refused(
        world.identity.impersonation.act_as(world.caller(boss), user.id, REASON, None),
        NotFound,
        "impersonation_disabled",
    )


async def test_impersonating_a_blocked_user_is_409(world: World) -> None:
    boss = await world.add_user(Role.ADMIN)
    user = await world.add_user()
    await world.identity.accounts.set_blocked(world.caller(boss), user.id, True)
    await refused(
        world.identity.impersonation.act_as(world.caller(boss), user.id, REASON, None),
        Conflict,
        "account_blocked",
    )
    assert "IMPERSONATION" not in world.audit_kinds()


# --- break-glass master login ------------------------------------------------------------------


async def master(
    world: World, email: str, step: int, *, ip: str = "10.0.0.1", pw: str = MASTER
) -> TokenPair:
    return await world.identity.break_glass.master_login(
        email, pw, f"{step:06d}", REASON, RequestInfo(ip=ip)
    )


async def test_master_login_opens_an_admin_account_once_per_code(world: World) -> None:
    admin = await world.add_user(Role.ADMIN)
    top = await world.add_user(Role.SUPERADMIN)
    blocked_admin = await world.add_user(Role.ADMIN)
    await world.identity.accounts.set_blocked(world.caller(top), blocked_admin.id, True)
    world.totp.valid = {99, 100, 101}
    pair = await master(world, f" {admin.email.upper()} ", 100)
    assert pair.refresh_token is None
    caller = await world.identity.access.authenticate(pair.access_token)
    assert (caller.user_id, caller.auth_method) == (admin.id, "master")
    assert world.tables.master_counter == 100
    alerted = {m.recipient for m in world.tables.outbox if m.template == "auth.alert"}
    assert alerted == {admin.email, top.email}, "active administrators are told"
    await refused(master(world, admin.email, 100), Unauthorized, "master_login_failed")
    await refused(master(world, admin.email, 99), Unauthorized, "master_login_failed")
    assert (await master(world, admin.email, 101)).access_token
    assert world.tables.master_counter == 101
    assert world.audit_kinds().count("MASTER_LOGIN") == 2
    assert world.audit_kinds().count("MASTER_LOGIN_FAILED") == 2


async def test_master_login_refusals(world: World) -> None:
    user = await world.add_user()
    world.totp.valid = {100, 101}
    await refused(
        world.identity.break_glass.master_login(user.email, MASTER, "000100", "", INFO),
        ValidationFailed,
        "validation_failed",
    )
    await refused(master(world, user.email, 100), Forbidden, "master_target_forbidden")
    await refused(master(world, "ghost@example.com", 100), NotFound, "user_not_found")
    await refused(master(world, user.email, 100, pw="guess"), Unauthorized, "master_login_failed")
    assert world.tables.master_counter == 0, "no code was spent"


async def test_master_login_is_404_when_not_configured(world: World) -> None:
    world.identity.break_glass.totp = None
    assert not world.identity.break_glass.enabled
    await refused(master(world, "a@example.com", 1), NotFound, "master_login_disabled")


async def test_five_failures_from_one_ip_lock_it_for_15_minutes(world: World) -> None:
    admin = await world.add_user(Role.ADMIN)
    world.totp.valid = {100, 101, 102}
    for _ in range(5):
        await refused(
            master(world, admin.email, 100, pw="guess"), Unauthorized, "master_login_failed"
        )
    locked = await refused(master(world, admin.email, 100), RateLimited, "rate_limited")
    # Five in the last 15 minutes (a sliding window): locked until one more fits.
    assert 0 < locked.retry_after <= 1800
    assert (await master(world, admin.email, 101, ip="10.0.0.2")).access_token
    world.clock.advance(seconds=locked.retry_after - 1)
    await refused(master(world, admin.email, 102), RateLimited, "rate_limited")
    world.clock.advance(seconds=1)
    assert (await master(world, admin.email, 102)).access_token


async def test_twenty_failures_an_hour_lock_master_login_everywhere(world: World) -> None:
    admin = await world.add_user(Role.ADMIN)
    world.totp.valid = {100}
    for n in range(20):
        with pytest.raises(Unauthorized):
            await master(world, admin.email, 100, ip=f"10.2.0.{n}", pw="guess")
    locked = await refused(
        master(world, admin.email, 100, ip="10.3.0.1"), RateLimited, "rate_limited"
    )
    world.clock.advance(seconds=locked.retry_after)
    assert (await master(world, admin.email, 100, ip="10.3.0.1")).access_token


# --- vendor keys -------------------------------------------------------------------------------


async def issued(world: World, scopes: list[str] | None = None) -> tuple[str, uuid.UUID]:
    boss = await world.add_user(Role.ADMIN)
    created = await world.identity.vendor_keys.create(
        world.caller(boss), " LeadCo ", scopes or ["leads:write"]
    )
    return created.api_key, created.key.id


async def test_a_vendor_key_authenticates_and_counts_its_use(world: World) -> None:
    api_key, key_id = await issued(world, ["leads:write", "leads:read", "leads:write"])
    prefix = api_key.removeprefix("vk_live_").split(".")[0]
    assert len(prefix) <= 12 and "-" not in prefix and "_" not in prefix
    who = await world.identity.vendor_keys.authenticate(f"  {api_key} ", "leads:write")
    assert (who.key_id, who.vendor_name) == (key_id, "LeadCo")
    assert who.scopes == {"leads:read", "leads:write"}
    world.clock.advance(minutes=1)
    await world.identity.vendor_keys.authenticate(f"Bearer {api_key}")
    stored = world.tables.vendor_keys[key_id]
    assert stored.use_count == 2 and stored.last_used_at == world.clock.now()
    listed = await world.identity.vendor_keys.all()
    assert [k.key_prefix for k in listed] == [prefix] and api_key not in str(listed)


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "vk_live_",
        "vk_live_abc",
        "vk_live_abc.",
        "vk_live_.secret",
        "vk_test_abc.secret",
        "Bearer ",
        "Bearer abc.def",
        "VK_LIVE_abc.def",
    ],
)
async def test_badly_shaped_vendor_keys_are_401(world: World, raw: str) -> None:
    await refused(world.identity.vendor_keys.authenticate(raw), Unauthorized, "invalid_api_key")
    assert world.store.opened == 0, "refused before any lookup"


async def test_wrong_secret_unknown_prefix_and_revoked_keys_are_401(world: World) -> None:
    api_key, key_id = await issued(world)
    await refused(
        world.identity.vendor_keys.authenticate(api_key + "x"), Unauthorized, "invalid_api_key"
    )
    await refused(
        world.identity.vendor_keys.authenticate("vk_live_unknown.secret"),
        Unauthorized,
        "invalid_api_key",
    )
    boss = await world.add_user(Role.ADMIN)
    revoked = await world.identity.vendor_keys.revoke(world.caller(boss), key_id)
    assert revoked.revoked_at == world.clock.now()
    await refused(world.identity.vendor_keys.authenticate(api_key), Unauthorized, "api_key_revoked")
    await refused(
        world.identity.vendor_keys.revoke(world.caller(boss), key_id), Conflict, "already_revoked"
    )
    await refused(
        world.identity.vendor_keys.revoke(world.caller(boss), uuid.uuid4()),
        NotFound,
        "vendor_key_not_found",
    )
    assert world.audit_kinds()[-1] == "VENDOR_KEY_REVOKED"


async def test_a_key_without_the_scope_is_403(world: World) -> None:
    api_key, key_id = await issued(world, ["leads:read"])
    await refused(
        world.identity.vendor_keys.authenticate(api_key, "leads:write"), Forbidden, "scope_missing"
    )
    assert world.tables.vendor_keys[key_id].use_count == 0


@pytest.mark.parametrize("scopes", [[], ["leads:write", "admin:all"]])
async def test_vendor_keys_need_known_scopes(world: World, scopes: list[str]) -> None:
    boss = await world.add_user(Role.ADMIN)
    bad = await refused(
        world.identity.vendor_keys.create(world.caller(boss), "LeadCo", scopes),
        ValidationFailed,
        "validation_failed",
    )
    assert [e.field for e in bad.errors] == ["scopes"]
    assert world.tables.vendor_keys == {}
