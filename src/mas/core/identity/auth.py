"""Sign-up, codes, logins, refresh rotation, logout and passwords."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

import msgspec

from mas.core.identity.access import AccessGuard
from mas.core.identity.mail import otp_email
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
    check_email,
    check_password,
)
from mas.core.identity.policy import Platform, Role, platform_allows
from mas.core.identity.ports import IdentityProvider, IdentityUnitOfWork, PasswordHasher, Secrets
from mas.core.identity.tokens import RequestInfo, TokenIssuer, TokenPair
from mas.core.platform.errors import (
    Conflict,
    DomainError,
    FieldError,
    Forbidden,
    Gone,
    NotConfigured,
    NotFound,
    RateLimited,
    Unauthorized,
    ValidationFailed,
)
from mas.core.platform.ids import uuid7
from mas.core.platform.ports.clock import Clock
from mas.core.platform.ports.uow import DuplicateKey, UnitOfWorkFactory
from mas.core.platform.ratelimit import RateLimiter

log = logging.getLogger("mas.identity")

OTP_MINUTES = {OtpPurpose.SIGNUP: 10, OtpPurpose.PASSWORD_RESET: 15}
RESEND_COOLDOWN_S = 60
SENDS_PER_HOUR = 5
BAD_CREDENTIALS = "the email or password is not right"


class SignupResult(msgspec.Struct, frozen=True):
    user_id: uuid.UUID
    email: str
    stage: int
    otp_delivery: str


class Session(msgspec.Struct, frozen=True):
    id: uuid.UUID
    platform: Platform
    auth_method: AuthMethod
    created_at: str
    last_used_at: str | None
    ip: str | None
    user_agent: str | None
    current: bool


@dataclass
class AuthDeps:
    uow: UnitOfWorkFactory[IdentityUnitOfWork]
    issuer: TokenIssuer
    hasher: PasswordHasher
    secrets: Secrets
    clock: Clock
    guard: AccessGuard
    limiter: RateLimiter
    google: IdentityProvider
    mail_configured: Callable[[], bool]


class AuthService:
    def __init__(self, deps: AuthDeps) -> None:
        self.d = deps

    # --- sign-up and codes -------------------------------------------------------------------

    async def signup(
        self, email: str, password: str, full_name: str | None, info: RequestInfo
    ) -> SignupResult:
        email = check_email(email)
        check_password(password, email)
        now = self.d.clock.now()
        async with self.d.uow() as uow:
            user = await uow.users.by_email(email)
            if user is not None and (user.is_verified or user.is_deleted):
                raise Conflict("an account with this email already exists", code="email_taken")
            await self._limit_sends(email, OtpPurpose.SIGNUP, uow)
            if user is None:
                user = User(
                    id=uuid7(),
                    email=email,
                    role=Role.USER,
                    created_at=now,
                    full_name=full_name,
                    password_hash=await asyncio.to_thread(self.d.hasher.hash, password),
                    signup_platform=info.platform,
                )
                try:
                    await uow.users.add(user)
                except DuplicateKey:
                    raise Conflict(
                        "an account with this email already exists", code="email_taken"
                    ) from None
                await self._audit(uow, AuditKind.SIGNUP, target=user.id, info=info)
            else:
                # An abandoned sign-up is recoverable: new password, new code.
                user.password_hash = await asyncio.to_thread(self.d.hasher.hash, password)
                user.full_name = full_name or user.full_name
                user.password_changed_at = now
                await uow.users.save(user)
            await self._issue_code(uow, email, OtpPurpose.SIGNUP, info)
            await uow.commit()
        self._require_mail()
        return SignupResult(user.id, email, int(user.stage), "queued")

    async def resend_otp(self, email: str, info: RequestInfo) -> None:
        email = check_email(email)
        async with self.d.uow() as uow:
            user = await uow.users.by_email(email)
            if user is None or user.is_deleted:
                raise NotFound("no sign-up is waiting for this email", code="signup_not_found")
            if user.is_verified:
                raise Conflict("this email is already verified", code="already_verified")
            await self._limit_sends(email, OtpPurpose.SIGNUP, uow)
            await self._issue_code(uow, email, OtpPurpose.SIGNUP, info)
            await uow.commit()
        self._require_mail()

    async def verify_otp(self, email: str, code: str, info: RequestInfo) -> tuple[User, TokenPair]:
        email = check_email(email)
        await self._limit(f"otp:{info.ip}:{email}")
        async with self.d.uow() as uow:
            await self._consume_code(uow, email, OtpPurpose.SIGNUP, code)
            user = await uow.users.by_email(email)
            if user is None or user.is_deleted:
                raise NotFound("no sign-up is waiting for this email", code="signup_not_found")
            user.advance(UserStage.OTP_VERIFIED)
            user.last_login_at = self.d.clock.now()
            await uow.users.save(user)
            await self._audit(uow, AuditKind.OTP_VERIFIED, target=user.id, info=info)
            pair = await self._open_session(uow, user, AuthMethod.OTP, info)
            await uow.commit()
        await self.d.guard.forget(user.id)
        return user, pair

    async def complete_profile(
        self,
        user_id: uuid.UUID,
        full_name: str,
        phone: str | None,
        profession: str | None,
        domain: str | None,
    ) -> User:
        async with self.d.uow() as uow:
            user = await self._user(uow, user_id)
            user.advance(UserStage.PROFILE_COMPLETE)
            user.full_name = full_name
            user.phone = phone
            user.profession = profession
            user.domain = domain
            await uow.users.save(user)
            await uow.commit()
        await self.d.guard.forget(user.id)
        return user

    # --- logins -------------------------------------------------------------------------------

    async def login(self, email: str, password: str, info: RequestInfo) -> tuple[User, TokenPair]:
        email = email.strip().lower()
        await self._limit(f"login:ip:{info.ip}", limit=30)
        await self._limit(f"login:{info.ip}:{email}")
        async with self.d.uow() as uow:
            user = await uow.users.by_email(email)
            hashed = user.password_hash if user and not user.is_deleted else None
            if not await asyncio.to_thread(self.d.hasher.verify, password, hashed) or user is None:
                await self._audit(
                    uow,
                    AuditKind.LOGIN_FAILED,
                    target=user.id if user else None,
                    info=info,
                    detail={"email": email},
                )
                await uow.commit()
                raise Unauthorized(BAD_CREDENTIALS, code="bad_credentials")
            self._may_sign_in(user, info.platform)
            user.last_login_at = self.d.clock.now()
            await uow.users.save(user)
            await self._audit(uow, AuditKind.LOGIN_OK, target=user.id, info=info)
            pair = await self._open_session(uow, user, AuthMethod.PASSWORD, info)
            await uow.commit()
        return user, pair

    async def google(self, id_token: str, info: RequestInfo) -> tuple[User, TokenPair]:
        identity = await self.d.google.verify_id_token(id_token)
        email = check_email(identity.email)
        now = self.d.clock.now()
        async with self.d.uow() as uow:
            user = await uow.users.by_google_id(identity.sub) or await uow.users.by_email(email)
            if user is None:
                user = User(
                    id=uuid7(),
                    email=email,
                    role=Role.USER,
                    created_at=now,
                    full_name=identity.name,
                    profile_photo=identity.picture,
                    google_id=identity.sub,
                    signup_platform=info.platform,
                )
                user.advance(UserStage.OTP_VERIFIED)
                await uow.users.add(user)
                await self._audit(
                    uow, AuditKind.SIGNUP, target=user.id, info=info, detail={"method": "google"}
                )
            else:
                if user.is_deleted:
                    raise Unauthorized("this account no longer exists", code="account_gone")
                if not user.is_verified:
                    # Whoever started this sign-up never proved the mailbox; Google just did.
                    # Their password must not survive into the owner's account.
                    user.password_hash = None
                user.google_id = user.google_id or identity.sub
                user.profile_photo = user.profile_photo or identity.picture
                user.full_name = user.full_name or identity.name
                user.advance(UserStage.OTP_VERIFIED)
            self._may_sign_in(user, info.platform)
            user.last_login_at = now
            await uow.users.save(user)
            await self._audit(
                uow, AuditKind.LOGIN_OK, target=user.id, info=info, detail={"method": "google"}
            )
            pair = await self._open_session(uow, user, AuthMethod.GOOGLE, info)
            await uow.commit()
        await self.d.guard.forget(user.id)
        return user, pair

    def _may_sign_in(self, user: User, platform: Platform) -> None:
        if user.is_blocked:
            raise Forbidden("this account is blocked", code="account_blocked")
        if not user.is_verified:
            raise Forbidden(
                "verify your email with the code we sent first", code="email_not_verified"
            )
        if not platform_allows(platform, user.role):
            raise Forbidden(
                f"{user.role.value} accounts cannot sign in to {platform.value}",
                code="platform_forbidden",
            )

    # --- sessions -----------------------------------------------------------------------------

    async def refresh(self, refresh_token: str, info: RequestInfo) -> TokenPair:
        now = self.d.clock.now()
        async with self.d.uow() as uow:
            session = await uow.sessions.by_hash(self.d.secrets.digest(refresh_token))
            if session is None:
                raise Unauthorized("unknown refresh token", code="invalid_refresh_token")
            rotated = False
            if session.revoked_at is None:
                if session.expires_at <= now:
                    raise Unauthorized("the refresh token has expired", code="refresh_expired")
                user = await self._user(uow, session.user_id)
                if user.is_blocked or user.is_deleted:
                    raise Unauthorized("this account cannot sign in", code="account_blocked")
                fresh, token = self.d.issuer.new_session(
                    user,
                    session.auth_method,
                    RequestInfo(platform=session.platform, ip=info.ip, user_agent=info.user_agent),
                    family_id=session.family_id,
                )
                await uow.sessions.add(fresh)
                rotated = await uow.sessions.rotate(session.id, fresh.id, now)
                if rotated:
                    await uow.commit()
        if not rotated:
            # Presented again after it was used (or lost a race with a concurrent refresh of
            # the same token): either way it is reuse, and the whole sign-in ends.
            await self._revoke_reused(session, info)
            raise Unauthorized(
                "this refresh token was already used; every session of this sign-in is now closed",
                code="refresh_reused",
            )
        await self.d.guard.end_sessions([session.id])
        return self.d.issuer.pair(user, fresh, token)

    async def _revoke_reused(self, session: RefreshSession, info: RequestInfo) -> None:
        async with self.d.uow() as uow:
            revoked = await uow.sessions.revoke_family(
                session.family_id, RevokeReason.REUSE_DETECTED, self.d.clock.now()
            )
            await self._audit(
                uow,
                AuditKind.REFRESH_REUSE,
                target=session.user_id,
                info=info,
                detail={"family": str(session.family_id)},
            )
            await uow.commit()
        await self.d.guard.end_sessions([*revoked, session.id])

    async def logout(self, user_id: uuid.UUID, session_id: uuid.UUID | None) -> None:
        if session_id is None:
            return
        async with self.d.uow() as uow:
            session = await uow.sessions.get(session_id)
            if session is None or session.user_id != user_id:
                return
            revoked = await uow.sessions.revoke_family(
                session.family_id, RevokeReason.LOGOUT, self.d.clock.now()
            )
            await self._audit(uow, AuditKind.LOGOUT, target=user_id, actor=user_id)
            await uow.commit()
        await self.d.guard.end_sessions([*revoked, session_id])

    async def logout_all(self, user_id: uuid.UUID) -> None:
        async with self.d.uow() as uow:
            user = await self._user(uow, user_id)
            revoked = await uow.sessions.revoke_user(
                user_id, RevokeReason.LOGOUT, self.d.clock.now()
            )
            user.revoke_tokens()
            await uow.users.save(user)
            await self._audit(
                uow, AuditKind.LOGOUT, target=user_id, actor=user_id, detail={"all": True}
            )
            await uow.commit()
        await self.d.guard.end_sessions(revoked)
        await self.d.guard.forget(user_id)

    async def sessions(self, user_id: uuid.UUID, current: uuid.UUID | None) -> list[Session]:
        async with self.d.uow() as uow:
            found = await uow.sessions.active_for_user(user_id, self.d.clock.now())
        return [_session_view(s, current) for s in found]

    async def revoke_session(self, user_id: uuid.UUID, session_id: uuid.UUID) -> None:
        async with self.d.uow() as uow:
            session = await uow.sessions.get(session_id)
            if session is None or session.user_id != user_id or session.revoked_at is not None:
                raise NotFound("no such session", code="session_not_found")
            revoked = await uow.sessions.revoke_family(
                session.family_id, RevokeReason.LOGOUT, self.d.clock.now()
            )
            await uow.commit()
        await self.d.guard.end_sessions([*revoked, session_id])

    # --- passwords ----------------------------------------------------------------------------

    async def forgot_password(self, email: str, info: RequestInfo) -> None:
        """Always answers the same way; a code is sent only when the account exists."""
        try:
            email = check_email(email)
        except ValidationFailed:
            return
        await self._limit(f"forgot:{info.ip}:{email}")
        async with self.d.uow() as uow:
            user = await uow.users.by_email(email)
            if user is None or user.is_deleted or user.is_blocked:
                await asyncio.to_thread(
                    self.d.hasher.verify, "timing", None
                )  # spend what a real send would
                return
            try:
                await self._limit_sends(email, OtpPurpose.PASSWORD_RESET, uow)
            except RateLimited:
                return  # still 202: a throttle must not reveal that the account exists
            await self._issue_code(uow, email, OtpPurpose.PASSWORD_RESET, info)
            await uow.commit()

    async def reset_password(
        self, email: str, code: str, new_password: str, info: RequestInfo
    ) -> None:
        email = check_email(email)
        check_password(new_password, email, field="new_password")
        await self._limit(f"otp:{info.ip}:{email}")
        async with self.d.uow() as uow:
            await self._consume_code(uow, email, OtpPurpose.PASSWORD_RESET, code)
            user = await uow.users.by_email(email)
            if user is None or user.is_deleted:
                raise NotFound("no account for this email", code="user_not_found")
            revoked = await self._set_password(uow, user, new_password)
            await self._audit(uow, AuditKind.PASSWORD_RESET, target=user.id, info=info)
            await uow.commit()
        await self.d.guard.end_sessions(revoked)
        await self.d.guard.forget(user.id)

    async def change_password(
        self, user_id: uuid.UUID, current: str, new_password: str, info: RequestInfo
    ) -> TokenPair:
        async with self.d.uow() as uow:
            user = await self._user(uow, user_id)
            if user.password_hash is None:
                raise Conflict(
                    "this account signs in with Google and has no password", code="no_password"
                )
            if not await asyncio.to_thread(self.d.hasher.verify, current, user.password_hash):
                raise DomainError(
                    "the current password is not right",
                    code="wrong_password",
                    errors=[FieldError("current_password", "not right")],
                )
            check_password(new_password, user.email, field="new_password")
            revoked = await self._set_password(uow, user, new_password)
            await self._audit(
                uow, AuditKind.PASSWORD_CHANGED, target=user.id, actor=user.id, info=info
            )
            pair = await self._open_session(uow, user, AuthMethod.PASSWORD, info)
            await uow.commit()
        await self.d.guard.end_sessions(revoked)
        await self.d.guard.forget(user.id)
        return pair

    async def _set_password(
        self, uow: IdentityUnitOfWork, user: User, password: str
    ) -> list[uuid.UUID]:
        now = self.d.clock.now()
        user.password_hash = await asyncio.to_thread(self.d.hasher.hash, password)
        user.password_changed_at = now
        user.revoke_tokens()
        await uow.users.save(user)
        return await uow.sessions.revoke_user(user.id, RevokeReason.PASSWORD_CHANGED, now)

    async def purge_expired(self) -> tuple[int, int]:
        """Delete codes older than a day and refresh rows expired for 30 days (safe to rerun)."""
        now = self.d.clock.now()
        async with self.d.uow() as uow:
            codes = await uow.otps.purge(now - timedelta(days=1))
            sessions = await uow.sessions.purge(now - timedelta(days=30))
            await uow.commit()
        return codes, sessions

    # --- helpers ------------------------------------------------------------------------------

    async def _open_session(
        self, uow: IdentityUnitOfWork, user: User, method: AuthMethod, info: RequestInfo
    ) -> TokenPair:
        session, token = self.d.issuer.new_session(user, method, info)
        await uow.sessions.add(session)
        return self.d.issuer.pair(user, session, token)

    async def _issue_code(
        self, uow: IdentityUnitOfWork, email: str, purpose: OtpPurpose, info: RequestInfo
    ) -> OtpCode:
        now = self.d.clock.now()
        code = self.d.secrets.otp_code()
        minutes = OTP_MINUTES[purpose]
        otp = OtpCode(
            id=uuid7(),
            email=email,
            purpose=purpose,
            code_hash=self.d.secrets.keyed_digest(f"{purpose.value}:{email}:{code}"),
            expires_at=now + timedelta(minutes=minutes),
            created_at=now,
        )
        await uow.otps.supersede(email, purpose, now)
        await uow.otps.add(otp)
        await uow.send(otp_email(email, code, purpose, info.platform, minutes, now))
        await self._audit(uow, AuditKind.OTP_SENT, info=info, detail={"purpose": purpose.value})
        return otp

    async def _consume_code(
        self, uow: IdentityUnitOfWork, email: str, purpose: OtpPurpose, code: str
    ) -> None:
        now = self.d.clock.now()
        otp = await uow.otps.newest(email, purpose)
        if otp is None:
            raise NotFound(
                "no code is waiting for this email; ask for a new one", code="otp_not_found"
            )
        state = otp.state(now)
        if state != "ISSUED":
            raise Gone(f"this code is {state.lower()}; ask for a new one", code="otp_gone")
        expected = self.d.secrets.keyed_digest(f"{purpose.value}:{email}:{code.strip()}")
        from mas.core.identity.secrets import same

        if not same(expected, otp.code_hash):
            for earlier in await uow.otps.recent(email, purpose, 10):
                if earlier.id != otp.id and same(expected, earlier.code_hash):
                    # A code that a newer one replaced: not a guess at the new one.
                    raise Gone(
                        "this code was replaced by a newer one; use the latest email",
                        code="otp_gone",
                    )
            otp.attempts += 1
            await uow.otps.save(otp)
            await uow.commit()
            if otp.attempts_left == 0:
                raise Gone(
                    "too many wrong codes: this one is locked; ask for a new one", code="otp_locked"
                )
            raise DomainError(
                f"wrong code; {otp.attempts_left} attempts left",
                code="otp_wrong",
                errors=[FieldError("code", f"{otp.attempts_left} attempts left")],
            )
        otp.consumed_at = now
        await uow.otps.save(otp)

    async def _limit_sends(self, email: str, purpose: OtpPurpose, uow: IdentityUnitOfWork) -> None:
        """A new code at most every 60 s and 5 an hour; Retry-After says when the next may go."""
        now = self.d.clock.now()
        newest = await uow.otps.newest(email, purpose)
        if newest is not None:
            wait = RESEND_COOLDOWN_S - (now - newest.created_at).total_seconds()
            if wait > 0:
                raise RateLimited(
                    f"wait {int(wait) + 1} s before asking for another code",
                    retry_after=int(wait) + 1,
                )
        hour_ago = now - timedelta(hours=1)
        if await uow.otps.count_since(email, purpose, hour_ago) >= SENDS_PER_HOUR:
            sent = [
                c
                for c in await uow.otps.recent(email, purpose, SENDS_PER_HOUR)
                if c.created_at >= hour_ago
            ]
            oldest = min((c.created_at for c in sent), default=now)
            wait_s = max(int((oldest + timedelta(hours=1) - now).total_seconds()) + 1, 1)
            raise RateLimited("too many codes this hour; try again later", retry_after=wait_s)

    async def _limit(self, key: str, limit: int = 5, window_s: int = 60) -> None:
        decision = await self.d.limiter.hit(key, limit, window_s)
        if not decision.allowed:
            raise RateLimited("too many attempts; slow down", retry_after=decision.retry_after_s)

    def _require_mail(self) -> None:
        if not self.d.mail_configured():
            # The user and code are kept and the email waits as pending_config.
            raise NotConfigured("email delivery")

    async def _user(self, uow: IdentityUnitOfWork, user_id: uuid.UUID) -> User:
        user = await uow.users.get(user_id)
        if user is None or user.is_deleted:
            raise NotFound("no such user", code="user_not_found")
        return user

    async def _audit(
        self,
        uow: IdentityUnitOfWork,
        kind: AuditKind,
        *,
        target: uuid.UUID | None = None,
        actor: uuid.UUID | None = None,
        info: RequestInfo | None = None,
        reason: str | None = None,
        detail: dict[str, str | int | bool | None] | None = None,
    ) -> None:
        await uow.audit.append(
            AuditEvent(
                id=uuid7(),
                event=kind,
                created_at=self.d.clock.now(),
                actor_id=actor,
                target_user_id=target,
                platform=info.platform if info else None,
                ip=info.ip if info else None,
                reason=reason,
                detail=detail or {},
            )
        )


def _session_view(session: RefreshSession, current: uuid.UUID | None) -> Session:
    return Session(
        id=session.id,
        platform=session.platform,
        auth_method=session.auth_method,
        created_at=session.created_at.isoformat(),
        last_used_at=session.last_used_at.isoformat() if session.last_used_at else None,
        ip=session.ip,
        user_agent=session.user_agent,
        current=session.id == current,
    )
