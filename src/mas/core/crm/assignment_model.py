"""Lead assignment: slots, team members, sales-head profiles, the bulk-request state machine, the
approval gate and the strategies that pick an assignee. Pure: no I/O.

Every pick carries a reason a person can read ("round-robin: next after Asha"); the service
stores it on the ``lead_assignments`` row, the activity and the ``lead.assigned`` event.
"""

from __future__ import annotations

import enum
import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta

import msgspec

from mas.core.crm.model import LeadStatus
from mas.core.identity.policy import Role, is_admin
from mas.core.platform.errors import FieldError, Forbidden, InvalidState, ValidationFailed

MAX_BULK_LEADS = 10_000
APPLY_CHUNK = 500
REQUEST_TTL = timedelta(hours=72)
MAX_LISTED_IDS = 50  # a 422 names at most this many offending ids


class Slot(enum.StrEnum):
    FIRST_LINE = "FIRST_LINE"  # raw_leads.assigned_to: the telecaller
    SECOND_LINE = "SECOND_LINE"  # raw_leads.assigned_counsellor: the counsellor


class AssignMethod(enum.StrEnum):
    MANUAL = "MANUAL"
    BULK = "BULK"
    ROUND_ROBIN = "ROUND_ROBIN"
    LEAST_LOADED = "LEAST_LOADED"  # auto-assign by the profile's other strategy
    TRANSFER = "TRANSFER"
    SYSTEM = "SYSTEM"


class MemberRole(enum.StrEnum):
    TELECALLER = "TELECALLER"
    COUNSELLOR = "COUNSELLOR"


SLOT_ROLES: dict[Slot, frozenset[MemberRole]] = {
    Slot.FIRST_LINE: frozenset({MemberRole.TELECALLER, MemberRole.COUNSELLOR}),
    Slot.SECOND_LINE: frozenset({MemberRole.COUNSELLOR}),
}


class BulkStrategy(enum.StrEnum):
    EXPLICIT = "EXPLICIT"
    ROUND_ROBIN = "ROUND_ROBIN"
    EVEN_SPLIT = "EVEN_SPLIT"


class AutoStrategy(enum.StrEnum):
    ROUND_ROBIN = "ROUND_ROBIN"
    LEAST_LOADED = "LEAST_LOADED"


PAGE_FLAGS = frozenset(
    {
        "leads",
        "import",
        "assign",
        "bulk_assign",
        "targets",
        "analytics",
        "tags",
        "export",
        "vendors",
    }
)


class SalesHeadProfile(msgspec.Struct, kw_only=True):
    user_id: uuid.UUID
    display_name: str
    created_at: datetime
    updated_at: datetime
    isolation_enabled: bool = True
    page_flags: dict[str, bool] = {}
    bulk_approval_required: bool = True
    bulk_approval_threshold: int | None = None  # None: SystemConfig crm.bulk_assign_threshold
    auto_assign_enabled: bool = False
    assignment_strategy: AutoStrategy = AutoStrategy.ROUND_ROBIN
    rr_cursor: int = 0
    updated_by: uuid.UUID | None = None

    def flag(self, name: str) -> bool:
        return bool(self.page_flags.get(name, False))


def check_page_flags(flags: Mapping[str, bool]) -> dict[str, bool]:
    unknown = sorted(set(flags) - PAGE_FLAGS)
    if unknown:
        raise ValidationFailed(
            f"unknown page flags: {', '.join(unknown)}",
            errors=[
                FieldError(
                    "page_flags",
                    f"unknown: {', '.join(unknown)}; known: {', '.join(sorted(PAGE_FLAGS))}",
                )
            ],
        )
    return {name: bool(on) for name, on in flags.items()}


def require_flag(profile: SalesHeadProfile | None, flag: str) -> None:
    """The CRM-side switch of a sales head's page; the identity permission is checked first."""
    if profile is None:
        raise Forbidden(
            "this sales head has no CRM profile yet: an ADMIN creates it", code="page_disabled"
        )
    if not profile.flag(flag):
        raise Forbidden(
            f"the '{flag}' page is switched off for this sales head", code="page_disabled"
        )


class TeamMember(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    sales_head_id: uuid.UUID
    user_id: uuid.UUID
    member_role: MemberRole
    joined_at: datetime
    daily_capacity: int | None = None
    available: bool = True
    active: bool = True
    left_at: datetime | None = None
    name: str = ""  # read-only, from the user

    def leave(self, now: datetime) -> None:
        if not self.active:
            raise InvalidState("team membership", "INACTIVE", "INACTIVE")
        self.active = False
        self.left_at = now


def member_problem(member: TeamMember | None, head_id: uuid.UUID, slot: Slot) -> str | None:
    """Why this member may not take ``slot`` of a lead in ``head_id``'s pool (None: may)."""
    if member is None or member.sales_head_id != head_id:
        return "not_in_team"
    if not member.active:
        return "inactive"
    if member.member_role not in SLOT_ROLES[slot]:
        return "wrong_member_role"
    return None


PROBLEM_TEXT = {
    "not_in_team": "not an active member of the pool head's team",
    "inactive": "no longer an active team member",
    "wrong_member_role": "SECOND_LINE needs a COUNSELLOR",
}


class Person(msgspec.Struct, frozen=True, kw_only=True):
    """The few user fields assignment needs (labels for reasons, emails for notices)."""

    id: uuid.UUID
    email: str
    role: Role
    name: str | None = None
    usable: bool = True  # not deleted, not blocked

    @property
    def label(self) -> str:
        return self.name or self.email


class LeadSlots(msgspec.Struct, frozen=True, kw_only=True):
    """What assignment reads of a lead: its pool, both slots, its status."""

    id: uuid.UUID
    status: LeadStatus
    owning_sales_head_id: uuid.UUID | None = None
    assigned_to: uuid.UUID | None = None
    assigned_counsellor: uuid.UUID | None = None
    deleted: bool = False

    def holder(self, slot: Slot) -> uuid.UUID | None:
        return self.assigned_to if slot is Slot.FIRST_LINE else self.assigned_counsellor


class SlotChange(msgspec.Struct, frozen=True, kw_only=True):
    """One slot of one lead moving from ``previous`` to ``assignee`` (None: unassigned)."""

    lead_id: uuid.UUID
    slot: Slot
    assignee_id: uuid.UUID | None
    previous_assignee_id: uuid.UUID | None
    method: AssignMethod
    reason: str
    request_id: uuid.UUID | None = None
    assigned_by: uuid.UUID | None = None


class Assignment(msgspec.Struct, frozen=True, kw_only=True):
    """A ``lead_assignments`` history row."""

    id: uuid.UUID
    raw_lead_id: uuid.UUID
    slot: Slot
    method: AssignMethod
    reason: str
    created_at: datetime
    assignee_id: uuid.UUID | None = None
    previous_assignee_id: uuid.UUID | None = None
    request_id: uuid.UUID | None = None
    assigned_by: uuid.UUID | None = None


class OwnershipTransfer(msgspec.Struct, frozen=True, kw_only=True):
    id: uuid.UUID
    to_head_id: uuid.UUID
    lead_ids: list[uuid.UUID]
    lead_count: int
    clear_assignees: bool
    reason: str
    performed_by: uuid.UUID
    created_at: datetime
    from_head_id: uuid.UUID | None = None


def check_single_assign(lead: LeadSlots, slot: Slot) -> None:
    if slot is Slot.FIRST_LINE and lead.status is LeadStatus.CONVERTED:
        raise InvalidState("lead first line", "CONVERTED", "ASSIGNED")


# --- bulk requests --------------------------------------------------------------------------


class RequestStatus(enum.StrEnum):
    PENDING = "PENDING"
    APPROVED = "APPROVED"
    REJECTED = "REJECTED"
    CANCELLED = "CANCELLED"
    EXPIRED = "EXPIRED"
    APPLYING = "APPLYING"
    APPLIED = "APPLIED"
    FAILED = "FAILED"


_R = RequestStatus
REQUEST_TRANSITIONS: dict[RequestStatus, frozenset[RequestStatus]] = {
    _R.PENDING: frozenset({_R.APPROVED, _R.REJECTED, _R.CANCELLED, _R.EXPIRED}),
    _R.APPROVED: frozenset({_R.APPLYING}),
    _R.APPLYING: frozenset({_R.APPLIED, _R.FAILED}),
    _R.FAILED: frozenset({_R.APPLYING}),
    _R.REJECTED: frozenset(),
    _R.CANCELLED: frozenset(),
    _R.EXPIRED: frozenset(),
    _R.APPLIED: frozenset(),
}


class BulkRequest(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    requested_by: uuid.UUID
    pool_head_id: uuid.UUID
    slot: Slot
    strategy: BulkStrategy
    lead_ids: list[uuid.UUID]
    assignee_ids: list[uuid.UUID]
    lead_count: int
    reason: str
    status: RequestStatus
    expires_at: datetime
    created_at: datetime
    updated_at: datetime
    explicit_map: dict[str, uuid.UUID] | None = None
    decided_by: uuid.UUID | None = None
    decided_at: datetime | None = None
    decision_note: str | None = None
    applied_count: int = 0
    skipped_count: int = 0
    last_error: str | None = None

    def move(self, target: RequestStatus) -> None:
        if target not in REQUEST_TRANSITIONS[self.status]:
            raise InvalidState("assignment request", self.status.value, target.value)
        self.status = target

    def decide(
        self, target: RequestStatus, by: uuid.UUID | None, now: datetime, note: str | None
    ) -> None:
        """``by`` None: the approval gate decided (the request never needed a person)."""
        self.move(target)
        self.decided_by = by
        self.decided_at = now
        self.decision_note = note


class Gate(enum.StrEnum):
    IMMEDIATE = "IMMEDIATE"
    NEEDS_APPROVAL = "NEEDS_APPROVAL"


def effective_threshold(profile: SalesHeadProfile | None, default: int) -> int:
    if profile is not None and profile.bulk_approval_threshold is not None:
        return profile.bulk_approval_threshold
    return default


def bulk_gate(
    role: Role, profile: SalesHeadProfile | None, lead_count: int, default_threshold: int
) -> tuple[Gate, str]:
    """Whether a bulk assignment applies now, and why (the why ends up in every reason)."""
    if is_admin(role):
        return Gate.IMMEDIATE, f"applied immediately ({role.value})"
    if role is not Role.SALES_HEAD:
        raise Forbidden("only a sales head or an ADMIN assigns leads", code="role_forbidden")
    require_flag(profile, "bulk_assign")
    assert profile is not None
    if not profile.bulk_approval_required:
        return Gate.IMMEDIATE, "applied immediately (no approval required for this head)"
    threshold = effective_threshold(profile, default_threshold)
    if lead_count <= threshold:
        return Gate.IMMEDIATE, f"applied immediately ({lead_count} leads <= threshold {threshold})"
    return Gate.NEEDS_APPROVAL, f"{lead_count} leads > threshold {threshold}: needs ADMIN approval"


def offending_ids(ids: Sequence[uuid.UUID]) -> str:
    shown = ", ".join(str(i) for i in ids[:MAX_LISTED_IDS])
    more = len(ids) - MAX_LISTED_IDS
    return f"{shown} (+{more} more)" if more > 0 else shown


def distribute(
    strategy: BulkStrategy,
    lead_ids: Sequence[uuid.UUID],
    assignee_ids: Sequence[uuid.UUID],
    explicit_map: Mapping[str, uuid.UUID] | None = None,
) -> dict[uuid.UUID, tuple[uuid.UUID, str]]:
    """lead -> (assignee, how). Depends only on the frozen request, so a rerun picks the same."""
    out: dict[uuid.UUID, tuple[uuid.UUID, str]] = {}
    if strategy is BulkStrategy.EXPLICIT:
        for lead_id in lead_ids:
            out[lead_id] = ((explicit_map or {})[str(lead_id)], "explicit pair")
        return out
    n = len(assignee_ids)
    if strategy is BulkStrategy.ROUND_ROBIN:
        for i, lead_id in enumerate(lead_ids):
            out[lead_id] = (assignee_ids[i % n], f"round-robin, turn {i % n + 1} of {n}")
        return out
    base, extra = divmod(len(lead_ids), n)
    i = 0
    for k, assignee in enumerate(assignee_ids):
        for _ in range(base + (1 if k < extra else 0)):
            out[lead_ids[i]] = (assignee, f"even split, share {k + 1} of {n}")
            i += 1
    return out


def preview(
    strategy: BulkStrategy,
    lead_ids: Sequence[uuid.UUID],
    assignee_ids: Sequence[uuid.UUID],
    explicit_map: Mapping[str, uuid.UUID] | None = None,
) -> dict[uuid.UUID, int]:
    counts: dict[uuid.UUID, int] = dict.fromkeys(assignee_ids, 0)
    for assignee, _ in distribute(strategy, lead_ids, assignee_ids, explicit_map).values():
        counts[assignee] = counts.get(assignee, 0) + 1
    return counts


def bulk_reason(request_id: uuid.UUID, approval: str, how: str) -> str:
    return f"bulk request {request_id} {approval}: {how}"[:500]


# --- auto-assign strategies ------------------------------------------------------------------


class Candidate(msgspec.Struct, kw_only=True):
    """A team member as a strategy sees them; ``assigned_today`` grows as leads are handed out."""

    user_id: uuid.UUID
    label: str
    active: bool = True
    available: bool = True
    daily_capacity: int | None = None
    assigned_today: int = 0

    def blocked_by(self) -> str | None:
        if not self.active:
            return "inactive"
        if not self.available:
            return "unavailable"
        if self.daily_capacity is not None and self.assigned_today >= self.daily_capacity:
            return f"at daily capacity {self.daily_capacity}"
        return None


class Pick(msgspec.Struct, frozen=True, kw_only=True):
    lead_id: uuid.UUID
    assignee_id: uuid.UUID
    reason: str


def _skipped(notes: list[str]) -> str:
    return f" (skipped {'; '.join(notes)})" if notes else ""


def assign_round_robin(
    members: Sequence[Candidate], leads: Sequence[uuid.UUID], cursor: int
) -> tuple[list[Pick], int]:
    """Hand ``leads`` out in turn from position ``cursor``; returns the picks and the next cursor.

    A member who is inactive, unavailable or at daily capacity is passed over; a lead nobody can
    take gets no pick (it stays unassigned).
    """
    picks: list[Pick] = []
    n = len(members)
    if n == 0:
        return picks, cursor
    position = cursor % n
    for lead_id in leads:
        notes: list[str] = []
        for step in range(n):
            index = (position + step) % n
            member = members[index]
            why = member.blocked_by()
            if why is not None:
                notes.append(f"{member.label}: {why}")
                continue
            previous = members[(index - 1) % n].label
            member.assigned_today += 1
            picks.append(
                Pick(
                    lead_id=lead_id,
                    assignee_id=member.user_id,
                    reason=f"round-robin: next after {previous}{_skipped(notes)}"[:500],
                )
            )
            position = (index + 1) % n
            break
        else:
            break  # nobody can take more today; the remaining leads stay unassigned
    return picks, position


def assign_least_loaded(
    members: Sequence[Candidate],
    open_counts: Mapping[uuid.UUID, int],
    leads: Sequence[uuid.UUID],
) -> list[Pick]:
    """Give each lead to the eligible member with the fewest open leads (ties: list order)."""
    load = {m.user_id: open_counts.get(m.user_id, 0) for m in members}
    picks: list[Pick] = []
    for lead_id in leads:
        eligible = [m for m in members if m.blocked_by() is None]
        if not eligible:
            break
        notes = [f"{m.label}: {why}" for m in members if (why := m.blocked_by()) is not None]
        chosen = min(eligible, key=lambda m: load[m.user_id])
        count = load[chosen.user_id]
        noun = "open lead" if count == 1 else "open leads"
        picks.append(
            Pick(
                lead_id=lead_id,
                assignee_id=chosen.user_id,
                reason=f"least-loaded: {count} {noun}{_skipped(notes)}"[:500],
            )
        )
        load[chosen.user_id] = count + 1
        chosen.assigned_today += 1
    return picks
