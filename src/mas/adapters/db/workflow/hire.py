"""The hire part's repository: Mr. Hire's workflow rules on SQLAlchemy Core, every read scoped
to the rule's owner."""

from __future__ import annotations

import uuid
from typing import Any

import msgspec
from sqlalchemy import and_, func, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from mas.adapters.db.workflow.hire_tables import workflow_rules as RULES
from mas.core.platform.paging import Page, PageRequest
from mas.core.workflow.hire.model import HireRule, RuleFilter

_FIELDS = [f.name for f in msgspec.structs.fields(HireRule)]


def _values(rule: HireRule) -> dict[str, Any]:
    values: dict[str, Any] = msgspec.to_builtins(rule)
    values["id"], values["owner_id"] = rule.id, rule.owner_id
    for stamp in ("created_at", "updated_at", "deleted_at"):
        values[stamp] = getattr(rule, stamp)
    return values


def _rule(row: Any) -> HireRule:
    # Core columns name themselves with ``quoted_name`` (a str subclass msgspec refuses as a key).
    return msgspec.convert(dict(zip(_FIELDS, row, strict=True)), HireRule, strict=False)


class SqlRuleRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._s = session

    async def add(self, rule: HireRule) -> None:
        await self._s.execute(insert(RULES).values(**_values(rule)))

    async def get(self, rule_id: uuid.UUID, owner_id: uuid.UUID) -> HireRule | None:
        row = (
            await self._s.execute(
                select(*RULES.c[*_FIELDS]).where(
                    RULES.c.id == rule_id,
                    RULES.c.owner_id == owner_id,
                    RULES.c.deleted_at.is_(None),
                )
            )
        ).first()
        return _rule(row) if row else None

    async def save(self, rule: HireRule) -> None:
        values = _values(rule)
        for fixed in ("id", "owner_id", "created_at"):
            del values[fixed]
        await self._s.execute(update(RULES).where(RULES.c.id == rule.id).values(**values))

    async def page(self, owner_id: uuid.UUID, flt: RuleFilter, req: PageRequest) -> Page[HireRule]:
        where = and_(RULES.c.owner_id == owner_id, RULES.c.deleted_at.is_(None))
        if flt.event is not None:
            where = and_(where, RULES.c.event == flt.event.value)
        if flt.is_active is not None:
            where = and_(where, RULES.c.is_active == flt.is_active)
        total = (
            await self._s.execute(select(func.count()).select_from(RULES).where(where))
        ).scalar_one()
        rows = await self._s.execute(
            select(*RULES.c[*_FIELDS])
            .where(where)
            .order_by(RULES.c.created_at.desc(), RULES.c.id.desc())
            .offset(req.offset)
            .limit(req.page_size)
        )
        return Page(
            items=[_rule(row) for row in rows], total=total, page=req.page, page_size=req.page_size
        )
