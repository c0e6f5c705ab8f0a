"""The whole app through Litestar's test client, on SQLite, with one real account per role."""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import jwt
import pytest
from litestar.testing import AsyncTestClient

from mas.core.identity.model import AuthMethod, User, UserStage
from mas.core.identity.policy import Platform, Role
from mas.core.platform.ids import uuid7
from mas.http.app import create_app
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


@pytest.fixture
async def client(sqlite_container: Any) -> AsyncIterator[AsyncTestClient[Any]]:
    app = create_app(container=sqlite_container)
    async with AsyncTestClient(app=app, raise_server_exceptions=False) as test_client:
        yield test_client
