"""``mas seed``: demo data for the embedded default. Safe to run twice (keyed on fixed values)."""

from __future__ import annotations

import asyncio
import uuid

from mas.cli.common import console, container
from mas.core.identity.policy import Role
from mas.core.platform.messages import OutboxMessage

WELCOME_ID = uuid.UUID("0190f000-0000-7000-8000-00000000c0de")
DEMO_PASSWORD = "mas-demo-password"
DEMO_ACCOUNTS = [
    ("superadmin@demo.mas.local", Role.SUPERADMIN, "Demo Superadmin"),
    ("admin@demo.mas.local", Role.ADMIN, "Demo Admin"),
    ("mentor@demo.mas.local", Role.EXPERT, "Demo Mentor"),
    ("student@demo.mas.local", Role.USER, "Demo Student"),
    ("sales.head@demo.mas.local", Role.SALES_HEAD, "Demo Sales Head"),
    ("sales@demo.mas.local", Role.SALES, "Demo Salesperson"),
    ("recruiter@demo.mas.local", Role.EXTERNAL_HR, "Demo Recruiter"),
]


async def _seed() -> None:
    from mas.cli.users import CONSOLE

    async with container() as c:
        created = []
        for email, role, name in DEMO_ACCOUNTS:
            async with c.uow() as uow:
                exists = await uow.users.by_email(email)
            if exists is None:
                await c.identity.accounts.create(CONSOLE, email, role, name, DEMO_PASSWORD)
                created.append(email)
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
    if created:
        console.print(f"seeded {len(created)} demo accounts (password: {DEMO_PASSWORD}):")
        for email in created:
            console.print(f"  {email}")
    else:
        console.print("demo data already present")


def run_seed() -> None:
    asyncio.run(_seed())
