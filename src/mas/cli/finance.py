"""``mas finance``: the finance domain's console commands.

``sync`` pages Razorpay's payments of a window into the mirror right here (not through the
queue), with a progress bar on stderr and a summary table, or ``--json``. Without ``--from`` it
runs the cron's window (``last_synced_to − 24 h`` to now). Exit 1 when the run fails (the cursor
is left where it was) or another run holds the lock.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import typer

from mas.cli.common import console, container, err, print_json, print_table, run
from mas.core.finance.invoicing.invoice import GstInvoice
from mas.core.finance.payments.mirroring import MirrorReport
from mas.core.finance.payments.sync import SyncReport, SyncWindow, check_window
from mas.core.identity.policy import Caller, Platform, Role
from mas.core.platform.errors import Conflict
from mas.core.platform.paging import PageRequest

app = typer.Typer(help="Finance: the payment mirror, invoices and the audit trail.")

MAX_CLI_DAYS = 366


def _moment(value: str | None, name: str) -> datetime | None:
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"{name} is an ISO date or time (2026-04-01)") from None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


@app.command()
@run
async def sync(
    start: str | None = typer.Option(None, "--from", help="Window start (ISO; UTC if naive)."),
    end: str | None = typer.Option(None, "--to", help="Window end (ISO; default now)."),
    json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Mirror Razorpay's payments of a window (≤ 366 days) into global_payments."""
    since, until = _moment(start, "--from"), _moment(end, "--to")
    if until is not None and since is None:
        raise typer.BadParameter("--to needs --from")
    async with container() as c:
        window = SyncWindow()
        if since is not None:
            until = until or c.clock.now()
            check_window(since, until, c.clock.now(), max_days=MAX_CLI_DAYS)
            window = SyncWindow(from_ts=int(since.timestamp()), to_ts=int(until.timestamp()))
        from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

        with Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            TimeElapsedColumn(),
            console=err.rich(),
            disable=json,
            transient=True,
        ) as progress:
            span = (until - since).total_seconds() if since and until else None
            bar = progress.add_task("syncing", total=span)

            def on_page(total: MirrorReport, oldest: datetime | None) -> None:
                done = (until - oldest).total_seconds() if until and oldest else None
                progress.update(bar, completed=done, description=f"{total.seen:,} payments")

            report = await c.finance.payments.sync.run(window, on_page)
    if report.status == "busy":
        raise Conflict("another payment sync is running", code="sync_running")
    _show(report, json)


def _show(report: SyncReport, json: bool) -> None:
    if json:
        print_json(report)
        return
    if report.status == "pending_config":
        console.print("Razorpay is not configured: nothing synced (pending_config)")
        return
    seen = report.mirrored
    print_table(
        f"payment sync {report.window_from:%Y-%m-%d %H:%M} → {report.window_to:%Y-%m-%d %H:%M}",
        ["pages", "seen", "written", "captured", "refunds", "matched", "cursor"],
        [
            (
                report.pages,
                seen.seen,
                seen.written,
                seen.captured,
                seen.refunds,
                seen.matched,
                report.cursor,
            )
        ],
    )


@app.command("audit-check")
@run
async def audit_check(json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Walk the GST audit chain; exit 1 naming the first altered row when it is broken."""
    async with container() as c:
        report = await c.finance.audit.log.check()
    if json:
        print_json(report)
    elif report.intact:
        console.print(f"audit chain intact: {report.rows_checked:,} rows")
    else:
        err.print(
            f"audit chain BROKEN at row {report.first_broken_seq} ({report.first_broken_id}); "
            f"{report.rows_checked:,} rows before it are intact"
        )
    if not report.intact:
        raise typer.Exit(1)


@app.command("exports")
@run
async def exports(
    page: int = typer.Option(1, min=1, max=100_000, help="Page number."),
    page_size: int = typer.Option(20, min=1, max=100, help="Exports per page."),
    json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Every password-protected export, newest first (never a password)."""
    async with container() as c:
        found = await c.finance.reports.exports.page(None, PageRequest(page, page_size))
    if json:
        print_json(found)
        return
    print_table(
        f"finance exports ({found.total})",
        ["id", "kind", "from", "to", "status", "rows", "expires"],
        [
            (e.id, e.kind, e.period_from, e.period_to, e.status, e.row_count, e.expires_at)
            for e in found.items
        ],
    )


# --- mas finance invoices issue|void|cancel -----------------------------------------------------

invoices_app = typer.Typer(
    help="GST invoices: issue, void or cancel one by id.", no_args_is_help=True
)
app.add_typer(invoices_app, name="invoices")

# The operator at the console acts with SUPERADMIN rights; the GST audit log names this actor.
CONSOLE_CLERK = Caller(
    user_id=uuid.UUID("00000000-0000-7000-8000-00000000f1a0"),
    role=Role.SUPERADMIN,
    platform=Platform.MY_ANALYTICS_SCHOOL,
    auth_method="console",
)


def _invoice_id(value: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError:
        raise typer.BadParameter("the invoice id is a UUID") from None


def _show_invoice(invoice: GstInvoice, json: bool) -> None:
    if json:
        print_json(invoice)
        return
    print_table(
        f"invoice {invoice.id}",
        ["kind", "status", "number", "total", "taxable", "tax", "customer"],
        [
            (
                invoice.kind,
                invoice.status,
                invoice.invoice_number or "-",
                invoice.total_paise,
                invoice.taxable_value_paise,
                invoice.total_paise - invoice.taxable_value_paise,
                invoice.customer_name,
            )
        ],
    )


@invoices_app.command("issue")
@run
async def issue_invoice(
    invoice_id: str = typer.Argument(..., help="The DRAFT invoice's id."),
    json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Issue a DRAFT: the next number of its financial year; its PDF and mail are queued."""
    async with container() as c:
        issued = await c.finance.invoicing.desk.issue(CONSOLE_CLERK, _invoice_id(invoice_id))
    _show_invoice(issued, json)


@invoices_app.command("void")
@run
async def void_invoice(
    invoice_id: str = typer.Argument(..., help="The DRAFT invoice's id."),
    json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Discard a DRAFT (no number is used)."""
    async with container() as c:
        voided = await c.finance.invoicing.desk.void(CONSOLE_CLERK, _invoice_id(invoice_id))
    _show_invoice(voided, json)


@invoices_app.command("cancel")
@run
async def cancel_invoice(
    invoice_id: str = typer.Argument(..., help="The ISSUED invoice's id."),
    reason: str = typer.Option(..., "--reason", help="Why (3 to 300 characters)."),
    json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Cancel an ISSUED invoice (its number stays used; a refund gets a credit-note draft)."""
    if not 3 <= len(reason.strip()) <= 300:
        raise typer.BadParameter("--reason takes 3 to 300 characters")
    async with container() as c:
        cancelled = await c.finance.invoicing.desk.cancel(
            CONSOLE_CLERK, _invoice_id(invoice_id), reason
        )
    _show_invoice(cancelled, json)
