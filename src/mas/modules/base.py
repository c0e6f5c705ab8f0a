"""The manifest a domain gives the platform, and the container the platform builds from them.

A ``Module`` says everything the platform needs from one domain: its tables, repositories,
services (and how they are built), tasks and crons, event subscriptions, route policies and
page keys, vendor scopes, controllers and CLI groups. The app factory, ``mas worker``,
``mas scheduler``, the CLI, Alembic's env and the test fixtures iterate ``mas.modules.MODULES``.

Controllers, CLI groups and table modules are named by import path (``"pkg.module:attr"``):
the worker never imports Litestar controllers, the CLI never imports the HTTP layer, and no
import edge runs from a manifest back to a driver (no cycles). ``mas.modules.check`` resolves
every reference at start-up and in the test suite.
"""

from __future__ import annotations

import importlib
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from mas.core.identity.policy import Caller, Guard
from mas.core.platform.events import Subscription
from mas.core.platform.ports.messenger import MailTemplate
from mas.core.platform.tasking import Handler, Task

if TYPE_CHECKING:
    from mas.modules.container import Container

S = TypeVar("S")

PageCheck = Callable[["Container", Caller, str, "str | None"], Awaitable[None]]
"""``(container, caller, opt["page"], opt.get("flag"))``: the domain's own switch on one of its
pages, run by the HTTP guard after the identity page permission; raises ``Forbidden``."""


def resolve(ref: str) -> Any:
    """``"package.module:attribute"`` → the attribute (``"package.module"`` → the module)."""
    module_name, _, attribute = ref.partition(":")
    module = importlib.import_module(module_name)
    return getattr(module, attribute) if attribute else module


@dataclass(frozen=True)
class Module(Generic[S]):
    """One domain's manifest. ``name`` is the container attribute, the HTTP dependency name
    of its services and the key of everything it declares."""

    name: str
    services: type[S]
    build: Callable[[Container], S]
    """Build the domain's services from the platform (and the domains listed before it)."""
    tables: Sequence[str] = ()
    """Modules declaring the domain's tables (imported before Alembic reads the metadata)."""
    repositories: Mapping[str, Callable[[Any], Any]] = field(default_factory=dict)
    """Unit-of-work attribute → repository class taking the session (built on first use)."""
    handlers: Sequence[Handler[S, Any]] = ()
    crons: Mapping[Task[Any], str] = field(default_factory=dict)
    subscriptions: Sequence[Subscription[S, Any]] = ()
    policies: Mapping[str, Guard] = field(default_factory=dict)
    """Route policies the domain owns (``opt={"policy": name}``)."""
    pages: frozenset[str] = frozenset()
    """SALES_HEAD page keys the domain owns (``opt={"page": key}``)."""
    page_check: PageCheck | None = None
    """Checked on every request to one of ``pages`` after the identity permission."""
    page_flags: frozenset[str] = frozenset()
    """Names a route of the domain's pages may give in ``opt["flag"]`` (for ``page_check``)."""
    vendor_scopes: frozenset[str] = frozenset()
    """Scopes a vendor API key may be granted for the domain's vendor routes."""
    controllers: Sequence[str] = ()
    cli: Mapping[str, str] = field(default_factory=dict)
    """``mas <group>`` → Typer app reference."""
    provides: Mapping[str, Callable[[Container], Any]] = field(default_factory=dict)
    """Platform ports this domain implements for every domain (``"messenger"``): container
    attribute → factory. They are built before any domain's ``build`` and may use only the
    container's shared fields, so any domain, whatever its place in ``MODULES``, receives them."""
    mail_templates: Mapping[str, MailTemplate] = field(default_factory=dict)
    """The domain's system mails (code templates) by name, for ``Messenger.email``."""
    releasers: Sequence[Callable[[S], Awaitable[int]]] = ()
    """Due-time releasers: each takes the domain's services and releases a batch of the
    domain's own "run at" work that has come due (returns how many). Every worker's release
    loop, and the server on the in-memory broker, calls each every ``release_interval_s``
    (``mas.jobs.scheduler.release_due_loop``), so a domain that keeps its timers in its own
    table (the workflow engine's waiting enrollments) needs no cron and no sleeping job."""
