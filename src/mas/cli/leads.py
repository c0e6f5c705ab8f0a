"""``mas leads import``: a CSV file of any size into a sales head's pool, run in this process.

No row cap (the HTTP upload keeps 10 MB / 50,000 rows): the file is streamed in chunks, never
loaded whole. Progress is shown on stderr; the summary (created / merged / rejected by reason)
is a table, or JSON with ``--json``. Exit 1 when no row could be imported.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, BinaryIO

import typer

from mas.cli.common import console, container, err, print_json, print_table, run
from mas.cli.users import CONSOLE

app = typer.Typer(help="Leads: bulk import into a pool.", no_args_is_help=True)


def _overrides(pairs: list[str]) -> dict[str, str | None]:
    found: dict[str, str | None] = {}
    for pair in pairs:
        column, equals, field = pair.partition("=")
        if not equals or not column.strip():
            raise typer.BadParameter(f"'{pair}' is not column=field", param_hint="--map")
        found[column.strip()] = field.strip() or None
    return found


@app.command("import")
def import_(
    file: Path = typer.Argument(
        ..., exists=True, dir_okay=False, readable=True, help="The CSV file (any size)."
    ),
    pool: str = typer.Option(..., "--pool", help="Email of the sales head whose pool it feeds."),
    map_: list[str] = typer.Option(
        [],
        "--map",
        help="COLUMN=FIELD, repeatable; overrides the guessed mapping (FIELD empty unmaps). "
        "Fields: name, phone, email, phone_alt, city, state, course_interest, session_year, "
        "tags.",
    ),
    tag: list[str] = typer.Option([], "--tag", help="Tag every imported lead (repeatable)."),
    errors_out: Path = typer.Option(
        None, "--errors-out", help="Write the rejected rows (with reasons) to this CSV file."
    ),
    json: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
) -> None:
    """Import leads from a CSV file: de-duplicated by phone, then alternate phone, then email."""
    overrides = _overrides(map_)
    started = time.perf_counter()
    with file.open("rb") as head, file.open("rb") as body:
        batch, rejected_csv = _import(
            file.name,
            head,
            body,
            file.stat().st_size,
            pool,
            overrides,
            tag,
            quiet=json,
            want_errors=errors_out is not None,
        )
    seconds = time.perf_counter() - started
    if errors_out is not None and rejected_csv is not None:
        errors_out.write_bytes(rejected_csv)
    rows = batch.created_count + batch.merged_count + batch.rejected_count
    summary = {
        "batch_id": str(batch.id),
        "file": str(file),
        "pool": pool,
        "status": batch.status.value,
        "rows": rows,
        "created": batch.created_count,
        "merged": batch.merged_count,
        "rejected": batch.rejected_count,
        "rejected_by_reason": dict(sorted(batch.rejected_by_reason.items())),
        "error_file": str(errors_out) if errors_out and rejected_csv is not None else None,
        "seconds": round(seconds, 3),
        "rows_per_s": round(rows / seconds, 1) if seconds else None,
    }
    if json:
        print_json(summary)
    else:
        table = [("created", batch.created_count), ("merged", batch.merged_count)]
        table += [("rejected", batch.rejected_count)]
        table += [(f"  {r}", n) for r, n in sorted(batch.rejected_by_reason.items())]
        print_table(f"{file.name}: {rows:,} rows in {seconds:.1f} s", ["outcome", "rows"], table)
        if summary["error_file"]:
            console.print(f"rejected rows: {summary['error_file']}")
    if batch.created_count + batch.merged_count == 0:
        err.print("[red]error:[/] no row could be imported")
        raise typer.Exit(1)


@run
async def _import(
    name: str,
    head: BinaryIO,
    body: BinaryIO,
    size: int,
    pool: str,
    overrides: dict[str, str | None],
    tags: list[str],
    *,
    quiet: bool,
    want_errors: bool,
) -> tuple[Any, bytes | None]:
    async with container() as c:
        batch = await c.crm.imports.prepare_local(
            name, head, pool_email=pool, overrides=overrides, tags=tags
        )
        if quiet:
            # No bar to draw: rich's progress machinery (~40 ms to import) is not loaded.
            batch = await c.crm.imports.run(batch.id, source=lambda: body)
        else:
            batch = await _run_with_progress(c, batch.id, body, size)
        rejected = None
        if batch.rejected_count and want_errors:
            rejected = await c.crm.imports.errors_csv(CONSOLE, batch.id)
    return batch, rejected


async def _run_with_progress(c: Any, batch_id: Any, body: BinaryIO, size: int) -> Any:
    """Run the import with a progress bar on stderr (bytes read, rows so far)."""
    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TimeElapsedColumn(),
        console=err.rich(),
        transient=True,
    ) as progress:
        bar = progress.add_task("importing", total=size)

        def on_chunk(done: Any) -> None:
            rows = done.created_count + done.merged_count + done.rejected_count
            progress.update(bar, completed=body.tell(), description=f"{rows:,} rows")

        return await c.crm.imports.run(batch_id, source=lambda: body, on_chunk=on_chunk)
