"""How leads enter workflows, set-based: the repository ``workflow_intake``.

A segment filter (``SegmentFilter``) becomes one WHERE over the CRM's ``raw_leads`` (tags
through ``raw_lead_tags``/``lead_tags``), and enrolment is never a query per lead. A scan walks
the leads in id order (the primary key; ids are UUIDv7, so creation order) in spans of a fixed
number of leads, two statements per span whatever the segment:

1. the span's last id (``ORDER BY id OFFSET span - 1 LIMIT 1`` after the cursor: a walk of the
   primary key, blind to the filter), and
2. ``INSERT INTO workflow_enrollments … SELECT … FROM raw_leads WHERE <filter> AND <eligible>
   AND id > :after AND id <= :upto ON CONFLICT DO NOTHING`` (plus ``ORDER BY id LIMIT :left``
   when ``max_per_scan`` may fall inside the span), against the partial unique index on live
   enrollments: a concurrent enrolment of the same lead loses quietly, on both databases.

Each span costs what its own leads cost, so a scan is linear in the leads it walks (an earlier
version picked "the next n eligible" and PostgreSQL re-read every remaining lead, or every
enrollment, per batch: 45 s for 20,000). The per-lead checks are probes, not joins (see
``_enrolled``).

Eligible (``eligible``): the lead is live (not soft-deleted), its status is not one the
workflow exits on (it would be exited at once), it has no live enrollment in the workflow
(ACTIVE, WAITING, FAILED), and the re-enrolment policy admits it: ``NEVER`` — no enrollment in
the workflow ever; ``AFTER_EXIT`` and ``ALWAYS`` — none live. With FAILED counted as live (the
partial unique index), "its last enrollment ended (COMPLETED, EXITED, CANCELLED)" and "none is
live" are the same set of leads, so the two policies admit the same leads today; they differ
only in name until FAILED enrollments are let go.

New rows are the engine's contract: ACTIVE, the workflow's published version, the node after
the trigger, attempt 1, due now, context ``{}``, lock_version 0; ids are UUIDv7 made by the
database (PostgreSQL: an expression; SQLite: a ``mas_uuid7()`` function on the connection).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from advanced_alchemy.types import JsonB
from sqlalchemy import (
    ColumnElement,
    and_,
    exists,
    func,
    literal,
    literal_column,
    not_,
    select,
    text,
    true,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from mas.adapters.db.crm.bulk_merge_sql import PG_UUID7
from mas.adapters.db.crm.journal import table
from mas.adapters.db.crm.tables import LeadTagRow, RawLeadRow, RawLeadTagRow
from mas.adapters.db.workflow.runs_tables import LIVE as LIVE_INDEX_WHERE
from mas.adapters.db.workflow.runs_tables import workflow_enrollments as ENROLLMENTS
from mas.adapters.db.workflow.runs_tables import workflow_processed_events as PROCESSED
from mas.core.platform.ids import uuid7
from mas.core.workflow.model import LIVE, EnrollmentStatus, ReenrollPolicy
from mas.core.workflow.runs.intake import Enrolled, LeadVerdicts, NewEnrollments, SegmentLike

LEADS = table(RawLeadRow)
TAGS = table(LeadTagRow)
TAGGINGS = table(RawLeadTagRow)
LIVE_STATUSES = sorted(status.value for status in LIVE)
IN_CHUNK = 500
RETURNED_IDS = 100
"""A batch returns the ids it enrolled only when it enrolled at most this many."""


def _texts(values: Sequence[Any]) -> list[str]:
    return [str(getattr(value, "value", value)) for value in values]


def _tagged(names: Sequence[str]) -> ColumnElement[bool]:
    """The lead carries a live tag among ``names`` (slugs, compared in lower case)."""
    return (
        exists()
        .where(TAGGINGS.c.raw_lead_id == LEADS.c.id, TAGGINGS.c.tag_id == TAGS.c.id)
        .where(TAGS.c.name.in_([name.strip().lower() for name in names]))
        .where(TAGS.c.deleted_at.is_(None))
        .correlate(LEADS)
    )


def segment_clauses(flt: SegmentLike | None, now: datetime) -> list[ColumnElement[bool]]:
    """``flt`` as conditions on ``raw_leads`` (every field optional; absent = no condition)."""
    if flt is None:
        return []
    found: list[ColumnElement[bool]] = []
    if flt.statuses:
        found.append(LEADS.c.status.in_(_texts(flt.statuses)))
    if flt.tags_any:
        found.append(_tagged(flt.tags_any))
    for name in flt.tags_all or ():
        found.append(_tagged([name]))
    if flt.sources:
        found.append(LEADS.c.source.in_(_texts(flt.sources)))
    if flt.session_year:
        found.append(LEADS.c.session_year == flt.session_year)
    if flt.course_interest:
        wanted = (
            [flt.course_interest] if isinstance(flt.course_interest, str) else flt.course_interest
        )
        found.append(func.lower(LEADS.c.course_interest).in_([c.strip().lower() for c in wanted]))
    if flt.owning_sales_head_ids:
        found.append(LEADS.c.owning_sales_head_id.in_(list(flt.owning_sales_head_ids)))
    if flt.created_within_days is not None:
        found.append(LEADS.c.created_at >= now - timedelta(days=flt.created_within_days))
    if flt.no_activity_days is not None:
        quiet_since = now - timedelta(days=flt.no_activity_days)
        found.append(func.coalesce(LEADS.c.last_activity_at, LEADS.c.created_at) < quiet_since)
    return found


def _enrolled(workflow_id: uuid.UUID, *, live: bool) -> ColumnElement[bool]:
    """Whether the lead has an enrollment (with ``live``: a live one) in the workflow.

    A per-lead probe, ``(SELECT 1 … LIMIT 1) IS NOT NULL``, not ``EXISTS``: PostgreSQL pulls an
    EXISTS up into an anti join over *all* the workflow's enrollments (a merge or hash join per
    batch), so a 100,000-lead scan grew quadratically with the ledger; a subquery with LIMIT
    stays a subplan, one index probe for each lead looked at.
    """
    probe = select(literal_column("1")).select_from(ENROLLMENTS)
    probe = probe.where(ENROLLMENTS.c.raw_lead_id == LEADS.c.id)
    if live:
        # The partial unique index holds both columns: one exact probe.
        probe = probe.where(
            ENROLLMENTS.c.workflow_id == workflow_id, ENROLLMENTS.c.status.in_(LIVE_STATUSES)
        )
    else:
        # Through the lead's index only (a lead has few enrollments): written as an expression
        # so that no index on ``workflow_id`` is combined in. With the statistics of a ledger
        # that a big scan is still filling, PostgreSQL took ``ix_workflow_enrollments_workflow``
        # as selective and read every enrollment of the workflow for each lead.
        same_workflow = func.coalesce(ENROLLMENTS.c.workflow_id, ENROLLMENTS.c.workflow_id)
        probe = probe.where(same_workflow == workflow_id)
    return probe.correlate(LEADS).limit(1).scalar_subquery().is_not(None)


def live_enrollment(workflow_id: uuid.UUID) -> ColumnElement[bool]:
    return _enrolled(workflow_id, live=True)


def policy_admits(new: NewEnrollments) -> ColumnElement[bool]:
    """The re-enrolment policy, for a lead with no live enrollment (see the module)."""
    if new.policy is ReenrollPolicy.NEVER:
        return not_(_enrolled(new.workflow_id, live=False))
    return true()


def eligible(new: NewEnrollments) -> ColumnElement[bool]:
    """Who may enter now, whatever the segment (see the module)."""
    clauses: list[ColumnElement[bool]] = [
        LEADS.c.deleted_at.is_(None),
        not_(live_enrollment(new.workflow_id)),
        policy_admits(new),
    ]
    if new.exit_statuses:
        clauses.append(LEADS.c.status.notin_(list(new.exit_statuses)))
    return and_(*clauses)


class SqlWorkflowIntake:
    """Repository ``workflow_intake``: enrolment and exits set-based, handled events."""

    def __init__(self, session: AsyncSession) -> None:
        self._s = session

    @property
    def _pg(self) -> bool:
        bind = self._s.bind
        return bind is not None and bind.dialect.name == "postgresql"

    async def _new_id_expression(self) -> ColumnElement[Any]:
        if self._pg:
            return literal_column(PG_UUID7)
        connection = await self._s.connection()
        raw = await connection.get_raw_connection()
        driver: Any = raw.driver_connection
        if not getattr(driver, "_mas_uuid7", False):
            await driver.create_function("mas_uuid7", 0, _uuid7_bytes)
            driver._mas_uuid7 = True
        return func.mas_uuid7()

    async def enroll_segment(
        self,
        new: NewEnrollments,
        flt: SegmentLike | None,
        *,
        limit: int,
        lead_ids: Sequence[uuid.UUID] | None = None,
        after: uuid.UUID | None = None,
        span: int | None = None,
    ) -> Enrolled:
        """Enrol up to ``limit`` eligible leads of the segment, in id order; with ``span``, only
        among the next ``span`` leads (of all) after ``after`` — one batch of a scan."""
        where = and_(*segment_clauses(flt, new.at), eligible(new))
        if lead_ids is not None:
            where = and_(where, LEADS.c.id.in_(list(lead_ids)))
        if after is not None:
            where = and_(where, LEADS.c.id > after)
        if self._pg:
            # The per-lead probes make the planner's cost large enough for JIT compilation,
            # and a generic plan (asyncpg prepares, PostgreSQL switches after five runs) cannot
            # see how narrow the id range is: either took seconds on some spans of a statement
            # that runs in milliseconds with a custom plan.
            await self._s.execute(text("SET LOCAL jit = off"))
            await self._s.execute(text("SET LOCAL plan_cache_mode = force_custom_plan"))
        upto = None
        if span is not None:
            # The span's last lead: a walk of the primary key, whatever the filter.
            boundary = select(LEADS.c.id).order_by(LEADS.c.id).offset(span - 1).limit(1)
            if after is not None:
                boundary = boundary.where(LEADS.c.id > after)
            upto = (await self._s.execute(boundary)).scalar_one_or_none()
            if upto is not None:
                where = and_(where, LEADS.c.id <= upto)
        rows = select(
            await self._new_id_expression(),
            literal(new.workflow_id, ENROLLMENTS.c.workflow_id.type),
            literal(new.version),
            LEADS.c.id,
            literal(EnrollmentStatus.ACTIVE.value),
            literal(new.first_node_id),
            literal(1),
            literal(new.at, ENROLLMENTS.c.next_run_at.type),
            literal(new.via.value),
            literal(new.by, ENROLLMENTS.c.enrolled_by.type),
            literal({}, JsonB),
            literal(new.at, ENROLLMENTS.c.started_at.type),
            literal(new.at, ENROLLMENTS.c.updated_at.type),
            literal(0),
        ).where(where)
        if span is None or limit < span:
            # Only when the cap can cut this span: an ORDER BY … LIMIT makes the planner sort.
            rows = rows.order_by(LEADS.c.id).limit(limit)
        columns = [
            "id",
            "workflow_id",
            "version",
            "raw_lead_id",
            "status",
            "current_node_id",
            "attempt",
            "next_run_at",
            "enrolled_via",
            "enrolled_by",
            "context",
            "started_at",
            "updated_at",
            "lock_version",
        ]
        dialect: Any = postgresql if self._pg else sqlite
        statement = (
            dialect.insert(ENROLLMENTS)
            .from_select(columns, rows)
            .on_conflict_do_nothing(
                index_elements=["workflow_id", "raw_lead_id"],
                # Word for word the index's own predicate: SQLite matches it as text.
                index_where=text(LIVE_INDEX_WHERE),
            )
            .returning(ENROLLMENTS.c.id)
        )
        enrolled = list((await self._s.execute(statement)).scalars())
        return Enrolled(
            count=len(enrolled), ids=enrolled if len(enrolled) <= RETURNED_IDS else [], cursor=upto
        )

    async def verdicts(self, new: NewEnrollments, lead_ids: Sequence[uuid.UUID]) -> LeadVerdicts:
        """Why each lead would or would not enter (the manual enrol's counts), in one query
        per 500 ids."""
        verdict = LeadVerdicts()
        for start in range(0, len(lead_ids), IN_CHUNK):
            chunk = list(lead_ids[start : start + IN_CHUNK])
            query = select(
                LEADS.c.id,
                LEADS.c.status,
                live_enrollment(new.workflow_id).label("live"),
                not_(policy_admits(new)).label("refused"),
            ).where(LEADS.c.id.in_(chunk), LEADS.c.deleted_at.is_(None))
            seen: set[uuid.UUID] = set()
            for row in await self._s.execute(query):
                seen.add(row.id)
                if row.live:
                    verdict.live.append(row.id)
                elif row.refused:
                    verdict.refused.append(row.id)
                elif row.status in new.exit_statuses:
                    verdict.exit_status.append(row.id)
                else:
                    verdict.eligible.append(row.id)
            verdict.missing.extend(lead_id for lead_id in chunk if lead_id not in seen)
        return verdict

    async def matches(self, flt: SegmentLike | None, lead_id: uuid.UUID, now: datetime) -> bool:
        """Whether a live lead is in the segment."""
        query = select(LEADS.c.id).where(
            LEADS.c.id == lead_id, LEADS.c.deleted_at.is_(None), *segment_clauses(flt, now)
        )
        return (await self._s.execute(query)).first() is not None

    async def live_workflows_of(self, lead_id: uuid.UUID) -> list[uuid.UUID]:
        """The workflows the lead has a live enrollment in."""
        query = select(ENROLLMENTS.c.workflow_id).where(
            ENROLLMENTS.c.raw_lead_id == lead_id, ENROLLMENTS.c.status.in_(LIVE_STATUSES)
        )
        return list((await self._s.execute(query)).scalars())

    async def exit_live(
        self,
        lead_id: uuid.UUID,
        *,
        reason: str,
        at: datetime,
        workflow_ids: Sequence[uuid.UUID] | None = None,
    ) -> int:
        """EXIT the lead's live enrollments (of these workflows); ``lock_version`` moves on, so a
        step job already queued for one finds it changed and does nothing."""
        statement = (
            update(ENROLLMENTS)
            .where(
                ENROLLMENTS.c.raw_lead_id == lead_id,
                ENROLLMENTS.c.status.in_(LIVE_STATUSES),
            )
            .values(
                status=EnrollmentStatus.EXITED.value,
                exit_reason=reason[:200],
                next_run_at=None,
                waiting_for=None,
                finished_at=at,
                updated_at=at,
                lock_version=ENROLLMENTS.c.lock_version + 1,
            )
        )
        if workflow_ids is not None:
            if not workflow_ids:
                return 0
            statement = statement.where(ENROLLMENTS.c.workflow_id.in_(list(workflow_ids)))
        result: Any = await self._s.execute(statement)
        return int(result.rowcount or 0)

    async def first_time(self, key: str, at: datetime) -> bool:
        """Remember an event as handled; False when it was handled before."""
        dialect: Any = postgresql if self._pg else sqlite
        statement = (
            dialect.insert(PROCESSED)
            .values(event_key=key[:200], processed_at=at)
            .on_conflict_do_nothing(index_elements=["event_key"])
            .returning(PROCESSED.c.event_key)
        )
        return (await self._s.execute(statement)).first() is not None


def _uuid7_bytes() -> bytes:
    return uuid7().bytes
