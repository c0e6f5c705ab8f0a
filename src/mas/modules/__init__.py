"""The one ordered list of domains.

Adding a domain is: its packages (``core/<domain>``, ``adapters/db/<domain>``,
``http/<domain>``, a CLI module), its manifest (``mas/modules/<domain>.py``), one line in
``MODULES`` below and its migration. Order matters only for building: a domain's ``build``
may use the services of the domains before it.
"""

from __future__ import annotations

from typing import Any

from mas.core.identity.policy import Guard, PolicyTable, Role
from mas.core.platform.ports.messenger import MailTemplate
from mas.core.platform.tasking import Handler
from mas.modules import comms, crm, finance, identity, mentorship, platform, tokens, workflow
from mas.modules.base import Module, PageCheck, resolve

MODULES: tuple[Module[Any], ...] = (
    platform.MODULE,
    identity.MODULE,
    crm.MODULE,
    comms.MODULE,
    tokens.MODULE,
    mentorship.MODULE,
    finance.MODULE,
    workflow.MODULE,
)


def handlers(modules: tuple[Module[Any], ...] = MODULES) -> dict[str, Handler[Any, Any]]:
    """Every task by name; a name declared twice is refused."""
    table: dict[str, Handler[Any, Any]] = {}
    for module in modules:
        for handler in module.handlers:
            if handler.name in table:
                raise ValueError(f"task {handler.name!r} is declared twice")
            table[handler.name] = handler
    return table


def crons(modules: tuple[Module[Any], ...] = MODULES) -> dict[str, str]:
    """Task name → cron expression, as the domains declare them."""
    return {task.name: expr for module in modules for task, expr in module.crons.items()}


def policies(modules: tuple[Module[Any], ...] = MODULES) -> PolicyTable:
    return PolicyTable(*(dict(module.policies) for module in modules))


def pages(modules: tuple[Module[Any], ...] = MODULES) -> frozenset[str]:
    return frozenset().union(*(module.pages for module in modules))


def page_checks(modules: tuple[Module[Any], ...] = MODULES) -> dict[str, PageCheck]:
    """Page key → the check its domain runs after the identity permission (if it has one)."""
    return {
        page: module.page_check
        for module in modules
        if module.page_check is not None
        for page in module.pages
    }


def page_flags(modules: tuple[Module[Any], ...] = MODULES) -> dict[str, frozenset[str]]:
    """Page key → the names a route of that page may give in ``opt["flag"]``."""
    return {page: module.page_flags for module in modules for page in module.pages}


def mail_templates(modules: tuple[Module[Any], ...] = MODULES) -> dict[str, MailTemplate]:
    """Every domain's code templates by name; a name declared twice is refused."""
    table: dict[str, MailTemplate] = {}
    for module in modules:
        for name, template in module.mail_templates.items():
            if name in table:
                raise ValueError(f"mail template {name!r} is declared twice")
            table[name] = template
    return table


def vendor_scopes(modules: tuple[Module[Any], ...] = MODULES) -> frozenset[str]:
    return frozenset().union(*(module.vendor_scopes for module in modules))


def repositories(modules: tuple[Module[Any], ...] = MODULES) -> dict[str, Any]:
    table: dict[str, Any] = {}
    for module in modules:
        for name, factory in module.repositories.items():
            if name in table:
                raise ValueError(f"repository {name!r} is declared twice")
            table[name] = factory
    return table


def table_modules(modules: tuple[Module[Any], ...] = MODULES) -> list[str]:
    """The modules declaring every domain's tables (for Alembic's autogenerate)."""
    return [ref for module in modules for ref in module.tables]


def load_tables(modules: tuple[Module[Any], ...] = MODULES) -> None:
    """Import every domain's table modules, so that ``Base.metadata`` holds them all."""
    for ref in table_modules(modules):
        resolve(ref)


def controllers(modules: tuple[Module[Any], ...] = MODULES) -> list[type]:
    return [resolve(ref) for module in modules for ref in module.controllers]


# The one policy table (the HTTP guard and the route grid read it).
POLICY_TABLE = policies()
POLICY: dict[str, Guard] = POLICY_TABLE.guards
# The domains' own switches on their pages (the HTTP guard runs them).
PAGE_CHECKS = page_checks()


def allows(guard_name: str, role: Role) -> bool:
    return POLICY_TABLE.allows(guard_name, role)


def roles_passing(guard_name: str) -> frozenset[Role]:
    return POLICY_TABLE.roles_passing(guard_name)
