"""Which pages a SALES_HEAD may open: granted by an administrator, effective on the next request.

The keys are those the domains declare (``IdentityPorts.pages``); an unknown key is refused.
"""

from __future__ import annotations

import uuid

from mas.core.identity.access import AccessGuard
from mas.core.identity.audit import record_audit
from mas.core.identity.lookup import existing_user
from mas.core.identity.model import AuditKind, User
from mas.core.identity.policy import Caller, Role
from mas.core.identity.ports import IdentityUnitOfWork
from mas.core.platform.errors import FieldError, NotFound, ValidationFailed
from mas.core.platform.ports.clock import Clock
from mas.core.platform.ports.uow import UnitOfWorkFactory


class SalesHeadPages:
    def __init__(
        self,
        *,
        uow: UnitOfWorkFactory[IdentityUnitOfWork],
        clock: Clock,
        guard: AccessGuard,
        pages: frozenset[str],
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._guard = guard
        self._pages = pages

    async def granted(self, user_id: uuid.UUID) -> list[str]:
        async with self._uow() as uow:
            head = await _sales_head(uow, user_id)
        return sorted(head.page_permissions)

    async def replace(self, actor: Caller, user_id: uuid.UUID, keys: list[str]) -> list[str]:
        unknown = sorted(set(keys) - self._pages)
        if unknown:
            raise ValidationFailed(
                f"unknown page keys: {', '.join(unknown)}",
                errors=[
                    FieldError(
                        "page_keys",
                        f"unknown: {', '.join(unknown)}; known: {', '.join(sorted(self._pages))}",
                    )
                ],
            )
        keys = sorted(set(keys))
        async with self._uow() as uow:
            head = await _sales_head(uow, user_id)
            await uow.users.set_permissions(head.id, keys, actor.user_id)
            await record_audit(
                uow,
                AuditKind.PERMISSIONS_CHANGED,
                self._clock.now(),
                actor=actor.user_id,
                target=head.id,
                detail={"pages": ",".join(keys)},
            )
            await uow.commit()
        await self._guard.forget(head.id)  # takes effect on the next request, no re-login
        return keys


async def _sales_head(uow: IdentityUnitOfWork, user_id: uuid.UUID) -> User:
    user = await existing_user(uow, user_id)
    if user.role is not Role.SALES_HEAD:
        raise NotFound("no sales head with this id", code="not_a_sales_head")
    return user
