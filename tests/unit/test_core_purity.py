"""mas.core imports only the standard library, msgspec and mas.core itself.

import-linter forbids a list of packages; this test allows a list instead, so a dependency added
later (say ``pydantic``) cannot slip into the core unnoticed.
"""

from __future__ import annotations

import ast
import importlib
import sys
from pathlib import Path

import pytest

import mas.core

CORE = Path(mas.core.__file__).resolve().parent
SRC = CORE.parents[1]
ALLOWED_THIRD_PARTY = {"msgspec"}
FILES = sorted(CORE.rglob("*.py"))


def module_of(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports_of(path: Path) -> list[tuple[int, str]]:
    """(line, absolute module name) of every import in ``path``, relative ones resolved."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = module_of(path).split(".")
    if path.name != "__init__.py":
        package.pop()
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - (node.level - 1)]
                name = ".".join([*base, node.module] if node.module else base)
            else:
                name = node.module or ""
            found.append((node.lineno, name))
    return found


def refusal(module: str) -> str | None:
    """Why ``module`` may not be imported by the core, or None when it may."""
    top = module.split(".")[0]
    if top in sys.stdlib_module_names or top in ALLOWED_THIRD_PARTY:
        return None
    if top == "mas":
        if module == "mas.core" or module.startswith("mas.core."):
            return None
        return "the core may import only mas.core from mas"
    return "not the standard library, msgspec or mas.core"


def test_the_core_has_files_to_check() -> None:
    assert len(FILES) > 10
    assert all(imports_of(path) for path in FILES if path.stat().st_size > 200)


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(SRC)))
def test_core_imports_only_the_standard_library_msgspec_and_itself(path: Path) -> None:
    bad = [
        f"{path.relative_to(SRC)}:{line} imports {module}: {why}"
        for line, module in imports_of(path)
        if (why := refusal(module)) is not None
    ]
    assert not bad, "\n".join(bad)


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(SRC)))
def test_every_core_module_imports_on_its_own_terms(path: Path) -> None:
    module = importlib.import_module(module_of(path))
    assert Path(module.__file__ or "").resolve() == path


@pytest.mark.parametrize(
    ("module", "allowed"),
    [
        ("__future__", True),
        ("datetime", True),
        ("zoneinfo", True),
        ("collections.abc", True),
        ("msgspec", True),
        ("msgspec.structs", True),
        ("mas.core.jobs.model", True),
        ("mas.core", True),
        ("mas", False),
        ("mas.settings", False),
        ("mas.adapters.db", False),
        ("mas.corex", False),
        ("sqlalchemy", False),
        ("pydantic", False),
    ],
)
def test_the_rule_itself(module: str, allowed: bool) -> None:
    assert (refusal(module) is None) is allowed


def test_relative_imports_are_resolved(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake = tmp_path / "mas" / "core" / "jobs" / "x.py"
    fake.parent.mkdir(parents=True)
    fake.write_text(
        "from . import model\nfrom ..shared.ids import uuid7\nfrom ... import settings\n"
    )
    monkeypatch.setattr(sys.modules[__name__], "SRC", tmp_path)
    assert [name for _, name in imports_of(fake)] == [
        "mas.core.jobs",
        "mas.core.shared.ids",
        "mas",
    ]
