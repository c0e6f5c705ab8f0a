"""Persistence port of the CRM (imports): import batches, the bulk intake writer, vendor leads."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable
from datetime import datetime
from typing import Annotated, Any, Protocol

import msgspec

from mas.core.crm.contact import LeadContact, TypedPhone
from mas.core.crm.import_rules import IntakeRow, RejectedRow
from mas.core.crm.model import ImportBatch, IntakeChannel, LeadSource
from mas.core.platform.bounds import ScalarMap


class WriteConflict(Exception):
    """A concurrent writer won a race (unique index, deadlock): redo the chunk."""


class IntakeTarget(msgspec.Struct, frozen=True, kw_only=True):
    """Where and how a chunk of intakes lands."""

    channel: IntakeChannel
    source: LeadSource
    source_detail: str | None
    pool_head_id: uuid.UUID | None  # owner of the leads this chunk creates
    actor_id: uuid.UUID | None  # written on activities and tags (None = system)
    label: str  # names the door in activity summaries, e.g. "CSV import leads.csv"
    default_tags: list[str] = []
    batch_id: uuid.UUID | None = None  # rejected CSV rows are kept under it
    # Rows may already have their intake (a resumed run): look for them first. A first run of
    # a batch cannot have any, and skips that look-up.
    may_replay: bool = True


class ChunkOutcome(msgspec.Struct, kw_only=True):
    created: int = 0
    merged: int = 0  # merged into an existing lead or an earlier row (reopened included)
    reopened: int = 0
    replayed: int = 0  # rows whose intake already existed: written by an earlier run
    rejected: dict[str, int] = {}


class LeadKeys(msgspec.Struct, frozen=True, gc=False):
    """The keys a live lead is matched on by an intake."""

    phone: str | None
    phone_alt: str | None
    email: str | None


class VendorLeadIn(LeadContact, kw_only=True):
    """A lead as a vendor sends it (``POST /api/vendor/leads``): no alternate phone, and the
    session year as free text (one that is not ``2025-26`` ends in ``extra_data`` at the pull)."""

    external_id: Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
    phone: TypedPhone | None = None
    session_year: Annotated[str, msgspec.Meta(max_length=9)] | None = None
    extra: ScalarMap = {}


VENDOR_PAYLOAD_FIELDS = tuple(
    f.name for f in msgspec.structs.fields(LeadContact) if f.name not in ("name", "email")
)
"""What a received vendor lead keeps in its payload (name, phone and email have columns)."""


class ReceivedVendorLead(msgspec.Struct, frozen=True, kw_only=True):
    id: uuid.UUID
    external_id: str
    name: str
    phone_raw: str | None
    email_raw: str | None
    payload: dict[str, Any]


class ImportRepository(Protocol):
    async def add(self, batch: ImportBatch) -> None: ...

    async def get(self, batch_id: uuid.UUID, *, for_update: bool = False) -> ImportBatch | None:
        """The batch; ``for_update``: its row locked until the transaction ends (writers adding
        to its counters at the same time take turns instead of overwriting each other)."""
        ...

    async def save(self, batch: ImportBatch) -> None: ...

    async def same_file_since(self, sha256: str, since: datetime) -> ImportBatch | None:
        """A batch of the byte-identical file uploaded at or after ``since`` (not cancelled)."""
        ...

    async def missing_tags(self, names: list[str]) -> list[str]:
        """Of ``names``, those that are not live tags."""
        ...

    async def write_chunk(
        self,
        target: IntakeTarget,
        rows: list[IntakeRow],
        rejected: list[RejectedRow],
        now: datetime,
        gate: Awaitable[None] | None = None,
    ) -> ChunkOutcome:
        """Apply the merge rules to ``rows`` set-based, in this unit's transaction.

        ``gate`` (awaitable more than once, a future): the rows are staged first, then nothing
        that reads the leads runs before it has passed (or raised: the chunk then fails).

        Replay-safe: a row whose intake (channel, ref) exists is not applied again, and a
        rejected CSV row already kept for the batch is not counted again. Raises
        ``WriteConflict`` when a concurrent writer won a race; the caller rolls back and retries.
        Rejected CSV rows are kept under ``target.batch_id``; rejected vendor rows are marked.
        """
        ...

    async def refresh_statistics(self, replay: bool) -> None:
        """Bring the planner's statistics of the tables an intake matches against up to date
        if they have grown since (``replay``: the intakes too). Several writers at once: call
        it in a transaction of its own before they start (it locks the statistics until
        commit)."""
        ...

    async def linked_leads(self, phones: list[str], emails: list[str]) -> list[LeadKeys]:
        """The live leads whose phone or alternate phone is in ``phones`` or whose email is in
        ``emails`` (every such lead, not only the one an intake would pick)."""
        ...

    async def rejected_rows(self, batch_id: uuid.UUID) -> list[RejectedRow]: ...

    # --- vendor leads ----------------------------------------------------------------------

    async def vendor_head(self, vendor_key_id: uuid.UUID) -> uuid.UUID | None: ...

    async def vendors_of_head(self, sales_head_id: uuid.UUID) -> list[uuid.UUID]: ...

    async def assign_vendor_head(
        self, vendor_key_id: uuid.UUID, sales_head_id: uuid.UUID, actor_id: uuid.UUID
    ) -> None: ...

    async def add_vendor_leads(
        self, vendor_key_id: uuid.UUID, leads: list[VendorLeadIn]
    ) -> list[str]:
        """Insert; returns the external ids that were new (a known one is left as it was)."""
        ...

    async def received_vendor_leads(
        self, vendor_key_id: uuid.UUID, limit: int
    ) -> list[ReceivedVendorLead]:
        """The oldest ``RECEIVED`` leads of a vendor."""
        ...
