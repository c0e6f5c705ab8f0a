"""The merge rule has two implementations: ``merge`` for one arrival at a time, and the UPDATE of
the set-based import (``bulk_leads``), generated from the same ``MERGE_RULES``. Fed the same
cases, on SQLite and PostgreSQL, they must leave the lead the same."""

from __future__ import annotations

import copy
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import msgspec
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from mas.adapters.db.crm.bulk_merge_sql import STAGED_AS
from mas.adapters.db.crm.imports import SqlImportRepository
from mas.adapters.db.crm.leads import SqlLeadRepository
from mas.core.crm.import_rules import IntakeRow
from mas.core.crm.merge_rule import MERGE_RULES, merge
from mas.core.crm.model import IncomingLead, IntakeChannel, Lead, LeadSource, LeadStatus, Tag
from mas.core.crm.ports.imports import IntakeTarget
from mas.core.crm.scope import SYSTEM_SCOPE
from mas.core.platform.ids import uuid7
from tests.conftest import Database

NOW = datetime(2025, 3, 1, 10, 0, tzinfo=UTC)
TAGS = ("ai", "hot", "web")
COMPARED = (*MERGE_RULES, "status", "lost_reason", "reinquiry_count")

P, Q, A = "+919800000001", "+919800000002", "+919800000003"
LOST = {"status": LeadStatus.NOT_INTERESTED, "lost_reason": "fees"}


class Case(msgspec.Struct, frozen=True):
    name: str
    lead: dict[str, Any]
    arrivals: list[dict[str, Any]]


CASES = [
    Case(
        "empty fields are filled, set ones kept, the name never changes",
        {"phone_e164": P, "email": "asha@example.com", "state": "MH"},
        [
            {
                "name": "Someone Else",
                "phone_e164": P,
                "email": "other@example.com",
                "city": "Pune",
                "state": "KA",
                "course_interest": "drone-tech",
                "session_year": "2025-26",
            }
        ],
    ),
    Case("a lost lead reopens", {"phone_e164": P, **LOST}, [{"phone_e164": P}]),
    Case(
        "a closed lead reopens and its tags are unioned",
        {"phone_e164": P, "status": LeadStatus.CLOSED, "lost_reason": "no", "tags": ["web"]},
        [{"phone_e164": P, "tags": ["hot", "web"]}],
    ),
    Case(
        "a converted lead stays converted",
        {"phone_e164": P, "status": LeadStatus.CONVERTED, "conversion_ref": "INV-1"},
        [{"phone_e164": P, "city": "Delhi"}],
    ),
    Case(
        "a second number becomes the alternate phone",
        {"phone_e164": P, "email": "asha@example.com"},
        [{"phone_e164": Q, "email": "asha@example.com"}],
    ),
    Case(
        "an incoming alternate equal to the main phone is no second number",
        {"phone_e164": P},
        [{"phone_e164": Q, "phone_alt": P}],
    ),
    Case(
        "a set alternate phone is kept",
        {"phone_e164": P, "phone_alt": A, "email": "asha@example.com"},
        [{"phone_e164": Q, "email": "asha@example.com"}],
    ),
    Case(
        "a lead without a phone takes the phones of its re-inquiry",
        {"email": "asha@example.com"},
        [{"phone_e164": P, "phone_alt": A, "email": "asha@example.com"}],
    ),
    Case(
        "extra data gains the keys it lacks",
        {"phone_e164": P, "extra_data": {"source": "fair", "batch": "1"}},
        [{"phone_e164": P, "extra_data": {"batch": "2", "utm": "ad"}}],
    ),
    Case(
        "several arrivals fill in order and count once each",
        {"phone_e164": P, **LOST},
        [
            {"phone_e164": P, "city": "Pune", "extra_data": {"k": "1"}},
            {"phone_e164": P, "city": "Delhi", "state": "KA", "tags": ["ai"]},
        ],
    ),
    Case(
        "of several arrivals with other numbers, the first one's becomes the alternate",
        {"phone_e164": P, "email": "asha@example.com"},
        [
            {"phone_e164": Q, "email": "asha@example.com"},
            {"phone_e164": A, "email": "asha@example.com"},
        ],
    ),
    Case(
        "an arrival whose alternate is the main phone brings its own number first",
        {"phone_e164": P, "email": "asha@example.com"},
        [
            {"phone_e164": Q, "phone_alt": P, "email": "asha@example.com"},
            {"phone_e164": A, "email": "asha@example.com"},
        ],
    ),
    Case(
        "a lead without a phone: the first number is the main one, the next the alternate",
        {"email": "asha@example.com"},
        [
            {"phone_e164": P, "email": "asha@example.com"},
            {"phone_e164": Q, "email": "asha@example.com"},
        ],
    ),
    Case(
        "an arrival by email fills a lead without a phone",
        {"email": "asha@example.com", "city": ""},
        [{"email": "asha@example.com", "city": "Pune", "session_year": "2024-25"}],
    ),
]


@pytest.fixture
async def sessions(database: Database) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    async with database.sessions() as made:
        async with made() as session:
            tags = SqlLeadRepository(session)
            for name in TAGS:
                await tags.add_tag(Tag(id=uuid7(), name=name, created_at=NOW))
            await session.commit()
        yield made


def a_lead(fields: dict[str, Any]) -> Lead:
    return Lead(id=uuid7(), name="Asha", created_at=NOW, updated_at=NOW, **fields)


def an_arrival(fields: dict[str, Any]) -> IncomingLead:
    return IncomingLead(**{"name": "Asha", **fields})


def as_row(row_no: int, incoming: IncomingLead) -> IntakeRow:
    """The arrival as the import stages it (its fields under their staged names)."""
    values = {
        STAGED_AS.get(f.name, f.name): getattr(incoming, f.name) or None
        for f in msgspec.structs.fields(IncomingLead)
    }
    values["name"] = incoming.name
    return IntakeRow(row_no=row_no, ref=f"merge-rule:{uuid.uuid4()}", payload={}, **values)


def seen(lead: Lead) -> dict[str, Any]:
    values = {field: getattr(lead, field) for field in COMPARED}
    values["tags"] = sorted(values["tags"])
    for field in ("email", "phone_alt", "city", "state", "course_interest", "session_year"):
        values[field] = values[field] or None  # stored text is never empty
    return values


async def merged_by_sql(
    sessions: async_sessionmaker[AsyncSession], lead: Lead, rows: list[IntakeRow]
) -> Lead:
    async with sessions() as session:
        leads = SqlLeadRepository(session)
        await leads.add(lead)
        tags = await leads.tags_named(lead.tags)
        await leads.attach_tags([lead.id], [t.id for t in tags], None, NOW)
        await session.commit()
    target = IntakeTarget(
        channel=IntakeChannel.CSV,
        source=LeadSource.CSV,
        source_detail="merge rule",
        pool_head_id=None,
        actor_id=None,
        label="merge rule",
        may_replay=False,
    )
    async with sessions() as session:
        outcome = await SqlImportRepository(session).write_chunk(target, rows, [], NOW)
        await session.commit()
    assert (outcome.created, outcome.merged) == (0, len(rows))
    async with sessions() as session:
        stored = await SqlLeadRepository(session).get(lead.id, SYSTEM_SCOPE)
    assert stored is not None
    return stored


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
async def test_merge_and_the_set_based_import_agree(
    case: Case, sessions: async_sessionmaker[AsyncSession]
) -> None:
    lead = a_lead(case.lead)
    arrivals = [an_arrival(fields) for fields in case.arrivals]
    rows = [as_row(n, arrival) for n, arrival in enumerate(arrivals, start=1)]

    by_python = copy.deepcopy(lead)
    for arrival in copy.deepcopy(arrivals):
        merge(by_python, arrival)
    by_sql = await merged_by_sql(sessions, lead, rows)

    assert seen(by_sql) == seen(by_python)
