"""``mas workflows``: the workflow engine's console commands (list, show, validate FILE, enroll,
retry; ``--json`` where they print).

``validate FILE`` runs offline (no database): it reads a React Flow graph, or a whole workflow
document holding one in ``draft_graph`` (what ``show --json`` prints works too), applies the
same structural rules as enabling, and exits 1 listing every issue. The template checks need
the database and are skipped (the report says so).
"""

from __future__ import annotations

import json as jsonlib
import uuid
from pathlib import Path

import typer

from mas.cli.common import container, err, print_json, print_table, run
from mas.core.platform.paging import PageRequest
from mas.core.workflow.definitions.model import ValidationReport
from mas.core.workflow.definitions.publishing import offline_report
from mas.core.workflow.model import WorkflowStatus
from mas.core.workflow.runs.intake import MANUAL_MAX_LEADS, EnrollRequest

app = typer.Typer(help="Workflows: lead-nurture automations (list, show, validate, enroll, retry).")

MAX_FILE_BYTES = 2 * 1024 * 1024


@app.command("list")
@run
async def list_workflows(
    status: WorkflowStatus | None = typer.Option(
        None, "--status", help="Only this status (default: all but ARCHIVED)."
    ),
    page: int = typer.Option(1, "--page", min=1, max=100_000),
    page_size: int = typer.Option(50, "--page-size", min=1, max=100),
    json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Workflows, newest first, with their enrollments per status."""
    async with container() as c:
        found = await c.workflow.definitions.workflows.page(
            status, PageRequest(page=page, page_size=page_size)
        )
    if json:
        print_json(found)
        return
    rows = [
        (
            w.id,
            w.name,
            w.status.value,
            w.trigger_type.value,
            w.published_version or "-",
            " ".join(f"{s.value}={n}" for s, n in w.enrollments.items() if n) or "-",
        )
        for w in found.items
    ]
    columns = ("id", "name", "status", "trigger", "version", "enrollments")
    print_table(f"workflows ({found.total})", columns, rows)


@app.command()
@run
async def show(
    workflow_id: uuid.UUID = typer.Argument(..., help="The workflow's id."),
    json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """One workflow: settings, draft graph size, published versions."""
    async with container() as c:
        detail = await c.workflow.definitions.workflows.get(workflow_id)
        versions = await c.workflow.definitions.workflows.versions(workflow_id)
    if json:
        print_json(
            {
                "workflow": detail.workflow,
                "published": detail.published,
                "draft_differs": detail.draft_differs,
                "versions": versions.items,
            }
        )
        return
    w = detail.workflow
    graph = w.draft_graph
    print_table(
        w.name,
        ("field", "value"),
        [
            ("id", w.id),
            ("status", w.status.value),
            ("trigger", f"{w.trigger_type.value} {jsonlib.dumps(w.trigger_config)}"),
            ("draft", f"{len(graph.get('nodes', []))} nodes, {len(graph.get('edges', []))} edges"),
            ("published", detail.published.version if detail.published else "-"),
            ("draft differs", "yes" if detail.draft_differs else "no"),
            ("updated", w.updated_at.isoformat()),
        ],
    )
    if versions.items:
        print_table(
            "versions",
            ("version", "published at", "checksum"),
            [(v.version, v.published_at.isoformat(), v.checksum[:12]) for v in versions.items],
        )


@app.command()
def validate(
    file: Path = typer.Argument(..., exists=True, dir_okay=False, readable=True),
    json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Check a graph file offline by the rules enabling applies; exit 1 when it has issues."""
    if file.stat().st_size > MAX_FILE_BYTES:
        err.print(f"{file} is larger than {MAX_FILE_BYTES // (1024 * 1024)} MB")
        raise typer.Exit(2)
    try:
        document = jsonlib.loads(file.read_bytes())
    except (ValueError, UnicodeDecodeError) as error:
        err.print(f"{file} is not JSON: {error}")
        raise typer.Exit(2) from None
    report = offline_report(document)
    if json:
        print_json(report)
    else:
        _show_report(file, report)
    if not report.valid:
        raise typer.Exit(1)


def _show_report(file: Path, report: ValidationReport) -> None:
    # Plain lines, one issue each, so that the output greps (and no message is read as markup).
    if report.valid:
        typer.echo(f"{file}: valid")
    else:
        typer.echo(f"{file}: {len(report.issues)} issue(s)")
        for issue in report.issues:
            typer.echo(f"  {issue.node_id or '-'}: {issue.code}: {issue.message}")
    for skipped in report.skipped_checks:
        typer.echo(f"not checked offline: {skipped}")


@app.command()
@run
async def enroll(
    workflow_id: uuid.UUID = typer.Argument(..., help="The workflow's id."),
    lead_ids: list[uuid.UUID] = typer.Argument(..., help="Lead ids (at most 5000)."),
    json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Enrol leads by hand (skipping those live already, refused by the re-enrolment policy,
    in an exit status, or not found), then release their first steps."""
    if len(lead_ids) > MANUAL_MAX_LEADS:
        err.print(f"at most {MANUAL_MAX_LEADS} lead ids at once")
        raise typer.Exit(2)
    async with container() as c:
        counts = await c.workflow.runs.intake.enroll(
            workflow_id, EnrollRequest(lead_ids=lead_ids), by=None
        )
    if json:
        print_json(counts)
        return
    print_table(
        "enrolled",
        ("enrolled", "already enrolled", "policy", "exit status", "not found"),
        [
            (
                counts.enrolled,
                counts.skipped_already_enrolled,
                counts.skipped_policy,
                counts.skipped_exit_status,
                counts.not_found,
            )
        ],
    )


@app.command()
@run
async def retry(
    enrollment_id: uuid.UUID = typer.Argument(..., help="A FAILED enrollment's id."),
    json: bool = typer.Option(False, "--json", help="Print JSON."),
) -> None:
    """Run a FAILED enrollment's current node again (attempt + 1)."""
    async with container() as c:
        enrollment = await c.workflow.runs.engine.retry(enrollment_id)
    if json:
        print_json(enrollment)
        return
    typer.echo(
        f"{enrollment.id}: {enrollment.status.value} at {enrollment.current_node_id} "
        f"(attempt {enrollment.attempt})"
    )
