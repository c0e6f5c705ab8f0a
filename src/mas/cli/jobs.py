"""``mas jobs``: the job ledger."""

from __future__ import annotations

import asyncio
import uuid

import typer

from mas.cli.common import console, container, err, print_json, print_table, run
from mas.core.platform.ids import parse_id
from mas.core.platform.job_model import JobFilter, JobStatus
from mas.core.platform.paging import PageRequest

app = typer.Typer(help="Job runs: list, inspect, retry.", no_args_is_help=True)


def _run_id(raw: str) -> uuid.UUID:
    value = parse_id(raw)
    if value is None:
        err.print(f"[red]error:[/] '{raw}' is not a job run id")
        raise typer.Exit(2)
    return value


@app.command("list")
@run
async def list_(
    status: JobStatus = typer.Option(None, help="Only runs in this status."),
    task: str = typer.Option(None, help="Only runs of this task."),
    page: int = typer.Option(1, min=1),
    page_size: int = typer.Option(20, min=1, max=100),
    json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """List job runs, newest first."""
    async with container() as c:
        result = await c.jobs.page(
            JobFilter(status=status, task=task), PageRequest(page, page_size)
        )
    if json:
        print_json(result)
        return
    print_table(
        f"job runs ({result.total} in all)",
        ["id", "task", "status", "attempts", "enqueued", "last error"],
        [
            (
                r.id,
                r.task,
                r.status.value,
                f"{r.attempts}/{r.max_attempts}",
                r.enqueued_at.isoformat(timespec="seconds"),
                (r.last_error or "")[:60],
            )
            for r in result.items
        ],
    )


@app.command()
@run
async def show(run_id: str, json: bool = typer.Option(False, "--json")) -> None:
    """Show one job run."""
    async with container() as c:
        found = await c.jobs.get(_run_id(run_id))
    if json:
        print_json(found)
        return
    for key, value in print_fields(found):
        console.print(f"[bold]{key:>16}[/] {value}")


def print_fields(value: object) -> list[tuple[str, object]]:
    import msgspec

    return list(msgspec.to_builtins(value, enc_hook=str).items())


@app.command()
@run
async def retry(run_id: str) -> None:
    """Run a dead or failed job run again now."""
    async with container() as c:
        found = await c.jobs.retry(_run_id(run_id))
    console.print(f"run {found.id} ({found.task}) queued again")


@app.command()
@run
async def ping(wait: float = typer.Option(10.0, help="Seconds to wait.")) -> None:
    """Send a no-op task and wait for a worker to run it."""
    async with container() as c:
        sent = await c.jobs.enqueue("platform.noop")
        deadline = asyncio.get_running_loop().time() + wait
        while True:
            found = await c.jobs.get(sent.id)
            if found.status is JobStatus.SUCCEEDED:
                console.print(f"a worker ran {found.id}")
                return
            if asyncio.get_running_loop().time() > deadline:
                err.print(f"[red]error:[/] no worker ran the task within {wait:g} s")
                raise typer.Exit(1)
            await asyncio.sleep(0.1)


@app.command()
def tasks(json: bool = typer.Option(False, "--json")) -> None:
    """List registered tasks and their retry policies."""
    from mas.modules import handlers

    described = [
        {
            "task": name,
            "attempts": handler.task.policy.attempts,
            "backoff_s": handler.task.policy.backoff_s,
            "timeout_s": handler.task.policy.timeout_s,
            "summary": handler.summary,
        }
        for name, handler in sorted(handlers().items())
    ]
    if json:
        print_json(described)
        return
    print_table(
        "tasks",
        ["task", "attempts", "backoff s", "timeout s", "summary"],
        [
            (d["task"], d["attempts"], d["backoff_s"], d["timeout_s"], d["summary"])
            for d in described
        ],
    )
