"""The CRM's fake database: its tables, and the store that also holds identity's and the
platform's (the CRM's unit of work reads users, vendor keys and the outbox too)."""

from __future__ import annotations

import copy
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from mas.adapters.fakes.identity import IdentityStore
from mas.adapters.fakes.platform import FakeClock, PlatformStore
from mas.core.crm.assignment_model import (
    Assignment,
    BulkRequest,
    OwnershipTransfer,
    SalesHeadProfile,
    TeamMember,
)
from mas.core.crm.import_rules import RejectedRow
from mas.core.crm.model import (
    Activity,
    Campaign,
    CampaignLead,
    FollowUp,
    ImportBatch,
    Lead,
    LeadIntake,
    Tag,
)
from mas.core.crm.ports.system_config import StoredConfig
from mas.core.crm.targets_model import Actuals, DailyTarget
from mas.core.identity.model import User
from mas.core.platform.events import DomainEvent
from mas.core.platform.ports.clock import Clock


@dataclass
class VendorLead:
    """A ``vendor_leads`` row: RECEIVED until a pull makes it IMPORTED, DUPLICATE or REJECTED."""

    id: uuid.UUID
    vendor_key_id: uuid.UUID
    external_id: str
    name: str
    phone_raw: str | None
    email_raw: str | None
    payload: dict[str, Any]
    created_at: datetime
    status: str = "RECEIVED"
    raw_lead_id: uuid.UUID | None = None
    reject_reason: str | None = None


@dataclass
class VendorHead:
    """Which sales head's pool a vendor feeds (one row per vendor key)."""

    sales_head_id: uuid.UUID
    assigned_by: uuid.UUID
    created_at: datetime


@dataclass
class CrmTables:
    """The CRM's rows. A lead is kept without its tags: they live in ``taggings`` (lead, tag),
    and a lead read from a fake repository carries the names of its live tags, sorted."""

    leads: dict[uuid.UUID, Lead] = field(default_factory=dict)
    intakes: list[LeadIntake] = field(default_factory=list)
    activities: list[Activity] = field(default_factory=list)
    follow_ups: dict[uuid.UUID, FollowUp] = field(default_factory=dict)
    tags: dict[uuid.UUID, Tag] = field(default_factory=dict)
    taggings: set[tuple[uuid.UUID, uuid.UUID]] = field(default_factory=set)
    campaigns: dict[uuid.UUID, Campaign] = field(default_factory=dict)
    campaign_leads: dict[uuid.UUID, CampaignLead] = field(default_factory=dict)
    assignments: list[Assignment] = field(default_factory=list)
    transfers: list[OwnershipTransfer] = field(default_factory=list)
    requests: dict[uuid.UUID, BulkRequest] = field(default_factory=dict)
    profiles: dict[uuid.UUID, SalesHeadProfile] = field(default_factory=dict)
    members: dict[uuid.UUID, TeamMember] = field(default_factory=dict)
    targets: dict[tuple[uuid.UUID, date], DailyTarget] = field(default_factory=dict)
    actuals: dict[tuple[uuid.UUID, date], Actuals] = field(default_factory=dict)
    config: dict[str, StoredConfig] = field(default_factory=dict)
    batches: dict[uuid.UUID, ImportBatch] = field(default_factory=dict)
    rejected_rows: dict[uuid.UUID, dict[int, RejectedRow]] = field(default_factory=dict)
    vendor_heads: dict[uuid.UUID, VendorHead] = field(default_factory=dict)
    vendor_leads: dict[uuid.UUID, VendorLead] = field(default_factory=dict)

    def tag_names(self, lead_id: uuid.UUID) -> list[str]:
        """The lead's live tags, by name (what the SQL adapter reads with a lead)."""
        return sorted(
            tag.name
            for lead, tag_id in self.taggings
            if lead == lead_id and (tag := self.tags.get(tag_id)) and tag.deleted_at is None
        )

    def lead_out(self, lead: Lead) -> Lead:
        """A copy of the row as a repository hands it out."""
        found = copy.deepcopy(lead)
        found.tags = self.tag_names(lead.id)
        return found


class CrmStore:
    """The committed state a database would hold, shared by every unit of work over it.

    ``identity`` holds the users and vendor keys, ``platform`` the outbox; ``events`` lists the
    domain events of every committed unit, in order (they are in the platform's outbox as well).
    ``clock`` stamps what the SQL adapters stamp with the database's time (``updated_at``).
    """

    def __init__(
        self,
        clock: Clock | None = None,
        *,
        identity: IdentityStore | None = None,
        platform: PlatformStore | None = None,
    ) -> None:
        self.clock: Clock = clock or FakeClock()
        self.tables = CrmTables()
        self.identity = identity or IdentityStore()
        self.platform = platform or PlatformStore()
        self.events: list[DomainEvent] = []
        self.opened = 0
        self.commits = 0

    @property
    def users(self) -> dict[uuid.UUID, User]:
        """The users as the open unit of work sees them (change them outside a unit with
        ``identity.elsewhere``: the next unit's end puts back what it did not commit)."""
        return self.identity.live.users

    def snapshot(self) -> tuple[CrmTables, tuple[Any, ...]]:
        return copy.deepcopy(self.tables), self.platform.rows()

    def restore(self, rows: tuple[CrmTables, tuple[Any, ...]]) -> None:
        self.tables = rows[0]
        self.platform.restore(rows[1])


def _no_write_hook() -> None:
    """Repositories used outside a unit of work have nothing to put back."""


class Rows:
    """What every fake CRM repository has: the store, and the hook its unit of work gives it to
    keep what a write is about to change (called before every write)."""

    def __init__(self, store: CrmStore, before_write: Callable[[], None] = _no_write_hook) -> None:
        self._store = store
        self._before_write = before_write

    @property
    def _t(self) -> CrmTables:
        return self._store.tables

    def _now(self) -> datetime:
        return self._store.clock.now()
