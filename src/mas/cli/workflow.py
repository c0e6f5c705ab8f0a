"""``mas workflows``: the workflow engine's console commands (list, show, validate FILE, enroll,
retry; ``--json`` where they print)."""

from __future__ import annotations

import typer

app = typer.Typer(help="Workflows: lead-nurture automations (list, show, validate, enroll, retry).")
