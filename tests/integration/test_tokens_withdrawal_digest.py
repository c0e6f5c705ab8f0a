"""The ADMINs' daily digest of withdrawals waiting for payment, on SQLite and PostgreSQL: one
mail per active admin per day, none when nothing waits (tokens-earnings.md §6)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from mas.adapters.db.platform.tables import OutboxMessageRow
from mas.core.identity.policy import Role
from mas.core.tokens.earnings.digest import MAIL_DIGEST
from mas.modules import crons
from tests.http.conftest import add_user
from tests.integration.test_tokens_earnings import VALUE, World, world

__all__ = ["world"]  # the fixture, imported for this module's tests


async def digests(c: Any) -> list[tuple[str, str]]:
    async with c.sessions() as session:
        rows = await session.execute(
            select(OutboxMessageRow.recipient, OutboxMessageRow.subject)
            .where(OutboxMessageRow.template == MAIL_DIGEST)
            .order_by(OutboxMessageRow.recipient)
        )
        return [(r.recipient, r.subject) for r in rows]


async def test_admins_get_one_digest_a_day_while_withdrawals_wait(world: World) -> None:
    c = world.c
    admins = [await add_user(c, Role.ADMIN), await add_user(c, Role.SUPERADMIN)]
    blocked = await add_user(c, Role.ADMIN)
    async with c.uow() as uow:
        found = await uow.users.get(blocked.id)
        found.is_blocked = True
        await uow.users.save(found)
        await uow.commit()
    await add_user(c, Role.EXPERT)
    assert await world.earnings.digest.send() == 0, "nothing waits: no mail"
    assert await digests(c) == []

    mentors = [await world.mentor(), await world.mentor()]
    for mentor in mentors:
        await world.credit(mentor, 2)
        await world.withdraw(mentor, 2 * VALUE)
    assert await world.earnings.digest.send() == 2
    expected = sorted((admin.email, "2 withdrawals waiting for payment") for admin in admins)
    assert await digests(c) == expected
    assert await world.earnings.digest.send() == 2, "the same day's keys: nothing new"
    assert await digests(c) == expected


def test_the_digest_is_a_daily_cron() -> None:
    assert crons()["earnings.withdrawal_digest"] == "0 9 * * *"
