"""The container: the platform's shared adapters, plus each domain's services by name.

``container.crm`` is the CRM's ``CrmServices``, ``container.identity`` identity's, and so on
for every module in ``mas.modules.MODULES``; what is shared by all (engine, clock, bus, cache,
storage, mail transport, broker, job ledger) is a field. Built by ``mas.bootstrap``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from taskiq import AsyncBroker

from mas.adapters.db.uow import RepositoryFactory, SqlUnitOfWork
from mas.core.identity.ports import PasswordHasher
from mas.core.platform.jobs import JobService
from mas.core.platform.outbox import OutboxRelay
from mas.core.platform.ports.cache import Cache
from mas.core.platform.ports.clock import Clock
from mas.core.platform.ports.events import EventBus
from mas.core.platform.ports.mail import MailTransport
from mas.core.platform.ports.messenger import MailTemplate
from mas.core.platform.ports.storage import Storage
from mas.core.platform.ratelimit import RateLimiter
from mas.core.platform.tasking import Handler
from mas.settings import Settings


@dataclass(frozen=True)
class BoundHandler:
    """A task handler with the services of the domain that declared it."""

    handler: Handler[Any, Any]
    services: Any


@dataclass(eq=False)
class Container:
    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    clock: Clock
    bus: EventBus
    cache: Cache
    storage: Storage
    mail: MailTransport
    broker: AsyncBroker
    jobs: JobService
    relay: OutboxRelay
    rate_limiter: RateLimiter
    repositories: Mapping[str, RepositoryFactory]
    handlers: Mapping[str, Handler[Any, Any]]
    """Every declared task by name (the runner binds each to its domain's services)."""
    pages: frozenset[str]
    """Every SALES_HEAD page key the domains declare."""
    vendor_scopes: frozenset[str]
    """Every scope a vendor API key may be granted."""
    password_hasher: PasswordHasher | None = None
    """Replaces identity's argon2 hasher (the test fixtures' cheap one); None in production."""
    mail_templates: Mapping[str, MailTemplate] = field(default_factory=dict)
    """Every domain's code templates by name (``Module.mail_templates``)."""
    ports: dict[str, Any] = field(default_factory=dict)
    """Platform ports a domain implements for all (``Module.provides``): ``container.messenger``."""
    domains: dict[str, Any] = field(default_factory=dict)
    tasks: dict[str, BoundHandler] = field(default_factory=dict)
    releasers: list[Callable[[], Awaitable[int]]] = field(default_factory=list)
    """Every domain's due-time releasers bound to its services (``Module.releasers``)."""
    closers: list[Callable[[], Awaitable[Any]]] = field(default_factory=list)

    def __getattr__(self, name: str) -> Any:
        """A domain's services (``container.crm``, ``container.identity``, …) or a port a
        domain provides (``container.messenger``)."""
        domains = self.__dict__.get("domains", {})
        if name in domains:
            return domains[name]
        ports = self.__dict__.get("ports", {})
        if name in ports:
            return ports[name]
        raise AttributeError(f"the container has no field or domain {name!r}")

    def uow(self) -> SqlUnitOfWork:
        return SqlUnitOfWork(self.sessions, self.repositories, self.relay.after_commit)

    def adapters(self) -> dict[str, str]:
        """Which implementation backs each port (for ``mas config check``; never a secret)."""
        return {
            "database": self.engine.dialect.name,
            "broker": type(self.broker).__name__,
            "event_bus": type(self.bus).__name__,
            "cache": type(self.cache).__name__,
            "storage": type(self.storage).__name__,
            "mail": f"{self.mail.name} ({'' if self.mail.configured else 'not '}configured)",
            "google_sign_in": "configured" if self.settings.google_client_id else "not configured",
            "master_login": "enabled"
            if self.settings.master_password_hash and self.settings.master_totp_secret
            else "off",
            "impersonation": "enabled" if self.settings.impersonation_enabled else "off",
        }

    async def start_broker(self) -> None:
        await self.broker.startup()
        self.closers.append(self.broker.shutdown)

    async def close(self) -> None:
        for closer in reversed(self.closers):
            await closer()
        self.closers.clear()
        await self.engine.dispose()
