"""One lead arriving through any door, de-duplicated into the single pool (spec §5).

``run_intake`` is the rule every door uses (manual add, campaign form, and the CSV and vendor
imports): replay-safe on (channel, channel_ref), match by phone, alternate phone, then email,
merge or create, one ``lead_intakes`` row per arrival, journal lines and events in the same
transaction. Two arrivals of one new phone race on the partial unique index: the loser gets
``DuplicateKey`` and its caller runs the whole unit again, which then finds the winner's lead
(``intake_with_retry`` does exactly that).

A person's intake (manual add) carries the caller's scope. When its phone or email matches a
lead the caller may not change (a SALES user's match outside their own leads, a sales head's
outside their pool, isolation on or off), nothing is merged and nothing about that lead is
revealed: the caller gets 409 ``lead_exists_elsewhere`` with no id or field, and the lead's
journal gets an ``INTAKE_REFUSED`` line naming who tried, so its owner sees the attempt (the
line is committed before the 409). The doors without a person (campaign forms, CSV and vendor
imports) keep the single-pool rule: they merge into any pool without moving the lead, and answer
nothing about it (the public form always says 202 ``received``; imports and vendor pulls report
counts only).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Annotated, Any, TypeVar

import msgspec

from mas.core.crm.contact import (
    FREE_TEXT,
    ExtraData,
    LeadContact,
    TypedEmail,
    TypedPhone,
    check_extra_data,
    clean_contact,
    clean_name,
    clean_text,
)
from mas.core.crm.events import LeadAssigned, LeadCreated, LeadStatusChanged
from mas.core.crm.lead_access import pool_for_new_lead, scope_of
from mas.core.crm.merge_rule import REOPENED_AS, merge
from mas.core.crm.model import (
    ActivityType,
    IncomingLead,
    IntakeChannel,
    IntakeOutcome,
    Lead,
    LeadIntake,
    LeadSource,
    activity,
    slugify_tag,
)
from mas.core.crm.phones import PhoneNormalizer
from mas.core.crm.ports.uow import CrmUnitOfWork
from mas.core.crm.scope import LeadScope
from mas.core.identity.policy import Caller, Role
from mas.core.platform.bounds import schema_extra
from mas.core.platform.errors import Conflict, FieldError, ValidationFailed
from mas.core.platform.ids import uuid7
from mas.core.platform.ports.clock import Clock
from mas.core.platform.ports.uow import DuplicateKey, UnitOfWorkFactory

log = logging.getLogger("mas.crm")

T = TypeVar("T")
TagText = Annotated[str, msgspec.Meta(max_length=40)]


class NewLead(LeadContact, forbid_unknown_fields=True, kw_only=True):
    """Manual "Add lead": a phone or an email is required."""

    email: TypedEmail | None = None
    phone: TypedPhone | None = None
    phone_alt: TypedPhone | None = None
    extra_data: ExtraData = {}
    tags: Annotated[
        list[TagText],
        msgspec.Meta(
            max_length=20, extra_json_schema=schema_extra(items={"type": "string", "maxLength": 40})
        ),
    ] = []


class NewPoolLead(NewLead, forbid_unknown_fields=True, kw_only=True):
    """Manual add by a sales head (into their pool) or an admin (into any pool)."""

    owning_sales_head_id: uuid.UUID | None = None


class IntakeCommand(msgspec.Struct, kw_only=True):
    channel: IntakeChannel
    channel_ref: str
    source: LeadSource
    incoming: IncomingLead
    source_detail: str | None = None
    pool: uuid.UUID | None = None  # for a new lead only: a merge never moves a lead
    assign_to: uuid.UUID | None = None  # idem
    actor_id: uuid.UUID | None = None
    payload: dict[str, Any] = {}
    scope: LeadScope | None = None
    """A person's intake: a match they may not change is refused. None: a door without a
    person (campaign form, import), which merges into any pool."""


class LeadExistsElsewhere(Conflict):
    """The phone or email belongs to a lead outside the caller's leads (no id, no field)."""

    code = "lead_exists_elsewhere"

    def __init__(self) -> None:
        super().__init__(
            "a lead with this phone or email already exists outside your leads; "
            "ask your sales head to transfer it to you"
        )


class IntakeResult(msgspec.Struct, frozen=True, kw_only=True):
    lead_id: uuid.UUID
    outcome: IntakeOutcome
    replayed: bool = False
    warnings: list[str] = []

    @property
    def merged(self) -> bool:
        return self.outcome is not IntakeOutcome.CREATED


class LeadReceipt(msgspec.Struct, frozen=True, kw_only=True):
    """``lead`` is left out when the lead no longer lies in the caller's scope (a replayed
    add after the lead was transferred away)."""

    id: uuid.UUID
    merged: bool
    outcome: IntakeOutcome
    warnings: list[str]
    lead: Lead | None


async def run_intake(uow: CrmUnitOfWork, cmd: IntakeCommand, now: datetime) -> IntakeResult:
    """Apply §5 inside ``uow`` (not committed). ``DuplicateKey``: roll back and run again."""
    prior = await uow.leads.intake_by_ref(cmd.channel, cmd.channel_ref)
    if prior is not None:
        return IntakeResult(lead_id=prior.raw_lead_id, outcome=prior.outcome, replayed=True)
    incoming = cmd.incoming
    lead = await uow.leads.find_match(incoming.phone_e164, incoming.phone_alt, incoming.email)
    if lead is not None and cmd.scope is not None:
        if await uow.leads.get(lead.id, cmd.scope, write=True) is None:
            await _refuse(uow, lead, cmd, now)
    if lead is None:
        lead, warnings = await _create(uow, cmd, now)
        outcome = IntakeOutcome.CREATED
    else:
        outcome, warnings = await _merge(uow, lead, cmd, now)
    await uow.leads.add_intake(
        LeadIntake(
            id=uuid7(),
            raw_lead_id=lead.id,
            channel=cmd.channel,
            channel_ref=cmd.channel_ref[:100],
            outcome=outcome,
            payload=cmd.payload,
            created_at=now,
        )
    )
    return IntakeResult(lead_id=lead.id, outcome=outcome, warnings=warnings)


async def _create(uow: CrmUnitOfWork, cmd: IntakeCommand, now: datetime) -> tuple[Lead, list[str]]:
    incoming = cmd.incoming
    arrived = msgspec.structs.asdict(incoming)
    lead = Lead(
        **{**arrived, "extra_data": dict(incoming.extra_data), "tags": []},
        id=uuid7(),
        created_at=now,
        updated_at=now,
        source=cmd.source,
        source_detail=cmd.source_detail,
        owning_sales_head_id=cmd.pool,
        assigned_to=cmd.assign_to,
        last_activity_at=now,
    )
    await uow.leads.add(lead)
    tags, warnings = await _tag(uow, lead.id, incoming.tags, cmd.actor_id, now)
    journal = [
        activity(
            lead.id,
            ActivityType.CREATED,
            f"Lead created ({cmd.channel.value.lower()})",
            now,
            cmd.actor_id,
            channel=cmd.channel.value,
            source=cmd.source.value,
            tags=tags,
        )
    ]
    uow.record(
        LeadCreated(
            lead_id=lead.id,
            source=cmd.source.value,
            channel=cmd.channel.value,
            owning_sales_head_id=lead.owning_sales_head_id,
            assigned_to=lead.assigned_to,
        )
    )
    if cmd.assign_to is not None:
        reason = "added by the salesperson"
        await uow.leads.record_self_assignment(lead.id, cmd.assign_to, reason, now)
        journal.append(
            activity(
                lead.id,
                ActivityType.ASSIGNED,
                "Assigned to the salesperson who added it",
                now,
                cmd.actor_id,
                slot="FIRST_LINE",
                assignee_id=str(cmd.assign_to),
            )
        )
        uow.record(
            LeadAssigned(
                lead_id=lead.id,
                slot="FIRST_LINE",
                assignee_id=cmd.assign_to,
                previous_assignee_id=None,
                method="MANUAL",
                reason=reason,
            )
        )
    await uow.leads.append(*journal)
    return lead, warnings


async def _merge(
    uow: CrmUnitOfWork, lead: Lead, cmd: IntakeCommand, now: datetime
) -> tuple[IntakeOutcome, list[str]]:
    before = lead.status
    result = merge(lead, cmd.incoming)
    if not await uow.leads.save(lead):
        raise DuplicateKey(f"lead {lead.id} changed during the intake")
    tags, warnings = await _tag(uow, lead.id, result.new_tags, cmd.actor_id, now)
    journal = [
        activity(
            lead.id,
            ActivityType.INTAKE_MERGED,
            f"Re-inquiry through {cmd.channel.value.lower()}",
            now,
            cmd.actor_id,
            channel=cmd.channel.value,
            channel_ref=cmd.channel_ref[:100],
            filled=result.filled,
            tags=tags,
        )
    ]
    if result.reopened:
        journal.append(
            activity(
                lead.id,
                ActivityType.REOPENED,
                f"Reopened by a re-inquiry (was {before.value})",
                now,
                cmd.actor_id,
                **{"from": before.value, "to": REOPENED_AS.value},
            )
        )
        uow.record(
            LeadStatusChanged(
                lead_id=lead.id,
                from_status=before.value,
                to_status=REOPENED_AS.value,
                version=lead.version,
                actor_id=cmd.actor_id,
            )
        )
    await uow.leads.append(*journal)
    return (IntakeOutcome.REOPENED if result.reopened else IntakeOutcome.MERGED), warnings


async def _refuse(uow: CrmUnitOfWork, lead: Lead, cmd: IntakeCommand, now: datetime) -> None:
    """Journal the attempt on the lead (kept: ``intake_with_retry`` commits it), then 409."""
    await uow.leads.append(
        activity(
            lead.id,
            ActivityType.INTAKE_REFUSED,
            f"Someone outside this lead's team tried to add it again "
            f"({cmd.channel.value.lower()}); nothing was merged",
            now,
            cmd.actor_id,
            channel=cmd.channel.value,
        )
    )
    raise LeadExistsElsewhere()


async def _tag(
    uow: CrmUnitOfWork, lead_id: uuid.UUID, names: list[str], actor: uuid.UUID | None, now: datetime
) -> tuple[list[str], list[str]]:
    if not names:
        return [], []
    found = await uow.leads.tags_named(names)
    await uow.leads.attach_tags([lead_id], [t.id for t in found], actor, now)
    known = {t.name for t in found}
    missing = [n for n in names if n not in known]
    return sorted(known), [f"tag '{n}' does not exist; not attached" for n in missing]


async def intake_with_retry(
    uow_factory: UnitOfWorkFactory[CrmUnitOfWork], work: Callable[[CrmUnitOfWork], Awaitable[T]]
) -> T:
    """Run ``work`` in a fresh unit of work and commit; once more after a lost race. A
    refused intake commits its journal line, then raises."""
    for attempt in (1, 2):
        try:
            async with uow_factory() as uow:
                try:
                    result = await work(uow)
                except LeadExistsElsewhere:
                    await uow.commit()
                    raise
                await uow.commit()
                return result
        except DuplicateKey:
            if attempt == 2:
                break
            log.info("crm.intake_retry")
    raise Conflict("the lead is being changed by someone else; try again", code="lead_busy")


def incoming_from(data: NewLead, phones: PhoneNormalizer) -> tuple[IncomingLead, list[str]]:
    """The typed form, cleaned; the warnings say what was kept aside or skipped."""
    contact = clean_contact(phones, phone=data.phone, email=data.email, phone_alt=data.phone_alt)
    extra = check_extra_data({**data.extra_data, **contact.raw_extra})
    tags, warnings = tag_names(data.tags)
    incoming = IncomingLead(
        **{name: clean_text(getattr(data, name), limit) for name, limit in FREE_TEXT.items()},
        name=clean_name(data.name),
        phone_e164=contact.phone_e164,
        email=contact.email,
        phone_alt=contact.phone_alt,
        session_year=data.session_year,
        extra_data=extra,
        tags=tags,
    )
    return incoming, contact.warnings + warnings


def tag_names(raw: list[str]) -> tuple[list[str], list[str]]:
    """Tag names as slugs; a name that cannot be one is skipped with a warning."""
    names: set[str] = set()
    warnings = []
    for text in raw:
        try:
            names.add(slugify_tag(text))
        except ValidationFailed:
            warnings.append(f"'{text}' is not a tag name; skipped")
    return sorted(names), warnings


class LeadIntakeService:
    def __init__(
        self, *, uow: UnitOfWorkFactory[CrmUnitOfWork], clock: Clock, phones: PhoneNormalizer
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._phones = phones

    async def add_manual(
        self, caller: Caller, data: NewLead, idempotency_key: str | None = None
    ) -> LeadReceipt:
        """Manual add. A salesperson's lead is assigned to them and lands in their head's pool.
        A phone or email of a lead the caller may not change: 409 ``lead_exists_elsewhere``."""
        incoming, warnings = incoming_from(data, self._phones)
        requested = data.owning_sales_head_id if isinstance(data, NewPoolLead) else None
        ref = f"{caller.user_id}:{idempotency_key or uuid7()}"

        async def work(uow: CrmUnitOfWork) -> LeadReceipt:
            pool, assignee = await self._placement(uow, caller, requested)
            scope = await scope_of(uow, caller)
            cmd = IntakeCommand(
                channel=IntakeChannel.MANUAL,
                channel_ref=ref,
                source=LeadSource.MANUAL,
                incoming=incoming,
                source_detail=f"added by {caller.role.value.lower()}",
                pool=pool,
                assign_to=assignee,
                actor_id=caller.user_id,
                payload=msgspec.to_builtins(data),
                scope=None if caller.is_admin else scope,
            )
            result = await run_intake(uow, cmd, self._clock.now())
            visible = await uow.leads.get(result.lead_id, scope)
            return LeadReceipt(
                id=result.lead_id,
                merged=result.merged,
                outcome=result.outcome,
                warnings=warnings + result.warnings,
                lead=visible,
            )

        receipt = await intake_with_retry(self._uow, work)
        log.info(
            "crm.lead_added",
            extra={"lead_id": str(receipt.id), "outcome": receipt.outcome.value},
        )
        return receipt

    async def _placement(
        self, uow: CrmUnitOfWork, caller: Caller, requested: uuid.UUID | None
    ) -> tuple[uuid.UUID | None, uuid.UUID | None]:
        if caller.role is Role.SALES:
            return await uow.leads.head_of(caller.user_id), caller.user_id
        if caller.is_admin and requested is not None:
            head = await uow.users.get(requested)
            if head is None or head.role is not Role.SALES_HEAD or head.is_deleted:
                raise ValidationFailed(
                    "owning_sales_head_id is not a sales head",
                    code="not_sales_head",
                    errors=[FieldError("owning_sales_head_id", "not a sales head")],
                )
        return pool_for_new_lead(caller, requested), None
