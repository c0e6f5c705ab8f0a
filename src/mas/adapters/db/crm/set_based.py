"""What the assignment-side repositories share to stay set-based.

A bulk path never loops one row at a time: id lists are cut into chunks of ``IN_CHUNK`` for the
``IN`` clause, slot writes are one UPDATE per (slot, assignee) group, history rows and
activities one executemany each, and upserts are a native ``INSERT … ON CONFLICT`` on both
PostgreSQL and SQLite.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from mas.adapters.db.crm.tables import RawLeadRow
from mas.core.crm.model import OPEN

IN_CHUNK = 500
OPEN_STATUSES = sorted(status.value for status in OPEN)
LIVE_LEAD = RawLeadRow.deleted_at.is_(None)


def in_chunks(ids: Sequence[uuid.UUID], size: int = IN_CHUNK) -> Iterator[list[uuid.UUID]]:
    for start in range(0, len(ids), size):
        yield list(ids[start : start + size])


def plain(value: Any) -> Any:
    """A value as JSON holds it: ids as text, enums as their value, containers walked."""
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, list):
        return [plain(item) for item in value]
    if isinstance(value, dict):
        return {str(key): plain(item) for key, item in value.items()}
    return value.value if hasattr(value, "value") else value


async def upsert(
    session: AsyncSession,
    table: Table,
    rows: list[dict[str, Any]],
    keys: list[str],
    changing: list[str],
) -> None:
    """Insert ``rows``; a row whose ``keys`` exist already updates its ``changing`` columns."""
    if not rows:
        return
    bind = session.bind
    dialect = postgresql if bind is not None and bind.dialect.name == "postgresql" else sqlite
    statement = dialect.insert(table)
    statement = statement.on_conflict_do_update(
        index_elements=keys, set_={name: statement.excluded[name] for name in changing}
    )
    await session.execute(statement, rows)
