"""Follow-ups: schedule, complete, cancel, reschedule; the salesperson's agenda; the job that
marks missed ones and the morning digest email.

``lead.next_follow_up_at`` (the earliest pending follow-up) is recomputed with every change.
"""

from __future__ import annotations

import enum
import logging
import uuid
from collections.abc import Mapping
from datetime import date, datetime, timedelta
from typing import Annotated, Any
from zoneinfo import ZoneInfo

import msgspec
from msgspec import UNSET, UnsetType

from mas.core.crm import notices
from mas.core.crm.model import (
    MISSED_GRACE_HOURS,
    ActivityType,
    FollowUp,
    FollowUpChannel,
    FollowUpStatus,
    LeadStatus,
    StatusChange,
    activity,
)
from mas.core.crm.ports.uow import CrmUnitOfWork
from mas.core.crm.queries import (
    FollowUpItem,
    FollowUpWindow,
    day_start,
    local_date,
    local_midnight,
    window_query,
)
from mas.core.crm.service import save_or_conflict, status_journal, transition, writable
from mas.core.identity.policy import ADMIN_ROLES, Caller, Role
from mas.core.platform.errors import Conflict, FieldError, NotFound, ValidationFailed
from mas.core.platform.ids import uuid7
from mas.core.platform.ports.clock import Clock
from mas.core.platform.ports.messenger import MailTemplate, Messenger, RenderedEmail
from mas.core.platform.ports.uow import UnitOfWorkFactory

log = logging.getLogger("mas.crm")

PAST_TOLERANCE = timedelta(minutes=5)
AGENDA_LIMIT = 500
DIGEST_LOOKBACK_DAYS = 7


class NewFollowUp(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    due_at: datetime
    channel: FollowUpChannel = FollowUpChannel.CALL
    note: Annotated[str, msgspec.Meta(max_length=1000)] = ""
    owner_id: uuid.UUID | None = None
    move_to_follow_up: bool = False
    """Also move a NEW or CONTACTED lead to FOLLOW_UP."""


class FollowUpAction(enum.StrEnum):
    DONE = "done"
    CANCEL = "cancel"
    RESCHEDULE = "reschedule"


class FollowUpUpdate(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    action: FollowUpAction
    outcome_note: Annotated[str, msgspec.Meta(max_length=1000)] | None = None
    due_at: datetime | UnsetType = UNSET


def check_due(due_at: datetime, now: datetime) -> datetime:
    if due_at.tzinfo is None:
        raise ValidationFailed(
            "due_at needs a time zone offset", errors=[FieldError("due_at", "add an offset")]
        )
    if due_at < now - PAST_TOLERANCE:
        raise ValidationFailed(
            "a follow-up cannot be due in the past",
            code="follow_up_in_past",
            errors=[FieldError("due_at", "in the past")],
        )
    return due_at


class FollowUpService:
    def __init__(
        self,
        *,
        uow: UnitOfWorkFactory[CrmUnitOfWork],
        clock: Clock,
        zone: str,
        messenger: Messenger,
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._zone = zone
        self._messenger = messenger

    async def schedule(self, caller: Caller, lead_id: uuid.UUID, data: NewFollowUp) -> FollowUp:
        now = self._clock.now()
        due = check_due(data.due_at, now)
        async with self._uow() as uow:
            lead = await writable(uow, caller, lead_id)
            owner = await self._owner(uow, caller, data.owner_id)
            follow_up = FollowUp(
                id=uuid7(),
                raw_lead_id=lead.id,
                owner_id=owner,
                due_at=due,
                channel=data.channel,
                note=data.note.strip(),
                created_at=now,
            )
            await uow.leads.add_follow_up(follow_up)
            journal = [
                activity(
                    lead.id,
                    ActivityType.FOLLOW_UP_SCHEDULED,
                    f"Follow-up ({data.channel.value}) due {due.isoformat()}",
                    now,
                    caller.user_id,
                    follow_up_id=str(follow_up.id),
                    due_at=due.isoformat(),
                    owner_id=str(owner),
                )
            ]
            if data.move_to_follow_up and lead.status in (LeadStatus.NEW, LeadStatus.CONTACTED):
                before = lead.status
                transition(lead, StatusChange(to=LeadStatus.FOLLOW_UP), caller)
                await save_or_conflict(uow, lead)
                journal += status_journal(uow, lead, before, caller.user_id, now)
            await uow.leads.append(*journal)
            await uow.leads.refresh_next_follow_up([lead.id])
            await uow.commit()
        return follow_up

    async def update(
        self, caller: Caller, follow_up_id: uuid.UUID, data: FollowUpUpdate
    ) -> FollowUp:
        now = self._clock.now()
        async with self._uow() as uow:
            follow_up = await uow.leads.get_follow_up(follow_up_id)
            if follow_up is None:
                raise NotFound(f"no follow-up {follow_up_id}", code="follow_up_not_found")
            try:
                await writable(uow, caller, follow_up.raw_lead_id)
            except NotFound:
                raise NotFound(f"no follow-up {follow_up_id}", code="follow_up_not_found") from None
            was = follow_up.status
            line = self._act(follow_up, data, now)
            if not await uow.leads.save_follow_up(follow_up, was):
                raise Conflict("the follow-up changed meanwhile; reload it", code="stale_version")
            if line is not None:
                kind, summary = line
                await uow.leads.append(
                    activity(
                        follow_up.raw_lead_id,
                        kind,
                        summary,
                        now,
                        caller.user_id,
                        follow_up_id=str(follow_up.id),
                        outcome_note=follow_up.outcome_note,
                    )
                )
            await uow.leads.refresh_next_follow_up([follow_up.raw_lead_id])
            await uow.commit()
        return follow_up

    def _act(
        self, follow_up: FollowUp, data: FollowUpUpdate, now: datetime
    ) -> tuple[ActivityType, str] | None:
        if data.action is FollowUpAction.RESCHEDULE:
            if data.due_at is UNSET:
                raise ValidationFailed(
                    "rescheduling needs due_at", errors=[FieldError("due_at", "required")]
                )
            if follow_up.status is not FollowUpStatus.PENDING:
                raise Conflict(
                    f"a {follow_up.status.value} follow-up cannot be rescheduled",
                    code="illegal_transition",
                )
            follow_up.due_at = check_due(data.due_at, now)
            return ActivityType.FOLLOW_UP_SCHEDULED, f"Follow-up moved to {data.due_at.isoformat()}"
        if data.action is FollowUpAction.DONE:
            follow_up.move(FollowUpStatus.DONE)
            follow_up.completed_at = now
            follow_up.outcome_note = (data.outcome_note or "").strip() or None
            return ActivityType.FOLLOW_UP_DONE, "Follow-up done" + (
                f": {follow_up.outcome_note}" if follow_up.outcome_note else ""
            )
        follow_up.move(FollowUpStatus.CANCELLED)
        follow_up.outcome_note = (data.outcome_note or "").strip() or None
        return None

    async def agenda(self, caller: Caller, window: FollowUpWindow) -> list[FollowUpItem]:
        query = window_query(window, self._clock.now(), self._zone)
        async with self._uow() as uow:
            return await uow.leads.agenda(
                caller.user_id, query.statuses, query.due_from, query.due_before, AGENDA_LIMIT
            )

    async def _owner(
        self, uow: CrmUnitOfWork, caller: Caller, requested: uuid.UUID | None
    ) -> uuid.UUID:
        if requested is None or requested == caller.user_id:
            return caller.user_id
        if caller.role is Role.SALES:
            raise ValidationFailed(
                "a salesperson schedules follow-ups for themselves",
                code="owner_not_allowed",
                errors=[FieldError("owner_id", "must be you")],
            )
        user = await uow.users.get(requested)
        allowed = {Role.SALES, Role.SALES_HEAD, *ADMIN_ROLES}
        if user is None or user.is_deleted or user.role not in allowed:
            raise ValidationFailed(
                "owner_id is not a member of the sales team",
                code="owner_not_allowed",
                errors=[FieldError("owner_id", "not a sales user")],
            )
        if not caller.is_admin and user.role is not Role.SALES:
            raise ValidationFailed(
                "owner_id must be a salesperson",
                code="owner_not_allowed",
                errors=[FieldError("owner_id", "not SALES")],
            )
        return requested

    # --- jobs ------------------------------------------------------------------------------

    async def mark_missed(self, batch: int = 500) -> int:
        """PENDING follow-ups 2 h past due become MISSED, with one journal line each.

        The update is conditional on PENDING, so a second run (or a concurrent one) finds
        nothing to do and writes nothing.
        """
        now = self._clock.now()
        cutoff = now - timedelta(hours=MISSED_GRACE_HOURS)
        total = 0
        while True:
            async with self._uow() as uow:
                moved = await uow.leads.mark_missed(cutoff, now, batch)
                if not moved:
                    return total
                await uow.leads.append(
                    *[
                        activity(
                            f.raw_lead_id,
                            ActivityType.FOLLOW_UP_MISSED,
                            f"Follow-up due {f.due_at.isoformat()} was missed",
                            now,
                            None,
                            follow_up_id=str(f.id),
                            owner_id=str(f.owner_id),
                        )
                        for f in moved
                    ]
                )
                await uow.leads.refresh_next_follow_up(sorted({f.raw_lead_id for f in moved}))
                await uow.commit()
            total += len(moved)
            log.info("crm.follow_ups_missed", extra={"count": len(moved)})
            if len(moved) < batch:
                return total

    async def digest_recipients(self) -> tuple[date, list[uuid.UUID]]:
        """Today's local date and the people with follow-ups due today or overdue."""
        now = self._clock.now()
        start = day_start(now, self._zone)
        async with self._uow() as uow:
            owners = await uow.leads.owners_due(
                start - timedelta(days=DIGEST_LOOKBACK_DAYS), start + timedelta(days=1)
            )
        return local_date(now, self._zone), owners

    async def send_digest(self, owner_id: uuid.UUID, day: date) -> bool:
        """One email listing ``owner_id``'s follow-ups of ``day`` and the overdue ones.

        The task that calls this is keyed by (owner, day), and so is the mail: a day has one
        digest per person.
        """
        start = local_midnight(day, self._zone)
        async with self._uow() as uow:
            user = await uow.users.get(owner_id)
            if user is None or user.is_deleted or user.is_blocked:
                return False
            items = await uow.leads.agenda(
                owner_id,
                (FollowUpStatus.PENDING, FollowUpStatus.MISSED),
                start - timedelta(days=DIGEST_LOOKBACK_DAYS),
                start + timedelta(days=1),
                AGENDA_LIMIT,
            )
            if not items:
                return False
            subject, body = digest_text(items, start, self._zone)
            await self._messenger.email(
                uow,
                template=DIGEST_TEMPLATE,
                to=user.email,
                data={"subject": subject, "body": body},
                key=f"crm.follow_up_digest:{owner_id}:{day.isoformat()}",
            )
            await uow.commit()
        return True


def digest_email(data: Mapping[str, Any]) -> RenderedEmail:
    """The digest's code template: ``digest_text`` made the subject and body."""
    return RenderedEmail(subject=str(data["subject"]), text=str(data["body"]))


DIGEST_TEMPLATE = "crm.follow_up_digest"
MAIL_TEMPLATES: dict[str, MailTemplate] = {DIGEST_TEMPLATE: digest_email, **notices.MAIL_TEMPLATES}
"""The CRM's code templates (its manifest's ``mail_templates``): the digest and the
assignment notices."""


def digest_text(items: list[FollowUpItem], start: datetime, zone: str) -> tuple[str, str]:
    tz = ZoneInfo(zone)
    today = [i for i in items if i.due_at >= start]
    overdue = [i for i in items if i.due_at < start]
    day = start.astimezone(tz).strftime("%d %b %Y")
    subject = f"Your follow-ups for {day}: {len(today)} today, {len(overdue)} overdue"
    lines = [f"Follow-ups for {day}", ""]
    for title, group in (("Today", today), ("Overdue", overdue)):
        lines.append(f"{title} ({len(group)})")
        for item in group:
            when = item.due_at.astimezone(tz).strftime("%d %b %H:%M")
            phone = f", {item.lead_phone}" if item.lead_phone else ""
            note = f" — {item.note}" if item.note else ""
            lines.append(f"  {when}  {item.lead_name}{phone} [{item.channel.value}]{note}")
        lines.append("")
    return subject, "\n".join(lines)
