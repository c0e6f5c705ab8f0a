"""The whole app through Litestar's test client, on SQLite, with one real account per role."""

from __future__ import annotations

import functools
import time
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import jwt
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from mas.core.identity.model import AuthMethod, User, UserStage
from mas.core.identity.policy import Platform, Role
from mas.core.platform.ids import uuid7
from mas.http.app import create_app, serve_container
from tests.conftest import TEST_JWT_SECRET

PASSWORD = "correct horse battery"
Auth = Callable[..., dict[str, str]]


def make_token(
    role: Role,
    platform: Platform = Platform.MY_ANALYTICS_SCHOOL,
    *,
    secret: str = TEST_JWT_SECRET,
    ttl_s: int = 900,
    user_id: uuid.UUID | None = None,
) -> str:
    """A token signed by hand (for the expired / forged cases)."""
    now = int(time.time())
    claims = {
        "iss": "mas",
        "sub": str(user_id or uuid.uuid4()),
        "role": role.value,
        "plt": platform.value,
        "tv": 0,
        "jti": uuid.uuid4().hex,
        "amr": "pwd",
        "iat": now,
        "exp": now + ttl_s,
    }
    return jwt.encode(claims, secret, algorithm="HS256")


async def add_user(
    c: Any, role: Role, email: str | None = None, *, password: str = PASSWORD, verified: bool = True
) -> User:
    user = User(
        id=uuid7(),
        email=email or f"{role.value.lower()}-{uuid.uuid4().hex[:6]}@example.com",
        role=role,
        created_at=c.clock.now(),
        password_hash=c.identity.hasher.hash(password),
    )
    if verified:
        user.advance(UserStage.OTP_VERIFIED)
    async with c.uow() as uow:
        await uow.users.add(user)
        await uow.commit()
    return user


@pytest.fixture
async def accounts(sqlite_container: Any) -> dict[Role, User]:
    return {role: await add_user(sqlite_container, role) for role in Role}


@pytest.fixture
def auth(sqlite_container: Any, accounts: dict[Role, User]) -> Auth:
    """Headers for the account of ``role`` (or for ``user``) on ``platform``."""

    def headers(
        role: Role = Role.ADMIN,
        platform: Platform = Platform.MY_ANALYTICS_SCHOOL,
        user: User | None = None,
    ) -> dict[str, str]:
        who = user or accounts[role]
        token = sqlite_container.identity.issuer.access_token(
            who, platform, AuthMethod.PASSWORD, None
        )
        return {"Authorization": f"Bearer {token}", "X-Platform": platform.value}

    return headers


@functools.cache
def described_app() -> Litestar:
    """One app built from the environment's settings, never started: for the tests that only
    read its routes and OpenAPI document (which they must not change)."""
    return create_app()


# Built apps, free for the next test: building one costs ~0.5 s (Litestar checks every
# handler's signature), and the app itself holds no test's data (the container does). Keyed by
# the settings the app is built from (the container's are read when it starts).
_FREE_APPS: dict[tuple[Any, ...], list[Litestar]] = {}


@asynccontextmanager
async def app_for(container: Any) -> AsyncIterator[Litestar]:
    """A built app, reused across tests, serving ``container`` for the duration of the block
    (its lifespan, if started, uses that container; ``app.state.container`` is set for the
    tests that call the app without a lifespan, over ``httpx.ASGITransport``)."""
    settings = container.settings
    key = (tuple(settings.cors_origins), settings.default_platform)
    free = _FREE_APPS.setdefault(key, [])
    app = free.pop() if free else create_app(container=container)
    serve_container(app, container)
    app.state.container = container
    try:
        yield app
    finally:
        app.state.pop("container", None)
        free.append(app)


@asynccontextmanager
async def http_client(
    container: Any, *, raise_server_exceptions: bool = False
) -> AsyncIterator[AsyncTestClient[Any]]:
    """A test client of the whole app (reused across tests) started on ``container``."""
    async with (
        app_for(container) as app,
        AsyncTestClient(app=app, raise_server_exceptions=raise_server_exceptions) as test_client,
    ):
        yield test_client


@pytest.fixture
async def client(sqlite_container: Any) -> AsyncIterator[AsyncTestClient[Any]]:
    async with http_client(sqlite_container) as test_client:
        yield test_client
