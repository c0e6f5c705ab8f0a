"""The whole app through Litestar's test client, on SQLite."""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

import jwt
import pytest
from litestar.testing import AsyncTestClient

from mas.core.identity.policy import Platform, Role
from mas.http.app import create_app
from mas.settings import DEV_JWT_SECRET


def make_token(
    role: Role,
    platform: Platform = Platform.MY_ANALYTICS_SCHOOL,
    *,
    secret: str = DEV_JWT_SECRET,
    ttl_s: int = 900,
    user_id: uuid.UUID | None = None,
) -> str:
    now = int(time.time())
    claims = {
        "sub": str(user_id or uuid.uuid4()),
        "role": role.value,
        "plt": platform.value,
        "tv": 0,
        "sid": str(uuid.uuid4()),
        "jti": uuid.uuid4().hex,
        "iat": now,
        "exp": now + ttl_s,
    }
    return jwt.encode(claims, secret, algorithm="HS256")


def auth(role: Role, platform: Platform = Platform.MY_ANALYTICS_SCHOOL) -> dict[str, str]:
    return {"Authorization": f"Bearer {make_token(role, platform)}", "X-Platform": platform.value}


@pytest.fixture
async def client(sqlite_container: Any) -> AsyncIterator[AsyncTestClient[Any]]:
    app = create_app(container=sqlite_container)
    async with AsyncTestClient(app=app, raise_server_exceptions=False) as test_client:
        yield test_client
