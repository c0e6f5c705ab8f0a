"""Working a lead: read and list within scope, edit with optimistic locking, move its status,
write notes, read its timeline, soft-delete it.

Every change bumps the lead's ``version``; an edit names the version it was made on and is
refused with 409 ``stale_version`` when someone changed the lead since.
"""

from __future__ import annotations

import logging
import uuid
from datetime import datetime, timedelta
from typing import Annotated, Any

import msgspec
from msgspec import UNSET, UnsetType

from mas.core.crm.contact import (
    FREE_TEXT,
    Course,
    ExtraData,
    Name,
    Place,
    SessionYear,
    TypedEmail,
    TypedPhone,
    check_extra_data,
    clean_contact,
    clean_email,
    clean_name,
    clean_text,
)
from mas.core.crm.events import LeadDeleted, LeadStatusChanged
from mas.core.crm.lead_access import (
    is_head,
    lead_not_found,
    readable_not_writable,
    scope_of,
)
from mas.core.crm.model import (
    LOST,
    Activity,
    ActivityType,
    Lead,
    LeadStatus,
    StatusChange,
    activity,
    apply_transition,
    check_transition,
)
from mas.core.crm.page_switches import PageSwitches
from mas.core.crm.phones import PhoneNormalizer
from mas.core.crm.ports.uow import CrmUnitOfWork
from mas.core.crm.queries import (
    LeadCounts,
    LeadDetail,
    LeadFilter,
    LeadPage,
    TimelinePage,
    day_start,
    decode_cursor,
    encode_cursor,
    lead_cursor,
)
from mas.core.crm.scope import SYSTEM_SCOPE, LeadScope, scope_for
from mas.core.identity.policy import Caller
from mas.core.platform.errors import Conflict, FieldError, Forbidden, ValidationFailed
from mas.core.platform.paging import PageRequest
from mas.core.platform.ports.cache import Cache
from mas.core.platform.ports.clock import Clock
from mas.core.platform.ports.uow import DuplicateKey, UnitOfWorkFactory

log = logging.getLogger("mas.crm")

Str100 = Annotated[str, msgspec.Meta(max_length=100)]
IDEMPOTENCY_TTL_S = 24 * 3600


class LeadChanges(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """A salesperson's edit; absent fields stay, ``null`` clears. ``extra_data`` keys merge
    into the stored ones (a ``null`` value removes the key)."""

    name: Name | UnsetType = UNSET
    email: TypedEmail | None | UnsetType = UNSET
    phone_alt: TypedPhone | None | UnsetType = UNSET
    city: Place | None | UnsetType = UNSET
    state: Place | None | UnsetType = UNSET
    course_interest: Course | None | UnsetType = UNSET
    session_year: SessionYear | None | UnsetType = UNSET
    extra_data: ExtraData | UnsetType = UNSET


class StatusRequest(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    to: LeadStatus
    lost_reason: Annotated[str, msgspec.Meta(max_length=300)] | None = None
    conversion_ref: Str100 | None = None


class PoolLeadChanges(LeadChanges, forbid_unknown_fields=True, kw_only=True):
    """A sales head's or admin's edit: also the main phone and the status."""

    phone: TypedPhone | None | UnsetType = UNSET
    status: LeadStatus | UnsetType = UNSET
    lost_reason: Annotated[str, msgspec.Meta(max_length=300)] | None = None
    conversion_ref: Str100 | None = None


class NoteRequest(msgspec.Struct, forbid_unknown_fields=True):
    body: Annotated[str, msgspec.Meta(min_length=1, max_length=4000)]


def stale(lead: Lead) -> Conflict:
    return Conflict(
        f"the lead changed since you read it; it is now at version {lead.version}",
        code="stale_version",
    )


class LeadService:
    def __init__(
        self,
        *,
        uow: UnitOfWorkFactory[CrmUnitOfWork],
        clock: Clock,
        phones: PhoneNormalizer,
        cache: Cache,
        zone: str,
        switches: PageSwitches | None = None,
        counts: LeadCounts | None = None,
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._phones = phones
        self._cache = cache
        self._zone = zone
        self._switches = switches
        self._counts = counts or LeadCounts()

    # --- reads -----------------------------------------------------------------------------

    async def get(self, caller: Caller, lead_id: uuid.UUID) -> LeadDetail:
        async with self._uow() as uow:
            lead = await uow.leads.get(lead_id, await scope_of(uow, caller))
            if lead is None:
                raise lead_not_found(lead_id)
            return await self._detail(uow, lead)

    async def page(
        self,
        caller: Caller,
        flt: LeadFilter,
        req: PageRequest,
        *,
        due_follow_up: bool = False,
        cursor: str | None = None,
    ) -> LeadPage:
        """Newest first. ``due_follow_up``: only leads with a pending follow-up due by the end
        of today. ``cursor`` (a page's ``next_cursor``): the leads after that position, read
        through the index (no rows skipped over); ``req.page`` is then 1.

        The total: exact when the page shows the end of the list, or when counted with this
        page; otherwise a count of the same scope and filters at most ``COUNT_TTL_S`` old
        (``total_is_estimate``), never below what the page shows."""
        after = decode_cursor(cursor) if cursor else None
        if after is not None and req.page != 1:
            raise ValidationFailed(
                "page and cursor exclude each other",
                code="page_with_cursor",
                errors=[FieldError("page", "leave it out (or 1) with a cursor")],
            )
        now = self._clock.now()
        if due_follow_up:
            end = day_start(now + timedelta(days=1), self._zone)
            flt = msgspec.structs.replace(flt, follow_up_due_before=end)
        async with self._uow() as uow:
            scope = await self._scope(uow, caller)
            key = (scope, flt)
            known = self._counts.get(key, now)
            found = await uow.leads.page(scope, flt, req, after=after, count=known is None)
        items = found.leads[: req.page_size]
        has_more = len(found.leads) > req.page_size
        seen = (0 if after is not None else req.offset) + len(items)
        estimate = False
        if after is None and not has_more and (items or req.page == 1):
            total, capped = seen, False  # the end of the list is on this page
            self._counts.put(key, now, total, capped)
        elif found.total is not None:
            total, capped = found.total, found.total_capped
            self._counts.put(key, now, total, capped)
        else:
            assert known is not None  # counted unless it was known
            (total, capped), estimate = known, True
            if after is None and total < seen + has_more and not capped:
                total = seen + has_more  # at least what this page shows
        return LeadPage(
            items=items,
            total=total,
            page=req.page,
            page_size=req.page_size,
            total_capped=capped,
            has_more=has_more,
            next_cursor=lead_cursor(items[-1]) if has_more else None,
            total_is_estimate=estimate,
        )

    async def _scope(self, uow: CrmUnitOfWork, caller: Caller) -> LeadScope:
        """The caller's scope. A sales head's isolation flag comes from their cached profile
        (the one the page guard has just read; an ADMIN's change drops it) when it says
        "isolated", the narrow scope, which a stale entry could only make narrower; "every
        pool" is confirmed in the database, so no cache entry ever widens a scope."""
        if (
            self._switches is not None
            and is_head(caller)
            and await self._switches.isolation_enabled(caller.user_id)
        ):
            return scope_for(caller, isolation_enabled=True)
        return await scope_of(uow, caller)

    async def timeline(
        self, caller: Caller, lead_id: uuid.UUID, cursor: str | None, limit: int
    ) -> TimelinePage:
        before = decode_cursor(cursor) if cursor else None
        async with self._uow() as uow:
            if await uow.leads.get(lead_id, await scope_of(uow, caller)) is None:
                raise lead_not_found(lead_id)
            rows = await uow.leads.timeline(lead_id, before, limit + 1)
        return _timeline_page(rows, limit)

    async def feed(self, caller: Caller, cursor: str | None, limit: int) -> TimelinePage:
        before = decode_cursor(cursor) if cursor else None
        async with self._uow() as uow:
            rows = await uow.leads.feed(caller.user_id, before, limit + 1)
        return _timeline_page(rows, limit)

    # --- changes ---------------------------------------------------------------------------

    async def update(
        self, caller: Caller, lead_id: uuid.UUID, changes: LeadChanges, expected_version: int
    ) -> LeadDetail:
        now = self._clock.now()
        async with self._uow() as uow:
            lead = await writable(uow, caller, lead_id)
            if lead.version != expected_version:
                raise stale(lead)
            before = lead.status
            fields = self._apply(lead, changes)
            journal: list[Activity] = []
            if fields:
                journal.append(
                    activity(
                        lead.id,
                        ActivityType.FIELD_UPDATED,
                        f"Updated {', '.join(fields)}",
                        now,
                        caller.user_id,
                        fields=fields,
                    )
                )
            moved = False
            if isinstance(changes, PoolLeadChanges) and changes.status is not UNSET:
                change = StatusChange(
                    to=changes.status,
                    lost_reason=changes.lost_reason,
                    conversion_ref=changes.conversion_ref,
                )
                moved = transition(lead, change, caller)
            if not fields and not moved:
                return await self._detail(uow, lead)
            await save_or_conflict(uow, lead)
            if moved:
                journal += status_journal(uow, lead, before, caller.user_id, now)
            await uow.leads.append(*journal)
            detail = await self._detail(uow, lead)
            await uow.commit()
        self._counts.clear()
        return detail

    async def change_status(
        self,
        caller: Caller,
        lead_id: uuid.UUID,
        req: StatusRequest,
        expected_version: int | None = None,
        idempotency_key: str | None = None,
    ) -> LeadDetail:
        """Move the lead; the same status is a no-op. A retried call with the same
        ``Idempotency-Key`` returns the lead without moving it again."""
        key = f"crm:status:{caller.user_id}:{lead_id}:{idempotency_key}"
        if idempotency_key and not await self._cache.add_if_absent(key, b"1", IDEMPOTENCY_TTL_S):
            return await self.get(caller, lead_id)
        done = False
        try:
            detail = await self._change_status(caller, lead_id, req, expected_version)
            done = True
            return detail
        finally:
            if idempotency_key and not done:
                await self._cache.delete(key)  # a failed attempt may be retried

    async def _change_status(
        self, caller: Caller, lead_id: uuid.UUID, req: StatusRequest, expected: int | None
    ) -> LeadDetail:
        now = self._clock.now()
        change = StatusChange(
            to=req.to, lost_reason=req.lost_reason, conversion_ref=req.conversion_ref
        )
        async with self._uow() as uow:
            lead = await writable(uow, caller, lead_id)
            if expected is not None and lead.version != expected:
                raise stale(lead)
            before = lead.status
            if not transition(lead, change, caller):
                return await self._detail(uow, lead)
            await save_or_conflict(uow, lead)
            await uow.leads.append(*status_journal(uow, lead, before, caller.user_id, now))
            detail = await self._detail(uow, lead)
            await uow.commit()
        self._counts.clear()
        log.info(
            "crm.status_changed",
            extra={"lead_id": str(lead_id), "from": before.value, "to": lead.status.value},
        )
        return detail

    async def add_note(self, caller: Caller, lead_id: uuid.UUID, body: str) -> Activity:
        now = self._clock.now()
        text = body.strip()
        if not text:
            raise ValidationFailed("the note is empty", errors=[FieldError("body", "empty")])
        async with self._uow() as uow:
            await writable(uow, caller, lead_id)
            note = activity(lead_id, ActivityType.NOTE, text, now, caller.user_id, body=text)
            await uow.leads.append(note)
            await uow.commit()
        return note

    async def delete(self, caller: Caller, lead_id: uuid.UUID) -> None:
        """Soft delete (ADMIN): the lead leaves every list; its open follow-ups are cancelled."""
        now = self._clock.now()
        async with self._uow() as uow:
            if not await uow.leads.soft_delete(lead_id, now):
                raise lead_not_found(lead_id)
            await uow.leads.cancel_open_follow_ups(lead_id, now)
            uow.record(LeadDeleted(lead_id=lead_id, actor_id=caller.user_id))
            await uow.commit()
        self._counts.clear()
        log.info("crm.lead_deleted", extra={"lead_id": str(lead_id)})

    # --- helpers ---------------------------------------------------------------------------

    def _apply(self, lead: Lead, changes: LeadChanges) -> list[str]:
        """Apply an edit to ``lead``; the names of the fields that really changed."""
        new: dict[str, Any] = {}
        if changes.name is not UNSET:
            new["name"] = clean_name(changes.name)
        if changes.email is not UNSET:
            new["email"] = clean_email(changes.email)
        for name, limit in FREE_TEXT.items():
            value = getattr(changes, name)
            if value is not UNSET:
                new[name] = clean_text(value, limit)
        if changes.session_year is not UNSET:
            new["session_year"] = changes.session_year
        phone = lead.phone_e164
        if isinstance(changes, PoolLeadChanges) and changes.phone is not UNSET:
            phone = self._phone(changes.phone, "phone")
            new["phone_e164"] = phone
        if changes.phone_alt is not UNSET:
            new["phone_alt"] = self._phone(changes.phone_alt, "phone_alt")
        if changes.extra_data is not UNSET:
            merged = {**lead.extra_data, **changes.extra_data}
            new["extra_data"] = check_extra_data({k: v for k, v in merged.items() if v is not None})
        email = new.get("email", lead.email)
        if phone is None and email is None:
            raise ValidationFailed(
                "a lead needs a valid phone number or an email",
                code="contact_required",
                errors=[FieldError("email", "a phone number or an email is required")],
            )
        fields = [name for name, value in new.items() if getattr(lead, name) != value]
        for name in fields:
            setattr(lead, name, new[name])
        return fields

    def _phone(self, raw: str | None, field: str) -> str | None:
        if raw is None or not raw.strip():
            return None
        try:
            return clean_contact(self._phones, phone=raw, email=None).phone_e164
        except ValidationFailed:
            raise ValidationFailed(
                f"'{raw}' is not a phone number",
                code="invalid_phone",
                errors=[FieldError(field, "not a phone number")],
            ) from None

    async def _detail(self, uow: CrmUnitOfWork, lead: Lead) -> LeadDetail:
        follow_ups = await uow.leads.open_follow_ups(lead.id)
        return LeadDetail(**msgspec.structs.asdict(lead), open_follow_ups=follow_ups)


async def writable(uow: CrmUnitOfWork, caller: Caller, lead_id: uuid.UUID) -> Lead:
    """The lead, locked, if the caller may change it: 404 outside scope, 403 read-only pool."""
    scope = await scope_of(uow, caller)
    lead = await uow.leads.get(lead_id, scope, write=True, lock=True)
    if lead is not None:
        return lead
    if readable_not_writable(scope) and await uow.leads.get(lead_id, scope) is not None:
        raise Forbidden("this lead belongs to another pool (read only)", code="other_pool")
    raise lead_not_found(lead_id)


def transition(lead: Lead, change: StatusChange, caller: Caller) -> bool:
    """Check and apply a status change; False when it is the status the lead already has."""
    if not check_transition(lead, change, is_admin=caller.is_admin, is_head=is_head(caller)):
        return False
    apply_transition(lead, change)
    return True


async def save_or_conflict(uow: CrmUnitOfWork, lead: Lead) -> None:
    try:
        saved = await uow.leads.save(lead)
    except DuplicateKey:
        raise Conflict(
            "another lead already has this phone number or email", code="lead_duplicate"
        ) from None
    if not saved:
        current = await uow.leads.get(lead.id, SYSTEM_SCOPE)
        raise stale(current or lead)


def status_journal(
    uow: CrmUnitOfWork, lead: Lead, before: LeadStatus, actor: uuid.UUID | None, now: datetime
) -> list[Activity]:
    """One STATUS_CHANGED (plus CONVERTED / REOPENED) line and one event, after the save."""
    after = lead.status
    data: dict[str, Any] = {"from": before.value, "to": after.value}
    if after in LOST:
        data["lost_reason"] = lead.lost_reason
    if after is LeadStatus.CONVERTED:
        data["conversion_ref"] = lead.conversion_ref
    lines = [
        activity(
            lead.id,
            ActivityType.STATUS_CHANGED,
            f"Status {before.value} → {after.value}",
            now,
            actor,
            **data,
        )
    ]
    if after is LeadStatus.CONVERTED:
        lines.append(
            activity(
                lead.id,
                ActivityType.CONVERTED,
                f"Converted ({lead.conversion_ref})",
                now,
                actor,
                conversion_ref=lead.conversion_ref,
            )
        )
    if before in LOST and after is LeadStatus.NEW:
        lines.append(activity(lead.id, ActivityType.REOPENED, "Reopened", now, actor, **data))
    uow.record(
        LeadStatusChanged(
            lead_id=lead.id,
            from_status=before.value,
            to_status=after.value,
            version=lead.version,
            actor_id=actor,
        )
    )
    return lines


def _timeline_page(rows: list[Activity], limit: int) -> TimelinePage:
    items = rows[:limit]
    more = len(rows) > limit
    return TimelinePage(items=items, next_cursor=encode_cursor(items[-1]) if more else None)
