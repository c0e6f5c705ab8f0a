"""Refreshes and sign-ins racing on SQLite and PostgreSQL, with a clock the test moves.

Two tabs refreshing with one token must both stay signed in (the reuse interval), and many
failed sign-ins at once must not slip past the per-account wait. Real concurrency needs real
commits, so these tests are ``committing`` (each opens its own connections).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from mas.adapters.fakes.platform import FakeClock
from mas.core.identity.model import AccountThrottle, RevokeReason, User, UserStage
from mas.core.identity.policy import Role
from mas.core.identity.tokens import RequestInfo, TokenPair
from mas.core.platform.errors import DomainError, RateLimited, Unauthorized
from mas.core.platform.ids import uuid7
from tests.conftest import CHEAP_HASHER, Database, make_settings, open_container

pytestmark = pytest.mark.committing

PASSWORD = "correct horse battery"
INFO = RequestInfo(ip="10.0.0.5", user_agent="pytest")


class World:
    def __init__(self, container: Any, clock: FakeClock) -> None:
        self.c = container
        self.clock = clock

    async def user(self, email: str) -> User:
        user = User(
            id=uuid7(),
            email=email,
            role=Role.USER,
            created_at=self.clock.now(),
            password_hash=CHEAP_HASHER.hash(PASSWORD),
        )
        user.advance(UserStage.OTP_VERIFIED)
        async with self.c.uow() as uow:
            await uow.users.add(user)
            await uow.commit()
        return user

    async def signed_in(self, email: str) -> TokenPair:
        user = await self.user(email)
        _, pair = await self.c.identity.sign_in.with_password(user.email, PASSWORD, INFO)
        return pair

    async def login(self, email: str, password: str, n: int) -> DomainError | None:
        info = RequestInfo(ip=f"10.{n // 200}.{n % 200}.7")  # every attempt from its own address
        try:
            await self.c.identity.sign_in.with_password(email, password, info)
        except DomainError as error:
            return error
        return None


@pytest.fixture
async def world(database: Database, tmp_path: Path) -> AsyncIterator[World]:
    clock = FakeClock(datetime.now(UTC))  # the JWT codec checks expiry against the real time
    container = await open_container(make_settings(database.url, tmp_path), clock=clock)
    yield World(container, clock)
    await container.close()


# --- the reuse interval ------------------------------------------------------------------------


async def test_concurrent_refreshes_of_one_token_all_get_the_same_pair(world: World) -> None:
    first = await world.signed_in("tabs@example.com")
    token = first.refresh_token or ""
    pairs = await asyncio.gather(
        *(world.c.identity.sessions.refresh(token, INFO) for _ in range(5))
    )
    assert all(p == pairs[0] for p in pairs), "one rotation; every tab got its pair"
    assert pairs[0].refresh_token not in (None, token)
    async with world.c.uow() as uow:
        presented = await uow.sessions.get(first.session_id)
        family = await uow.sessions.active_for_user(presented.user_id, world.clock.now())
    assert presented.revoked_reason is RevokeReason.ROTATED
    assert [s.id for s in family] == [pairs[0].session_id], "the sign-in lives on, once"
    caller = await world.c.identity.access.authenticate(pairs[0].access_token)
    assert caller.session_id == pairs[0].session_id
    nxt = await world.c.identity.sessions.refresh(pairs[0].refresh_token or "", INFO)
    assert nxt.session_id not in (first.session_id, pairs[0].session_id)


async def test_after_the_interval_the_old_token_ends_the_sign_in(world: World) -> None:
    first = await world.signed_in("late@example.com")
    second = await world.c.identity.sessions.refresh(first.refresh_token or "", INFO)
    world.clock.advance(seconds=29)
    assert await world.c.identity.sessions.refresh(first.refresh_token or "", INFO) == second
    world.clock.advance(seconds=1)
    replays = await asyncio.gather(
        *(world.c.identity.sessions.refresh(first.refresh_token or "", INFO) for _ in range(3)),
        return_exceptions=True,
    )
    assert all(isinstance(r, Unauthorized) and r.code == "refresh_reused" for r in replays)
    with pytest.raises(Unauthorized):
        await world.c.identity.sessions.refresh(second.refresh_token or "", INFO)
    with pytest.raises(Unauthorized) as ended:
        await world.c.identity.access.authenticate(second.access_token)
    assert ended.value.code == "session_revoked"
    async with world.c.uow() as uow:
        newest = await uow.sessions.get(second.session_id)
    assert newest is not None and newest.revoked_reason is RevokeReason.REUSE_DETECTED


# --- sign-in throttling per account ------------------------------------------------------------


async def test_concurrent_failures_stop_at_the_free_five(world: World) -> None:
    await world.user("target@example.com")
    answers = await asyncio.gather(
        *(world.login("target@example.com", "a guess", n) for n in range(9))
    )
    kinds = sorted(type(a).__name__ for a in answers)
    assert kinds == ["RateLimited"] * 4 + ["Unauthorized"] * 5


async def test_concurrent_attempts_after_a_wait_admit_exactly_one(world: World) -> None:
    await world.user("waited@example.com")
    subject = world.c.identity.lockout.subject("waited@example.com")
    now = world.clock.now()
    async with world.c.uow() as uow:
        assert await uow.account_throttles.put(
            AccountThrottle(subject=subject, failures=14, last_attempt_at=now, blocked_until=now),
            None,
        )
        await uow.commit()
    answers = await asyncio.gather(
        *(world.login("waited@example.com", "a guess", n) for n in range(8))
    )
    assert sorted(type(a).__name__ for a in answers) == ["RateLimited"] * 7 + ["Unauthorized"]
    waits = {a.retry_after for a in answers if isinstance(a, RateLimited)}
    assert waits == {15 * 60}, "2^(15-5) s, capped at 15 minutes"
    assert isinstance(await world.login("waited@example.com", PASSWORD, 99), RateLimited)
    world.clock.advance(minutes=15)
    assert await world.login("waited@example.com", PASSWORD, 100) is None
    async with world.c.uow() as uow:
        assert await uow.account_throttles.get(subject) is None, "a success clears the count"


async def test_the_count_is_keyed_by_a_digest_and_purged_when_idle(world: World) -> None:
    answers = [await world.login("Nobody@Example.com ", "a guess", n) for n in range(6)]
    assert isinstance(answers[-1], RateLimited), "a refused attempt is not counted"
    async with world.c.uow() as uow:
        rows = (await uow.session.execute(_all_throttles())).all()
    assert len(rows) == 1 and "nobody" not in rows[0].subject and len(rows[0].subject) == 64
    assert rows[0].failures == 5
    world.clock.advance(days=1, seconds=1)
    _, _, purged = await world.c.identity.housekeeping.purge_expired()
    assert purged == 1


def _all_throttles() -> Any:
    from sqlalchemy import select

    from mas.adapters.db.identity.tables import AccountThrottleRow

    return select(AccountThrottleRow.subject, AccountThrottleRow.failures)
