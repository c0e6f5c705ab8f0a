"""``mas seed``: demo data for the embedded default. Safe to run twice (keyed on fixed ids)."""

from __future__ import annotations

import asyncio
import uuid

from mas.cli.common import console, container
from mas.core.comms.model import OutboxMessage

WELCOME_ID = uuid.UUID("0190f000-0000-7000-8000-00000000c0de")


async def _seed() -> None:
    async with container() as c:
        async with c.uow() as uow:
            if await uow.outbox.get_message(WELCOME_ID) is None:
                message = OutboxMessage.email(
                    to="admin@demo.mas.local",
                    subject="Welcome to mas",
                    body_text=(
                        "This mas instance runs on the embedded default: SQLite, in-memory "
                        "tasks, local storage and this local mailbox.\n"
                        "Read outgoing mail with `mas outbox list` or GET /api/admin/outbox."
                    ),
                    now=c.clock.now(),
                    template="demo.welcome",
                )
                message.id = WELCOME_ID
                await uow.send(message)
                await uow.commit()
                console.print("seeded: a welcome message in the outbox")
            else:
                console.print("demo data already present")


def run_seed() -> None:
    asyncio.run(_seed())
