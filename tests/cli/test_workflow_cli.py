"""``mas workflows list | show | validate`` in process (Typer's runner): validate offline on
files (exit 1 listing every issue), list and show on a SQLite file."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import msgspec
import pytest
from typer.testing import CliRunner

from mas.cli.main import app
from mas.core.identity.policy import Caller, Platform, Role
from mas.core.platform.ids import uuid7
from mas.core.workflow.definitions.model import NewWorkflow
from tests.conftest import make_settings, open_container

runner = CliRunner()

GRAPH = {
    "nodes": [
        {"id": "t", "type": "trigger", "data": {}},
        {"id": "w", "type": "wait", "data": {"amount": 1, "unit": "days"}},
        {"id": "m", "type": "send_email", "data": {"template_key": "welcome"}},
    ],
    "edges": [{"id": "1", "source": "t", "target": "w"}, {"id": "2", "source": "w", "target": "m"}],
}
BROKEN = {
    "nodes": [*GRAPH["nodes"], {"id": "t2", "type": "trigger"}, {"id": "x", "type": "fax"}],
    "edges": [*GRAPH["edges"], {"id": "3", "source": "m", "target": "w"}],
}


def invoke(*args: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    result = runner.invoke(app, list(args), env=env)
    return result.exit_code, result.output


def write(tmp_path: Path, name: str, content: Any) -> str:
    path = tmp_path / name
    path.write_text(content if isinstance(content, str) else json.dumps(content))
    return str(path)


def test_validate_a_valid_graph(tmp_path: Path) -> None:
    code, out = invoke("workflows", "validate", write(tmp_path, "g.json", GRAPH))
    assert code == 0, out
    assert "valid" in out and "not checked offline" in out
    code, out = invoke("workflows", "validate", write(tmp_path, "g.json", GRAPH), "--json")
    assert code == 0
    report = json.loads(out)
    assert report["valid"] is True and report["issues"] == []
    assert len(report["skipped_checks"]) == 2


def test_validate_lists_every_issue_and_exits_1(tmp_path: Path) -> None:
    document = {"name": "Nurture", "trigger_type": "MANUAL", "draft_graph": BROKEN}
    code, out = invoke("workflows", "validate", write(tmp_path, "wf.json", document), "--json")
    assert code == 1
    found = {(i["node_id"], i["code"]) for i in json.loads(out)["issues"]}
    assert found == {
        ("t", "MULTIPLE_TRIGGERS"),
        ("t2", "MULTIPLE_TRIGGERS"),
        ("x", "UNKNOWN_NODE_TYPE"),
        ("x", "UNREACHABLE"),
        ("w", "CYCLE"),
        ("m", "CYCLE"),
    }
    code, out = invoke("workflows", "validate", write(tmp_path, "g.json", BROKEN))
    assert code == 1
    assert "MULTIPLE_TRIGGERS" in out and "UNKNOWN_NODE_TYPE" in out and "6 issue(s)" in out


def test_validate_refuses_what_is_not_json(tmp_path: Path) -> None:
    assert invoke("workflows", "validate", write(tmp_path, "g.json", "{nodes:"))[0] == 2
    assert invoke("workflows", "validate", str(tmp_path / "missing.json"))[0] == 2
    code, out = invoke("workflows", "validate", write(tmp_path, "g.json", [1, 2]), "--json")
    assert code == 1 and json.loads(out)["issues"][0]["code"] == "GRAPH_SHAPE"


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


async def make(env: dict[str, str], tmp_path: Path) -> str:
    c = await open_container(make_settings(env["MAS_DATABASE_URL"], tmp_path))
    admin = Caller(user_id=uuid7(), role=Role.ADMIN, platform=Platform.MY_ANALYTICS_SCHOOL)
    data = msgspec.convert(
        {"name": "Nurture", "trigger_type": "MANUAL", "draft_graph": GRAPH}, NewWorkflow
    )
    try:
        workflow = await c.workflow.definitions.workflows.create(admin, data)
    finally:
        await c.close()
    return str(workflow.id)


def test_list_and_show(env: dict[str, str], tmp_path: Path) -> None:
    code, out = invoke("workflows", "list", "--json", env=env)
    assert (code, json.loads(out)["total"]) == (0, 0)
    workflow_id = asyncio.run(make(env, tmp_path))
    code, out = invoke("workflows", "list", "--json", env=env)
    listed = json.loads(out)["items"]
    assert [(w["id"], w["status"]) for w in listed] == [(workflow_id, "DRAFT")]
    code, out = invoke("workflows", "list", env=env)
    assert code == 0 and "Nurture" in out
    code, out = invoke("workflows", "show", workflow_id, "--json", env=env)
    assert code == 0, out
    shown = json.loads(out)
    assert shown["workflow"]["draft_graph"]["nodes"][1]["data"] == {"amount": 1, "unit": "days"}
    assert shown["versions"] == [] and shown["draft_differs"] is True
    path = write(tmp_path, "shown.json", out)
    assert invoke("workflows", "validate", path)[0] == 0  # what show prints validates
    code, out = invoke("workflows", "show", workflow_id, env=env)
    assert code == 0 and "3 nodes, 2 edges" in out
    code, out = invoke("workflows", "show", str(uuid7()), env=env)
    assert code == 1 and "no such workflow" in out
