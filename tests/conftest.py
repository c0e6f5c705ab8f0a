"""Shared fixtures: real databases (SQLite and PostgreSQL), the container, the HTTP client.

PostgreSQL comes from ``MAS_TEST_PG_URL`` (an admin URL; ``make test`` sets it): each run creates
its own database and drops it at the end. Without it the PostgreSQL half is skipped, unless
``CI=true``, where a missing service fails the run.
"""

from __future__ import annotations

import asyncio
import functools
import os
import shutil
import socket
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from mas.adapters.db import migrate
from mas.adapters.db.session import make_engine, make_sessionmaker
from mas.settings import Settings, load_settings
from tests.rollback import empty_tables, joined

IN_CI = os.environ.get("CI", "").lower() == "true"
PG_ADMIN_URL = os.environ.get("MAS_TEST_PG_URL", "")
NATS_URL = os.environ.get("MAS_TEST_NATS_URL", "")


@functools.cache
def all_tables() -> list[str]:
    """Every domain's tables, from the manifests (``mas.modules``)."""
    from mas.adapters.db.base import Base
    from mas.modules import load_tables

    load_tables()
    return [table.name for table in Base.metadata.sorted_tables]


os.environ.setdefault("MAS_LOG_JSON", "false")


def missing_service(what: str) -> None:
    """Fail under CI, skip elsewhere: a missing service must never pass silently in CI."""
    message = f"{what} is not available (set it up with `make test`)"
    if IN_CI:
        pytest.fail(message)
    pytest.skip(message)


# --- no real network --------------------------------------------------------------------------

_LOCAL_HOSTS = {"localhost", "127.0.0.1", "::1", "0.0.0.0", "testserver", ""}
_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex
_real_getaddrinfo = socket.getaddrinfo


def _is_local(address: Any) -> bool:
    if isinstance(address, (str, bytes)):  # a unix socket path
        return True
    host = str(address[0]) if isinstance(address, tuple) and address else ""
    return host in _LOCAL_HOSTS or host.startswith("127.")


class OutboundNetworkBlocked(RuntimeError):
    pass


def _guarded_connect(self: socket.socket, address: Any) -> Any:
    if not _is_local(address):
        raise OutboundNetworkBlocked(f"tests may not connect to {address!r}")
    return _real_connect(self, address)


def _guarded_connect_ex(self: socket.socket, address: Any) -> Any:
    if not _is_local(address):
        raise OutboundNetworkBlocked(f"tests may not connect to {address!r}")
    return _real_connect_ex(self, address)


def _guarded_getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
    name = host.decode() if isinstance(host, bytes) else str(host or "")
    if not _is_local((name,)):
        raise OutboundNetworkBlocked(f"tests may not resolve {name!r}")
    return _real_getaddrinfo(host, *args, **kwargs)


@pytest.fixture(autouse=True)
def no_outbound_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any connection beyond loopback fails loudly (real HTTP calls included)."""
    monkeypatch.setattr(socket.socket, "connect", _guarded_connect)
    monkeypatch.setattr(socket.socket, "connect_ex", _guarded_connect_ex)
    monkeypatch.setattr(socket, "getaddrinfo", _guarded_getaddrinfo)


# --- databases --------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One migrated SQLite file per run; each test gets a copy."""
    path = tmp_path_factory.mktemp("db") / "template.db"
    migrate.upgrade(f"sqlite+aiosqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str | None]:
    """A database of this run's own on the test PostgreSQL, migrated; dropped at the end."""
    if not PG_ADMIN_URL:
        yield None
        return
    name = f"mas_test_{uuid.uuid4().hex[:12]}"
    base = PG_ADMIN_URL.rsplit("/", 1)[0]

    async def admin(sql: str) -> None:
        engine = create_async_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
        try:
            async with engine.connect() as conn:
                await conn.execute(text(sql))
        finally:
            await engine.dispose()

    try:
        asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    except OSError as exc:
        if IN_CI:
            raise
        print(f"PostgreSQL at {PG_ADMIN_URL} unreachable: {exc}")
        yield None
        return
    url = f"{base}/{name}"
    migrate.upgrade(url)
    yield url
    asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="session")
async def pg_engine(pg_url: str | None) -> AsyncIterator[AsyncEngine | None]:
    """This run's pool on its PostgreSQL database: the tests' connections, the cleanups."""
    if pg_url is None:
        yield None
        return
    engine = create_async_engine(pg_url, pool_size=2, max_overflow=8)
    await empty_tables(engine, all_tables())  # whatever the migrations inserted
    yield engine
    await engine.dispose()


async def truncate_pg(url: str) -> None:
    """Empty the tables that have rows (the NATS tests' processes commit for real)."""
    engine = create_async_engine(url)
    try:
        await empty_tables(engine, all_tables())
    finally:
        await engine.dispose()


@dataclass(frozen=True)
class Database:
    """The database of one test: its URL and, on PostgreSQL unless the test is ``committing``,
    the engine and sessions joined to the test's transaction (``tests/rollback.py``)."""

    url: str
    joined: tuple[AsyncEngine, async_sessionmaker[AsyncSession]] | None = None

    @asynccontextmanager
    async def sessions(self) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
        """Sessions on this database: the joined ones, or new ones on the URL."""
        if self.joined is not None:
            yield self.joined[1]
            return
        engine = make_engine(self.url)
        try:
            yield make_sessionmaker(engine)
        finally:
            await engine.dispose()


@pytest.fixture(params=["sqlite", "postgres"])
async def database(
    request: pytest.FixtureRequest,
    sqlite_template: Path,
    pg_url: str | None,
    pg_engine: AsyncEngine | None,
    tmp_path: Path,
) -> AsyncIterator[Database]:
    """A migrated, empty database: every test using it runs on SQLite and on PostgreSQL.

    SQLite: a copy of the migrated file. PostgreSQL: one transaction, rolled back at the end;
    with ``@pytest.mark.committing``, real commits and the written tables emptied after."""
    if request.param == "sqlite":
        copy = tmp_path / "mas.db"
        shutil.copyfile(sqlite_template, copy)
        yield Database(f"sqlite+aiosqlite:///{copy}")
        return
    if pg_url is None or pg_engine is None:
        missing_service("PostgreSQL (MAS_TEST_PG_URL)")
    assert pg_url is not None and pg_engine is not None
    if request.node.get_closest_marker("committing"):
        try:
            yield Database(pg_url)
        finally:
            await empty_tables(pg_engine, all_tables())
        return
    async with joined(pg_engine) as (engine, sessions, order):
        yield Database(pg_url, (engine, sessions))
    leaked = await empty_tables(pg_engine, all_tables())
    if order.broken or leaked:
        pytest.fail(
            "this test used PostgreSQL concurrently or through another connection "
            f"(savepoints out of order: {order.broken}; rows committed in: {leaked}); "
            "mark it @pytest.mark.committing (see tests/rollback.py)"
        )


@pytest.fixture
def db_url(database: Database) -> str:
    return database.url


@pytest.fixture
async def sqlite_url(sqlite_template: Path, tmp_path: Path) -> str:
    copy = tmp_path / "mas.db"
    shutil.copyfile(sqlite_template, copy)
    return f"sqlite+aiosqlite:///{copy}"


# The tests sign their own tokens (``tests/http/conftest.py``), so they name the secret; the
# generated per-installation secret has its own tests (``tests/unit/test_settings.py``).
TEST_JWT_SECRET = "test-only-jwt-secret-0123456789abcdef"


def make_settings(database_url: str, tmp_path: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "env": "test",
        "jwt_secret": TEST_JWT_SECRET,
        "database_url": database_url,
        "storage_dir": str(tmp_path / "storage"),
        "log_json": False,
        "release_interval_s": 0.05,
        # The workflow engine's AI calls go to the in-process fake (tests complete them).
        "ai_caller": "fake",
        # Litestar's test client reads a response to its end: an event stream must end soon.
        "sse_max_lifetime_s": 0.2,
    }
    values.update(overrides)
    return load_settings(environ={}, overrides=values)


async def open_container(
    settings: Settings,
    inline_tasks: bool = True,
    extra: tuple[Any, ...] = (),
    database: tuple[AsyncEngine, async_sessionmaker[AsyncSession]] | None = None,
    clock: Any = None,
) -> Any:
    """The container with a cheap argon2 (8 KiB, one pass): real hashes in microseconds; the
    production parameters stay in the tests of the hasher itself. ``database``: the engine and
    sessions of the test's transaction (``Database.joined``)."""
    from mas.bootstrap import build_container
    from mas.jobs.runner import register_all

    c = await build_container(
        settings,
        inline_tasks=inline_tasks,
        password_hasher=CHEAP_HASHER,
        extra=extra,
        database=database,
        clock=clock,
    )
    register_all(c.broker, c)
    await c.start_broker()
    # Connect once here: the engine's first connection runs under an asyncio lock, and the
    # test client's lifespan (another thread, another loop) would race this test's first query
    # for it; a lock released from the other loop never wakes its waiter (the test hangs).
    async with c.engine.connect() as conn:
        await conn.execute(text("SELECT 1"))
    return c


def _cheap_hasher() -> Any:
    from mas.adapters.identity.passwords import Argon2Hasher

    return Argon2Hasher(time_cost=1, memory_cost_kib=8, parallelism=1)


CHEAP_HASHER = _cheap_hasher()


def extra_modules(request: pytest.FixtureRequest) -> tuple[Any, ...]:
    """A test file's own tasks (``TASKS_MODULE``, see ``tests.taskprobe``)."""
    module = getattr(request.module, "TASKS_MODULE", None)
    return (module,) if module is not None else ()


@pytest.fixture
async def container(
    request: pytest.FixtureRequest, database: Database, tmp_path: Path
) -> AsyncIterator[Any]:
    """The container on each database, in-memory broker, tasks run inline in this process.

    In the test's one transaction (PostgreSQL, not ``committing``) every unit of work shares
    one connection, so an import writes with one writer; ``committing`` tests get two."""
    one_connection = {"import_writers": 1} if database.joined else {}
    c = await open_container(
        make_settings(database.url, tmp_path, **one_connection),
        extra=extra_modules(request),
        database=database.joined,
    )
    yield c
    await c.close()


@pytest.fixture
async def sqlite_container(
    request: pytest.FixtureRequest, sqlite_url: str, tmp_path: Path
) -> AsyncIterator[Any]:
    c = await open_container(make_settings(sqlite_url, tmp_path), extra=extra_modules(request))
    yield c
    await c.close()
