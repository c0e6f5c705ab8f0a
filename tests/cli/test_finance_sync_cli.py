"""``mas finance sync`` in process (Typer's runner) on a SQLite file: JSON out, the window
checked, ``pending_config`` without a gateway."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mas.cli.main import app

runner = CliRunner()


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
    """The exit code and stdout (the run's warnings are logged on stderr)."""
    result = runner.invoke(app, list(args), env=env)
    return result.exit_code, result.stdout


def test_sync_without_a_gateway_reports_pending_config(env: dict[str, str]) -> None:
    code, out = invoke(env, "finance", "sync", "--json")
    assert code == 0, out
    assert json.loads(out)["status"] == "pending_config"


def test_sync_a_window_with_the_fake_gateway(env: dict[str, str]) -> None:
    fake = {**env, "MAS_PAYMENTS_PROVIDER": "fake"}
    window = ("--from", "2026-01-01T00:00:00+05:30", "--to", "2026-01-20")
    code, out = invoke(fake, "finance", "sync", *window, "--json")
    assert code == 0, out
    report = json.loads(out)
    assert (report["status"], report["pages"], report["mirrored"]["seen"]) == ("ok", 1, 0)
    assert report["window_from"].startswith("2025-12-31T18:30:00")
    code, out = invoke(fake, "finance", "sync", *window)
    assert code == 0 and "payment sync" in out
    code, out = invoke(fake, "finance", "sync", "--from", "2026-01-20", "--to", "2026-01-01")
    assert code == 1
    code, out = invoke(fake, "finance", "sync", "--to", "2026-01-01")
    assert code == 2
    code, out = invoke(fake, "finance", "sync", "--from", "yesterday")
    assert code == 2
