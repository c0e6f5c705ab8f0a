"""``mas finance invoices issue|void|cancel`` in process on a SQLite file."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from mas.cli.main import app
from mas.core.identity.policy import Caller, Platform, Role
from mas.core.platform.ids import uuid7
from tests.conftest import make_settings, open_container
from tests.finance_invoicing_support import add_payment

runner = CliRunner()
SUPPLIER = "29AAGCB7383J1Z4"


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    env = {
        "MAS_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'var' / 'mas.db'}",
        "MAS_STORAGE_DIR": str(tmp_path / "storage"),
        "MAS_LOG_JSON": "false",
        "MAS_ENV": "dev",
        "MAS_SUPPLIER_GSTIN": SUPPLIER,
    }
    assert invoke(env, "db", "upgrade")[0] == 0
    return env


def invoke(env: dict[str, str], *args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args), env=env)
    return result.exit_code, result.output


async def drafts(env: dict[str, str], tmp_path: Path, count: int) -> list[str]:
    c = await open_container(
        make_settings(env["MAS_DATABASE_URL"], tmp_path, supplier_gstin=SUPPLIER)
    )
    clerk = Caller(user_id=uuid7(), role=Role.FINANCE, platform=Platform.MY_ANALYTICS_SCHOOL)
    try:
        made: list[Any] = [
            await c.finance.invoicing.desk.draft(clerk, (await add_payment(c)).id)
            for _ in range(count)
        ]
    finally:
        await c.close()
    return [str(d.id) for d in made]


def test_issue_void_cancel(env: dict[str, str], tmp_path: Path) -> None:
    first, second = asyncio.run(drafts(env, tmp_path, 2))
    code, out = invoke(env, "finance", "invoices", "issue", first, "--json")
    assert code == 0, out
    issued = json.loads(out)
    assert issued["status"] == "ISSUED" and issued["invoice_number"].endswith("/000001")

    code, out = invoke(env, "finance", "invoices", "void", first)
    assert code == 1 and "illegal_transition" in out

    code, out = invoke(env, "finance", "invoices", "void", second, "--json")
    assert (code, json.loads(out)["status"]) == (0, "VOID")

    code, out = invoke(env, "finance", "invoices", "cancel", first, "--reason", "no")
    assert code == 2  # a reason of 3 to 300 characters

    code, out = invoke(
        env, "finance", "invoices", "cancel", first, "--reason", "billed twice", "--json"
    )
    cancelled = json.loads(out)
    assert (code, cancelled["status"]) == (0, "CANCELLED")
    assert cancelled["invoice_number"] == issued["invoice_number"]
    assert invoke(env, "finance", "invoices", "issue", second)[0] == 1  # out of VOID

    assert invoke(env, "finance", "invoices", "issue", "not-a-uuid")[0] == 2
