"""The audit trail: every identity service writes its events through ``record_audit``."""

from __future__ import annotations

import uuid
from datetime import datetime

from mas.core.identity.model import AuditEvent, AuditKind
from mas.core.identity.ports import IdentityUnitOfWork
from mas.core.identity.tokens import RequestInfo
from mas.core.platform.errors import FieldError, ValidationFailed
from mas.core.platform.ids import uuid7

Detail = dict[str, str | int | bool | None]


async def record_audit(
    uow: IdentityUnitOfWork,
    kind: AuditKind,
    now: datetime,
    *,
    actor: uuid.UUID | None = None,
    target: uuid.UUID | None = None,
    info: RequestInfo | None = None,
    reason: str | None = None,
    detail: Detail | None = None,
) -> None:
    """Append one event in ``uow``'s transaction (it commits or rolls back with the change)."""
    await uow.audit.append(
        AuditEvent(
            id=uuid7(),
            event=kind,
            created_at=now,
            actor_id=actor,
            target_user_id=target,
            platform=info.platform if info else None,
            ip=info.ip if info else None,
            reason=reason,
            detail=detail or {},
        )
    )


def require_reason(reason: str) -> str:
    """The reason an audited break-glass action must give (at least 5 characters, 500 kept)."""
    reason = reason.strip()
    if len(reason) < 5:
        raise ValidationFailed(
            "say why (at least 5 characters)",
            errors=[FieldError("reason", "required: at least 5 characters")],
        )
    return reason[:500]
