"""Break-glass: the master login into an ADMIN or SUPERADMIN account when sign-in is broken.

It needs the master password, a TOTP code (each time step works once) and a reason; it is
audited, every administrator is emailed, and failures lock it for everyone after a few tries.
The access token it gives has no refresh token. Off unless both secrets are configured.
"""

from __future__ import annotations

import asyncio
from datetime import datetime

from mas.core.identity.audit import record_audit, require_reason
from mas.core.identity.mail import ALERT
from mas.core.identity.model import AuditKind, AuthMethod, EmailSyntax, check_email
from mas.core.identity.policy import ADMIN_ROLES, is_admin
from mas.core.identity.ports import IdentityUnitOfWork, PasswordHasher, TotpVerifier
from mas.core.identity.tokens import RequestInfo, TokenIssuer, TokenPair
from mas.core.platform.errors import Forbidden, NotFound, RateLimited, Unauthorized
from mas.core.platform.ids import uuid7
from mas.core.platform.ports.clock import Clock
from mas.core.platform.ports.messenger import Messenger
from mas.core.platform.ports.uow import UnitOfWorkFactory
from mas.core.platform.ratelimit import RateLimiter

# (key, attempts, window in seconds): per address, and for everyone together.
FAILURE_LIMITS = (("master:fail:{ip}", 5, 900), ("master:fail:all", 20, 3600))


class BreakGlass:
    def __init__(
        self,
        *,
        uow: UnitOfWorkFactory[IdentityUnitOfWork],
        clock: Clock,
        hasher: PasswordHasher,
        issuer: TokenIssuer,
        limiter: RateLimiter,
        totp: TotpVerifier | None,
        master_password_hash: str | None,
        messenger: Messenger,
        email_syntax: EmailSyntax | None = None,
    ) -> None:
        self._uow = uow
        self._messenger = messenger
        self._email_syntax = email_syntax
        self._clock = clock
        self._hasher = hasher
        self._issuer = issuer
        self._limiter = limiter
        # Both are the deployment's settings, read on every call (a test may set them).
        self.totp = totp
        self.master_password_hash = master_password_hash

    @property
    def enabled(self) -> bool:
        return bool(self.master_password_hash and self.totp)

    async def master_login(
        self, email: str, master_password: str, totp_code: str, reason: str, info: RequestInfo
    ) -> TokenPair:
        totp = self.totp
        if not self.enabled or totp is None:
            raise NotFound("master login is not enabled here", code="master_login_disabled")
        reason = require_reason(reason)
        email = check_email(email, syntax=self._email_syntax)
        await self._refuse_while_locked(info.ip)
        now = self._clock.now()
        async with self._uow() as uow:
            password_ok = await asyncio.to_thread(
                self._hasher.verify, master_password, self.master_password_hash
            )
            counter = totp.matching_counter(totp_code.strip(), now)
            last = await uow.users.master_counter()
            if not password_ok or counter is None or counter <= last:
                await record_audit(
                    uow,
                    AuditKind.MASTER_LOGIN_FAILED,
                    now,
                    info=info,
                    reason=reason,
                    detail={"email": email},
                )
                await uow.commit()
                for key, limit, window in FAILURE_LIMITS:
                    await self._limiter.hit(key.format(ip=info.ip), limit, window)
                raise Unauthorized("master password or code not right", code="master_login_failed")
            user = await uow.users.by_email(email)
            if user is None or user.is_deleted:
                raise NotFound("no such account", code="user_not_found")
            if not is_admin(user.role):
                raise Forbidden(
                    "master login only opens ADMIN or SUPERADMIN accounts",
                    code="master_target_forbidden",
                )
            await uow.users.set_master_counter(counter)
            await record_audit(
                uow,
                AuditKind.MASTER_LOGIN,
                now,
                actor=user.id,
                target=user.id,
                info=info,
                reason=reason,
            )
            await _alert_admins(self._messenger, uow, user.email, reason, info, now)
            await uow.commit()
        token = self._issuer.access_token(user, info.platform, AuthMethod.MASTER, None)
        return TokenPair(
            access_token=token, refresh_token=None, expires_in=self._issuer.access_ttl_s
        )

    async def _refuse_while_locked(self, ip: str | None) -> None:
        for key, limit, window in FAILURE_LIMITS:
            decision = await self._limiter.peek(key.format(ip=ip), limit, window)
            if not decision.allowed:
                raise RateLimited(
                    "master login is locked for now", retry_after=decision.retry_after_s
                )


async def _alert_admins(
    messenger: Messenger,
    uow: IdentityUnitOfWork,
    opened: str,
    reason: str,
    info: RequestInfo,
    now: datetime,
) -> None:
    login = uuid7()  # one key per use of the master login, one mail per administrator
    for admin in await uow.users.active_with_roles(sorted(ADMIN_ROLES)):
        await messenger.email(
            uow,
            template=ALERT,
            to=admin.email,
            data={
                "subject": "mas: master login used",
                "body": f"Master login into {opened} at {now.isoformat()} from {info.ip}.\n"
                f"Reason: {reason}",
            },
            key=f"master-login:{login}:{admin.id}",
        )
