"""Sales CRM tables. Names are globally unique (PostgreSQL and SQLite share one namespace)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any

from advanced_alchemy.types import DateTimeUTC, JsonB
from sqlalchemy import BigInteger, Boolean, Date, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from mas.adapters.db.base import Base

TS = DateTimeUTC(timezone=True)
LIVE = "deleted_at IS NULL"


def _where_set(name: str, column: str, *more: str) -> Index:
    """An index over the rows where ``column`` is set (a partial index on both databases)."""
    where = text(f"{column} IS NOT NULL")
    return Index(name, column, *more, sqlite_where=where, postgresql_where=where)


class RawLeadRow(Base):
    __tablename__ = "raw_leads"
    __table_args__ = (
        # One live lead per phone; an email identifies a lead only when it has no phone.
        Index(
            "uq_raw_leads_phone",
            "phone_e164",
            unique=True,
            sqlite_where=text(f"{LIVE} AND phone_e164 IS NOT NULL"),
            postgresql_where=text(f"{LIVE} AND phone_e164 IS NOT NULL"),
        ),
        Index(
            "uq_raw_leads_email_without_phone",
            "email",
            unique=True,
            sqlite_where=text(f"{LIVE} AND phone_e164 IS NULL AND email IS NOT NULL"),
            postgresql_where=text(f"{LIVE} AND phone_e164 IS NULL AND email IS NOT NULL"),
        ),
        # Optional columns are indexed only where set: an imported lead (no alternate phone, no
        # assignee, no follow-up yet) then costs no entry in these indexes. Every query using
        # them compares the column with a value, which implies IS NOT NULL.
        _where_set("ix_raw_leads_email", "email"),
        _where_set("ix_raw_leads_phone_alt", "phone_alt"),
        # Lists are ordered by (created_at, id) newest first; ending each list index with both
        # lets a page be read straight off the index instead of sorting the whole pool.
        Index("ix_raw_leads_pool_created", "owning_sales_head_id", "created_at", "id"),
        Index("ix_raw_leads_pool_status", "owning_sales_head_id", "status", "created_at", "id"),
        _where_set("ix_raw_leads_assigned_status", "assigned_to", "status"),
        _where_set("ix_raw_leads_counsellor_status", "assigned_counsellor", "status"),
        Index("ix_raw_leads_status_created", "status", "created_at", "id"),
        _where_set("ix_raw_leads_next_follow_up", "next_follow_up_at"),
        Index("ix_raw_leads_created", "created_at", "id"),
        # PostgreSQL keeps a tenth of each page free (fillfactor 90, migration 0032): an update
        # that changes no indexed column (a re-inquiry's merge, a note's last_activity_at) stays
        # on its page and writes no index entry, instead of one in each of the indexes above.
    )

    name: Mapped[str] = mapped_column(String(200))
    phone_e164: Mapped[str | None] = mapped_column(String(16), default=None)
    email: Mapped[str | None] = mapped_column(String(254), default=None)
    phone_alt: Mapped[str | None] = mapped_column(String(16), default=None)
    city: Mapped[str | None] = mapped_column(String(100), default=None)
    state: Mapped[str | None] = mapped_column(String(100), default=None)
    course_interest: Mapped[str | None] = mapped_column(String(120), default=None)
    session_year: Mapped[str | None] = mapped_column(String(9), default=None)
    source: Mapped[str] = mapped_column(String(16))
    source_detail: Mapped[str | None] = mapped_column(String(200), default=None)
    status: Mapped[str] = mapped_column(String(16), default="NEW")
    owning_sales_head_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    assigned_to: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    assigned_counsellor: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    extra_data: Mapped[dict[str, Any]] = mapped_column(JsonB, default=dict)
    lost_reason: Mapped[str | None] = mapped_column(String(300), default=None)
    conversion_ref: Mapped[str | None] = mapped_column(String(100), default=None)
    next_follow_up_at: Mapped[datetime | None] = mapped_column(TS, default=None)
    last_activity_at: Mapped[datetime | None] = mapped_column(TS, default=None)
    reinquiry_count: Mapped[int] = mapped_column(Integer, default=0)
    version: Mapped[int] = mapped_column(Integer, default=0)
    deleted_at: Mapped[datetime | None] = mapped_column(TS, default=None)


class LeadIntakeRow(Base):
    __tablename__ = "lead_intakes"
    __table_args__ = (
        Index("uq_lead_intakes_channel_ref", "channel", "channel_ref", unique=True),
        Index("ix_lead_intakes_lead", "raw_lead_id"),
    )

    raw_lead_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("raw_leads.id", ondelete="CASCADE"))
    channel: Mapped[str] = mapped_column(String(16))
    channel_ref: Mapped[str] = mapped_column(String(100))
    outcome: Mapped[str] = mapped_column(String(16))
    payload: Mapped[dict[str, Any]] = mapped_column(JsonB, default=dict)


class LeadActivityRow(Base):
    """Append-only: PostgreSQL refuses UPDATE and DELETE with a trigger (see the migration)."""

    __tablename__ = "lead_activities"
    __table_args__ = (
        Index("ix_lead_activities_lead", "raw_lead_id", "occurred_at"),
        Index("ix_lead_activities_actor", "actor_id", "occurred_at"),
    )

    raw_lead_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("raw_leads.id", ondelete="CASCADE"))
    actor_id: Mapped[uuid.UUID | None] = mapped_column(default=None)
    type: Mapped[str] = mapped_column(String(32))
    summary: Mapped[str] = mapped_column(String(500))
    data: Mapped[dict[str, Any]] = mapped_column(JsonB, default=dict)
    occurred_at: Mapped[datetime] = mapped_column(TS)


class LeadFollowUpRow(Base):
    __tablename__ = "lead_follow_ups"
    __table_args__ = (
        Index("ix_lead_follow_ups_owner", "owner_id", "status", "due_at"),
        Index("ix_lead_follow_ups_lead", "raw_lead_id"),
        Index("ix_lead_follow_ups_due", "status", "due_at"),
    )

    raw_lead_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("raw_leads.id", ondelete="CASCADE"))
    owner_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    due_at: Mapped[datetime] = mapped_column(TS)
    channel: Mapped[str] = mapped_column(String(16))
    note: Mapped[str] = mapped_column(String(1000))
    status: Mapped[str] = mapped_column(String(16), default="PENDING")
    outcome_note: Mapped[str | None] = mapped_column(String(1000), default=None)
    completed_at: Mapped[datetime | None] = mapped_column(TS, default=None)


class LeadTagRow(Base):
    __tablename__ = "lead_tags"

    name: Mapped[str] = mapped_column(String(40), unique=True)  # slugified, lower case
    color: Mapped[str | None] = mapped_column(String(16), default=None)
    description: Mapped[str | None] = mapped_column(String(300), default=None)
    created_by: Mapped[uuid.UUID | None] = mapped_column(default=None)
    deleted_at: Mapped[datetime | None] = mapped_column(TS, default=None)


class RawLeadTagRow(Base):
    __tablename__ = "raw_lead_tags"
    __table_args__ = (
        Index("uq_raw_lead_tags", "raw_lead_id", "tag_id", unique=True),
        Index("ix_raw_lead_tags_tag", "tag_id"),
    )

    raw_lead_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("raw_leads.id", ondelete="CASCADE"))
    tag_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("lead_tags.id", ondelete="CASCADE"))
    added_by: Mapped[uuid.UUID | None] = mapped_column(default=None)


class CampaignRow(Base):
    __tablename__ = "campaigns"

    slug: Mapped[str] = mapped_column(String(80), unique=True)
    name: Mapped[str] = mapped_column(String(150))
    programme: Mapped[str] = mapped_column(String(120))
    session_year: Mapped[str | None] = mapped_column(String(9), default=None)
    default_sales_head_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), default=None
    )
    default_tags: Mapped[list[str]] = mapped_column(JsonB, default=list)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    starts_at: Mapped[datetime | None] = mapped_column(TS, default=None)
    ends_at: Mapped[datetime | None] = mapped_column(TS, default=None)
    created_by: Mapped[uuid.UUID | None] = mapped_column(default=None)


class CampaignLeadRow(Base):
    __tablename__ = "campaign_leads"
    __table_args__ = (Index("ix_campaign_leads_status", "status", "created_at"),)

    campaign_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("campaigns.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    phone_raw: Mapped[str | None] = mapped_column(String(40), default=None)
    email_raw: Mapped[str | None] = mapped_column(String(254), default=None)
    answers: Mapped[dict[str, Any]] = mapped_column(JsonB, default=dict)
    utm_source: Mapped[str | None] = mapped_column(String(100), default=None)
    utm_medium: Mapped[str | None] = mapped_column(String(100), default=None)
    utm_campaign: Mapped[str | None] = mapped_column(String(100), default=None)
    ip_hash: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default="RECEIVED")
    reject_reason: Mapped[str | None] = mapped_column(String(200), default=None)
    raw_lead_id: Mapped[uuid.UUID | None] = mapped_column(default=None)


class LeadImportBatchRow(Base):
    __tablename__ = "lead_import_batches"
    __table_args__ = (Index("ix_lead_import_batches_sha", "file_sha256", "created_at"),)

    uploaded_by: Mapped[uuid.UUID | None] = mapped_column(default=None)
    target_sales_head_id: Mapped[uuid.UUID | None] = mapped_column(default=None)
    file_key: Mapped[str] = mapped_column(String(300))
    file_sha256: Mapped[str] = mapped_column(String(64))
    file_name: Mapped[str] = mapped_column(String(300))
    status: Mapped[str] = mapped_column(String(24))
    column_map: Mapped[dict[str, str]] = mapped_column(JsonB, default=dict)
    default_tags: Mapped[list[str]] = mapped_column(JsonB, default=list)
    headers: Mapped[list[str]] = mapped_column(JsonB, default=list)
    preview: Mapped[list[dict[str, str]]] = mapped_column(JsonB, default=list)
    total_rows: Mapped[int] = mapped_column(Integer, default=0)
    resume_row: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    created_count: Mapped[int] = mapped_column(Integer, default=0)
    merged_count: Mapped[int] = mapped_column(Integer, default=0)
    rejected_count: Mapped[int] = mapped_column(Integer, default=0)
    rejected_by_reason: Mapped[dict[str, int]] = mapped_column(JsonB, default=dict)
    error_file_key: Mapped[str | None] = mapped_column(String(300), default=None)
    committed_at: Mapped[datetime | None] = mapped_column(TS, default=None)
    finished_at: Mapped[datetime | None] = mapped_column(TS, default=None)
    last_error: Mapped[str | None] = mapped_column(Text, default=None)


class LeadImportOutcomeRow(Base):
    """Row outcomes of an import (rejected rows with their reasons feed the error CSV)."""

    __tablename__ = "lead_import_rows"
    __table_args__ = (Index("uq_lead_import_rows", "batch_id", "row_no", unique=True),)

    batch_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("lead_import_batches.id", ondelete="CASCADE")
    )
    row_no: Mapped[int] = mapped_column(Integer)
    raw: Mapped[dict[str, Any]] = mapped_column(JsonB, default=dict)
    errors: Mapped[list[str]] = mapped_column(JsonB, default=list)
    outcome: Mapped[str] = mapped_column(String(16))
    raw_lead_id: Mapped[uuid.UUID | None] = mapped_column(default=None)


class SalesHeadProfileRow(Base):
    __tablename__ = "sales_head_profiles"

    user_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), unique=True
    )
    display_name: Mapped[str] = mapped_column(String(120))
    isolation_enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    page_flags: Mapped[dict[str, bool]] = mapped_column(JsonB, default=dict)
    bulk_approval_required: Mapped[bool] = mapped_column(Boolean, default=True)
    bulk_approval_threshold: Mapped[int | None] = mapped_column(Integer, default=None)
    auto_assign_enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    assignment_strategy: Mapped[str] = mapped_column(String(16), default="ROUND_ROBIN")
    rr_cursor: Mapped[int] = mapped_column(Integer, default=0)
    updated_by: Mapped[uuid.UUID | None] = mapped_column(default=None)


class SalesTeamMemberRow(Base):
    __tablename__ = "sales_team_members"
    __table_args__ = (
        Index(
            "uq_sales_team_members_active",
            "user_id",
            unique=True,
            sqlite_where=text("active"),
            postgresql_where=text("active"),
        ),
        Index("ix_sales_team_members_head", "sales_head_id", "active"),
    )

    sales_head_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    member_role: Mapped[str] = mapped_column(String(16))
    daily_capacity: Mapped[int | None] = mapped_column(Integer, default=None)
    available: Mapped[bool] = mapped_column(Boolean, default=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    joined_at: Mapped[datetime] = mapped_column(TS)
    left_at: Mapped[datetime | None] = mapped_column(TS, default=None)


class LeadAssignmentRow(Base):
    __tablename__ = "lead_assignments"
    __table_args__ = (
        Index(
            "uq_lead_assignments_request",
            "request_id",
            "raw_lead_id",
            "slot",
            unique=True,
            sqlite_where=text("request_id IS NOT NULL"),
            postgresql_where=text("request_id IS NOT NULL"),
        ),
        Index("ix_lead_assignments_lead", "raw_lead_id", "created_at"),
        Index("ix_lead_assignments_assignee", "assignee_id", "created_at"),
    )

    raw_lead_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("raw_leads.id", ondelete="CASCADE"))
    slot: Mapped[str] = mapped_column(String(16))
    assignee_id: Mapped[uuid.UUID | None] = mapped_column(default=None)
    previous_assignee_id: Mapped[uuid.UUID | None] = mapped_column(default=None)
    method: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(String(500))
    request_id: Mapped[uuid.UUID | None] = mapped_column(default=None)
    assigned_by: Mapped[uuid.UUID | None] = mapped_column(default=None)


class BulkAssignmentRequestRow(Base):
    __tablename__ = "bulk_assignment_requests"
    __table_args__ = (Index("ix_bulk_assignment_requests_status", "status", "created_at"),)

    requested_by: Mapped[uuid.UUID] = mapped_column()
    pool_head_id: Mapped[uuid.UUID] = mapped_column()
    slot: Mapped[str] = mapped_column(String(16))
    strategy: Mapped[str] = mapped_column(String(16))
    lead_ids: Mapped[list[str]] = mapped_column(JsonB, default=list)
    assignee_ids: Mapped[list[str]] = mapped_column(JsonB, default=list)
    explicit_map: Mapped[dict[str, str] | None] = mapped_column(JsonB, default=None)
    lead_count: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(String(500))
    status: Mapped[str] = mapped_column(String(16))
    decided_by: Mapped[uuid.UUID | None] = mapped_column(default=None)
    decided_at: Mapped[datetime | None] = mapped_column(TS, default=None)
    decision_note: Mapped[str | None] = mapped_column(String(500), default=None)
    applied_count: Mapped[int] = mapped_column(Integer, default=0)
    skipped_count: Mapped[int] = mapped_column(Integer, default=0)
    expires_at: Mapped[datetime] = mapped_column(TS)
    last_error: Mapped[str | None] = mapped_column(Text, default=None)


class LeadOwnershipTransferRow(Base):
    __tablename__ = "lead_ownership_transfers"

    from_head_id: Mapped[uuid.UUID | None] = mapped_column(default=None)
    to_head_id: Mapped[uuid.UUID] = mapped_column()
    lead_ids: Mapped[list[str]] = mapped_column(JsonB, default=list)
    lead_count: Mapped[int] = mapped_column(Integer)
    clear_assignees: Mapped[bool] = mapped_column(Boolean, default=True)
    reason: Mapped[str] = mapped_column(String(500))
    performed_by: Mapped[uuid.UUID] = mapped_column()


class DailyTargetRow(Base):
    __tablename__ = "daily_targets"
    __table_args__ = (Index("uq_daily_targets", "salesperson_id", "target_date", unique=True),)

    salesperson_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    target_date: Mapped[date] = mapped_column(Date)
    calls_target: Mapped[int] = mapped_column(Integer, default=0)
    connected_calls_target: Mapped[int] = mapped_column(Integer, default=0)
    follow_ups_target: Mapped[int] = mapped_column(Integer, default=0)
    interested_target: Mapped[int] = mapped_column(Integer, default=0)
    conversions_target: Mapped[int] = mapped_column(Integer, default=0)
    revenue_target_paise: Mapped[int] = mapped_column(BigInteger, default=0)
    set_by: Mapped[uuid.UUID | None] = mapped_column(default=None)
    note: Mapped[str | None] = mapped_column(String(300), default=None)


class DailyTargetActualRow(Base):
    __tablename__ = "daily_target_actuals"
    __table_args__ = (
        Index("uq_daily_target_actuals", "salesperson_id", "target_date", unique=True),
    )

    salesperson_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    target_date: Mapped[date] = mapped_column(Date)
    calls_done: Mapped[int] = mapped_column(Integer, default=0)
    connected_calls: Mapped[int] = mapped_column(Integer, default=0)
    follow_ups_done: Mapped[int] = mapped_column(Integer, default=0)
    moved_to_interested: Mapped[int] = mapped_column(Integer, default=0)
    conversions: Mapped[int] = mapped_column(Integer, default=0)
    revenue_paise: Mapped[int] = mapped_column(BigInteger, default=0)
    computed_at: Mapped[datetime] = mapped_column(TS)


class SystemConfigRow(Base):
    """Operator-tunable values (`crm.bulk_assign_threshold`, token prices, …)."""

    __tablename__ = "system_config"

    key: Mapped[str] = mapped_column(String(120), unique=True)
    value: Mapped[Any] = mapped_column(JsonB)
    updated_by: Mapped[uuid.UUID | None] = mapped_column(default=None)


class VendorLeadRow(Base):
    """A lead a vendor pushed through the vendor API, waiting to be pulled into a pool."""

    __tablename__ = "vendor_leads"
    __table_args__ = (
        Index("uq_vendor_leads_external", "vendor_key_id", "external_id", unique=True),
        Index("ix_vendor_leads_status", "status", "created_at"),
    )

    vendor_key_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("vendor_api_keys.id", ondelete="CASCADE")
    )
    external_id: Mapped[str] = mapped_column(String(100))
    name: Mapped[str] = mapped_column(String(200))
    phone_raw: Mapped[str | None] = mapped_column(String(40), default=None)
    email_raw: Mapped[str | None] = mapped_column(String(254), default=None)
    payload: Mapped[dict[str, Any]] = mapped_column(JsonB, default=dict)
    status: Mapped[str] = mapped_column(String(16), default="RECEIVED")
    reject_reason: Mapped[str | None] = mapped_column(String(200), default=None)
    raw_lead_id: Mapped[uuid.UUID | None] = mapped_column(default=None)
    crm_status: Mapped[str | None] = mapped_column(String(16), default=None)


class VendorHeadAssignmentRow(Base):
    """Which sales head's pool a vendor's leads go to (one head per vendor key)."""

    __tablename__ = "vendor_head_assignments"

    vendor_key_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("vendor_api_keys.id", ondelete="CASCADE"), unique=True
    )
    sales_head_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    assigned_by: Mapped[uuid.UUID | None] = mapped_column(default=None)
