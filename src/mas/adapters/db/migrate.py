"""Schema migrations through Alembic, driven from code (``mas db ...``) and from tests."""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.types import TypeDecorator

from mas.adapters.db.base import Base
from mas.adapters.db.schema_check import SchemaBehind as SchemaBehind
from mas.adapters.db.schema_check import ensure_at_head as ensure_at_head
from mas.adapters.db.session import ensure_sqlite_folder, sqlite_file_missing

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url)
    config.set_main_option("path_separator", "os")
    return config


def head_revision() -> str | None:
    return ScriptDirectory.from_config(alembic_config("")).get_current_head()


def upgrade(url: str, revision: str = "head") -> None:
    ensure_sqlite_folder(url)
    command.upgrade(alembic_config(url), revision)


def downgrade(url: str, revision: str = "-1") -> None:
    command.downgrade(alembic_config(url), revision)


def load_tables(table_modules: Sequence[str]) -> None:
    """Import the modules declaring tables (the domains' manifests name them), so that
    ``Base.metadata`` holds every table before autogenerate or a drift check reads it."""
    for name in table_modules:
        importlib.import_module(name)


def revision(
    url: str, message: str, table_modules: Sequence[str], autogenerate: bool = True
) -> None:
    config = alembic_config(url)
    config.attributes["table_modules"] = list(table_modules)
    command.revision(config, message=message, autogenerate=autogenerate)


async def current_revision(url: str) -> str | None:
    if sqlite_file_missing(url):
        return None  # an unborn SQLite file is at no revision; do not create it by looking
    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            return await conn.run_sync(
                lambda sync: MigrationContext.configure(sync).get_current_revision()
            )
    finally:
        await engine.dispose()


def compare_type(
    context: MigrationContext,
    inspected_column: Any,
    metadata_column: Any,
    inspected_type: Any,
    metadata_type: Any,
) -> bool | None:
    """SQLite reflects advanced-alchemy's GUID (BINARY(16)) as NUMERIC: not a real change."""
    if context.dialect.name == "sqlite" and isinstance(metadata_type, TypeDecorator):
        return False
    return None  # let Alembic decide


def _diff(connection: Connection) -> list[object]:
    context = MigrationContext.configure(connection, opts={"compare_type": compare_type})
    return list(compare_metadata(context, Base.metadata))


async def schema_drift(url: str, table_modules: Sequence[str]) -> list[object]:
    """What autogenerate would change: empty when the migrations match the models."""
    load_tables(table_modules)
    engine = create_async_engine(url)
    try:
        async with engine.connect() as conn:
            return await conn.run_sync(_diff)
    finally:
        await engine.dispose()
