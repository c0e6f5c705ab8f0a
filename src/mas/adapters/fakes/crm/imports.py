"""Imports in memory: batches, rejected rows, vendor leads, and the intake of a chunk.

``write_chunk`` applies the rows one after the other with the declared merge rule
(``mas.core.crm.merge_rule.merge``): what the set-based SQL (``mas.adapters.db.crm.bulk_leads``)
promises to equal, apart from the case its docstring names (several rows of one chunk merging
into one lead: ``extra_data``). It writes the same rows: a lead or
a merge, one intake per row (a known (channel, ref) is a replay), CREATED or INTAKE_MERGED (and
REOPENED) lines, the row's and the batch's live tags, the vendor lead's outcome, the rejected
rows. A fake has no concurrent writer, so it never raises ``WriteConflict``.
"""

from __future__ import annotations

import copy
import uuid
from collections import Counter
from collections.abc import Awaitable
from datetime import datetime, timedelta
from typing import Any

from mas.adapters.fakes.crm.leads import find_match
from mas.adapters.fakes.crm.tables import Rows, VendorHead, VendorLead
from mas.core.crm.contact import LeadContact
from mas.core.crm.import_rules import IntakeRow, RejectedRow
from mas.core.crm.merge_rule import REOPENED_AS, merge
from mas.core.crm.model import (
    Activity,
    ActivityType,
    ImportBatch,
    ImportStatus,
    IncomingLead,
    IntakeChannel,
    IntakeOutcome,
    Lead,
    LeadIntake,
    activity,
)
from mas.core.crm.ports.imports import (
    VENDOR_PAYLOAD_FIELDS,
    ChunkOutcome,
    IntakeTarget,
    LeadKeys,
    ReceivedVendorLead,
    VendorLeadIn,
)
from mas.core.platform.ids import uuid7
from mas.core.platform.ports.uow import DuplicateKey


def _incoming(row: IntakeRow) -> IncomingLead:
    contact = {name: getattr(row, name) for name in LeadContact.__struct_fields__}
    return IncomingLead(
        **contact,
        phone_e164=row.phone,
        phone_alt=row.phone_alt,
        extra_data=dict(row.extra or {}),
    )


class FakeImportRepository(Rows):
    # --- batches ---------------------------------------------------------------------------

    async def add(self, batch: ImportBatch) -> None:
        if batch.id in self._t.batches:
            raise DuplicateKey(f"import batch {batch.id}")
        self._before_write()
        self._t.batches[batch.id] = copy.deepcopy(batch)

    async def get(self, batch_id: uuid.UUID, *, for_update: bool = False) -> ImportBatch | None:
        return copy.deepcopy(self._t.batches.get(batch_id))

    async def save(self, batch: ImportBatch) -> None:
        stored = self._t.batches.get(batch.id)
        if stored is None:
            return
        self._before_write()
        self._t.batches[batch.id] = copy.deepcopy(batch)
        self._t.batches[batch.id].created_at = stored.created_at

    async def same_file_since(self, sha256: str, since: datetime) -> ImportBatch | None:
        found = [
            b
            for b in self._t.batches.values()
            if b.file_sha256 == sha256
            and b.created_at >= since
            and b.status is not ImportStatus.CANCELLED
        ]
        return copy.deepcopy(max(found, key=lambda b: b.created_at, default=None))

    async def missing_tags(self, names: list[str]) -> list[str]:
        live = {t.name for t in self._t.tags.values() if t.deleted_at is None}
        return sorted(set(names) - live)

    async def rejected_rows(self, batch_id: uuid.UUID) -> list[RejectedRow]:
        rows = self._t.rejected_rows.get(batch_id, {})
        return [rows[row_no] for row_no in sorted(rows)]

    # --- the intake of a chunk ---------------------------------------------------------------

    async def write_chunk(
        self,
        target: IntakeTarget,
        rows: list[IntakeRow],
        rejected: list[RejectedRow],
        now: datetime,
        gate: Awaitable[None] | None = None,
    ) -> ChunkOutcome:
        if gate is not None:
            await gate
        outcome = ChunkOutcome()
        taken = {(i.channel, i.channel_ref) for i in self._t.intakes}
        for row in rows:
            if (target.channel, row.ref[:100]) in taken:
                outcome.replayed += 1
                continue
            self._before_write()
            self._take_in(target, row, now, outcome)
            taken.add((target.channel, row.ref[:100]))
        counted = self._reject(target, rejected, now)
        outcome.rejected = dict(Counter(r.reason for r in counted))
        return outcome

    async def refresh_statistics(self, replay: bool) -> None:
        """Nothing is planned in memory."""

    async def linked_leads(self, phones: list[str], emails: list[str]) -> list[LeadKeys]:
        wanted_phones, wanted_emails = set(phones), set(emails)
        return [
            LeadKeys(lead.phone_e164, lead.phone_alt, lead.email)
            for lead in self._t.leads.values()
            if lead.deleted_at is None
            and (
                lead.phone_e164 in wanted_phones
                or lead.phone_alt in wanted_phones
                or lead.email in wanted_emails
            )
        ]

    def _take_in(
        self, target: IntakeTarget, row: IntakeRow, now: datetime, outcome: ChunkOutcome
    ) -> None:
        channel = target.channel.value.lower()
        data = {
            "channel": target.channel.value,
            "channel_ref": row.ref,
            "source": target.source.value,
        }
        incoming = _incoming(row)
        lead = find_match(self._t, incoming.phone_e164, incoming.phone_alt, incoming.email)
        journal: list[Activity]
        if lead is None:
            lead = Lead(
                **{name: getattr(incoming, name) for name in IncomingLead.__struct_fields__},
                id=uuid7(),
                created_at=now,
                updated_at=now,
                source=target.source,
                source_detail=target.source_detail,
                owning_sales_head_id=target.pool_head_id,
                last_activity_at=now,
            )
            self._t.leads[lead.id] = lead
            kind = IntakeOutcome.CREATED
            outcome.created += 1
            summary = f"Lead created ({channel}: {target.label})"
            journal = [
                activity(lead.id, ActivityType.CREATED, summary, now, target.actor_id, **data)
            ]
        else:
            before = lead.status
            result = merge(lead, incoming)
            lead.version += 1
            lead.updated_at = lead.last_activity_at = now
            kind = IntakeOutcome.REOPENED if result.reopened else IntakeOutcome.MERGED
            outcome.merged += 1
            summary = f"Re-inquiry through {channel} ({target.label})"
            journal = [
                activity(lead.id, ActivityType.INTAKE_MERGED, summary, now, target.actor_id, **data)
            ]
            if result.reopened:
                outcome.reopened += 1
                journal.append(
                    activity(
                        lead.id,
                        ActivityType.REOPENED,
                        f"Reopened by a re-inquiry (was {before.value})",
                        now,
                        target.actor_id,
                        **{"from": before.value, "to": REOPENED_AS.value, "channel_ref": row.ref},
                    )
                )
        self._t.intakes.append(
            LeadIntake(
                id=uuid7(),
                raw_lead_id=lead.id,
                channel=target.channel,
                channel_ref=row.ref[:100],
                outcome=kind,
                payload=dict(row.payload),
                created_at=now,
            )
        )
        self._t.activities.extend(journal)
        names = {*(row.tags or []), *target.default_tags}
        self._t.taggings.update(
            (lead.id, t.id)
            for t in self._t.tags.values()
            if t.name in names and t.deleted_at is None
        )
        vendor_lead = self._t.vendor_leads.get(row.source_id) if row.source_id else None
        if target.channel is IntakeChannel.VENDOR and vendor_lead is not None:
            vendor_lead.status = "IMPORTED" if kind is IntakeOutcome.CREATED else "DUPLICATE"
            vendor_lead.raw_lead_id = lead.id

    def _reject(
        self, target: IntakeTarget, rejected: list[RejectedRow], now: datetime
    ) -> list[RejectedRow]:
        """Keep the rejected rows; answer those kept now (not by an earlier run)."""
        if not rejected:
            return []
        self._before_write()
        counted = []
        if target.channel is IntakeChannel.VENDOR:
            for row in rejected:
                found = self._t.vendor_leads.get(row.source_id) if row.source_id else None
                if found is not None and found.status == "RECEIVED":
                    found.status, found.reject_reason = "REJECTED", row.reason
                    counted.append(row)
            return counted
        if target.batch_id is None:
            return rejected
        kept = self._t.rejected_rows.setdefault(target.batch_id, {})
        for row in rejected:
            if row.row_no not in kept:
                kept[row.row_no] = row
                counted.append(row)
        return counted

    # --- vendor leads ------------------------------------------------------------------------

    async def vendor_head(self, vendor_key_id: uuid.UUID) -> uuid.UUID | None:
        found = self._t.vendor_heads.get(vendor_key_id)
        return found.sales_head_id if found else None

    async def vendors_of_head(self, sales_head_id: uuid.UUID) -> list[uuid.UUID]:
        keys = self._store.identity.live.vendor_keys
        feeding = [
            (head.created_at, key_id)
            for key_id, head in self._t.vendor_heads.items()
            if head.sales_head_id == sales_head_id
            and (key := keys.get(key_id)) is not None
            and key.revoked_at is None
        ]
        return [key_id for _, key_id in sorted(feeding)]

    async def assign_vendor_head(
        self, vendor_key_id: uuid.UUID, sales_head_id: uuid.UUID, actor_id: uuid.UUID
    ) -> None:
        self._before_write()
        earlier = self._t.vendor_heads.get(vendor_key_id)
        since = earlier.created_at if earlier else self._now()
        self._t.vendor_heads[vendor_key_id] = VendorHead(sales_head_id, actor_id, since)

    async def add_vendor_leads(
        self, vendor_key_id: uuid.UUID, leads: list[VendorLeadIn]
    ) -> list[str]:
        known = {
            v.external_id for v in self._t.vendor_leads.values() if v.vendor_key_id == vendor_key_id
        }
        now = self._now()
        accepted = []
        for position, lead in enumerate(leads):
            external_id = lead.external_id.strip()[:100]
            if external_id in known:
                continue
            payload: dict[str, Any] = {
                name: value for name in VENDOR_PAYLOAD_FIELDS if (value := getattr(lead, name))
            }
            if lead.extra:
                payload["extra"] = dict(lead.extra)
            self._before_write()
            row = VendorLead(
                id=uuid7(),
                vendor_key_id=vendor_key_id,
                external_id=external_id,
                name=lead.name.strip()[:200],
                phone_raw=(lead.phone or "").strip()[:40] or None,
                email_raw=(lead.email or "").strip()[:254] or None,
                payload=payload,
                # The pull takes them oldest first: keep the order they were sent in.
                created_at=now + timedelta(microseconds=position),
            )
            self._t.vendor_leads[row.id] = row
            known.add(external_id)
            accepted.append(external_id)
        return accepted

    async def received_vendor_leads(
        self, vendor_key_id: uuid.UUID, limit: int
    ) -> list[ReceivedVendorLead]:
        found = sorted(
            (
                v
                for v in self._t.vendor_leads.values()
                if v.vendor_key_id == vendor_key_id and v.status == "RECEIVED"
            ),
            key=lambda v: (v.created_at, v.id),
        )
        return [
            ReceivedVendorLead(
                id=v.id,
                external_id=v.external_id,
                name=v.name,
                phone_raw=v.phone_raw,
                email_raw=v.email_raw,
                payload=copy.deepcopy(v.payload),
            )
            for v in found[:limit]
        ]
