"""Signing in with a password or a Google ID token; each opens a refresh session."""

from __future__ import annotations

import asyncio

from mas.core.identity.access import AccessGuard
from mas.core.identity.audit import record_audit
from mas.core.identity.events import UserSignedUp
from mas.core.identity.lockout import AccountLockout
from mas.core.identity.model import (
    AuditKind,
    AuthMethod,
    EmailSyntax,
    User,
    UserStage,
    check_email,
)
from mas.core.identity.policy import Platform, Role, platform_allows
from mas.core.identity.ports import IdentityProvider, IdentityUnitOfWork, PasswordHasher
from mas.core.identity.throttle import throttle
from mas.core.identity.tokens import RequestInfo, TokenIssuer, TokenPair
from mas.core.platform.errors import Forbidden, Unauthorized
from mas.core.platform.ids import uuid7
from mas.core.platform.ports.clock import Clock
from mas.core.platform.ports.uow import UnitOfWorkFactory
from mas.core.platform.ratelimit import RateLimiter

BAD_CREDENTIALS = "the email or password is not right"


class SignIn:
    def __init__(
        self,
        *,
        uow: UnitOfWorkFactory[IdentityUnitOfWork],
        clock: Clock,
        hasher: PasswordHasher,
        issuer: TokenIssuer,
        guard: AccessGuard,
        limiter: RateLimiter,
        google: IdentityProvider,
        lockout: AccountLockout,
        email_syntax: EmailSyntax | None = None,
    ) -> None:
        self._uow = uow
        self._lockout = lockout
        self._email_syntax = email_syntax
        self._clock = clock
        self._hasher = hasher
        self._issuer = issuer
        self._guard = guard
        self._limiter = limiter
        self.google = google
        """The deployment's Google sign-in client, read on every call (a test may swap it)."""

    async def with_password(
        self, email: str, password: str, info: RequestInfo
    ) -> tuple[User, TokenPair]:
        email = check_email(email, syntax=self._email_syntax)
        await throttle(self._limiter, f"login:ip:{info.ip}", limit=30)
        await throttle(self._limiter, f"login:{info.ip}:{email}")
        attempt = await self._lockout.admit(email)
        async with self._uow() as uow:
            user = await uow.users.by_email(email)
            hashed = user.password_hash if user and not user.is_deleted else None
            if not await asyncio.to_thread(self._hasher.verify, password, hashed) or user is None:
                await record_audit(
                    uow,
                    AuditKind.LOGIN_FAILED,
                    self._clock.now(),
                    target=user.id if user else None,
                    info=info,
                    detail={"email": email},
                )
                await uow.commit()
                raise Unauthorized(BAD_CREDENTIALS, code="bad_credentials")
            _may_sign_in(user, info.platform)
            await self._lockout.clear(uow, attempt)
            user.last_login_at = self._clock.now()
            await uow.users.save(user)
            await record_audit(
                uow, AuditKind.LOGIN_OK, self._clock.now(), target=user.id, info=info
            )
            pair = await self._issuer.open_session(uow.sessions, user, AuthMethod.PASSWORD, info)
            await uow.commit()
        return user, pair

    async def with_google(self, id_token: str, info: RequestInfo) -> tuple[User, TokenPair]:
        """Sign in, link Google to the account with the same email, or create one (verified)."""
        identity = await self.google.verify_id_token(id_token)
        email = check_email(identity.email, syntax=self._email_syntax)
        now = self._clock.now()
        async with self._uow() as uow:
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
                uow.record(UserSignedUp(user_id=user.id, role=user.role.value))
                await record_audit(
                    uow,
                    AuditKind.SIGNUP,
                    self._clock.now(),
                    target=user.id,
                    info=info,
                    detail={"method": "google"},
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
            _may_sign_in(user, info.platform)
            user.last_login_at = now
            await uow.users.save(user)
            await record_audit(
                uow,
                AuditKind.LOGIN_OK,
                self._clock.now(),
                target=user.id,
                info=info,
                detail={"method": "google"},
            )
            pair = await self._issuer.open_session(uow.sessions, user, AuthMethod.GOOGLE, info)
            await uow.commit()
        await self._guard.forget(user.id)
        return user, pair


def _may_sign_in(user: User, platform: Platform) -> None:
    if user.is_blocked:
        raise Forbidden("this account is blocked", code="account_blocked")
    if not user.is_verified:
        raise Forbidden("verify your email with the code we sent first", code="email_not_verified")
    if not platform_allows(platform, user.role):
        raise Forbidden(
            f"{user.role.value} accounts cannot sign in to {platform.value}",
            code="platform_forbidden",
        )
