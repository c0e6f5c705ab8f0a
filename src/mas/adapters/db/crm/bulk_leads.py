"""The set-based lead intake: a chunk of normalised rows in, leads, intakes, activities and tags
out, with a fixed number of statements per chunk whatever its size (never one per row).

Rows are staged in a temporary table (``COPY`` on PostgreSQL, one ``executemany`` on SQLite),
each tagged with its identity group: the first row of the chunk with the same phone (or, with no
phone, the same email). Then, in SQL, inside the caller's transaction:

1. on a resumed run, rows whose intake (channel, ref) already exists are set aside (replayed);
2. each group is matched to a live lead: its phone against lead phones, then against alternate
   phones, then its alternate phone against lead phones, then its email. Unmatched groups with
   a phone that share their email with an earlier unmatched group join it (the same person with
   a second number), and so do two whose one's alternate phone is the other's phone (what a
   later chunk would match by the alternate). The first row of each remaining group inserts a
   new lead (``ON CONFLICT DO NOTHING`` on the partial unique phone index: a group that lost to
   a concurrent intake is matched again to the winner's lead);
3. groups without a phone are matched by email (including the leads step 2 just created), the
   rest insert new leads the same way (partial unique email index);
4. the leads merged into are locked in id order (PostgreSQL) and their status read; then every
   other row merges by the merge rule (``mas.core.crm.merge_rule``, from which the UPDATE is
   generated): only empty fields are filled (first non-empty value in file order; the first
   row in file order that brings a number other than the lead's main one gives the alternate
   phone), ``extra_data`` keys are added (those of the first row that has any, when several
   rows of one chunk merge into one lead: the one case where the chunk is not the rows applied
   one after the other), ``reinquiry_count`` grows
   by the rows merged, a lost lead reopens to NEW; owner and assignees never change. The later
   rows of a new lead's group merge into it the same way: duplicates inside the file end in the
   first row's lead;
5. one intake per row (``ON CONFLICT DO NOTHING``); activities only for the intakes this
   statement inserted (CREATED, or INTAKE_MERGED plus REOPENED); tags unioned. A batch's first
   run on PostgreSQL (no row can have its intake yet) inserts the intakes plainly and the
   activities straight from the rows; a concurrent run of the same batch then fails the chunk on
   the unique index, and the retry resumes with replays.

Earlier chunks are existing leads to later ones, so duplicates across chunks merge the same way.
On PostgreSQL the foreign keys of the new leads, intakes and activities are checked once per
chunk instead of by a trigger per row (``bulk_parents``), and the chunk's ids ascend in insert
order, so primary keys and ``(created_at, id)`` indexes grow at their right edge.
A race that cannot be settled inside the chunk raises ``WriteConflict``: the caller retries the
chunk in a new transaction.

This module stages the rows and runs the steps; their statements are ``bulk_sql``, built from
the staged row and the merge rule as SQL (``bulk_merge_sql``).
"""

from __future__ import annotations

import asyncio
import operator
import os
import time
import uuid
from collections import Counter
from collections.abc import Awaitable
from datetime import datetime
from typing import Any

import msgspec
from sqlalchemy import Text, bindparam, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from mas.adapters.db.base import Base
from mas.adapters.db.crm import bulk_parents
from mas.adapters.db.crm.bulk_merge_sql import PG, ROW_TEXT, SQLITE, STAGE_COLUMNS, Dialect
from mas.adapters.db.crm.bulk_sql import CompiledSteps, compiled_steps
from mas.core.crm.import_rules import IntakeRow, RejectedRow
from mas.core.crm.model import IntakeChannel
from mas.core.crm.ports.imports import ChunkOutcome, IntakeTarget, LeadKeys, WriteConflict
from mas.core.platform.ids import uuid7


def _uuid7_bytes() -> bytes:
    return uuid7().bytes


_row_text = operator.attrgetter(*ROW_TEXT)

_RAND_B = (1 << 62) - 1


def _uuid7_run(count: int) -> int:
    """The first of ``count`` consecutive UUIDv7 ids (as integers): this millisecond, random
    bits, then one more per id (RFC 9562 §6.2, method 2: a monotonic random counter).

    The ids of a chunk ascend in the order they are inserted, so each primary key, and each
    index that ends in ``(created_at, id)``, grows at its right edge (PostgreSQL's fast path for
    the rightmost leaf) instead of splitting pages across the chunk's range.
    """
    ms = time.time_ns() // 1_000_000 & ((1 << 48) - 1)
    noise = int.from_bytes(os.urandom(10), "big")
    rand_a = noise >> 68  # 12 bits
    start = (noise & _RAND_B) % ((1 << 62) - count)  # room to count up without a carry
    return ms << 80 | 0x7 << 76 | rand_a << 64 | 0b10 << 62 | start


def _records(rows: list[IntakeRow], pg: bool) -> list[tuple[Any, ...]]:
    """Staged rows, in ``STAGE_COLUMNS`` order."""
    encode = msgspec.json.encode
    count = len(rows)
    # Rows of one identity (the phone, or the email without a phone) group under their first
    # row: a dictionary look-up per row here instead of a window over the chunk in SQL.
    keys = [r.phone or f"@{r.email}" for r in rows]
    first_of: dict[str, int] = {}
    groups = [first_of.setdefault(key, r.row_no) for key, r in zip(keys, rows, strict=True)]
    # Ids are made here, not by an SQL expression per row: a lead id for every row (used when
    # the row creates its lead), an intake id and an activity id. Lead ids ascend in the order
    # new leads are inserted (by phone, then by email: "@" sorts after "+"), the others in row
    # order.
    base = _uuid7_run(3 * count)
    lead_ids = [0] * count
    for rank, at in enumerate(sorted(range(count), key=keys.__getitem__)):
        lead_ids[at] = base + rank
    new_id: Any = "{:032x}".format if pg else _id_bytes
    return [
        (
            r.row_no,
            r.ref,
            r.source_id if pg or r.source_id is None else r.source_id.bytes,
            groups[at],
            *_row_text(r),
            encode(r.extra).decode() if r.extra else None,
            encode(r.tags).decode() if r.tags else None,
            encode(r.payload).decode(),
            new_id(lead_ids[at]),
            new_id(base + count + at),
            new_id(base + 2 * count + at),
        )
        for at, r in enumerate(rows)
    ]


def _id_bytes(value: int) -> bytes:
    return value.to_bytes(16, "big")


# Rows from which the staged records are built in a thread: the event loop stays free for the
# statements of the import's other writers meanwhile.
_RECORDS_IN_THREAD = 2_000


async def _stage(conn: AsyncConnection, dialect: Dialect, rows: list[IntakeRow]) -> None:
    if len(rows) >= _RECORDS_IN_THREAD:
        records = await asyncio.to_thread(_records, rows, dialect is PG)
    else:
        records = _records(rows, dialect is PG)
    if dialect is PG:
        raw = await conn.get_raw_connection()
        driver: Any = raw.driver_connection
        await driver.copy_records_to_table("imp_stage", records=records, columns=STAGE_COLUMNS)
        return
    marks = ", ".join("?" * len(STAGE_COLUMNS))
    await conn.exec_driver_sql(
        f"INSERT INTO imp_stage ({', '.join(STAGE_COLUMNS)}) VALUES ({marks})", records
    )


async def _prepare_sqlite(conn: AsyncConnection) -> None:
    """Take SQLite's write lock first (a concurrent import waits here, not at its first write),
    and give this connection a ``mas_uuid7()`` function."""
    await conn.execute(text("UPDATE raw_leads SET version = version WHERE 0"))
    raw = await conn.get_raw_connection()
    driver: Any = raw.driver_connection
    if not getattr(driver, "_mas_uuid7", False):
        await driver.create_function("mas_uuid7", 0, _uuid7_bytes)
        driver._mas_uuid7 = True


def _texts(target: IntakeTarget) -> dict[str, Any]:
    channel = target.channel.value.lower()
    return {
        "channel": target.channel.value,
        "source": target.source.value,
        "detail": target.source_detail,
        "pool": target.pool_head_id,
        "actor": target.actor_id,
        "created_text": f"Lead created ({channel}: {target.label})"[:500],
        "merged_text": f"Re-inquiry through {channel} ({target.label})"[:500],
    }


async def write_chunk(
    conn: AsyncConnection,
    target: IntakeTarget,
    rows: list[IntakeRow],
    rejected: list[RejectedRow],
    now: datetime,
    gate: Awaitable[None] | None = None,
) -> ChunkOutcome:
    """Apply the merge rules to ``rows`` inside the connection's transaction (see the module);
    nothing reads the leads before ``gate`` has passed (the rows are staged meanwhile)."""
    compiled = compiled_steps(conn.dialect.name)
    try:
        if compiled.dialect is SQLITE:
            # One writer: staging would take the write lock the chunk before still needs.
            if gate is not None:
                await gate
                gate = None
            await _prepare_sqlite(conn)
        outcome = ChunkOutcome()
        if rows:
            outcome = await _apply(conn, compiled, target, rows, now, gate)
        elif gate is not None:
            await gate
        counted = await _reject(conn, target, rejected, now)
    except IntegrityError as exc:
        raise WriteConflict(f"a unique index refused a write: {exc.orig}") from exc
    except DBAPIError as exc:
        if _is_race(exc):
            raise WriteConflict(f"lost a race: {exc.orig}") from exc
        raise
    outcome.rejected = dict(Counter(r.reason for r in counted))
    return outcome


# The file's size now against its size at the last ANALYZE: no lag, unlike the stats counters.
_GROWN = text(
    "SELECT relname FROM pg_class WHERE relname IN :tables AND oid = to_regclass(relname) "
    "AND pg_relation_size(oid) / 8192 > 2 * greatest(relpages, 8)"
).bindparams(bindparam("tables", expanding=True))


# The columns an import matches on: statistics for these only (the size is refreshed whatever
# the columns), a fraction of the time of a whole-table ANALYZE.
_MATCHED_ON = {
    "raw_leads": "phone_e164, phone_alt, email, deleted_at",
    "lead_intakes": "channel, channel_ref",
}


async def refresh_statistics(conn: AsyncConnection, replay: bool) -> None:
    """ANALYZE the tables an import matches against once they have doubled in size since their
    last statistics (PostgreSQL; ``lead_intakes`` only for a run that may replay: nothing else
    reads it). A first import into an empty pool grows ``raw_leads`` from nothing within
    minutes, before autovacuum looks; planned as if still empty, a match against it becomes a
    scan of the whole table per row instead of an index look-up.

    ANALYZE holds its lock until the transaction ends, so writers that run at the same time
    call this in a short transaction of its own first, not each in its chunk."""
    if conn.dialect.name != "postgresql":
        return
    tables = ["raw_leads", "lead_intakes"] if replay else ["raw_leads"]
    for (table,) in (await conn.execute(_GROWN, {"tables": tables})).all():
        await conn.execute(text(f"ANALYZE {table} ({_MATCHED_ON[table]})"))


# Each key against its own partial index; arrays, not one parameter per key (a window of
# 20,000 rows has more keys than a statement may have parameters).
_LINKED_PG = text(
    """SELECT phone_e164, phone_alt, email FROM raw_leads
    WHERE deleted_at IS NULL AND phone_e164 IS NOT NULL AND phone_e164 = ANY(:phones)
    UNION SELECT phone_e164, phone_alt, email FROM raw_leads
    WHERE deleted_at IS NULL AND phone_alt IS NOT NULL AND phone_alt = ANY(:phones)
    UNION SELECT phone_e164, phone_alt, email FROM raw_leads
    WHERE deleted_at IS NULL AND email IS NOT NULL AND email = ANY(:emails)"""
).bindparams(
    bindparam("phones", type_=postgresql.ARRAY(Text)),
    bindparam("emails", type_=postgresql.ARRAY(Text)),
)
_LINKED_SQLITE = text(
    """SELECT phone_e164, phone_alt, email FROM raw_leads WHERE deleted_at IS NULL
    AND (phone_e164 IN :phones OR phone_alt IN :phones OR email IN :emails)"""
).bindparams(bindparam("phones", expanding=True), bindparam("emails", expanding=True))
_SQLITE_KEYS = 400  # per statement and list: well under SQLite's parameter limit


async def linked_leads(
    conn: AsyncConnection, phones: list[str], emails: list[str]
) -> list[LeadKeys]:
    """The live leads with a phone or alternate phone in ``phones`` or an email in ``emails``."""
    found: set[tuple[str | None, str | None, str | None]] = set()
    if conn.dialect.name == "postgresql":
        found.update(
            (await conn.execute(_LINKED_PG, {"phones": phones, "emails": emails})).tuples()
        )
    else:
        for at in range(0, max(len(phones), len(emails)), _SQLITE_KEYS):
            some = {
                "phones": phones[at : at + _SQLITE_KEYS] or [""],
                "emails": emails[at : at + _SQLITE_KEYS] or [""],
            }
            found.update((await conn.execute(_LINKED_SQLITE, some)).tuples())
    return [LeadKeys(phone, alt, email) for phone, alt, email in sorted(found, key=str)]


def _is_race(exc: DBAPIError) -> bool:
    """A deadlock or serialization failure (PostgreSQL SQLSTATE 40P01 / 40001)."""
    code = getattr(exc.orig, "sqlstate", None) or getattr(exc.orig, "pgcode", None)
    return code in ("40P01", "40001") or "deadlock" in str(exc.orig).lower()


async def _apply(
    conn: AsyncConnection,
    compiled: CompiledSteps,
    target: IntakeTarget,
    rows: list[IntakeRow],
    now: datetime,
    gate: Awaitable[None] | None,
) -> ChunkOutcome:
    steps = compiled.steps
    params = {**_texts(target), "now": now}

    async def run(name: str) -> Any:
        result = None
        for statement in steps[name]:
            result = await conn.execute(statement, params)
        return result

    for statement in compiled.create:
        await conn.execute(statement)
    await _stage(conn, compiled.dialect, rows)
    if target.may_replay:
        if gate is not None:
            await gate
        await run("replays")  # reads the intakes: after the gate
        await run("targets")
    else:
        await run("targets")  # the work tables only: before the gate
        if gate is not None:
            await gate
    await run("by_phone")
    by_email, by_alternate = steps["fold"]
    folded = (await conn.execute(by_email, params)).rowcount
    if (await run("alternates")).scalar_one():
        await run("analyze_targets")
        folded += (await conn.execute(by_alternate, params)).rowcount
    if folded:
        await run("fold_one_step")
        await run("folded")
    # Foreign keys checked per chunk, not per row, where the role may (``bulk_parents``).
    may_skip = compiled.dialect is PG and await bulk_parents.may_skip_triggers(conn)
    head_locked = may_skip and await bulk_parents.head_locked(conn, target.pool_head_id)
    async with bulk_parents.triggers_skipped(conn, head_locked):
        await run("new_phones")
        if (await run("unmatched_phones")).scalar_one():
            await run("rematch_phones")
            if (await run("unmatched_phones")).scalar_one():
                raise WriteConflict("a new number was taken by a concurrent intake and then left")
        await run("by_email")
        if (await run("unmatched")).scalar_one():
            await run("rematch_emails")
            if (await run("unmatched")).scalar_one():
                raise WriteConflict("a new email was taken by a concurrent intake and then left")
    await run("merge")
    leads_locked = may_skip and await bulk_parents.all_merged_locked(conn)
    async with bulk_parents.triggers_skipped(conn, leads_locked):
        await run("journal" if target.may_replay else "journal_first_run")
    if any(r.tags for r in rows):
        await run("row_tags")
    if target.default_tags:
        await conn.execute(
            steps["default_tags"][0], {**params, "default_tags": target.default_tags}
        )
    if target.channel is IntakeChannel.VENDOR:
        await run("vendor")
    created, reopened, replayed = (await run("counts")).one()
    await run("drop")
    return ChunkOutcome(
        created=created,
        merged=len(rows) - replayed - created,
        reopened=reopened,
        replayed=replayed,
    )


async def _reject(
    conn: AsyncConnection, target: IntakeTarget, rejected: list[RejectedRow], now: datetime
) -> list[RejectedRow]:
    """Keep the rejected rows; answer those kept now (not by an earlier run of the batch)."""
    if not rejected:
        return []
    if target.channel is IntakeChannel.VENDOR:
        by_reason: dict[str, list[uuid.UUID]] = {}
        for row in rejected:
            if row.source_id is not None:
                by_reason.setdefault(row.reason, []).append(row.source_id)
        table = Base.metadata.tables["vendor_leads"]
        marked: set[uuid.UUID] = set()
        for reason, ids in by_reason.items():
            marked.update(
                (
                    await conn.execute(
                        table.update()
                        .where(table.c.id.in_(ids), table.c.status == "RECEIVED")
                        .values(status="REJECTED", reject_reason=reason, updated_at=now)
                        .returning(table.c.id)
                    )
                ).scalars()
            )
        return [row for row in rejected if row.source_id in marked]
    if target.batch_id is None:
        return rejected
    table = Base.metadata.tables["lead_import_rows"]
    values = [
        {
            "id": uuid7(),
            "batch_id": target.batch_id,
            "row_no": row.row_no,
            "raw": row.raw,
            "errors": row.reasons,
            "outcome": "REJECTED",
            "created_at": now,
            "updated_at": now,
        }
        for row in rejected
    ]
    insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    statement = insert(table).on_conflict_do_nothing().returning(table.c.row_no)
    kept = set((await conn.execute(statement, values)).scalars())
    return [row for row in rejected if row.row_no in kept]
