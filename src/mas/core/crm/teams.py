"""Sales-head profiles (flags, isolation, thresholds, auto-assign) and team membership.

Leaving a team (deactivation or a move to another head) is refused with 409 ``has_open_leads``
while the member holds open leads, unless ``reassign_to`` names a member of the same team: then
every open lead moves to them in the same transaction, each with a TRANSFER history row.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

import msgspec

from mas.core.crm import notices
from mas.core.crm.assignment_access import (
    pool_filter,
    record_changes,
    sales_head,
)
from mas.core.crm.assignment_model import (
    PAGE_FLAGS,
    PROBLEM_TEXT,
    AssignMethod,
    AutoStrategy,
    MemberRole,
    SalesHeadProfile,
    Slot,
    SlotChange,
    TeamMember,
    check_page_flags,
    member_problem,
)
from mas.core.crm.page_switches import PageSwitches
from mas.core.crm.ports.uow import CrmUnitOfWork
from mas.core.crm.targets_model import day_bounds, local_today
from mas.core.identity.policy import Caller, Role
from mas.core.platform.bounds import schema_extra
from mas.core.platform.errors import (
    Conflict,
    FieldError,
    Forbidden,
    InvalidState,
    NotFound,
    ValidationFailed,
)
from mas.core.platform.ids import uuid7
from mas.core.platform.ports.clock import Clock
from mas.core.platform.ports.messenger import Messenger
from mas.core.platform.ports.uow import DuplicateKey, UnitOfWorkFactory

Threshold = Annotated[int, msgspec.Meta(ge=1, le=1_000_000)]
# Litestar drops a bound of 0 from the document (it tests the bound for truth): stated again.
Capacity = Annotated[int, msgspec.Meta(ge=0, le=10_000, extra_json_schema=schema_extra(minimum=0))]
PageFlags = Annotated[
    dict[Annotated[str, msgspec.Meta(max_length=64)], bool],
    msgspec.Meta(
        max_length=50,
        # ``check_page_flags`` refuses a name it does not know: the document lists them.
        extra_json_schema=schema_extra(
            properties={flag: {"type": "boolean"} for flag in sorted(PAGE_FLAGS)},
            additional_properties=False,
        ),
    ),
]
UNSET = msgspec.UNSET


class NewProfile(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    user_id: uuid.UUID
    display_name: Annotated[str, msgspec.Meta(min_length=1, max_length=120)]
    isolation_enabled: bool = True
    page_flags: PageFlags = {}
    bulk_approval_required: bool = True
    bulk_approval_threshold: Threshold | None = None
    auto_assign_enabled: bool = False
    assignment_strategy: AutoStrategy = AutoStrategy.ROUND_ROBIN


class ProfileChanges(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Absent fields stay; ``page_flags`` given are merged into the current flags."""

    display_name: Annotated[str, msgspec.Meta(min_length=1, max_length=120)] | msgspec.UnsetType = (
        UNSET
    )
    isolation_enabled: bool | msgspec.UnsetType = UNSET
    page_flags: PageFlags | msgspec.UnsetType = UNSET
    bulk_approval_required: bool | msgspec.UnsetType = UNSET
    bulk_approval_threshold: Threshold | None | msgspec.UnsetType = UNSET
    auto_assign_enabled: bool | msgspec.UnsetType = UNSET
    assignment_strategy: AutoStrategy | msgspec.UnsetType = UNSET


class NewMember(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    sales_head_id: uuid.UUID
    user_id: uuid.UUID
    member_role: MemberRole
    daily_capacity: Capacity | None = None
    available: bool = True


class MemberChanges(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """``sales_head_id``: move to another team; ``active: false``: leave the team. Either needs
    ``reassign_to`` while the member holds open leads."""

    member_role: MemberRole | msgspec.UnsetType = UNSET
    daily_capacity: Capacity | None | msgspec.UnsetType = UNSET
    available: bool | msgspec.UnsetType = UNSET
    sales_head_id: uuid.UUID | msgspec.UnsetType = UNSET
    # Only ``false`` (leave the team): a membership is not reactivated.
    active: (
        Annotated[bool, msgspec.Meta(extra_json_schema=schema_extra(enum=[False]))]
        | msgspec.UnsetType
    ) = UNSET
    reassign_to: uuid.UUID | None = None


class TeamLine(msgspec.Struct, frozen=True, kw_only=True):
    member_id: uuid.UUID
    sales_head_id: uuid.UUID
    user_id: uuid.UUID
    name: str
    member_role: MemberRole
    daily_capacity: int | None
    available: bool
    active: bool
    joined_at: datetime
    left_at: datetime | None
    open_leads: int
    assigned_today: int


class TeamService:
    def __init__(
        self,
        *,
        uow: UnitOfWorkFactory[CrmUnitOfWork],
        clock: Clock,
        zone: str,
        switches: PageSwitches,
        messenger: Messenger,
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._zone = zone
        self._switches = switches  # its cached profiles are dropped after a change
        self._messenger = messenger

    # --- profiles ---------------------------------------------------------------------------

    async def profiles(self) -> list[SalesHeadProfile]:
        async with self._uow() as uow:
            return await uow.head_profiles.all()

    async def profile(self, user_id: uuid.UUID) -> SalesHeadProfile:
        async with self._uow() as uow:
            found = await uow.head_profiles.get(user_id)
        if found is None:
            raise NotFound("this sales head has no profile", code="profile_not_found")
        return found

    async def create_profile(self, actor: Caller, cmd: NewProfile) -> SalesHeadProfile:
        now = self._clock.now()
        profile = SalesHeadProfile(
            user_id=cmd.user_id,
            display_name=cmd.display_name.strip(),
            created_at=now,
            updated_at=now,
            isolation_enabled=cmd.isolation_enabled,
            page_flags=check_page_flags(cmd.page_flags),
            bulk_approval_required=cmd.bulk_approval_required,
            bulk_approval_threshold=cmd.bulk_approval_threshold,
            auto_assign_enabled=cmd.auto_assign_enabled,
            assignment_strategy=cmd.assignment_strategy,
            updated_by=actor.user_id,
        )
        async with self._uow() as uow:
            await _must_be(uow, cmd.user_id, Role.SALES_HEAD, "user_id")
            try:
                await uow.head_profiles.add(profile)
            except DuplicateKey:
                raise Conflict(
                    "this sales head has a profile already", code="profile_exists"
                ) from None
            await uow.commit()
        await self._switches.forget(profile.user_id)
        return profile

    async def update_profile(
        self, actor: Caller, user_id: uuid.UUID, changes: ProfileChanges
    ) -> SalesHeadProfile:
        async with self._uow() as uow:
            profile = await uow.head_profiles.get(user_id, lock=True)
            if profile is None:
                raise NotFound("this sales head has no profile", code="profile_not_found")
            for name in msgspec.structs.asdict(changes):
                value = getattr(changes, name)
                if value is UNSET:
                    continue
                if name == "page_flags":
                    value = {**profile.page_flags, **check_page_flags(value)}
                setattr(profile, name, value)
            profile.updated_at = self._clock.now()
            profile.updated_by = actor.user_id
            await uow.head_profiles.save(profile)
            await uow.commit()
        await self._switches.forget(user_id)
        return profile

    # --- members ----------------------------------------------------------------------------

    async def team(
        self, actor: Caller, head_id: uuid.UUID | None, include_inactive: bool = False
    ) -> list[TeamLine]:
        now = self._clock.now()
        async with self._uow() as uow:
            if not actor.is_admin and actor.role is not Role.SALES_HEAD:
                raise Forbidden("only a sales head or an ADMIN reads teams", code="role_forbidden")
            pool, empty = pool_filter(actor, head_id)
            if empty:
                return []
            members = await uow.teams.members(pool, active_only=not include_inactive)
            ids = [m.user_id for m in members]
            open_counts = await uow.assignments.open_lead_counts(ids)
            since, _ = day_bounds(local_today(now, self._zone), self._zone)
            today = await uow.assignments.assigned_since(ids, since)
        return [
            TeamLine(
                member_id=m.id,
                sales_head_id=m.sales_head_id,
                user_id=m.user_id,
                name=m.name,
                member_role=m.member_role,
                daily_capacity=m.daily_capacity,
                available=m.available,
                active=m.active,
                joined_at=m.joined_at,
                left_at=m.left_at,
                open_leads=open_counts.get(m.user_id, 0) if m.active else 0,
                assigned_today=today.get(m.user_id, 0) if m.active else 0,
            )
            for m in members
        ]

    async def add_member(self, actor: Caller, cmd: NewMember) -> TeamMember:
        now = self._clock.now()
        member = TeamMember(
            id=uuid7(),
            sales_head_id=cmd.sales_head_id,
            user_id=cmd.user_id,
            member_role=cmd.member_role,
            joined_at=now,
            daily_capacity=cmd.daily_capacity,
            available=cmd.available,
        )
        async with self._uow() as uow:
            await sales_head(uow, cmd.sales_head_id, "sales_head_id")
            await _must_be(uow, cmd.user_id, Role.SALES, "user_id")
            if await uow.teams.membership_of(cmd.user_id) is not None:
                raise Conflict("this salesperson is already in a team", code="already_in_team")
            try:
                await uow.teams.add_member(member)
            except DuplicateKey:
                raise Conflict(
                    "this salesperson is already in a team", code="already_in_team"
                ) from None
            await uow.commit()
        return member

    async def update_member(
        self, actor: Caller, member_id: uuid.UUID, changes: MemberChanges
    ) -> TeamMember:
        now = self._clock.now()
        if changes.active is True:
            raise ValidationFailed(
                "a membership is not reactivated: add the salesperson again",
                code="no_reactivation",
                errors=[FieldError("active", "only false (leave the team) is accepted")],
            )
        async with self._uow() as uow:
            member = await uow.teams.member(member_id)
            if member is None:
                raise NotFound("no such team membership", code="member_not_found")
            if not member.active:
                raise InvalidState("team membership", "INACTIVE", "CHANGED")
            moving = changes.sales_head_id not in (UNSET, member.sales_head_id)
            if moving:
                assert isinstance(changes.sales_head_id, uuid.UUID)
                await sales_head(uow, changes.sales_head_id, "sales_head_id")
            for name in ("member_role", "daily_capacity", "available"):
                value = getattr(changes, name)
                if value is not UNSET:
                    setattr(member, name, value)
            if not (moving or changes.active is False):
                await uow.teams.save_member(member)
                await uow.commit()
                return member
            await self._hand_over(uow, actor, member, changes.reassign_to, now)
            member.leave(now)
            await uow.teams.save_member(member)
            if moving:
                assert isinstance(changes.sales_head_id, uuid.UUID)
                member = TeamMember(
                    id=uuid7(),
                    sales_head_id=changes.sales_head_id,
                    user_id=member.user_id,
                    member_role=member.member_role,
                    joined_at=now,
                    daily_capacity=member.daily_capacity,
                    available=member.available,
                    name=member.name,
                )
                await uow.teams.add_member(member)
            await uow.commit()
        return member

    async def _hand_over(
        self,
        uow: CrmUnitOfWork,
        actor: Caller,
        member: TeamMember,
        reassign_to: uuid.UUID | None,
        now: datetime,
    ) -> None:
        held = await uow.assignments.open_leads_held(member.user_id)
        if not held:
            return
        if reassign_to is None:
            raise Conflict(
                f"{member.name or member.user_id} holds {len(held)} open leads: "
                "give reassign_to (a member of the same team) to move them",
                code="has_open_leads",
            )
        target = await uow.teams.membership_of(reassign_to)
        slots = {slot for lead in held for slot in Slot if lead.holder(slot) == member.user_id}
        for slot in sorted(slots):
            problem = member_problem(target, member.sales_head_id, slot)
            if problem is None and reassign_to == member.user_id:
                problem = "not_in_team"
            if problem is not None:
                raise ValidationFailed(
                    f"reassign_to is {PROBLEM_TEXT[problem]}",
                    code=problem,
                    errors=[FieldError("reassign_to", PROBLEM_TEXT[problem])],
                )
        people = await uow.people.by_ids([member.user_id, reassign_to, actor.user_id])
        reason = (
            f"handed over from {people[member.user_id].label}, who left the team, "
            f"by {people[actor.user_id].label}"
        )[:500]
        changes = [
            SlotChange(
                lead_id=lead.id,
                slot=slot,
                assignee_id=reassign_to,
                previous_assignee_id=member.user_id,
                method=AssignMethod.TRANSFER,
                reason=reason,
                assigned_by=actor.user_id,
            )
            for lead in held
            for slot in Slot
            if lead.holder(slot) == member.user_id
        ]
        labels = {pid: p.label for pid, p in people.items()}
        await record_changes(uow, changes, labels, now)
        await notices.leads_assigned(
            self._messenger,
            uow,
            f"crm.handover:{member.id}",
            people[reassign_to],
            len(held),
            Slot.FIRST_LINE if Slot.FIRST_LINE in slots else Slot.SECOND_LINE,
            reason,
        )


async def _must_be(uow: CrmUnitOfWork, user_id: uuid.UUID, role: Role, field: str) -> None:
    person = (await uow.people.by_ids([user_id])).get(user_id)
    if person is None or not person.usable or person.role is not role:
        raise ValidationFailed(
            f"that user is not an active {role.value}",
            code=f"not_{role.value.lower()}",
            errors=[FieldError(field, f"must be an active {role.value} user")],
        )
