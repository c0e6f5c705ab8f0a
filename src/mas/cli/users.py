"""``mas users``: create, list and block accounts from the command line."""

from __future__ import annotations

import uuid

import msgspec
import typer

from mas.cli.common import console, container, err, print_json, print_table, run
from mas.core.identity.model import User, parse_role
from mas.core.identity.policy import Caller, Platform, Role
from mas.core.identity.views import view
from mas.core.platform.ids import parse_id
from mas.core.platform.paging import PageRequest

app = typer.Typer(help="Accounts.", no_args_is_help=True)

# The operator at the console acts with SUPERADMIN rights; the audit log names this actor.
CONSOLE = Caller(
    user_id=uuid.UUID("00000000-0000-7000-8000-00000000c011"),
    role=Role.SUPERADMIN,
    platform=Platform.MY_ANALYTICS_SCHOOL,
    auth_method="console",
)


def _user_row(user: User) -> dict[str, object]:
    """The same public shape as the HTTP API (no password hash, no token version)."""
    row: dict[str, object] = msgspec.to_builtins(view(user))
    return row


@app.command()
@run
async def create(
    email: str = typer.Option(None, "--email", help="Email address (asked when missing)."),
    role: str = typer.Option(None, "--role", help="USER, EXPERT, ADMIN, SUPERADMIN, SALES, ..."),
    password: str = typer.Option(
        None, "--password", help="Password (asked when missing; empty = generate and email it)."
    ),
    full_name: str = typer.Option(None, "--name", help="Full name."),
    json: bool = typer.Option(False, "--json", help="Print the created user as JSON."),
) -> None:
    """Create an account. Its credentials are also sent through the outbox."""
    email = email or typer.prompt("Email")
    role_name = role or typer.prompt("Role", default="USER")
    if password is None:
        password = typer.prompt(
            "Password (empty: generate one and email it)",
            default="",
            hide_input=True,
            show_default=False,
        )
    parsed, super_mentor = parse_role(role_name)
    async with container() as c:
        created = await c.identity.accounts.create(
            CONSOLE, email, parsed, full_name, password or None, super_mentor=super_mentor
        )
    if json:
        print_json(_user_row(created.user))
        return
    console.print(f"created {created.user.role.value} {created.user.email} ({created.user.id})")


@app.command("list")
@run
async def list_(
    role: Role = typer.Option(None, "--role", help="Only this role."),
    search: str = typer.Option(None, "--search", help="In email or name."),
    page: int = typer.Option(1, min=1),
    page_size: int = typer.Option(20, min=1, max=100),
    json: bool = typer.Option(False, "--json"),
) -> None:
    """List accounts, newest first."""
    async with container() as c:
        found = await c.identity.accounts.page(
            [role] if role else None, search, PageRequest(page, page_size)
        )
    if json:
        print_json({**print_page(found), "items": [_user_row(u) for u in found.items]})
        return
    print_table(
        f"users ({found.total} in all)",
        ["id", "email", "role", "verified", "blocked", "created"],
        [
            (
                u.id,
                u.email,
                u.role.value,
                u.is_verified,
                u.is_blocked,
                u.created_at.isoformat(timespec="seconds"),
            )
            for u in found.items
        ],
    )


def print_page(found: object) -> dict[str, object]:
    return {k: getattr(found, k) for k in ("total", "page", "page_size")}


@app.command()
@run
async def block(
    who: str = typer.Argument(..., help="User id or email."),
    unblock: bool = typer.Option(False, "--unblock", help="Unblock instead."),
) -> None:
    """Block an account (its sessions end at once), or unblock it."""
    async with container() as c:
        user_id = parse_id(who)
        if user_id is None:
            async with c.uow() as uow:
                found = await uow.users.by_email(who.strip().lower())
            if found is None:
                err.print(f"[red]error:[/] no user {who}")
                raise typer.Exit(1)
            user_id = found.id
        user = await c.identity.accounts.set_blocked(CONSOLE, user_id, not unblock)
    console.print(f"{user.email} is {'blocked' if user.is_blocked else 'active'}")
