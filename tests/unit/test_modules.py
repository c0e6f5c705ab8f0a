"""The manifests: every reference resolves, every name is declared once, nothing is missed."""

from __future__ import annotations

import importlib

import pytest
import typer
from sqlalchemy import Table

from mas import modules
from mas.adapters.db.base import Base
from mas.modules.base import resolve


def test_every_controller_and_cli_reference_resolves() -> None:
    for module in modules.MODULES:
        for ref in module.controllers:
            assert isinstance(resolve(ref), type), ref
        for group, ref in module.cli.items():
            assert isinstance(resolve(ref), typer.Typer), (group, ref)


def _tables_defined_in(module_name: str) -> set[str]:
    """The tables a table module defines: its mapped classes' and its Core ``Table``s."""
    module = importlib.import_module(module_name)
    found = set()
    for value in vars(module).values():
        if isinstance(value, Table):
            found.add(value.name)
        elif isinstance(value, type) and issubclass(value, Base) and "__table__" in vars(value):
            found.add(value.__table__.name)
    return found


def test_every_table_belongs_to_a_domain() -> None:
    modules.load_tables()
    named = set(modules.table_modules())
    homes = {mapper.class_.__module__ for mapper in Base.registry.mappers}
    assert homes <= named, "a mapped class in a module no manifest names"
    declared = set().union(*(_tables_defined_in(name) for name in named))
    stored = {table.name for table in Base.metadata.sorted_tables}
    assert stored == declared, "a table no manifest's table module defines"
    assert len(stored) >= 30


def test_every_cron_names_a_task_of_its_own_domain() -> None:
    for module in modules.MODULES:
        names = {handler.name for handler in module.handlers}
        for task in module.crons:
            assert task.name in names, f"{module.name}: cron {task.name} has no handler"


def test_names_are_declared_once() -> None:
    assert len(modules.handlers()) == sum(len(m.handlers) for m in modules.MODULES)
    assert len(modules.repositories()) == sum(len(m.repositories) for m in modules.MODULES)
    assert len({m.name for m in modules.MODULES}) == len(modules.MODULES)


def test_a_name_declared_twice_is_refused() -> None:
    twice = (modules.MODULES[1], modules.MODULES[1])  # identity declares tasks and policies
    with pytest.raises(ValueError, match="declared twice"):
        modules.handlers(twice)
    with pytest.raises(ValueError, match="declared twice"):
        modules.policies(twice)


def test_task_summaries_come_from_the_handlers() -> None:
    for name, handler in modules.handlers().items():
        assert handler.summary, f"{name} has no docstring"


def test_a_route_without_a_declared_policy_refuses_to_start() -> None:
    from litestar import Litestar, get

    from mas.http.app import UnclassifiedRoute, check_routes

    @get("/nowhere", opt={"policy": "no_such_policy"})
    async def nowhere() -> None:
        return None

    @get("/unclassified")
    async def unclassified() -> None:
        return None

    with pytest.raises(UnclassifiedRoute, match="no_such_policy"):
        check_routes(Litestar(route_handlers=[nowhere]))
    with pytest.raises(UnclassifiedRoute, match="/unclassified"):
        check_routes(Litestar(route_handlers=[unclassified]))


def test_a_route_naming_an_unknown_page_or_flag_refuses_to_start() -> None:
    from litestar import Litestar, get

    from mas.http.app import UnclassifiedRoute, check_routes

    @get("/bad-page", opt={"policy": "sales_head", "page": "crm.nowhere"})
    async def bad_page() -> None:
        return None

    @get("/bad-flag", opt={"policy": "sales_head", "page": "crm.leads", "flag": "no_such_flag"})
    async def bad_flag() -> None:
        return None

    @get("/good", opt={"policy": "sales_head", "page": "crm.leads", "flag": "export"})
    async def good() -> None:
        return None

    check_routes(Litestar(route_handlers=[good], openapi_config=None))
    with pytest.raises(UnclassifiedRoute, match="crm.nowhere"):
        check_routes(Litestar(route_handlers=[bad_page]))
    with pytest.raises(UnclassifiedRoute, match="no_such_flag"):
        check_routes(Litestar(route_handlers=[bad_flag]))
