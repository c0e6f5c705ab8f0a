"""Foreign keys of the set-based intake checked once per chunk instead of once per row
(PostgreSQL).

A chunk of 10,000 rows inserts ~8,000 leads, ~10,000 intakes and ~10,000 activities: every one
fires PostgreSQL's foreign-key trigger, an SPI query that finds and locks its parent
``FOR KEY SHARE`` — the same sales head 8,000 times, each lead twice. Measured on the import
benchmark that is ~40 % of the time of those three INSERTs.

The keys stay. Inside the chunk's transaction the parents are checked and locked once per
chunk, as the triggers would lock them:

- a new lead's only parent is its pool's sales head (``owning_sales_head_id``; assignees are
  NULL on a new lead): one ``SELECT … FOR KEY SHARE`` of that user;
- an intake's and an activity's parent is a lead this transaction inserted or locked ``FOR
  UPDATE`` before merging into it (``bulk_sql``'s merge step): every target must have its lead
  locked, which ``all_merged_locked`` checks.

Only then do those INSERTs run with ``session_replication_role = replica`` (``SET LOCAL``:
the transaction's, restored right after), which skips the per-row triggers. When a parent is
missing, or the database role may not set the parameter (superuser, or
``GRANT SET ON PARAMETER session_replication_role TO <role>`` on PostgreSQL 15+), the INSERTs
run with their triggers as before, so a missing parent still fails exactly as it did; so do
they when one of those tables has an INSERT trigger of its own (none has today).
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from advanced_alchemy.types import GUID
from sqlalchemy import bindparam, text
from sqlalchemy.ext.asyncio import AsyncConnection

# tgtype bit 4: an INSERT trigger. A table's own INSERT trigger (an audit, say) must never be
# skipped with the foreign-key ones: its presence turns the fast path off.
_MAY_SKIP = text(
    """SELECT (current_setting('is_superuser') = 'on'
            OR has_parameter_privilege('session_replication_role', 'SET'))
        AND NOT EXISTS (
            SELECT 1 FROM pg_trigger WHERE NOT tgisinternal AND tgtype & 4 <> 0
              AND tgrelid IN ('raw_leads'::regclass, 'lead_intakes'::regclass,
                              'lead_activities'::regclass))"""
)
_LOCK_HEAD = text("SELECT 1 FROM users WHERE id = :head FOR KEY SHARE").bindparams(
    bindparam("head", type_=GUID())
)
_UNLOCKED_TARGETS = text(
    "SELECT EXISTS (SELECT 1 FROM imp_target WHERE lead_id IS NULL OR (NOT fresh AND was IS NULL))"
)
_REPLICA = text("SET LOCAL session_replication_role = replica")
_ORIGIN = text("SET LOCAL session_replication_role = origin")


async def may_skip_triggers(conn: AsyncConnection) -> bool:
    """Whether this connection's role may switch the per-row triggers off (PostgreSQL 15+) and
    no table the switch covers has an INSERT trigger of its own."""
    version = conn.dialect.server_version_info or (0,)
    if version < (15,):
        return False
    return bool((await conn.execute(_MAY_SKIP)).scalar_one())


async def head_locked(conn: AsyncConnection, head_id: uuid.UUID | None) -> bool:
    """The pool's sales head, locked as the foreign-key trigger would lock it; False if gone.
    New leads without a pool have no parent to check."""
    if head_id is None:
        return True
    return (await conn.execute(_LOCK_HEAD, {"head": head_id})).first() is not None


async def all_merged_locked(conn: AsyncConnection) -> bool:
    """Every target has its lead: inserted by this chunk or locked by its merge step."""
    return not (await conn.execute(_UNLOCKED_TARGETS)).scalar_one()


@asynccontextmanager
async def triggers_skipped(conn: AsyncConnection, skip: bool) -> AsyncIterator[None]:
    """Run the block with the per-row triggers off when ``skip`` (parents checked by the
    caller), restoring them after it."""
    if not skip:
        yield
        return
    await conn.execute(_REPLICA)
    # On an error the transaction is rolled back, and SET LOCAL with it.
    yield
    await conn.execute(_ORIGIN)
