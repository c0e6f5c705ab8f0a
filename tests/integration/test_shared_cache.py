"""Two processes on one database: a revocation made through one is refused by the other at once.

Each container stands for one process (``MAS_HTTP_WORKERS=2``): its own engine, its own
services, the shared cache of ``MAS_CACHE=auto`` (the database). The other process has served
the token once before the change (so it holds whatever it caches); its very next request after
the change is refused. That is the delay for a logout, a block or a role change with a shared
cache: none, the next request. With the per-process memory cache the same logout is still
accepted by the other process (the last test), which is why several processes refuse it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from mas.core.identity.model import AuthMethod, User
from mas.core.identity.policy import Caller, Platform, Role
from mas.core.identity.tokens import RequestInfo
from mas.core.platform.errors import Unauthorized
from tests.conftest import Database, make_settings, open_container
from tests.http.conftest import add_user

pytestmark = pytest.mark.committing  # two processes, two connections, real commits

INFO = RequestInfo(platform=Platform.MY_ANALYTICS_SCHOOL, ip="10.0.0.9")


async def pair_of(
    database: Database, tmp_path: Path, **overrides: Any
) -> AsyncIterator[tuple[Any, Any]]:
    settings = make_settings(database.url, tmp_path, **overrides)
    first = await open_container(settings)
    second = await open_container(settings)
    try:
        yield first, second
    finally:
        await first.close()
        await second.close()


@pytest.fixture
async def workers(database: Database, tmp_path: Path) -> AsyncIterator[tuple[Any, Any]]:
    """Two processes as ``MAS_HTTP_WORKERS=2`` configures them (``cache = auto``)."""
    async for pair in pair_of(database, tmp_path, http_workers=2):
        assert pair[0].settings.effective_cache == "database"
        assert type(pair[0].cache).__name__ == "DatabaseCache"
        yield pair


async def admin_of(container: Any) -> Caller:
    admin = await add_user(container, Role.SUPERADMIN)
    token = container.identity.issuer.access_token(
        admin, Platform.MY_ANALYTICS_SCHOOL, AuthMethod.PASSWORD, None
    )
    caller: Caller = await container.identity.access.authenticate(token)
    return caller


async def signed_in(first: Any, second: Any, role: Role = Role.SALES) -> tuple[User, str]:
    """A user signed in through the first process, whose token the second has served once."""
    user = await add_user(first, role)
    async with first.uow() as uow:
        pair = await first.identity.issuer.open_session(
            uow.sessions, user, AuthMethod.PASSWORD, INFO
        )
        await uow.commit()
    caller = await second.identity.access.authenticate(pair.access_token)
    assert caller.user_id == user.id and caller.role is role
    return user, pair.access_token


async def refused(container: Any, token: str) -> str:
    with pytest.raises(Unauthorized) as caught:
        await container.identity.access.authenticate(token)
    return str(caught.value.code)


async def test_a_logout_on_one_process_is_refused_by_the_other(
    workers: tuple[Any, Any],
) -> None:
    first, second = workers
    user, token = await signed_in(first, second)
    caller = await first.identity.access.authenticate(token)
    await first.identity.sessions.logout(user.id, caller.session_id)
    assert await refused(second, token) == "session_revoked"


async def test_a_block_on_one_process_is_refused_by_the_other(workers: tuple[Any, Any]) -> None:
    first, second = workers
    admin = await admin_of(first)
    user, token = await signed_in(first, second)
    await first.identity.accounts.set_blocked(admin, user.id, True)
    assert await refused(second, token) == "account_blocked"


async def test_a_role_change_on_one_process_is_refused_by_the_other(
    workers: tuple[Any, Any],
) -> None:
    first, second = workers
    admin = await admin_of(first)
    user, token = await signed_in(first, second)
    await first.identity.accounts.change_role(admin, user.id, Role.USER, False)
    assert await refused(second, token) == "token_revoked"


async def test_page_keys_changed_on_one_process_apply_on_the_other_next_request(
    workers: tuple[Any, Any],
) -> None:
    first, second = workers
    admin = await admin_of(first)
    head, token = await signed_in(first, second, Role.SALES_HEAD)
    page = sorted(first.pages)[0]
    assert page not in (await second.identity.access.authenticate(token)).page_permissions
    await first.identity.sales_head_pages.replace(admin, head.id, [page])
    assert page in (await second.identity.access.authenticate(token)).page_permissions


async def test_with_a_per_process_cache_the_other_process_still_accepts_a_logout(
    database: Database, tmp_path: Path
) -> None:
    """The defect the shared cache removes (so the tests above can fail)."""
    async for first, second in pair_of(database, tmp_path, cache="memory"):
        user, token = await signed_in(first, second)
        caller = await first.identity.access.authenticate(token)
        await first.identity.sessions.logout(user.id, caller.session_id)
        assert await refused(first, token) == "session_revoked"
        assert (await second.identity.access.authenticate(token)).user_id == user.id
