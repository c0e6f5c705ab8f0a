"""The ``mas`` command line, in process (Typer's runner) on a SQLite file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.main import get_command
from typer.testing import CliRunner

from mas.adapters.db import migrate
from mas.cli.main import app

runner = CliRunner()


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {
        "MAS_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'var' / 'mas.db'}",
        "MAS_STORAGE_DIR": str(tmp_path / "storage"),
        "MAS_LOG_JSON": "false",
        "MAS_ENV": "dev",
    }


def invoke(env: dict[str, str], *args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args), env=env)
    return result.exit_code, result.output


def all_commands() -> list[list[str]]:
    found: list[list[str]] = []

    def walk(command: object, path: list[str]) -> None:
        found.append(path)
        for name, sub in getattr(command, "commands", {}).items():
            walk(sub, [*path, name])

    walk(get_command(app), [])
    return found


@pytest.mark.parametrize("path", all_commands(), ids=lambda p: " ".join(p) or "mas")
def test_every_command_has_help(path: list[str]) -> None:
    result = runner.invoke(app, [*path, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage" in result.output


def test_version(env: dict[str, str]) -> None:
    from mas import __version__

    assert invoke(env, "version") == (0, f"{__version__}\n")


def test_db_upgrade_current_downgrade(env: dict[str, str]) -> None:
    code, out = invoke(env, "db", "current")
    assert code == 0 and "behind" in out
    code, out = invoke(env, "db", "upgrade")
    assert code == 0 and migrate.head_revision() in out
    code, out = invoke(env, "db", "current")
    assert "up to date" in out
    code, out = invoke(env, "db", "downgrade", "base")
    assert code == 0 and "base" in out


def test_serve_refuses_a_database_behind_the_migrations(env: dict[str, str]) -> None:
    code, out = invoke(env, "serve", "--port", "0")
    assert code == 1
    assert "run `mas db upgrade`" in out


def test_prod_refuses_insecure_defaults(env: dict[str, str]) -> None:
    prod = {**env, "MAS_ENV": "prod", "MAS_BROKER": "nats"}
    code, out = invoke(prod, "serve")
    assert code == 2
    assert "MAS_JWT_SECRET" in out and "NATS" in out
    code, out = invoke(prod, "worker")
    assert code == 2 and "MAS_JWT_SECRET" in out


def test_worker_needs_the_nats_broker(env: dict[str, str]) -> None:
    code, out = invoke(env, "worker")
    assert code == 2
    assert "mas dev" in out


def test_config_check_names_adapters_and_hides_secrets(env: dict[str, str]) -> None:
    secret = "x" * 40
    env = {**env, "MAS_JWT_SECRET": secret, "MAS_SMTP_PASS": "hunter2-smtp"}
    invoke(env, "db", "upgrade")
    code, out = invoke(env, "config", "check", "--json")
    assert code == 0, out
    report = json.loads(out)
    assert report["adapters"]["database"] == "sqlite"
    assert report["adapters"]["mail"].startswith("local")
    assert report["settings"]["jwt_secret"] == "(set)"
    assert secret not in out and "hunter2-smtp" not in out
    code, out = invoke(env, "config", "check")
    assert code == 0 and "usable" in out


def test_seed_twice_and_read_the_mailbox(env: dict[str, str]) -> None:
    invoke(env, "db", "upgrade")
    assert invoke(env, "seed")[0] == 0
    code, out = invoke(env, "seed")
    assert code == 0 and "already" in out
    code, out = invoke(env, "outbox", "list", "--json")
    assert code == 0
    page = json.loads(out)
    subjects = [m["subject"] for m in page["items"]]
    assert subjects.count("Welcome to mas") == 1
    assert page["total"] == 8, "the welcome note and one credentials mail per demo account"
    assert {m["status"] for m in page["items"]} == {"sent"}
    code, out = invoke(env, "users", "list", "--json")
    assert json.loads(out)["total"] == 7


def test_jobs_list_show_retry(env: dict[str, str]) -> None:
    invoke(env, "db", "upgrade")
    invoke(env, "seed")
    code, out = invoke(env, "jobs", "list", "--json")
    assert code == 0
    runs = json.loads(out)["items"]
    assert {r["task"] for r in runs} == {"comms.send_email"}
    run_id = runs[0]["id"]
    code, out = invoke(env, "jobs", "show", run_id, "--json")
    assert code == 0 and json.loads(out)["status"] == "succeeded"
    code, out = invoke(env, "jobs", "retry", run_id)
    assert code == 1 and "job_not_retryable" in out
    code, out = invoke(env, "jobs", "show", "01a212b0-c5a4-7fc3-ad3b-657815ea64d1")
    assert code == 1 and "does not exist" in out
    code, out = invoke(env, "jobs", "list", "--status", "bogus")
    assert code == 2


def test_jobs_ping_runs_inline_on_the_embedded_default(env: dict[str, str]) -> None:
    invoke(env, "db", "upgrade")
    code, out = invoke(env, "jobs", "ping")
    assert code == 0 and "ran" in out
    code, out = invoke(env, "jobs", "tasks", "--json")
    assert {"comms.send_email", "platform.noop"} <= {t["task"] for t in json.loads(out)}


def test_users_create_list_block(env: dict[str, str]) -> None:
    invoke(env, "db", "upgrade")
    code, out = invoke(
        env,
        "users",
        "create",
        "--email",
        "Ops@Example.com",
        "--role",
        "ADMIN",
        "--password",
        "a long enough password",
        "--json",
    )
    assert code == 0, out
    created = json.loads(out)
    assert created["email"] == "ops@example.com" and created["role"] == "ADMIN"
    assert "password_hash" not in created
    code, out = invoke(
        env,
        "users",
        "create",
        "--email",
        "ops@example.com",
        "--role",
        "USER",
        "--password",
        "another long password",
    )
    assert code == 1 and "email_taken" in out
    code, out = invoke(
        env,
        "users",
        "create",
        "--email",
        "x@example.com",
        "--role",
        "WIZARD",
        "--password",
        "another long password",
    )
    assert code == 1 and "unknown role" in out
    code, out = invoke(env, "users", "list", "--role", "ADMIN", "--json")
    assert [u["email"] for u in json.loads(out)["items"]] == ["ops@example.com"]
    code, out = invoke(env, "users", "block", "ops@example.com")
    assert code == 0 and "blocked" in out
    code, out = invoke(env, "users", "list", "--json")
    assert json.loads(out)["items"][0]["is_blocked"] is True
    code, out = invoke(env, "users", "block", "nobody@example.com")
    assert code == 1


def test_users_create_prompts_for_what_is_missing(env: dict[str, str]) -> None:
    invoke(env, "db", "upgrade")
    result = runner.invoke(app, ["users", "create"], env=env, input="asked@example.com\nEXPERT\n\n")
    assert result.exit_code == 0, result.output
    assert "created EXPERT asked@example.com" in result.output
