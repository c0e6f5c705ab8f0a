"""The CRM's services as ``build_crm`` makes them, over the in-memory fakes and a frozen clock.

A ``World`` is one sales floor in the making: people (``person``), heads with a profile and a
team (``floor``), leads written straight into the store (``add_leads``), and what a test then
reads back: committed rows, recorded events, queued tasks, outgoing mail.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import pytest

from mas.adapters.cache.memory import MemoryCache
from mas.adapters.comms.templates import JinjaTemplateEngine
from mas.adapters.fakes.crm import CrmStore, CrmTables, FakeCrmUnitOfWork
from mas.adapters.fakes.identity import IdentityTables
from mas.adapters.fakes.platform import FakeClock, FakeEnqueuer
from mas.adapters.phone import LibPhoneNormalizer
from mas.adapters.storage.local import LocalStorage
from mas.core.comms.mail.writer import MailWriter
from mas.core.crm.assignment_model import PAGE_FLAGS, MemberRole, SalesHeadProfile, TeamMember
from mas.core.crm.followups import MAIL_TEMPLATES
from mas.core.crm.model import Lead, LeadStatus
from mas.core.crm.services import CrmPorts, CrmServices, build_crm
from mas.core.identity.model import User, UserStage
from mas.core.identity.policy import Caller, Platform, Role
from mas.core.platform.errors import DomainError
from mas.core.platform.events import DomainEvent
from mas.core.platform.ids import uuid7
from mas.core.platform.messages import OutboxMessage
from mas.core.platform.ratelimit import RateLimiter

START = datetime(2025, 3, 3, 4, 30, tzinfo=UTC)  # Monday 10:00 in Kolkata
ALL_FLAGS = dict.fromkeys(PAGE_FLAGS, True)
E = TypeVar("E", bound=DomainError)
V = TypeVar("V", bound=DomainEvent)


@dataclass
class Floor:
    """A head (with a profile) and their team: telecallers first, then counsellors."""

    head: Caller
    telecallers: list[Caller] = field(default_factory=list)
    counsellors: list[Caller] = field(default_factory=list)
    members: dict[uuid.UUID, TeamMember] = field(default_factory=dict)


class World:
    def __init__(self, tmp_path: Path) -> None:
        self.clock = FakeClock(START)
        self.store = CrmStore(self.clock)
        self.jobs = FakeEnqueuer(self.clock)
        cache = MemoryCache(clock=self.clock.timestamp)
        self.crm: CrmServices = build_crm(
            CrmPorts(
                uow=self.uow,
                clock=self.clock,
                jobs=self.jobs,
                cache=cache,
                limiter=RateLimiter(cache, now=self.clock.timestamp),
                storage=LocalStorage(tmp_path),
                phones=LibPhoneNormalizer(),
                # The mail part's writer is the messenger's email side; the CRM only mails.
                messenger=MailWriter(  # type: ignore[arg-type]
                    clock=self.clock, templates=MAIL_TEMPLATES, engine=JinjaTemplateEngine()
                ),
            )
        )
        self._phones = 0

    def uow(self) -> FakeCrmUnitOfWork:
        return FakeCrmUnitOfWork(self.store)

    @property
    def tables(self) -> CrmTables:
        return self.store.tables

    # --- people, teams, leads ------------------------------------------------------------------

    async def person(self, role: Role, name: str | None = None) -> Caller:
        user = User(
            id=uuid7(),
            email=f"{role.value.lower()}-{uuid.uuid4().hex[:6]}@example.com",
            role=role,
            created_at=self.clock.now(),
            full_name=name,
        )
        user.advance(UserStage.OTP_VERIFIED)
        async with self.uow() as uow:
            await uow.users.add(user)
            await uow.commit()
        return Caller(user_id=user.id, role=role, platform=Platform.MY_ANALYTICS_SCHOOL)

    def change_user(self, who: Caller, **fields: Any) -> None:
        """A change committed elsewhere (identity's side: a block, a deletion)."""

        def change(tables: IdentityTables) -> None:
            for name, value in fields.items():
                setattr(tables.users[who.user_id], name, value)

        self.store.identity.elsewhere(change)

    def email_of(self, who: Caller) -> str:
        return self.store.users[who.user_id].email

    async def floor(
        self,
        name: str,
        telecallers: int = 2,
        counsellors: int = 1,
        flags: dict[str, bool] | None = None,
        **profile: Any,
    ) -> Floor:
        head = await self.person(Role.SALES_HEAD, f"{name} Head")
        async with self.uow() as uow:
            await uow.head_profiles.add(
                SalesHeadProfile(
                    user_id=head.user_id,
                    display_name=f"{name} pool",
                    created_at=self.clock.now(),
                    updated_at=self.clock.now(),
                    page_flags=ALL_FLAGS if flags is None else flags,
                    **profile,
                )
            )
            await uow.commit()
        floor = Floor(head=head)
        for i in range(telecallers):
            floor.telecallers.append(await self.member(floor, f"{name} Caller {i + 1}"))
        for i in range(counsellors):
            floor.counsellors.append(
                await self.member(floor, f"{name} Counsellor {i + 1}", MemberRole.COUNSELLOR)
            )
        return floor

    async def member(
        self, floor: Floor, name: str, role: MemberRole = MemberRole.TELECALLER, **fields: Any
    ) -> Caller:
        person = await self.person(Role.SALES, name)
        self.clock.advance(seconds=1)  # a team lists its members by joining time
        member = TeamMember(
            id=uuid7(),
            sales_head_id=floor.head.user_id,
            user_id=person.user_id,
            member_role=role,
            joined_at=self.clock.now(),
            **fields,
        )
        async with self.uow() as uow:
            await uow.teams.add_member(member)
            await uow.commit()
        floor.members[person.user_id] = member
        return person

    async def add_leads(
        self,
        head: Caller | None,
        count: int,
        *,
        status: LeadStatus = LeadStatus.NEW,
        assigned_to: Caller | None = None,
        assigned_counsellor: Caller | None = None,
    ) -> list[uuid.UUID]:
        """Leads written straight into the store (independent of the intake service)."""
        ids = []
        async with self.uow() as uow:
            for _ in range(count):
                self._phones += 1
                lead = Lead(
                    id=uuid7(),
                    name=f"Lead {self._phones}",
                    phone_e164=f"+9198000{self._phones:05d}",
                    created_at=self.clock.now(),
                    updated_at=self.clock.now(),
                    status=status,
                    owning_sales_head_id=head.user_id if head else None,
                    assigned_to=assigned_to.user_id if assigned_to else None,
                    assigned_counsellor=assigned_counsellor.user_id
                    if assigned_counsellor
                    else None,
                )
                await uow.leads.add(lead)
                ids.append(lead.id)
            await uow.commit()
        return ids

    # --- what a test reads back ---------------------------------------------------------------

    def lead(self, lead_id: uuid.UUID) -> Lead:
        return self.tables.lead_out(self.tables.leads[lead_id])

    def events(self, kind: type[V]) -> list[V]:
        return [e for e in self.store.events if isinstance(e, kind)]

    def mails_to(self, who: Caller, template: str | None = None) -> list[OutboxMessage]:
        email = self.email_of(who)
        return [
            m
            for m in self.store.platform.messages.values()
            if m.recipient == email and (template is None or m.template == template)
        ]

    def tasks(self, name: str) -> list[tuple[dict[str, Any] | None, str | None]]:
        """(args, key) of every task of that name enqueued so far."""
        return [(args, key) for task, args, key in self.jobs.enqueued if task == name]


async def refused(call: Awaitable[Any], kind: type[E], code: str | None = None) -> E:
    """The error ``call`` raises; its code when one is given (the HTTP layer maps both)."""
    with pytest.raises(kind) as caught:
        await call
    if code is not None:
        assert caught.value.code == code, caught.value.detail
    return caught.value
