"""``mas workflows enroll | retry`` in process (Typer's runner) on a SQLite file."""

from __future__ import annotations

import asyncio
import json
import uuid
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import update
from typer.testing import CliRunner

from mas.adapters.db.workflow.runs_tables import workflow_enrollments as ENROLLMENTS
from mas.cli.main import app
from mas.core.platform.ids import uuid7
from mas.core.workflow.model import TriggerType
from tests.conftest import make_settings, open_container
from tests.integration.workflow_world import add_leads, canvas, enrollments, make_workflow

runner = CliRunner()
WAIT = {"id": "w", "type": "wait", "data": {"amount": 2, "unit": "days"}}


def invoke(*args: str, env: dict[str, str]) -> tuple[int, str]:
    result = runner.invoke(app, list(args), env=env)
    return result.exit_code, result.output


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    env = {
        "MAS_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'var' / 'mas.db'}",
        "MAS_STORAGE_DIR": str(tmp_path / "storage"),
        "MAS_LOG_JSON": "false",
        "MAS_ENV": "dev",
    }
    assert invoke("db", "upgrade", env=env)[0] == 0
    return env


async def _world(env: dict[str, str], tmp_path: Path) -> tuple[str, list[str]]:
    c = await open_container(make_settings(env["MAS_DATABASE_URL"], tmp_path))
    try:
        workflow = await make_workflow(c, TriggerType.MANUAL, graph=canvas(WAIT))
        leads = await add_leads(c, 2)
    finally:
        await c.close()
    return str(workflow.id), [str(lead) for lead in leads]


async def _fail_one(env: dict[str, str], tmp_path: Path, workflow_id: str) -> tuple[str, Any]:
    c = await open_container(make_settings(env["MAS_DATABASE_URL"], tmp_path))
    try:
        rows = await enrollments(c, uuid.UUID(workflow_id))
        async with c.uow() as uow:
            await uow.session.execute(
                update(ENROLLMENTS)
                .where(ENROLLMENTS.c.id == rows[0]["id"])
                .values(status="FAILED", next_run_at=None, waiting_for=None)
            )
            await uow.commit()
    finally:
        await c.close()
    return str(rows[0]["id"]), rows[1]["id"]


def test_enroll_and_retry(env: dict[str, str], tmp_path: Path) -> None:
    workflow_id, leads = asyncio.run(_world(env, tmp_path))
    code, out = invoke("workflows", "enroll", workflow_id, *leads, str(uuid7()), "--json", env=env)
    assert code == 0, out
    counts = json.loads(out)
    assert (counts["enrolled"], counts["not_found"]) == (2, 1)
    code, out = invoke("workflows", "enroll", workflow_id, *leads, env=env)
    assert code == 0 and "enrolled" in out

    failed, live = asyncio.run(_fail_one(env, tmp_path, workflow_id))
    code, out = invoke("workflows", "retry", failed, "--json", env=env)
    assert code == 0, out
    retried = json.loads(out)
    assert retried["attempt"] == 2 and retried["status"] in ("ACTIVE", "WAITING")
    code, out = invoke("workflows", "retry", str(live), env=env)
    assert code == 1 and "illegal_transition" in out
    code, out = invoke("workflows", "enroll", str(uuid7()), leads[0], env=env)
    assert code == 1 and "workflow_not_found" in out
