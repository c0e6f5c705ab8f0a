"""Passwords: a reset by emailed code, a change by the signed-in user. Either ends every session."""

from __future__ import annotations

import asyncio
import uuid

from mas.core.identity.access import AccessGuard
from mas.core.identity.audit import record_audit
from mas.core.identity.codes import OneTimeCodes
from mas.core.identity.lookup import existing_user
from mas.core.identity.model import (
    AuditKind,
    AuthMethod,
    EmailSyntax,
    OtpPurpose,
    RevokeReason,
    User,
    check_email,
    check_password,
)
from mas.core.identity.ports import IdentityUnitOfWork, PasswordHasher
from mas.core.identity.throttle import throttle
from mas.core.identity.tokens import RequestInfo, TokenIssuer, TokenPair
from mas.core.platform.errors import (
    Conflict,
    DomainError,
    FieldError,
    NotFound,
    RateLimited,
)
from mas.core.platform.ports.clock import Clock
from mas.core.platform.ports.uow import UnitOfWorkFactory
from mas.core.platform.ratelimit import RateLimiter


class Passwords:
    def __init__(
        self,
        *,
        uow: UnitOfWorkFactory[IdentityUnitOfWork],
        clock: Clock,
        hasher: PasswordHasher,
        codes: OneTimeCodes,
        issuer: TokenIssuer,
        guard: AccessGuard,
        limiter: RateLimiter,
        email_syntax: EmailSyntax | None = None,
    ) -> None:
        self._uow = uow
        self._email_syntax = email_syntax
        self._clock = clock
        self._hasher = hasher
        self._codes = codes
        self._issuer = issuer
        self._guard = guard
        self._limiter = limiter

    async def forgot(self, email: str, info: RequestInfo) -> None:
        """Always answers the same way; a code is sent only when the account exists.

        An address that is not one is refused (422) before any look-up: that says nothing
        about accounts."""
        email = check_email(email, syntax=self._email_syntax)
        await throttle(self._limiter, f"forgot:{info.ip}:{email}")
        async with self._uow() as uow:
            user = await uow.users.by_email(email)
            if user is None or user.is_deleted or user.is_blocked:
                # Spend what a real send would.
                await asyncio.to_thread(self._hasher.verify, "timing", None)
                return
            try:
                await self._codes.limit_sends(uow, email, OtpPurpose.PASSWORD_RESET)
            except RateLimited:
                return  # still 202: a throttle must not reveal that the account exists
            await self._codes.issue(uow, email, OtpPurpose.PASSWORD_RESET, info)
            await uow.commit()

    async def reset(self, email: str, code: str, new_password: str, info: RequestInfo) -> None:
        email = check_email(email, syntax=self._email_syntax)
        check_password(new_password, email, field="new_password")
        await self._codes.throttle_guesses(email, info.ip)
        async with self._uow() as uow:
            await self._codes.consume(uow, email, OtpPurpose.PASSWORD_RESET, code)
            user = await uow.users.by_email(email)
            if user is None or user.is_deleted:
                raise NotFound("no account for this email", code="user_not_found")
            revoked = await self._set(uow, user, new_password)
            await record_audit(
                uow, AuditKind.PASSWORD_RESET, self._clock.now(), target=user.id, info=info
            )
            await uow.commit()
        await self._guard.end_sessions(revoked)
        await self._guard.forget(user.id)

    async def change(
        self, user_id: uuid.UUID, current: str, new_password: str, info: RequestInfo
    ) -> TokenPair:
        """Change it and sign in afresh: the pair returned is the only session left."""
        async with self._uow() as uow:
            user = await existing_user(uow, user_id)
            if user.password_hash is None:
                raise Conflict(
                    "this account signs in with Google and has no password", code="no_password"
                )
            if not await asyncio.to_thread(self._hasher.verify, current, user.password_hash):
                raise DomainError(
                    "the current password is not right",
                    code="wrong_password",
                    errors=[FieldError("current_password", "not right")],
                )
            check_password(new_password, user.email, field="new_password")
            revoked = await self._set(uow, user, new_password)
            await record_audit(
                uow,
                AuditKind.PASSWORD_CHANGED,
                self._clock.now(),
                target=user.id,
                actor=user.id,
                info=info,
            )
            pair = await self._issuer.open_session(uow.sessions, user, AuthMethod.PASSWORD, info)
            await uow.commit()
        await self._guard.end_sessions(revoked)
        await self._guard.forget(user.id)
        return pair

    async def _set(self, uow: IdentityUnitOfWork, user: User, password: str) -> list[uuid.UUID]:
        now = self._clock.now()
        user.password_hash = await asyncio.to_thread(self._hasher.hash, password)
        user.password_changed_at = now
        user.revoke_tokens()
        await uow.users.save(user)
        return await uow.sessions.revoke_user(user.id, RevokeReason.PASSWORD_CHANGED, now)
