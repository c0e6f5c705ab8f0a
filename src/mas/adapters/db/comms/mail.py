"""The mail part's repositories: editable templates, and the send log read off the outbox."""

from __future__ import annotations

import uuid
from typing import Any

import msgspec
from sqlalchemy import and_, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from mas.adapters.db.comms.mail_tables import EmailTemplateRow
from mas.adapters.db.platform.tables import OutboxMessageRow
from mas.core.comms.mail.model import (
    EmailTemplate,
    MailState,
    OwnerScope,
    SendLogFilter,
    SentEmail,
    TemplateCategory,
)
from mas.core.platform.messages import Channel, OutboxStatus
from mas.core.platform.paging import Page, PageRequest
from mas.core.platform.ports.uow import DuplicateKey

_TEMPLATE_FIELDS = [f.name for f in msgspec.structs.fields(EmailTemplate)]


def _template(row: EmailTemplateRow) -> EmailTemplate:
    return msgspec.convert(row, EmailTemplate, from_attributes=True)


def _values(template: EmailTemplate) -> dict[str, Any]:
    values = {name: getattr(template, name) for name in _TEMPLATE_FIELDS}
    values["category"] = template.category.value
    values["owner_scope"] = template.owner_scope.value
    return values


class SqlEmailTemplateRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._s = session
        # by_key's answers for this transaction (the repository lives as long as it): a batch
        # of workflow steps mails one template dozens of times. Any write here forgets them.
        self._by_key: dict[str, EmailTemplate | None] = {}

    async def add(self, template: EmailTemplate) -> None:
        self._by_key.clear()
        try:
            async with self._s.begin_nested():
                await self._s.execute(insert(EmailTemplateRow).values(**_values(template)))
        except IntegrityError:
            raise DuplicateKey(f"email template {template.key}") from None

    async def get(self, template_id: uuid.UUID) -> EmailTemplate | None:
        row = (
            await self._s.execute(
                select(EmailTemplateRow).where(
                    EmailTemplateRow.id == template_id, EmailTemplateRow.deleted_at.is_(None)
                )
            )
        ).scalar_one_or_none()
        return _template(row) if row else None

    async def by_key(self, key: str) -> EmailTemplate | None:
        if key in self._by_key:
            return self._by_key[key]
        row = (
            await self._s.execute(
                select(EmailTemplateRow).where(
                    EmailTemplateRow.key == key, EmailTemplateRow.deleted_at.is_(None)
                )
            )
        ).scalar_one_or_none()
        found = self._by_key[key] = _template(row) if row else None
        return found

    async def save(self, template: EmailTemplate) -> None:
        self._by_key.clear()
        values = _values(template)
        values.pop("id")
        values.pop("created_at")
        try:
            async with self._s.begin_nested():
                await self._s.execute(
                    update(EmailTemplateRow)
                    .where(EmailTemplateRow.id == template.id)
                    .values(**values)
                    .execution_options(synchronize_session=False)
                )
        except IntegrityError:
            raise DuplicateKey(f"email template {template.key}") from None

    async def page(
        self, everything: bool, pools: frozenset[uuid.UUID], req: PageRequest
    ) -> Page[EmailTemplate]:
        where = EmailTemplateRow.deleted_at.is_(None)
        if not everything:
            visible = EmailTemplateRow.owner_scope == OwnerScope.GLOBAL.value
            if pools:
                visible = or_(visible, EmailTemplateRow.sales_head_id.in_(sorted(pools)))
            where = and_(where, visible)
        total = (
            await self._s.execute(select(func.count()).select_from(EmailTemplateRow).where(where))
        ).scalar_one()
        rows = (
            await self._s.execute(
                select(EmailTemplateRow)
                .where(where)
                .order_by(EmailTemplateRow.key)
                .offset(req.offset)
                .limit(req.page_size)
            )
        ).scalars()
        return Page(
            items=[_template(r) for r in rows], total=total, page=req.page, page_size=req.page_size
        )

    async def page_of_category(
        self, category: TemplateCategory, created_by: uuid.UUID | None, req: PageRequest
    ) -> Page[EmailTemplate]:
        where = and_(
            EmailTemplateRow.deleted_at.is_(None), EmailTemplateRow.category == category.value
        )
        if created_by is not None:
            where = and_(where, EmailTemplateRow.created_by == created_by)
        total = (
            await self._s.execute(select(func.count()).select_from(EmailTemplateRow).where(where))
        ).scalar_one()
        rows = (
            await self._s.execute(
                select(EmailTemplateRow)
                .where(where)
                .order_by(EmailTemplateRow.key)
                .offset(req.offset)
                .limit(req.page_size)
            )
        ).scalars()
        return Page(
            items=[_template(r) for r in rows], total=total, page=req.page, page_size=req.page_size
        )


def _sent(row: Any) -> SentEmail:
    return SentEmail(
        id=row.id,
        to=row.recipient,
        subject=row.subject,
        template=row.template,
        status=OutboxStatus(row.status),
        state=MailState.of(OutboxStatus(row.status)),
        attempts=row.attempts,
        last_error=row.last_error,
        related_type=row.related_type,
        related_id=row.related_id,
        sent_by=row.sent_by,
        queued_at=row.created_at,
        sent_at=row.sent_at,
    )


_LOG_COLUMNS = (
    OutboxMessageRow.id,
    OutboxMessageRow.recipient,
    OutboxMessageRow.subject,
    OutboxMessageRow.template,
    OutboxMessageRow.status,
    OutboxMessageRow.attempts,
    OutboxMessageRow.last_error,
    OutboxMessageRow.related_type,
    OutboxMessageRow.related_id,
    OutboxMessageRow.sent_by,
    OutboxMessageRow.created_at,
    OutboxMessageRow.sent_at,
)


class SqlSendLog:
    """The send log is the platform outbox's email rows (bodies are not listed)."""

    def __init__(self, session: AsyncSession) -> None:
        self._s = session

    async def page(self, flt: SendLogFilter, req: PageRequest) -> Page[SentEmail]:
        conditions = [OutboxMessageRow.channel == Channel.EMAIL.value]
        if flt.related is not None:
            conditions += [
                OutboxMessageRow.related_type == flt.related[0],
                OutboxMessageRow.related_id == flt.related[1],
            ]
        if flt.sent_by is not None:
            conditions.append(OutboxMessageRow.sent_by == flt.sent_by)
        if flt.status is not None:
            conditions.append(OutboxMessageRow.status == flt.status.value)
        where = and_(*conditions)
        total = (
            await self._s.execute(select(func.count()).select_from(OutboxMessageRow).where(where))
        ).scalar_one()
        rows = await self._s.execute(
            select(*_LOG_COLUMNS)
            .where(where)
            .order_by(OutboxMessageRow.created_at.desc(), OutboxMessageRow.id.desc())
            .offset(req.offset)
            .limit(req.page_size)
        )
        return Page(
            items=[_sent(r) for r in rows], total=total, page=req.page, page_size=req.page_size
        )

    async def by_key(self, key: str) -> SentEmail | None:
        row = (
            await self._s.execute(
                select(*_LOG_COLUMNS).where(OutboxMessageRow.idempotency_key == key)
            )
        ).one_or_none()
        return _sent(row) if row else None
