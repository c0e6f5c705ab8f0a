"""Sign-up: create the account, email a code, verify it (which signs in), complete the profile."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable

import msgspec

from mas.core.identity.access import AccessGuard
from mas.core.identity.audit import record_audit
from mas.core.identity.codes import OneTimeCodes
from mas.core.identity.events import UserSignedUp
from mas.core.identity.lookup import existing_user
from mas.core.identity.model import (
    AuditKind,
    AuthMethod,
    EmailSyntax,
    OtpPurpose,
    User,
    UserStage,
    check_email,
    check_password,
)
from mas.core.identity.policy import Role
from mas.core.identity.ports import IdentityUnitOfWork, PasswordHasher
from mas.core.identity.tokens import RequestInfo, TokenIssuer, TokenPair
from mas.core.platform.errors import Conflict, NotConfigured, NotFound
from mas.core.platform.ids import uuid7
from mas.core.platform.ports.clock import Clock
from mas.core.platform.ports.uow import DuplicateKey, UnitOfWorkFactory


class SignupResult(msgspec.Struct, frozen=True):
    user_id: uuid.UUID
    email: str
    stage: int
    otp_delivery: str
    created: bool = True
    """False when an unfinished sign-up of this email started again (HTTP 200, not 201)."""


class Registration:
    def __init__(
        self,
        *,
        uow: UnitOfWorkFactory[IdentityUnitOfWork],
        clock: Clock,
        hasher: PasswordHasher,
        codes: OneTimeCodes,
        issuer: TokenIssuer,
        guard: AccessGuard,
        mail_configured: Callable[[], bool],
        email_syntax: EmailSyntax | None = None,
    ) -> None:
        self._uow = uow
        self._email_syntax = email_syntax
        self._clock = clock
        self._hasher = hasher
        self._codes = codes
        self._issuer = issuer
        self._guard = guard
        self._mail_configured = mail_configured

    async def signup(
        self, email: str, password: str, full_name: str | None, info: RequestInfo
    ) -> SignupResult:
        email = check_email(email, syntax=self._email_syntax)
        check_password(password, email)
        now = self._clock.now()
        async with self._uow() as uow:
            user = await uow.users.by_email(email)
            if user is not None and (user.is_verified or user.is_deleted):
                raise Conflict("an account with this email already exists", code="email_taken")
            await self._codes.limit_sends(uow, email, OtpPurpose.SIGNUP)
            created = user is None
            if user is None:
                user = User(
                    id=uuid7(),
                    email=email,
                    role=Role.USER,
                    created_at=now,
                    full_name=full_name,
                    password_hash=await asyncio.to_thread(self._hasher.hash, password),
                    signup_platform=info.platform,
                )
                try:
                    await uow.users.add(user)
                except DuplicateKey:
                    raise Conflict(
                        "an account with this email already exists", code="email_taken"
                    ) from None
                uow.record(UserSignedUp(user_id=user.id, role=user.role.value))
                await record_audit(
                    uow, AuditKind.SIGNUP, self._clock.now(), target=user.id, info=info
                )
            else:
                # An abandoned sign-up is recoverable: new password, new code.
                user.password_hash = await asyncio.to_thread(self._hasher.hash, password)
                user.full_name = full_name or user.full_name
                user.password_changed_at = now
                await uow.users.save(user)
            await self._codes.issue(uow, email, OtpPurpose.SIGNUP, info)
            await uow.commit()
        self._require_mail()
        return SignupResult(user.id, email, int(user.stage), "queued", created)

    async def resend_otp(self, email: str, info: RequestInfo) -> None:
        email = check_email(email, syntax=self._email_syntax)
        async with self._uow() as uow:
            user = await uow.users.by_email(email)
            if user is None or user.is_deleted:
                raise NotFound("no sign-up is waiting for this email", code="signup_not_found")
            if user.is_verified:
                raise Conflict("this email is already verified", code="already_verified")
            await self._codes.limit_sends(uow, email, OtpPurpose.SIGNUP)
            await self._codes.issue(uow, email, OtpPurpose.SIGNUP, info)
            await uow.commit()
        self._require_mail()

    async def verify_otp(self, email: str, code: str, info: RequestInfo) -> tuple[User, TokenPair]:
        email = check_email(email, syntax=self._email_syntax)
        await self._codes.throttle_guesses(email, info.ip)
        async with self._uow() as uow:
            await self._codes.consume(uow, email, OtpPurpose.SIGNUP, code)
            user = await uow.users.by_email(email)
            if user is None or user.is_deleted:
                raise NotFound("no sign-up is waiting for this email", code="signup_not_found")
            user.advance(UserStage.OTP_VERIFIED)
            user.last_login_at = self._clock.now()
            await uow.users.save(user)
            await record_audit(
                uow, AuditKind.OTP_VERIFIED, self._clock.now(), target=user.id, info=info
            )
            pair = await self._issuer.open_session(uow.sessions, user, AuthMethod.OTP, info)
            await uow.commit()
        await self._guard.forget(user.id)
        return user, pair

    async def complete_profile(
        self,
        user_id: uuid.UUID,
        full_name: str,
        phone: str | None,
        profession: str | None,
        domain: str | None,
    ) -> User:
        async with self._uow() as uow:
            user = await existing_user(uow, user_id)
            user.advance(UserStage.PROFILE_COMPLETE)
            user.full_name = full_name
            user.phone = phone
            user.profession = profession
            user.domain = domain
            await uow.users.save(user)
            await uow.commit()
        await self._guard.forget(user.id)
        return user

    def _require_mail(self) -> None:
        if not self._mail_configured():
            # The user and code are kept and the email waits as pending_config.
            raise NotConfigured("email delivery")
