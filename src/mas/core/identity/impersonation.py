"""Impersonation: an administrator acts as a user for support, for one access token's lifetime.

Off unless the deployment enables it; a reason is required and audited; only a SUPERADMIN may
act as an administrator. The token has no refresh token and names the actor (``act``).
"""

from __future__ import annotations

import uuid

from mas.core.identity.audit import record_audit, require_reason
from mas.core.identity.lookup import existing_user
from mas.core.identity.model import AuditKind, AuthMethod
from mas.core.identity.policy import Caller, Role, is_admin
from mas.core.identity.ports import IdentityUnitOfWork
from mas.core.identity.tokens import RequestInfo, TokenIssuer, TokenPair
from mas.core.platform.errors import Conflict, Forbidden, NotFound
from mas.core.platform.ports.clock import Clock
from mas.core.platform.ports.uow import UnitOfWorkFactory


class Impersonation:
    def __init__(
        self,
        *,
        uow: UnitOfWorkFactory[IdentityUnitOfWork],
        clock: Clock,
        issuer: TokenIssuer,
        enabled: bool,
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._issuer = issuer
        self.enabled = enabled
        """Read on every call (the deployment's setting; a test may switch it)."""

    async def act_as(
        self, actor: Caller, user_id: uuid.UUID, reason: str, ip: str | None
    ) -> TokenPair:
        if not self.enabled:
            raise NotFound("impersonation is not enabled here", code="impersonation_disabled")
        reason = require_reason(reason)
        async with self._uow() as uow:
            user = await existing_user(uow, user_id)
            if is_admin(user.role) and actor.role is not Role.SUPERADMIN:
                raise Forbidden(
                    "only a SUPERADMIN may act as an administrator", code="impersonation_forbidden"
                )
            if user.is_blocked:
                raise Conflict("this account is blocked", code="account_blocked")
            await record_audit(
                uow,
                AuditKind.IMPERSONATION,
                self._clock.now(),
                actor=actor.user_id,
                target=user.id,
                info=RequestInfo(platform=actor.platform, ip=ip),
                reason=reason,
            )
            await uow.commit()
        token = self._issuer.access_token(
            user, actor.platform, AuthMethod.IMPERSONATION, None, actor=actor.user_id
        )
        return TokenPair(
            access_token=token, refresh_token=None, expires_in=self._issuer.access_ttl_s
        )
