"""``mas tokens`` in process (Typer's runner) on a SQLite file."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mas.cli.main import app

runner = CliRunner()
STUDENT = "student@example.com"


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    env = {
        "MAS_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'var' / 'mas.db'}",
        "MAS_STORAGE_DIR": str(tmp_path / "storage"),
        "MAS_LOG_JSON": "false",
        "MAS_ENV": "dev",
    }
    assert invoke(env, "db", "upgrade")[0] == 0
    code, out = invoke(
        env, "users", "create", "--email", STUDENT, "--role", "USER", "--password",
        "a long enough password", "--json",
    )  # fmt: skip
    assert code == 0, out
    return env


def invoke(env: dict[str, str], *args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args), env=env)
    return result.exit_code, result.output


def test_grant_balance_ledger_and_check(env: dict[str, str], tmp_path: Path) -> None:
    code, out = invoke(env, "tokens", "grant", STUDENT, "3", "--reason", "launch", "--json")
    assert code == 0, out
    grant = json.loads(out)
    assert (grant["tokens_granted"], grant["status"], grant["granted_by"]) == (3, "ACTIVE", None)
    code, out = invoke(env, "tokens", "balance", STUDENT, "--json")
    assert code == 0, out
    assert json.loads(out)["mentor"] | {"promo_expires_at": None} == {
        "wallet": 0, "promo": 3, "promo_expires_at": None, "total": 3,
    }  # fmt: skip
    code, out = invoke(env, "tokens", "ledger", STUDENT, "--json")
    assert code == 0, out
    rows = json.loads(out)["items"]
    assert [(r["usage_type"], r["tokens"], r["source"]) for r in rows] == [
        ("promo_grant", 3, "GRANT")
    ]
    code, out = invoke(env, "tokens", "check", "--json")
    assert code == 0, out
    assert json.loads(out) == {"users_checked": 1, "drifts": []}
    assert invoke(env, "tokens", "balance", "nobody@example.com")[0] == 1

    database = sqlite3.connect(tmp_path / "var" / "mas.db")
    database.execute("UPDATE tokens SET token = 2")
    database.commit()
    database.close()
    code, out = invoke(env, "tokens", "check")
    assert code == 1
    assert "1 drift" in out
