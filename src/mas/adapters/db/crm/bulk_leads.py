"""The set-based lead intake: a chunk of normalised rows in, leads, intakes, activities and tags
out, with a fixed number of statements per chunk whatever its size (never one per row).

Rows are staged in a temporary table (``COPY`` on PostgreSQL, one ``executemany`` on SQLite),
each tagged with its identity group: the first row of the chunk with the same phone (or, with no
phone, the same email). Then, in SQL, inside the caller's transaction:

1. on a resumed run, rows whose intake (channel, ref) already exists are set aside (replayed);
2. each group is matched to a live lead: its phone against lead phones, then against alternate
   phones, then its alternate phone against lead phones, then its email. Unmatched groups with
   a phone that share their email with an earlier unmatched group join it (the same person with
   a second number). The first row of each remaining group inserts a new lead (``ON CONFLICT DO
   NOTHING`` on the partial unique phone index: a group that lost to a concurrent intake is
   matched again to the winner's lead);
3. groups without a phone are matched by email (including the leads step 2 just created), the
   rest insert new leads the same way (partial unique email index);
4. the leads merged into are locked in id order (PostgreSQL) and their status read; then every
   other row merges by the merge rule (``mas.core.crm.merge_rule``, from which the UPDATE is
   generated): only empty fields are filled (first non-empty value in file order, a second
   number becomes the alternate phone), ``extra_data`` keys are added, ``reinquiry_count`` grows
   by the rows merged, a lost lead reopens to NEW; owner and assignees never change. The later
   rows of a new lead's group merge into it the same way: duplicates inside the file end in the
   first row's lead;
5. one intake per row (``ON CONFLICT DO NOTHING``); activities only for the intakes this
   statement inserted (CREATED, or INTAKE_MERGED plus REOPENED); tags unioned.

Earlier chunks are existing leads to later ones, so duplicates across chunks merge the same way.
A race that cannot be settled inside the chunk raises ``WriteConflict``: the caller retries the
chunk in a new transaction.

This module stages the rows and runs the steps; their statements are ``bulk_sql``, built from
the staged row and the merge rule as SQL (``bulk_merge_sql``).
"""

from __future__ import annotations

import operator
import uuid
from collections import Counter
from datetime import datetime
from typing import Any

import msgspec
from sqlalchemy import bindparam, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from mas.adapters.db.base import Base
from mas.adapters.db.crm.bulk_merge_sql import PG, ROW_TEXT, SQLITE, STAGE_COLUMNS, Dialect
from mas.adapters.db.crm.bulk_sql import CompiledSteps, compiled_steps
from mas.core.crm.import_rules import IntakeRow, RejectedRow
from mas.core.crm.model import IntakeChannel
from mas.core.crm.ports.imports import ChunkOutcome, IntakeTarget, WriteConflict
from mas.core.platform.ids import uuid7, uuid7_bytes_batch


def _uuid7_bytes() -> bytes:
    return uuid7().bytes


_row_text = operator.attrgetter(*ROW_TEXT)


def _records(rows: list[IntakeRow], pg: bool) -> list[tuple[Any, ...]]:
    """Staged rows, in ``STAGE_COLUMNS`` order."""
    encode = msgspec.json.encode
    # Rows of one identity (the phone, or the email without a phone) group under their first
    # row: a dictionary look-up per row here instead of a window over the chunk in SQL.
    first_of: dict[str, int] = {}
    # Ids are made here, not by an SQL expression per row: a lead id for every row (used when
    # the row creates its lead), an intake id and an activity id.
    ids = uuid7_bytes_batch(3 * len(rows))
    new_id: Any = bytes.hex if pg else bytes
    return [
        (
            r.row_no,
            r.ref,
            r.source_id if pg or r.source_id is None else r.source_id.bytes,
            first_of.setdefault(r.phone or f"@{r.email}", r.row_no),
            *_row_text(r),
            encode(r.extra).decode() if r.extra else None,
            encode(r.tags).decode() if r.tags else None,
            encode(r.payload).decode(),
            new_id(ids[3 * at]),
            new_id(ids[3 * at + 1]),
            new_id(ids[3 * at + 2]),
        )
        for at, r in enumerate(rows)
    ]


async def _stage(conn: AsyncConnection, dialect: Dialect, rows: list[IntakeRow]) -> None:
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
) -> ChunkOutcome:
    """Apply the merge rules to ``rows`` inside the connection's transaction (see the module)."""
    compiled = compiled_steps(conn.dialect.name)
    try:
        if compiled.dialect is SQLITE:
            await _prepare_sqlite(conn)
        outcome = ChunkOutcome()
        if rows:
            outcome = await _apply(conn, compiled, target, rows, now)
        await _reject(conn, target, rejected, now)
    except IntegrityError as exc:
        raise WriteConflict(f"a unique index refused a write: {exc.orig}") from exc
    except DBAPIError as exc:
        if _is_race(exc):
            raise WriteConflict(f"lost a race: {exc.orig}") from exc
        raise
    outcome.rejected = dict(Counter(r.reason for r in rejected))
    return outcome


# The file's size now against its size at the last ANALYZE: no lag, unlike the stats counters.
_GROWN = text(
    "SELECT relname FROM pg_class WHERE relname IN :tables AND oid = to_regclass(relname) "
    "AND pg_relation_size(oid) / 8192 > 2 * greatest(relpages, 64)"
).bindparams(bindparam("tables", expanding=True))


async def _refresh_statistics(conn: AsyncConnection, tables: list[str]) -> None:
    """ANALYZE the tables an import matches against once they have doubled in size since their
    last statistics. A first import into an empty pool grows ``raw_leads`` from nothing within
    minutes, before autovacuum looks; planned as if still empty, a match against it becomes a
    scan of the whole table per row instead of an index look-up."""
    for (table,) in (await conn.execute(_GROWN, {"tables": tables})).all():
        await conn.execute(text(f"ANALYZE {table}"))


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
) -> ChunkOutcome:
    steps = compiled.steps
    params = {**_texts(target), "now": now}

    async def run(name: str) -> Any:
        result = None
        for statement in steps[name]:
            result = await conn.execute(statement, params)
        return result

    if compiled.dialect is PG:
        # lead_intakes is read only by the replay check of a resumed run.
        tables = ["raw_leads", "lead_intakes"] if target.may_replay else ["raw_leads"]
        await _refresh_statistics(conn, tables)
    for statement in compiled.create:
        await conn.execute(statement)
    await _stage(conn, compiled.dialect, rows)
    if target.may_replay:
        await run("replays")
    await run("targets")
    await run("by_phone")
    if (await run("fold")).rowcount:
        await run("folded")
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
    await run("journal")
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
) -> None:
    if not rejected:
        return
    if target.channel is IntakeChannel.VENDOR:
        by_reason: dict[str, list[uuid.UUID]] = {}
        for row in rejected:
            if row.source_id is not None:
                by_reason.setdefault(row.reason, []).append(row.source_id)
        table = Base.metadata.tables["vendor_leads"]
        for reason, ids in by_reason.items():
            await conn.execute(
                table.update()
                .where(table.c.id.in_(ids), table.c.status == "RECEIVED")
                .values(status="REJECTED", reject_reason=reason, updated_at=now)
            )
        return
    if target.batch_id is None:
        return
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
    await conn.execute(insert(table).on_conflict_do_nothing(), values)
