"""Set up a sales floor for assignment tests: heads with profiles, teams, leads written straight
into the tables (independent of the lead service), activities with a chosen time."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, select

from mas.adapters.db.crm.tables import LeadActivityRow, LeadAssignmentRow, LeadIntakeRow, RawLeadRow
from mas.core.crm.assignment_model import PAGE_FLAGS, MemberRole, SalesHeadProfile, TeamMember
from mas.core.crm.pages import SALES_HEAD_PAGES
from mas.core.identity.model import User, UserStage
from mas.core.identity.policy import Role
from mas.core.platform.ids import uuid7

ALL_FLAGS = dict.fromkeys(PAGE_FLAGS, True)


async def add_person(c: Any, role: Role, name: str) -> User:
    user = User(
        id=uuid7(),
        email=f"{name.lower().replace(' ', '.')}-{uuid.uuid4().hex[:6]}@example.com",
        role=role,
        created_at=c.clock.now(),
        full_name=name,  # no password: tests sign tokens for these accounts directly
    )
    user.advance(UserStage.OTP_VERIFIED)
    async with c.uow() as uow:
        await uow.users.add(user)
        if role is Role.SALES_HEAD:
            await uow.users.set_permissions(user.id, sorted(SALES_HEAD_PAGES), user.id)
        await uow.commit()
    return user


@dataclass
class Floor:
    """A head, their profile and their team (telecallers first, then counsellors)."""

    head: User
    telecallers: list[User] = field(default_factory=list)
    counsellors: list[User] = field(default_factory=list)
    members: dict[uuid.UUID, TeamMember] = field(default_factory=dict)


async def add_floor(
    c: Any,
    name: str,
    telecallers: int = 2,
    counsellors: int = 1,
    flags: dict[str, bool] | None = None,
    **profile: Any,
) -> Floor:
    head = await add_person(c, Role.SALES_HEAD, f"{name} Head")
    await add_profile(c, head.id, f"{name} pool", flags, **profile)
    floor = Floor(head=head)
    for i in range(telecallers):
        floor.telecallers.append(await add_member(c, floor, f"{name} Caller {i + 1}"))
    for i in range(counsellors):
        floor.counsellors.append(
            await add_member(c, floor, f"{name} Counsellor {i + 1}", MemberRole.COUNSELLOR)
        )
    return floor


async def add_profile(
    c: Any,
    head_id: uuid.UUID,
    display_name: str = "Pool",
    flags: dict[str, bool] | None = None,
    **profile: Any,
) -> None:
    """A head's CRM profile, every page flag on unless ``flags`` says otherwise."""
    now = c.clock.now()
    async with c.uow() as uow:
        await uow.head_profiles.add(
            SalesHeadProfile(
                user_id=head_id,
                display_name=display_name,
                created_at=now,
                updated_at=now,
                page_flags=ALL_FLAGS if flags is None else flags,
                **profile,
            )
        )
        await uow.commit()


async def add_member(
    c: Any,
    floor: Floor,
    name: str,
    role: MemberRole = MemberRole.TELECALLER,
    **fields: Any,
) -> User:
    user = await add_person(c, Role.SALES, name)
    member = TeamMember(
        id=uuid7(),
        sales_head_id=floor.head.id,
        user_id=user.id,
        member_role=role,
        joined_at=c.clock.now(),
        **fields,
    )
    async with c.uow() as uow:
        await uow.teams.add_member(member)
        await uow.commit()
    floor.members[user.id] = member
    return user


async def add_leads(
    c: Any,
    head_id: uuid.UUID | None,
    count: int,
    *,
    status: str = "NEW",
    assigned_to: uuid.UUID | None = None,
    assigned_counsellor: uuid.UUID | None = None,
    phones: Iterator[str] | None = None,
) -> list[uuid.UUID]:
    """``count`` leads inserted directly. Their phones come from their ids unless ``phones``
    is given: a caller that seeds many batches into one committed database passes its own, since
    ids-derived phones collide once in about 10**8 / n**2 tries."""
    now = c.clock.now()
    ids = [uuid7() for _ in range(count)]
    async with c.uow() as uow:
        await uow.session.execute(
            insert(RawLeadRow),
            [
                {
                    "id": lead_id,
                    "name": f"Lead {lead_id.hex[-6:]}",
                    "phone_e164": next(phones)
                    if phones is not None
                    else f"+9198{lead_id.int % 10**8:08d}",
                    "source": "MANUAL",
                    "status": status,
                    "owning_sales_head_id": head_id,
                    "assigned_to": assigned_to,
                    "assigned_counsellor": assigned_counsellor,
                    "created_at": now,
                    "updated_at": now,
                }
                for lead_id in ids
            ],
        )
        await uow.commit()
    return ids


async def add_activity(
    c: Any,
    lead_id: uuid.UUID,
    kind: str,
    actor_id: uuid.UUID | None,
    at: datetime,
    data: dict[str, Any] | None = None,
) -> None:
    async with c.uow() as uow:
        await uow.session.execute(
            insert(LeadActivityRow).values(
                id=uuid7(),
                raw_lead_id=lead_id,
                actor_id=actor_id,
                type=kind,
                summary=kind.lower(),
                data=data or {},
                occurred_at=at,
            )
        )
        await uow.commit()


async def lead_rows(c: Any, ids: list[uuid.UUID]) -> dict[uuid.UUID, Any]:
    async with c.uow() as uow:
        rows = await uow.session.execute(
            select(
                RawLeadRow.id,
                RawLeadRow.status,
                RawLeadRow.owning_sales_head_id,
                RawLeadRow.assigned_to,
                RawLeadRow.assigned_counsellor,
                RawLeadRow.version,
            ).where(RawLeadRow.id.in_(ids))
        )
        return {r.id: r for r in rows}


async def set_lead(c: Any, lead_id: uuid.UUID, **values: Any) -> None:
    from sqlalchemy import update

    async with c.uow() as uow:
        await uow.session.execute(
            update(RawLeadRow).where(RawLeadRow.id == lead_id).values(**values)
        )
        await uow.commit()


async def count_assignments(c: Any, **where: Any) -> int:
    async with c.uow() as uow:
        stmt = select(func.count()).select_from(LeadAssignmentRow)
        for name, value in where.items():
            stmt = stmt.where(getattr(LeadAssignmentRow, name) == value)
        return int((await uow.session.execute(stmt)).scalar_one())


async def activities(c: Any, kind: str, lead_ids: list[uuid.UUID] | None = None) -> list[Any]:
    async with c.uow() as uow:
        table = LeadActivityRow
        stmt = (
            select(table.raw_lead_id, table.actor_id, table.summary, table.data)
            .where(table.type == kind)
            .order_by(table.occurred_at, table.id)
        )
        if lead_ids is not None:
            stmt = stmt.where(table.raw_lead_id.in_(lead_ids))
        return list(await uow.session.execute(stmt))


async def add_import_intakes(
    c: Any,
    batch_id: uuid.UUID,
    lead_ids: list[uuid.UUID],
    outcome: str = "CREATED",
    first_row: int = 1,
) -> None:
    """The intakes a CSV import writes (``batch:<id>:<row>``), as the import pipeline does."""
    async with c.uow() as uow:
        await uow.session.execute(
            insert(LeadIntakeRow),
            [
                {
                    "id": uuid7(),
                    "raw_lead_id": lead_id,
                    "channel": "CSV",
                    "channel_ref": f"batch:{batch_id}:{row}",
                    "outcome": outcome,
                    "payload": {},
                }
                for row, lead_id in enumerate(lead_ids, start=first_row)
            ],
        )
        await uow.commit()
