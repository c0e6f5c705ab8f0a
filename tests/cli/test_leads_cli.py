"""``mas leads import`` in process (Typer's runner) on a SQLite file."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mas.cli.main import app

runner = CliRunner()
HEAD = "head@example.com"


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
        env, "users", "create", "--email", HEAD, "--role", "SALES_HEAD", "--password",
        "a long enough password", "--json",
    )  # fmt: skip
    assert code == 0, out
    return env


def invoke(env: dict[str, str], *args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args), env=env)
    return result.exit_code, result.output


def write(path: Path, rows: list[list[str]], header: tuple[str, ...] = ("Name", "Phone")) -> Path:
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def test_import_prints_a_json_summary_and_a_rerun_only_merges(
    env: dict[str, str], tmp_path: Path
) -> None:
    rows = [[f"Lead {i}", f"98{i % 40:08d}"] for i in range(45)] + [["Nobody", ""]]
    data = write(tmp_path / "leads.csv", rows)
    code, out = invoke(env, "leads", "import", str(data), "--pool", HEAD, "--json")
    assert code == 0, out
    summary = json.loads(out)
    assert (summary["created"], summary["merged"], summary["rejected"]) == (40, 5, 1)
    assert summary["rejected_by_reason"] == {"NO_CONTACT": 1}
    assert summary["status"] == "COMPLETED_WITH_ERRORS" and summary["rows"] == 46

    code, out = invoke(env, "leads", "import", str(data), "--pool", HEAD, "--json")
    assert code == 0
    assert (json.loads(out)["created"], json.loads(out)["merged"]) == (0, 45)


def test_table_output_mapping_tags_and_error_file(env: dict[str, str], tmp_path: Path) -> None:
    data = write(
        tmp_path / "odd.csv",
        [["Asha", "9876543210", ""], ["Ravi", "", "not-an-email"]],
        ("Who", "Reach", "Mail"),
    )
    errors = tmp_path / "rejected.csv"
    code, out = invoke(
        env, "leads", "import", str(data), "--pool", HEAD, "--map", "Who=name", "--map",
        "Reach=phone", "--map", "Mail=email", "--errors-out", str(errors),
    )  # fmt: skip
    assert code == 0, out
    assert "created" in out and "BAD_EMAIL" in out and "rejected" in out
    assert errors.read_text(encoding="utf-8-sig").splitlines()[1].startswith("2,BAD_EMAIL,Ravi")

    code, out = invoke(env, "leads", "import", str(data), "--pool", HEAD, "--tag", "nope")
    assert code == 1 and "no_name_column" in out  # "Who" is not a name the guess knows
    code, out = invoke(
        env, "leads", "import", str(data), "--pool", HEAD, "--map", "Who=name", "--map",
        "Reach=phone", "--tag", "nope",
    )  # fmt: skip
    assert code == 1 and "unknown_tag" in out


def test_nothing_importable_exits_1_and_usage_errors_exit_2(
    env: dict[str, str], tmp_path: Path
) -> None:
    bad = write(tmp_path / "bad.csv", [["Nobody", ""], ["", "9876543210"]])
    code, out = invoke(env, "leads", "import", str(bad), "--pool", HEAD)
    assert code == 1 and "no row could be imported" in out
    header_only = write(tmp_path / "empty.csv", [])
    assert invoke(env, "leads", "import", str(header_only), "--pool", HEAD)[0] == 1
    code, out = invoke(env, "leads", "import", str(bad), "--pool", "nobody@example.com")
    assert code == 1 and "no_such_pool" in out
    assert invoke(env, "leads", "import", str(bad), "--pool", HEAD, "--map", "Name")[0] == 2
    assert invoke(env, "leads", "import", str(tmp_path / "missing.csv"), "--pool", HEAD)[0] == 2
    code, out = invoke(env, "leads", "import", str(bad), "--pool", HEAD, "--map", "Phone=salary")
    assert code == 1 and "bad_mapping" in out
