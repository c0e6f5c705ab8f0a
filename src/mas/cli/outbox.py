"""``mas outbox``: messages mas sent or will send (the local mailbox on the embedded default)."""

from __future__ import annotations

import typer

from mas.cli.common import container, print_json, print_table, run
from mas.core.platform.messages import OutboxStatus
from mas.core.platform.paging import PageRequest

app = typer.Typer(help="Outgoing messages.", no_args_is_help=True)


@app.command("list")
@run
async def list_(
    to: str = typer.Option(None, "--to", help="Only messages to this address."),
    status: OutboxStatus = typer.Option(None, help="Only messages in this status."),
    page: int = typer.Option(1, min=1),
    page_size: int = typer.Option(20, min=1, max=100),
    json: bool = typer.Option(False, "--json", help="Print JSON (bodies included)."),
) -> None:
    """List messages, newest first, with their bodies (OTP codes included)."""
    async with container() as c:
        result = await c.platform.delivery.mailbox(status, to, PageRequest(page, page_size))
    if json:
        print_json(result)
        return
    print_table(
        f"outbox ({result.total} in all)",
        ["created", "to", "subject", "status", "body"],
        [
            (
                m.created_at.isoformat(timespec="seconds"),
                m.recipient,
                m.subject,
                m.status.value,
                m.body_text[:80].replace("\n", " "),
            )
            for m in result.items
        ],
    )
