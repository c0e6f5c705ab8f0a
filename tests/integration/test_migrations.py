"""Migrations upgrade and downgrade cleanly on SQLite and PostgreSQL, and match the models."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import inspect
from sqlalchemy.ext.asyncio import create_async_engine

from mas.adapters.db import migrate, schema_check
from mas.modules import table_modules
from tests.conftest import PG_ADMIN_URL, missing_service


async def _tables(url: str) -> set[str]:
    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            return set(await conn.run_sync(lambda sync: inspect(sync).get_table_names()))
    finally:
        await engine.dispose()


def _round_trip(url: str) -> None:
    migrate.upgrade(url)
    assert asyncio.run(migrate.current_revision(url)) == migrate.head_revision()
    # The serve-time check (no Alembic import) agrees with Alembic.
    assert schema_check.script_heads() == {migrate.head_revision()}
    assert asyncio.run(schema_check.stored_revisions(url)) == {migrate.head_revision()}
    asyncio.run(schema_check.ensure_at_head(url))
    assert asyncio.run(migrate.schema_drift(url, table_modules())) == [], (
        "models and migrations disagree"
    )
    assert {"job_runs", "outbox_messages", "leases"} <= asyncio.run(_tables(url))
    migrate.downgrade(url, "-1")
    with pytest.raises(schema_check.SchemaBehind, match="run `mas db upgrade`"):
        asyncio.run(schema_check.ensure_at_head(url))
    migrate.downgrade(url, "base")
    assert asyncio.run(migrate.current_revision(url)) is None
    assert asyncio.run(schema_check.stored_revisions(url)) == set()
    assert asyncio.run(_tables(url)) <= {"alembic_version"}
    migrate.upgrade(url)  # and back up again after a full downgrade
    assert asyncio.run(migrate.current_revision(url)) == migrate.head_revision()


def test_round_trip_on_sqlite(tmp_path: Path) -> None:
    _round_trip(f"sqlite+aiosqlite:///{tmp_path / 'fresh' / 'mas.db'}")


def test_round_trip_on_postgres() -> None:
    if not PG_ADMIN_URL:
        missing_service("PostgreSQL (MAS_TEST_PG_URL)")
    import uuid

    from sqlalchemy import text

    name = f"mas_mig_{uuid.uuid4().hex[:10]}"

    async def admin(sql: str) -> None:
        engine = create_async_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
        try:
            async with engine.connect() as conn:
                await conn.execute(text(sql))
        finally:
            await engine.dispose()

    async def reloptions(url: str) -> list[str]:
        engine = create_async_engine(url)
        try:
            async with engine.connect() as conn:
                found = await conn.execute(
                    text("SELECT reloptions FROM pg_class WHERE relname = 'raw_leads'")
                )
                return list(found.scalar_one() or [])
        finally:
            await engine.dispose()

    asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    try:
        url = f"{PG_ADMIN_URL.rsplit('/', 1)[0]}/{name}"
        _round_trip(url)
        # Room on each lead page for updates that change no indexed column (migration 0032).
        assert asyncio.run(reloptions(url)) == ["fillfactor=90"]
    finally:
        asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def test_heads_are_read_from_the_scripts_merges_included(tmp_path: Path) -> None:
    scripts = {
        "a.py": 'revision: str = "a"\ndown_revision: str | None = None\n',
        "b.py": 'revision = "b"\ndown_revision = "a"\n',
        "c.py": "revision: str = 'c'\ndown_revision: str | None = 'a'\n",
        "d.py": 'revision: str = "d"\ndown_revision = ("b", "c")\n',
        "e.py": 'revision: str = "e"\ndown_revision: str | None = "d"\n',
        "notes.py": "# not a migration\n",
    }
    for name, source in scripts.items():
        (tmp_path / name).write_text(source)
    assert schema_check.script_heads(tmp_path) == {"e"}
    (tmp_path / "e.py").unlink()
    assert schema_check.script_heads(tmp_path) == {"d"}
    (tmp_path / "d.py").unlink()
    assert schema_check.script_heads(tmp_path) == {"b", "c"}


def test_serve_refuses_a_database_behind_the_migrations(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}"
    with pytest.raises(migrate.SchemaBehind, match="run `mas db upgrade`"):
        asyncio.run(migrate.ensure_at_head(url))
    assert asyncio.run(_tables(url)) == set(), "checking must not create tables"
