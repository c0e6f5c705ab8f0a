"""``mas tokens``: grant promotional tokens, read a balance or a ledger, run the drift check.

USER is an email address or an account id. ``check`` exits 1 when any wallet drifts from its
ledger (it reports, never fixes).
"""

from __future__ import annotations

from datetime import timedelta

import typer

from mas.cli.common import console, container, err, print_json, print_table, run
from mas.cli.users import CONSOLE
from mas.core.platform.paging import PageRequest
from mas.core.tokens.wallet.model import DriftReport, NewGrant
from mas.core.tokens.wallet.purse import TokenKind

app = typer.Typer(help="Tokens: grants, balances, the ledger and its check.", no_args_is_help=True)

JSON = typer.Option(False, "--json", help="Print JSON.")


@app.command()
@run
async def grant(
    user: str = typer.Argument(..., help="Email or id of the account."),
    tokens: int = typer.Argument(..., min=1, max=10_000, help="How many tokens."),
    kind: TokenKind = typer.Option(TokenKind.MENTOR, "--kind", help="MENTOR or RESUME."),
    reason: str = typer.Option("granted from the console", "--reason", help="Why (kept)."),
    expires_days: int = typer.Option(30, "--expires-days", min=1, max=365, help="Valid for."),
    json: bool = JSON,
) -> None:
    """Grant promotional tokens (spent first, debited when they expire)."""
    async with container() as c:
        user_id = await c.tokens.wallet.accounts.find_user(user)
        created = await c.tokens.wallet.accounts.grant(
            CONSOLE,
            NewGrant(
                user_id=user_id,
                token_kind=kind,
                token_count=tokens,
                expires_at=c.clock.now() + timedelta(days=expires_days),
                reason=reason[:300],
            ),
        )
    if json:
        print_json(created)
    else:
        console.print(
            f"granted {tokens} {kind.value} token(s) to {user} until {created.expires_at:%Y-%m-%d}"
            f" (grant {created.id})"
        )


@app.command()
@run
async def balance(
    user: str = typer.Argument(..., help="Email or id of the account."), json: bool = JSON
) -> None:
    """A user's balance: wallet, promotional and total, per kind."""
    async with container() as c:
        found = await c.tokens.wallet.accounts.balance(
            await c.tokens.wallet.accounts.find_user(user)
        )
    if json:
        print_json(found)
        return
    rows = [
        (name, kind.wallet, kind.promo, kind.promo_expires_at, kind.total)
        for name, kind in (("MENTOR", found.mentor), ("RESUME", found.resume))
    ]
    print_table(f"balance of {user}", ["kind", "wallet", "promo", "promo expires", "total"], rows)


@app.command()
@run
async def ledger(
    user: str = typer.Argument(..., help="Email or id of the account."),
    page: int = typer.Option(1, "--page", min=1),
    page_size: int = typer.Option(50, "--page-size", min=1, max=100),
    json: bool = JSON,
) -> None:
    """A user's ledger rows, newest first."""
    async with container() as c:
        user_id = await c.tokens.wallet.accounts.find_user(user)
        found = await c.tokens.wallet.accounts.history(user_id, PageRequest(page, page_size))
    if json:
        print_json(found)
        return
    rows = [
        (
            f"{m.created_at:%Y-%m-%d %H:%M}",
            m.kind.value,
            m.direction.value,
            m.tokens,
            m.source.value,
            m.usage_type.value,
            f"{m.balance_before}→{m.balance_after}",
            m.key,
        )
        for m in found.items
    ]
    columns = ["at", "kind", "direction", "tokens", "source", "type", "balance", "key"]
    print_table(f"ledger of {user} ({found.total} rows)", columns, rows)


@app.command()
def check(json: bool = JSON) -> None:
    """Replay every wallet's ledger against its balances; exit 1 on any drift."""
    report = _check()
    if json:
        print_json(report)
    else:
        rows = [(d.user_id, d.kind.value, d.bucket, d.stored, d.ledger) for d in report.drifts]
        print_table(
            f"{report.users_checked} wallet(s) checked, {len(report.drifts)} drift(s)",
            ["user", "kind", "bucket", "stored", "ledger"],
            rows,
        )
    if report.drifts:
        err.print("[red]error:[/] the ledger and the balances disagree")
        raise typer.Exit(1)


@run
async def _check() -> DriftReport:
    async with container() as c:
        report: DriftReport = await c.tokens.wallet.accounts.check()
    return report
