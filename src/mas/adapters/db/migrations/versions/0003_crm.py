"""crm: leads, intakes, activities, follow-ups, tags, campaigns, imports, assignment, targets

Revision ID: 0003_crm
Revises: 0002_identity
Create Date: 2026-11-25 13:05:29.411555
"""

from collections.abc import Sequence

import advanced_alchemy.types
import sqlalchemy as sa
from alembic import op

revision: str = "0003_crm"
down_revision: str | None = "0002_identity"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


APPEND_ONLY = [
    """
CREATE OR REPLACE FUNCTION lead_activities_append_only() RETURNS trigger AS $$
BEGIN
  RAISE EXCEPTION 'lead_activities is append-only';
END;
$$ LANGUAGE plpgsql
""",
    """
CREATE TRIGGER lead_activities_append_only BEFORE UPDATE OR DELETE ON lead_activities
FOR EACH ROW EXECUTE FUNCTION lead_activities_append_only()
""",
]


def upgrade() -> None:

    op.create_table(
        "bulk_assignment_requests",
        sa.Column("id", advanced_alchemy.types.guid.GUID(length=16), nullable=False),
        sa.Column("requested_by", advanced_alchemy.types.guid.GUID(length=16), nullable=False),
        sa.Column("pool_head_id", advanced_alchemy.types.guid.GUID(length=16), nullable=False),
        sa.Column("slot", sa.String(length=16), nullable=False),
        sa.Column("strategy", sa.String(length=16), nullable=False),
        sa.Column("lead_ids", advanced_alchemy.types.JsonB, nullable=False),
        sa.Column("assignee_ids", advanced_alchemy.types.JsonB, nullable=False),
        sa.Column("explicit_map", advanced_alchemy.types.JsonB, nullable=True),
        sa.Column("lead_count", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("decided_by", advanced_alchemy.types.guid.GUID(length=16), nullable=True),
        sa.Column(
            "decided_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=True
        ),
        sa.Column("decision_note", sa.String(length=500), nullable=True),
        sa.Column("applied_count", sa.Integer(), nullable=False),
        sa.Column("skipped_count", sa.Integer(), nullable=False),
        sa.Column(
            "expires_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False
        ),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("sa_orm_sentinel", sa.Integer(), nullable=True),
        sa.Column(
            "created_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False
        ),
        sa.Column(
            "updated_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bulk_assignment_requests")),
    )
    with op.batch_alter_table("bulk_assignment_requests", schema=None) as batch_op:
        batch_op.create_index(
            "ix_bulk_assignment_requests_status", ["status", "created_at"], unique=False
        )

    op.create_table(
        "lead_import_batches",
        sa.Column("id", advanced_alchemy.types.guid.GUID(length=16), nullable=False),
        sa.Column("uploaded_by", advanced_alchemy.types.guid.GUID(length=16), nullable=True),
        sa.Column(
            "target_sales_head_id", advanced_alchemy.types.guid.GUID(length=16), nullable=True
        ),
        sa.Column("file_key", sa.String(length=300), nullable=False),
        sa.Column("file_sha256", sa.String(length=64), nullable=False),
        sa.Column("file_name", sa.String(length=300), nullable=False),
        sa.Column("status", sa.String(length=24), nullable=False),
        sa.Column("column_map", advanced_alchemy.types.JsonB, nullable=False),
        sa.Column("default_tags", advanced_alchemy.types.JsonB, nullable=False),
        sa.Column("headers", advanced_alchemy.types.JsonB, nullable=False),
        sa.Column("preview", advanced_alchemy.types.JsonB, nullable=False),
        sa.Column("total_rows", sa.Integer(), nullable=False),
        sa.Column("created_count", sa.Integer(), nullable=False),
        sa.Column("merged_count", sa.Integer(), nullable=False),
        sa.Column("rejected_count", sa.Integer(), nullable=False),
        sa.Column("rejected_by_reason", advanced_alchemy.types.JsonB, nullable=False),
        sa.Column("error_file_key", sa.String(length=300), nullable=True),
        sa.Column(
            "committed_at",
            advanced_alchemy.types.datetime.DateTimeUTC(timezone=True),
            nullable=True,
        ),
        sa.Column(
            "finished_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=True
        ),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("sa_orm_sentinel", sa.Integer(), nullable=True),
        sa.Column(
            "created_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False
        ),
        sa.Column(
            "updated_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lead_import_batches")),
    )
    with op.batch_alter_table("lead_import_batches", schema=None) as batch_op:
        batch_op.create_index(
            "ix_lead_import_batches_sha", ["file_sha256", "created_at"], unique=False
        )

    op.create_table(
        "lead_ownership_transfers",
        sa.Column("id", advanced_alchemy.types.guid.GUID(length=16), nullable=False),
        sa.Column("from_head_id", advanced_alchemy.types.guid.GUID(length=16), nullable=True),
        sa.Column("to_head_id", advanced_alchemy.types.guid.GUID(length=16), nullable=False),
        sa.Column("lead_ids", advanced_alchemy.types.JsonB, nullable=False),
        sa.Column("lead_count", sa.Integer(), nullable=False),
        sa.Column("clear_assignees", sa.Boolean(), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("performed_by", advanced_alchemy.types.guid.GUID(length=16), nullable=False),
        sa.Column("sa_orm_sentinel", sa.Integer(), nullable=True),
        sa.Column(
            "created_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False
        ),
        sa.Column(
            "updated_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lead_ownership_transfers")),
    )
    op.create_table(
        "lead_tags",
        sa.Column("id", advanced_alchemy.types.guid.GUID(length=16), nullable=False),
        sa.Column("name", sa.String(length=40), nullable=False),
        sa.Column("color", sa.String(length=16), nullable=True),
        sa.Column("description", sa.String(length=300), nullable=True),
        sa.Column("created_by", advanced_alchemy.types.guid.GUID(length=16), nullable=True),
        sa.Column(
            "deleted_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=True
        ),
        sa.Column("sa_orm_sentinel", sa.Integer(), nullable=True),
        sa.Column(
            "created_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False
        ),
        sa.Column(
            "updated_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lead_tags")),
        sa.UniqueConstraint("name", name=op.f("uq_lead_tags_name")),
    )
    op.create_table(
        "system_config",
        sa.Column("id", advanced_alchemy.types.guid.GUID(length=16), nullable=False),
        sa.Column("key", sa.String(length=120), nullable=False),
        sa.Column("value", advanced_alchemy.types.JsonB, nullable=False),
        sa.Column("updated_by", advanced_alchemy.types.guid.GUID(length=16), nullable=True),
        sa.Column("sa_orm_sentinel", sa.Integer(), nullable=True),
        sa.Column(
            "created_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False
        ),
        sa.Column(
            "updated_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_system_config")),
        sa.UniqueConstraint("key", name=op.f("uq_system_config_key")),
    )
    op.create_table(
        "campaigns",
        sa.Column("id", advanced_alchemy.types.guid.GUID(length=16), nullable=False),
        sa.Column("slug", sa.String(length=80), nullable=False),
        sa.Column("name", sa.String(length=150), nullable=False),
        sa.Column("programme", sa.String(length=120), nullable=False),
        sa.Column("session_year", sa.String(length=9), nullable=True),
        sa.Column(
            "default_sales_head_id", advanced_alchemy.types.guid.GUID(length=16), nullable=True
        ),
        sa.Column("default_tags", advanced_alchemy.types.JsonB, nullable=False),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column(
            "starts_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=True
        ),
        sa.Column(
            "ends_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=True
        ),
        sa.Column("created_by", advanced_alchemy.types.guid.GUID(length=16), nullable=True),
        sa.Column("sa_orm_sentinel", sa.Integer(), nullable=True),
        sa.Column(
            "created_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False
        ),
        sa.Column(
            "updated_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["default_sales_head_id"],
            ["users.id"],
            name=op.f("fk_campaigns_default_sales_head_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_campaigns")),
        sa.UniqueConstraint("slug", name=op.f("uq_campaigns_slug")),
    )
    op.create_table(
        "daily_target_actuals",
        sa.Column("id", advanced_alchemy.types.guid.GUID(length=16), nullable=False),
        sa.Column("salesperson_id", advanced_alchemy.types.guid.GUID(length=16), nullable=False),
        sa.Column("target_date", sa.Date(), nullable=False),
        sa.Column("calls_done", sa.Integer(), nullable=False),
        sa.Column("connected_calls", sa.Integer(), nullable=False),
        sa.Column("follow_ups_done", sa.Integer(), nullable=False),
        sa.Column("moved_to_interested", sa.Integer(), nullable=False),
        sa.Column("conversions", sa.Integer(), nullable=False),
        sa.Column("revenue_paise", sa.BigInteger(), nullable=False),
        sa.Column(
            "computed_at",
            advanced_alchemy.types.datetime.DateTimeUTC(timezone=True),
            nullable=False,
        ),
        sa.Column("sa_orm_sentinel", sa.Integer(), nullable=True),
        sa.Column(
            "created_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False
        ),
        sa.Column(
            "updated_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["salesperson_id"],
            ["users.id"],
            name=op.f("fk_daily_target_actuals_salesperson_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_daily_target_actuals")),
    )
    with op.batch_alter_table("daily_target_actuals", schema=None) as batch_op:
        batch_op.create_index(
            "uq_daily_target_actuals", ["salesperson_id", "target_date"], unique=True
        )

    op.create_table(
        "daily_targets",
        sa.Column("id", advanced_alchemy.types.guid.GUID(length=16), nullable=False),
        sa.Column("salesperson_id", advanced_alchemy.types.guid.GUID(length=16), nullable=False),
        sa.Column("target_date", sa.Date(), nullable=False),
        sa.Column("calls_target", sa.Integer(), nullable=False),
        sa.Column("connected_calls_target", sa.Integer(), nullable=False),
        sa.Column("follow_ups_target", sa.Integer(), nullable=False),
        sa.Column("interested_target", sa.Integer(), nullable=False),
        sa.Column("conversions_target", sa.Integer(), nullable=False),
        sa.Column("revenue_target_paise", sa.BigInteger(), nullable=False),
        sa.Column("set_by", advanced_alchemy.types.guid.GUID(length=16), nullable=True),
        sa.Column("note", sa.String(length=300), nullable=True),
        sa.Column("sa_orm_sentinel", sa.Integer(), nullable=True),
        sa.Column(
            "created_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False
        ),
        sa.Column(
            "updated_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["salesperson_id"],
            ["users.id"],
            name=op.f("fk_daily_targets_salesperson_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_daily_targets")),
    )
    with op.batch_alter_table("daily_targets", schema=None) as batch_op:
        batch_op.create_index("uq_daily_targets", ["salesperson_id", "target_date"], unique=True)

    op.create_table(
        "lead_import_rows",
        sa.Column("id", advanced_alchemy.types.guid.GUID(length=16), nullable=False),
        sa.Column("batch_id", advanced_alchemy.types.guid.GUID(length=16), nullable=False),
        sa.Column("row_no", sa.Integer(), nullable=False),
        sa.Column("raw", advanced_alchemy.types.JsonB, nullable=False),
        sa.Column("errors", advanced_alchemy.types.JsonB, nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("raw_lead_id", advanced_alchemy.types.guid.GUID(length=16), nullable=True),
        sa.Column("sa_orm_sentinel", sa.Integer(), nullable=True),
        sa.Column(
            "created_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False
        ),
        sa.Column(
            "updated_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["batch_id"],
            ["lead_import_batches.id"],
            name=op.f("fk_lead_import_rows_batch_id_lead_import_batches"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lead_import_rows")),
    )
    with op.batch_alter_table("lead_import_rows", schema=None) as batch_op:
        batch_op.create_index("uq_lead_import_rows", ["batch_id", "row_no"], unique=True)

    op.create_table(
        "raw_leads",
        sa.Column("id", advanced_alchemy.types.guid.GUID(length=16), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("phone_e164", sa.String(length=16), nullable=True),
        sa.Column("email", sa.String(length=254), nullable=True),
        sa.Column("phone_alt", sa.String(length=16), nullable=True),
        sa.Column("city", sa.String(length=100), nullable=True),
        sa.Column("state", sa.String(length=100), nullable=True),
        sa.Column("course_interest", sa.String(length=120), nullable=True),
        sa.Column("session_year", sa.String(length=9), nullable=True),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("source_detail", sa.String(length=200), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column(
            "owning_sales_head_id", advanced_alchemy.types.guid.GUID(length=16), nullable=True
        ),
        sa.Column("assigned_to", advanced_alchemy.types.guid.GUID(length=16), nullable=True),
        sa.Column(
            "assigned_counsellor", advanced_alchemy.types.guid.GUID(length=16), nullable=True
        ),
        sa.Column("extra_data", advanced_alchemy.types.JsonB, nullable=False),
        sa.Column("lost_reason", sa.String(length=300), nullable=True),
        sa.Column("conversion_ref", sa.String(length=100), nullable=True),
        sa.Column(
            "next_follow_up_at",
            advanced_alchemy.types.datetime.DateTimeUTC(timezone=True),
            nullable=True,
        ),
        sa.Column(
            "last_activity_at",
            advanced_alchemy.types.datetime.DateTimeUTC(timezone=True),
            nullable=True,
        ),
        sa.Column("reinquiry_count", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column(
            "deleted_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=True
        ),
        sa.Column("sa_orm_sentinel", sa.Integer(), nullable=True),
        sa.Column(
            "created_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False
        ),
        sa.Column(
            "updated_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["assigned_counsellor"],
            ["users.id"],
            name=op.f("fk_raw_leads_assigned_counsellor_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["assigned_to"],
            ["users.id"],
            name=op.f("fk_raw_leads_assigned_to_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["owning_sales_head_id"],
            ["users.id"],
            name=op.f("fk_raw_leads_owning_sales_head_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_raw_leads")),
    )
    with op.batch_alter_table("raw_leads", schema=None) as batch_op:
        batch_op.create_index(
            "ix_raw_leads_assigned_status", ["assigned_to", "status"], unique=False
        )
        batch_op.create_index(
            "ix_raw_leads_counsellor_status", ["assigned_counsellor", "status"], unique=False
        )
        batch_op.create_index("ix_raw_leads_created", ["created_at", "id"], unique=False)
        batch_op.create_index("ix_raw_leads_email", ["email"], unique=False)
        batch_op.create_index("ix_raw_leads_next_follow_up", ["next_follow_up_at"], unique=False)
        batch_op.create_index("ix_raw_leads_phone_alt", ["phone_alt"], unique=False)
        batch_op.create_index(
            "ix_raw_leads_pool_status",
            ["owning_sales_head_id", "status", "created_at"],
            unique=False,
        )
        batch_op.create_index("ix_raw_leads_status_created", ["status", "created_at"], unique=False)
        batch_op.create_index(
            "uq_raw_leads_email_without_phone",
            ["email"],
            unique=True,
            sqlite_where=sa.text("deleted_at IS NULL AND phone_e164 IS NULL AND email IS NOT NULL"),
            postgresql_where=sa.text(
                "deleted_at IS NULL AND phone_e164 IS NULL AND email IS NOT NULL"
            ),
        )
        batch_op.create_index(
            "uq_raw_leads_phone",
            ["phone_e164"],
            unique=True,
            sqlite_where=sa.text("deleted_at IS NULL AND phone_e164 IS NOT NULL"),
            postgresql_where=sa.text("deleted_at IS NULL AND phone_e164 IS NOT NULL"),
        )

    op.create_table(
        "sales_head_profiles",
        sa.Column("id", advanced_alchemy.types.guid.GUID(length=16), nullable=False),
        sa.Column("user_id", advanced_alchemy.types.guid.GUID(length=16), nullable=False),
        sa.Column("display_name", sa.String(length=120), nullable=False),
        sa.Column("isolation_enabled", sa.Boolean(), nullable=False),
        sa.Column("page_flags", advanced_alchemy.types.JsonB, nullable=False),
        sa.Column("bulk_approval_required", sa.Boolean(), nullable=False),
        sa.Column("bulk_approval_threshold", sa.Integer(), nullable=True),
        sa.Column("auto_assign_enabled", sa.Boolean(), nullable=False),
        sa.Column("assignment_strategy", sa.String(length=16), nullable=False),
        sa.Column("rr_cursor", sa.Integer(), nullable=False),
        sa.Column("updated_by", advanced_alchemy.types.guid.GUID(length=16), nullable=True),
        sa.Column("sa_orm_sentinel", sa.Integer(), nullable=True),
        sa.Column(
            "created_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False
        ),
        sa.Column(
            "updated_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_sales_head_profiles_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sales_head_profiles")),
        sa.UniqueConstraint("user_id", name=op.f("uq_sales_head_profiles_user_id")),
    )
    op.create_table(
        "sales_team_members",
        sa.Column("id", advanced_alchemy.types.guid.GUID(length=16), nullable=False),
        sa.Column("sales_head_id", advanced_alchemy.types.guid.GUID(length=16), nullable=False),
        sa.Column("user_id", advanced_alchemy.types.guid.GUID(length=16), nullable=False),
        sa.Column("member_role", sa.String(length=16), nullable=False),
        sa.Column("daily_capacity", sa.Integer(), nullable=True),
        sa.Column("available", sa.Boolean(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column(
            "joined_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False
        ),
        sa.Column(
            "left_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=True
        ),
        sa.Column("sa_orm_sentinel", sa.Integer(), nullable=True),
        sa.Column(
            "created_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False
        ),
        sa.Column(
            "updated_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["sales_head_id"],
            ["users.id"],
            name=op.f("fk_sales_team_members_sales_head_id_users"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_sales_team_members_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sales_team_members")),
    )
    with op.batch_alter_table("sales_team_members", schema=None) as batch_op:
        batch_op.create_index(
            "ix_sales_team_members_head", ["sales_head_id", "active"], unique=False
        )
        batch_op.create_index(
            "uq_sales_team_members_active",
            ["user_id"],
            unique=True,
            sqlite_where=sa.text("active"),
            postgresql_where=sa.text("active"),
        )

    op.create_table(
        "campaign_leads",
        sa.Column("id", advanced_alchemy.types.guid.GUID(length=16), nullable=False),
        sa.Column("campaign_id", advanced_alchemy.types.guid.GUID(length=16), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("phone_raw", sa.String(length=40), nullable=True),
        sa.Column("email_raw", sa.String(length=254), nullable=True),
        sa.Column("answers", advanced_alchemy.types.JsonB, nullable=False),
        sa.Column("utm_source", sa.String(length=100), nullable=True),
        sa.Column("utm_medium", sa.String(length=100), nullable=True),
        sa.Column("utm_campaign", sa.String(length=100), nullable=True),
        sa.Column("ip_hash", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("reject_reason", sa.String(length=200), nullable=True),
        sa.Column("raw_lead_id", advanced_alchemy.types.guid.GUID(length=16), nullable=True),
        sa.Column("sa_orm_sentinel", sa.Integer(), nullable=True),
        sa.Column(
            "created_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False
        ),
        sa.Column(
            "updated_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["campaign_id"],
            ["campaigns.id"],
            name=op.f("fk_campaign_leads_campaign_id_campaigns"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_campaign_leads")),
    )
    with op.batch_alter_table("campaign_leads", schema=None) as batch_op:
        batch_op.create_index("ix_campaign_leads_status", ["status", "created_at"], unique=False)

    op.create_table(
        "lead_activities",
        sa.Column("id", advanced_alchemy.types.guid.GUID(length=16), nullable=False),
        sa.Column("raw_lead_id", advanced_alchemy.types.guid.GUID(length=16), nullable=False),
        sa.Column("actor_id", advanced_alchemy.types.guid.GUID(length=16), nullable=True),
        sa.Column("type", sa.String(length=32), nullable=False),
        sa.Column("summary", sa.String(length=500), nullable=False),
        sa.Column("data", advanced_alchemy.types.JsonB, nullable=False),
        sa.Column(
            "occurred_at",
            advanced_alchemy.types.datetime.DateTimeUTC(timezone=True),
            nullable=False,
        ),
        sa.Column("sa_orm_sentinel", sa.Integer(), nullable=True),
        sa.Column(
            "created_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False
        ),
        sa.Column(
            "updated_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["raw_lead_id"],
            ["raw_leads.id"],
            name=op.f("fk_lead_activities_raw_lead_id_raw_leads"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lead_activities")),
    )
    with op.batch_alter_table("lead_activities", schema=None) as batch_op:
        batch_op.create_index("ix_lead_activities_actor", ["actor_id", "occurred_at"], unique=False)
        batch_op.create_index(
            "ix_lead_activities_lead", ["raw_lead_id", "occurred_at"], unique=False
        )

    op.create_table(
        "lead_assignments",
        sa.Column("id", advanced_alchemy.types.guid.GUID(length=16), nullable=False),
        sa.Column("raw_lead_id", advanced_alchemy.types.guid.GUID(length=16), nullable=False),
        sa.Column("slot", sa.String(length=16), nullable=False),
        sa.Column("assignee_id", advanced_alchemy.types.guid.GUID(length=16), nullable=True),
        sa.Column(
            "previous_assignee_id", advanced_alchemy.types.guid.GUID(length=16), nullable=True
        ),
        sa.Column("method", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=500), nullable=False),
        sa.Column("request_id", advanced_alchemy.types.guid.GUID(length=16), nullable=True),
        sa.Column("assigned_by", advanced_alchemy.types.guid.GUID(length=16), nullable=True),
        sa.Column("sa_orm_sentinel", sa.Integer(), nullable=True),
        sa.Column(
            "created_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False
        ),
        sa.Column(
            "updated_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["raw_lead_id"],
            ["raw_leads.id"],
            name=op.f("fk_lead_assignments_raw_lead_id_raw_leads"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lead_assignments")),
    )
    with op.batch_alter_table("lead_assignments", schema=None) as batch_op:
        batch_op.create_index(
            "ix_lead_assignments_assignee", ["assignee_id", "created_at"], unique=False
        )
        batch_op.create_index(
            "ix_lead_assignments_lead", ["raw_lead_id", "created_at"], unique=False
        )
        batch_op.create_index(
            "uq_lead_assignments_request",
            ["request_id", "raw_lead_id", "slot"],
            unique=True,
            sqlite_where=sa.text("request_id IS NOT NULL"),
            postgresql_where=sa.text("request_id IS NOT NULL"),
        )

    op.create_table(
        "lead_follow_ups",
        sa.Column("id", advanced_alchemy.types.guid.GUID(length=16), nullable=False),
        sa.Column("raw_lead_id", advanced_alchemy.types.guid.GUID(length=16), nullable=False),
        sa.Column("owner_id", advanced_alchemy.types.guid.GUID(length=16), nullable=False),
        sa.Column(
            "due_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False
        ),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("note", sa.String(length=1000), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("outcome_note", sa.String(length=1000), nullable=True),
        sa.Column(
            "completed_at",
            advanced_alchemy.types.datetime.DateTimeUTC(timezone=True),
            nullable=True,
        ),
        sa.Column("sa_orm_sentinel", sa.Integer(), nullable=True),
        sa.Column(
            "created_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False
        ),
        sa.Column(
            "updated_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["owner_id"],
            ["users.id"],
            name=op.f("fk_lead_follow_ups_owner_id_users"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["raw_lead_id"],
            ["raw_leads.id"],
            name=op.f("fk_lead_follow_ups_raw_lead_id_raw_leads"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lead_follow_ups")),
    )
    with op.batch_alter_table("lead_follow_ups", schema=None) as batch_op:
        batch_op.create_index("ix_lead_follow_ups_due", ["status", "due_at"], unique=False)
        batch_op.create_index("ix_lead_follow_ups_lead", ["raw_lead_id"], unique=False)
        batch_op.create_index(
            "ix_lead_follow_ups_owner", ["owner_id", "status", "due_at"], unique=False
        )

    op.create_table(
        "lead_intakes",
        sa.Column("id", advanced_alchemy.types.guid.GUID(length=16), nullable=False),
        sa.Column("raw_lead_id", advanced_alchemy.types.guid.GUID(length=16), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("channel_ref", sa.String(length=100), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("payload", advanced_alchemy.types.JsonB, nullable=False),
        sa.Column("sa_orm_sentinel", sa.Integer(), nullable=True),
        sa.Column(
            "created_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False
        ),
        sa.Column(
            "updated_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["raw_lead_id"],
            ["raw_leads.id"],
            name=op.f("fk_lead_intakes_raw_lead_id_raw_leads"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lead_intakes")),
    )
    with op.batch_alter_table("lead_intakes", schema=None) as batch_op:
        batch_op.create_index("ix_lead_intakes_lead", ["raw_lead_id"], unique=False)
        batch_op.create_index(
            "uq_lead_intakes_channel_ref", ["channel", "channel_ref"], unique=True
        )

    op.create_table(
        "raw_lead_tags",
        sa.Column("id", advanced_alchemy.types.guid.GUID(length=16), nullable=False),
        sa.Column("raw_lead_id", advanced_alchemy.types.guid.GUID(length=16), nullable=False),
        sa.Column("tag_id", advanced_alchemy.types.guid.GUID(length=16), nullable=False),
        sa.Column("added_by", advanced_alchemy.types.guid.GUID(length=16), nullable=True),
        sa.Column("sa_orm_sentinel", sa.Integer(), nullable=True),
        sa.Column(
            "created_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False
        ),
        sa.Column(
            "updated_at", advanced_alchemy.types.datetime.DateTimeUTC(timezone=True), nullable=False
        ),
        sa.ForeignKeyConstraint(
            ["raw_lead_id"],
            ["raw_leads.id"],
            name=op.f("fk_raw_lead_tags_raw_lead_id_raw_leads"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tag_id"],
            ["lead_tags.id"],
            name=op.f("fk_raw_lead_tags_tag_id_lead_tags"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_raw_lead_tags")),
    )
    with op.batch_alter_table("raw_lead_tags", schema=None) as batch_op:
        batch_op.create_index("ix_raw_lead_tags_tag", ["tag_id"], unique=False)
        batch_op.create_index("uq_raw_lead_tags", ["raw_lead_id", "tag_id"], unique=True)
    if op.get_bind().dialect.name == "postgresql":
        for statement in APPEND_ONLY:
            op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS lead_activities_append_only ON lead_activities")
        op.execute("DROP FUNCTION IF EXISTS lead_activities_append_only()")

    with op.batch_alter_table("raw_lead_tags", schema=None) as batch_op:
        batch_op.drop_index("uq_raw_lead_tags")
        batch_op.drop_index("ix_raw_lead_tags_tag")

    op.drop_table("raw_lead_tags")
    with op.batch_alter_table("lead_intakes", schema=None) as batch_op:
        batch_op.drop_index("uq_lead_intakes_channel_ref")
        batch_op.drop_index("ix_lead_intakes_lead")

    op.drop_table("lead_intakes")
    with op.batch_alter_table("lead_follow_ups", schema=None) as batch_op:
        batch_op.drop_index("ix_lead_follow_ups_owner")
        batch_op.drop_index("ix_lead_follow_ups_lead")
        batch_op.drop_index("ix_lead_follow_ups_due")

    op.drop_table("lead_follow_ups")
    with op.batch_alter_table("lead_assignments", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_lead_assignments_request",
            sqlite_where=sa.text("request_id IS NOT NULL"),
            postgresql_where=sa.text("request_id IS NOT NULL"),
        )
        batch_op.drop_index("ix_lead_assignments_lead")
        batch_op.drop_index("ix_lead_assignments_assignee")

    op.drop_table("lead_assignments")
    with op.batch_alter_table("lead_activities", schema=None) as batch_op:
        batch_op.drop_index("ix_lead_activities_lead")
        batch_op.drop_index("ix_lead_activities_actor")

    op.drop_table("lead_activities")
    with op.batch_alter_table("campaign_leads", schema=None) as batch_op:
        batch_op.drop_index("ix_campaign_leads_status")

    op.drop_table("campaign_leads")
    with op.batch_alter_table("sales_team_members", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_sales_team_members_active",
            sqlite_where=sa.text("active"),
            postgresql_where=sa.text("active"),
        )
        batch_op.drop_index("ix_sales_team_members_head")

    op.drop_table("sales_team_members")
    op.drop_table("sales_head_profiles")
    with op.batch_alter_table("raw_leads", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_raw_leads_phone",
            sqlite_where=sa.text("deleted_at IS NULL AND phone_e164 IS NOT NULL"),
            postgresql_where=sa.text("deleted_at IS NULL AND phone_e164 IS NOT NULL"),
        )
        batch_op.drop_index(
            "uq_raw_leads_email_without_phone",
            sqlite_where=sa.text("deleted_at IS NULL AND phone_e164 IS NULL AND email IS NOT NULL"),
            postgresql_where=sa.text(
                "deleted_at IS NULL AND phone_e164 IS NULL AND email IS NOT NULL"
            ),
        )
        batch_op.drop_index("ix_raw_leads_status_created")
        batch_op.drop_index("ix_raw_leads_pool_status")
        batch_op.drop_index("ix_raw_leads_phone_alt")
        batch_op.drop_index("ix_raw_leads_next_follow_up")
        batch_op.drop_index("ix_raw_leads_email")
        batch_op.drop_index("ix_raw_leads_created")
        batch_op.drop_index("ix_raw_leads_counsellor_status")
        batch_op.drop_index("ix_raw_leads_assigned_status")

    op.drop_table("raw_leads")
    with op.batch_alter_table("lead_import_rows", schema=None) as batch_op:
        batch_op.drop_index("uq_lead_import_rows")

    op.drop_table("lead_import_rows")
    with op.batch_alter_table("daily_targets", schema=None) as batch_op:
        batch_op.drop_index("uq_daily_targets")

    op.drop_table("daily_targets")
    with op.batch_alter_table("daily_target_actuals", schema=None) as batch_op:
        batch_op.drop_index("uq_daily_target_actuals")

    op.drop_table("daily_target_actuals")
    op.drop_table("campaigns")
    op.drop_table("system_config")
    op.drop_table("lead_tags")
    op.drop_table("lead_ownership_transfers")
    with op.batch_alter_table("lead_import_batches", schema=None) as batch_op:
        batch_op.drop_index("ix_lead_import_batches_sha")

    op.drop_table("lead_import_batches")
    with op.batch_alter_table("bulk_assignment_requests", schema=None) as batch_op:
        batch_op.drop_index("ix_bulk_assignment_requests_status")

    op.drop_table("bulk_assignment_requests")
