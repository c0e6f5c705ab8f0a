"""``mas seed``: demo data for the embedded default. Safe to run twice (keyed on fixed values)."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from mas.cli.common import console, container
from mas.core.comms.mail.model import NewTemplate, OwnerScope, TemplateCategory
from mas.core.identity.policy import Caller, Platform, Role
from mas.core.platform.errors import Conflict
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
        await _seed_comms(c)
    if created:
        console.print(f"seeded {len(created)} demo accounts (password: {DEMO_PASSWORD}):")
        for email in created:
            console.print(f"  {email}")
    else:
        console.print("demo data already present")


async def _seed_comms(c: Any) -> None:
    """A GLOBAL email template for leads and a welcome notification for the demo student."""
    async with c.uow() as uow:
        admin = await uow.users.by_email("admin@demo.mas.local")
        student = await uow.users.by_email("student@demo.mas.local")
    caller = Caller(
        user_id=admin.id, role=Role.ADMIN, platform=Platform.MY_ANALYTICS_SCHOOL, auth_method="seed"
    )
    try:
        await c.comms.mail.templates.create(
            caller,
            NewTemplate(
                key="crm-intro",
                name="First contact",
                subject="{{ name }}, your next step in data analytics",
                body_html=(
                    "<p>Hello {{ name }},</p><p>Thank you for your interest in "
                    "{{ programme }}. Your counsellor will call you shortly.</p>"
                ),
                variables=["name", "programme"],
                category=TemplateCategory.CRM,
                owner_scope=OwnerScope.GLOBAL,
            ),
        )
    except Conflict:
        pass  # seeded before
    async with c.uow() as uow:
        await c.messenger.notify(
            uow,
            student.id,
            "SYSTEM",
            "Welcome to mas",
            "Your notifications appear here; set what you receive in your preferences.",
            dedupe_key="demo.welcome",
        )
        await uow.commit()


def run_seed() -> None:
    asyncio.run(_seed())
