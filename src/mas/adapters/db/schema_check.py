"""Is the database at the latest migration? Answered without importing Alembic.

``mas serve`` asks this before it starts, and Alembic (with its autogenerate machinery) is a
third of a second of imports that serving never needs otherwise. The head is read from the
migration scripts' ``revision`` / ``down_revision`` lines, the database's revision from Alembic's
``alembic_version`` table; a test holds both answers equal to Alembic's own.
"""

from __future__ import annotations

import re
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import create_async_engine

from mas.adapters.db.session import sqlite_file_missing

VERSIONS = Path(__file__).parent / "migrations" / "versions"
_REVISION = re.compile(r"^revision\s*(?::[^=]*)?=\s*['\"]([^'\"]+)['\"]", re.MULTILINE)
_DOWN = re.compile(r"^down_revision\s*(?::[^=]*)?=\s*(.+)$", re.MULTILINE)
_IDS = re.compile(r"['\"]([^'\"]+)['\"]")


class SchemaBehind(Exception):
    """The database is not at the latest migration."""


def script_heads(folder: Path = VERSIONS) -> set[str]:
    """The revisions no other migration script builds on."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for script in folder.glob("*.py"):
        source = script.read_text(encoding="utf-8")
        found = _REVISION.search(source)
        if found is None:
            continue
        revisions.add(found.group(1))
        down = _DOWN.search(source)
        if down is not None:
            parents.update(_IDS.findall(down.group(1)))
    return revisions - parents


async def stored_revisions(url: str) -> set[str]:
    """The revisions recorded in the database (none for an empty or unborn one)."""
    if sqlite_file_missing(url):
        return set()  # an unborn SQLite file is at no revision; do not create it by looking
    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            try:
                rows = await conn.execute(text("SELECT version_num FROM alembic_version"))
            except DBAPIError:
                return set()  # no alembic_version table: never migrated
            return {row[0] for row in rows}
    finally:
        await engine.dispose()


async def ensure_at_head(url: str) -> None:
    """Raise ``SchemaBehind`` with the fix when the database is not at the latest migration."""
    stored, heads = await stored_revisions(url), script_heads()
    if stored != heads:
        have = ", ".join(sorted(stored)) or "none (empty)"
        raise SchemaBehind(
            f"the database is at revision {have} but the code needs {', '.join(sorted(heads))}: "
            "run `mas db upgrade`"
        )
