"""``mas finance audit-check`` and ``mas finance exports`` in process on a SQLite file."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from datetime import date
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mas.cli.main import app
from mas.core.finance.audit.model import AuditAction, AuditEntity, AuditEntry
from mas.core.finance.reports.model import ExportKind, NewExport
from mas.core.identity.policy import Caller, Platform, Role
from mas.core.platform.ids import uuid7
from tests.conftest import make_settings, open_container

runner = CliRunner()
PASSWORD = "cli export password"


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    env = {
        "MAS_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'var' / 'mas.db'}",
        "MAS_STORAGE_DIR": str(tmp_path / "storage"),
        "MAS_LOG_JSON": "false",
        "MAS_ENV": "dev",
    }
    assert invoke(env, "db", "upgrade")[0] == 0
    return env


def invoke(env: dict[str, str], *args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args), env=env)
    return result.exit_code, result.output


async def write(env: dict[str, str], tmp_path: Path, audit_rows: int, export: bool) -> None:
    c = await open_container(make_settings(env["MAS_DATABASE_URL"], tmp_path))
    try:
        async with c.uow() as uow:
            for n in range(audit_rows):
                entry = AuditEntry(
                    entity_type=AuditEntity.EXPORT,
                    entity_id=f"cli-{n}",
                    action=AuditAction.CREATED,
                    actor_id=None,
                )
                await c.finance.audit.trail.append(uow, entry)
            await uow.commit()
        if export:
            caller = Caller(user_id=uuid7(), role=Role.FINANCE, platform=Platform.MR_MENTOR)
            data = NewExport(
                kind=ExportKind.INVOICES, from_=date(2026, 3, 1), to=date(2026, 3, 31),
                password=PASSWORD,
            )  # fmt: skip
            await c.finance.reports.exports.request(caller, data)
    finally:
        await c.close()


def test_audit_check_exits_1_naming_the_altered_row(env: dict[str, str], tmp_path: Path) -> None:
    code, out = invoke(env, "finance", "audit-check", "--json")
    assert code == 0, out
    assert json.loads(out)["intact"] is True
    asyncio.run(write(env, tmp_path, audit_rows=3, export=False))
    code, out = invoke(env, "finance", "audit-check")
    assert (code, "intact: 3 rows" in out) == (0, True), out
    with sqlite3.connect(tmp_path / "var" / "mas.db") as db:
        db.execute("UPDATE gst_audit_log SET entity_id = 'tampered' WHERE seq = 2")
    code, out = invoke(env, "finance", "audit-check", "--json")
    assert code == 1, out
    report = json.loads(out)
    assert (report["intact"], report["first_broken_seq"], report["rows_checked"]) == (False, 2, 1)


def test_exports_lists_every_export_without_its_password(
    env: dict[str, str], tmp_path: Path
) -> None:
    code, out = invoke(env, "finance", "exports", "--json")
    assert (code, json.loads(out)["total"]) == (0, 0)
    asyncio.run(write(env, tmp_path, audit_rows=0, export=True))
    code, out = invoke(env, "finance", "exports", "--json")
    assert code == 0, out
    [export] = json.loads(out)["items"]
    assert (export["kind"], export["status"], export["row_count"]) == ("INVOICES", "READY", 0)
    assert PASSWORD not in out and "password" not in out
    code, out = invoke(env, "finance", "exports")
    assert code == 0 and "INVOICES" in out
