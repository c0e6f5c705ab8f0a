"""The composition root: from ``Settings`` build the platform's adapters, then every domain's
services from its manifest (``mas.modules.MODULES``), once per process.

HTTP, CLI, workers, the scheduler and the tests call ``build_container``; nothing else
constructs an adapter. Nothing here names a domain: a new domain is its manifest.
"""

from __future__ import annotations

import logging
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from mas.adapters.bus.memory import InProcessBus
from mas.adapters.bus.taskiq import TaskiqQueue, make_broker
from mas.adapters.cache.memory import MemoryCache
from mas.adapters.db.platform.ledger_batcher import BatchedJobRunClaims
from mas.adapters.db.session import make_engine, make_sessionmaker
from mas.adapters.messaging.local import LocalMailbox
from mas.adapters.storage import build_storage
from mas.adapters.telemetry import tracing
from mas.adapters.telemetry.metrics import instrument_pool
from mas.core.identity.ports import PasswordHasher
from mas.core.platform.events import Subscription
from mas.core.platform.jobs import JobService
from mas.core.platform.outbox import OutboxRelay
from mas.core.platform.ports.cache import Cache
from mas.core.platform.ports.clock import Clock, SystemClock
from mas.core.platform.ports.events import EventBus
from mas.core.platform.ports.mail import MailTransport
from mas.core.platform.ratelimit import RateLimiter
from mas.modules import MODULES, handlers, mail_templates, pages, repositories, vendor_scopes
from mas.modules.base import Module
from mas.modules.container import BoundHandler, Container
from mas.settings import Settings

log = logging.getLogger("mas.events")

__all__ = ["Container", "build_container", "nats_connect_options"]


def _mail_transport(settings: Settings) -> MailTransport:
    if settings.mail_transport == "smtp":
        from mas.adapters.messaging.smtp import SmtpTransport

        return SmtpTransport(
            host=settings.smtp_host,
            port=settings.smtp_port,
            user=settings.smtp_user,
            password=settings.smtp_pass,
            sender=settings.mail_from,
            starttls=settings.smtp_starttls,
            implicit_tls=settings.smtp_implicit_tls,
            timeout_s=settings.smtp_timeout_ms / 1000,
        )
    return LocalMailbox()


def _cache(settings: Settings, engine: AsyncEngine, nc: Any) -> Cache:
    """The cache every process of this deployment shares (``Settings.effective_cache``)."""
    chosen = settings.effective_cache
    log.info("cache.selected", extra={"cache": chosen, "configured": settings.cache})
    if chosen == "nats":
        from mas.adapters.cache.nats_kv import NatsKvCache

        return NatsKvCache(nc, prefix=settings.nats_kv_prefix, replicas=settings.nats_replicas)
    if chosen == "database":
        from mas.adapters.cache.database import DatabaseCache

        return DatabaseCache(engine)
    return MemoryCache()


def nats_connect_options(settings: Settings) -> dict[str, Any]:
    options: dict[str, Any] = {"connect_timeout": 5, "max_reconnect_attempts": -1}
    if settings.nats_creds:
        options["user_credentials"] = settings.nats_creds
    if settings.nats_user:
        options["user"] = settings.nats_user
        options["password"] = settings.nats_password
    if settings.nats_token:
        options["token"] = settings.nats_token
    if settings.nats_tls:
        import ssl

        options["tls"] = ssl.create_default_context()
    return options


async def build_container(
    settings: Settings,
    *,
    clock: Clock | None = None,
    inline_tasks: bool = False,
    password_hasher: PasswordHasher | None = None,
    extra: tuple[Module[Any], ...] = (),
    database: tuple[AsyncEngine, async_sessionmaker[AsyncSession]] | None = None,
) -> Container:
    """Build everything. ``inline_tasks``: with the in-memory broker, a send runs the task and
    waits for it (a CLI command must not exit with its task half done). ``extra``: manifests
    beyond ``MODULES`` (the tests' probe tasks). ``database``: an engine and session factory to
    use instead of new ones on ``settings.database_url`` (a test hook: the PostgreSQL tests
    join one transaction per test, rolled back at its end; see ``tests/rollback.py``)."""
    domains = MODULES + extra
    tasks = handlers(domains)
    if database is None:
        engine = make_engine(
            settings.database_url,
            pool_min=settings.db_pool_min,
            pool_max=settings.db_pool_max,
            echo=settings.db_echo,
        )
        sessions = make_sessionmaker(engine)
        instrument_pool(engine)
    else:
        engine, sessions = database
    clock = clock or SystemClock()
    closers: list[Any] = []
    tracing.configure(settings.otel_endpoint, settings.otel_service_name)

    nc = None
    if "nats" in (settings.effective_cache, settings.event_bus):
        from mas.adapters.nats_conn import connect

        nc = await connect(settings)
        closers.append(nc.close)

    bus: EventBus
    if settings.event_bus == "nats":
        from mas.adapters.bus.nats import NatsEventBus

        bus = NatsEventBus(nc)
    else:
        bus = InProcessBus()

    cache = _cache(settings, engine, nc)

    def timeout_for(name: str) -> float:
        handler = tasks.get(name)
        return handler.task.policy.timeout_s if handler else 300.0

    broker = make_broker(
        kind=settings.broker,
        inline=inline_tasks,
        nats_url=settings.nats_url,
        stream=settings.nats_stream,
        subject=settings.nats_subject,
        ack_wait_s=settings.nats_ack_wait_s,
        max_ack_pending=max(settings.worker_concurrency * 4, 100),
        timeout_for=timeout_for,
        connect_options=nats_connect_options(settings),
        replicas=settings.nats_replicas,
    )
    claims = BatchedJobRunClaims(engine, clock)
    closers.append(claims.close)

    def uow() -> Any:
        return container.uow()

    jobs = JobService(
        uow=uow,
        queue=TaskiqQueue(broker),
        clock=clock,
        policies={name: handler.task.policy.retry() for name, handler in tasks.items()},
        claims=claims,
    )
    container = Container(
        settings=settings,
        engine=engine,
        sessions=sessions,
        clock=clock,
        bus=bus,
        cache=cache,
        storage=build_storage(settings),
        mail=_mail_transport(settings),
        broker=broker,
        jobs=jobs,
        relay=OutboxRelay(uow, bus, jobs, clock),
        rate_limiter=RateLimiter(cache),
        repositories=repositories(domains),
        handlers=tasks,
        pages=pages(domains),
        mail_templates=mail_templates(domains),
        vendor_scopes=vendor_scopes(domains),
        password_hasher=password_hasher,
        closers=closers,
    )
    for module in domains:
        for name, provide in module.provides.items():
            if name in container.ports:
                raise ValueError(f"port {name!r} is provided twice")
            container.ports[name] = provide(container)
    for module in domains:
        container.domains[module.name] = module.build(container)
    for module in domains:
        services = container.domains[module.name]
        for handler in module.handlers:
            container.tasks[handler.name] = BoundHandler(handler, services)
        for releaser in module.releasers:
            container.releasers.append(_bind_releaser(releaser, services))
        for subscription in module.subscriptions:
            await _subscribe(bus, subscription, services)
    return container


def _bind_releaser(releaser: Any, services: Any) -> Any:
    async def release() -> int:
        released: int = await releaser(services)
        return released

    return release


async def _subscribe(bus: EventBus, subscription: Subscription[Any, Any], services: Any) -> None:
    """Deliver ``subscription.event`` to its handler as the event's Struct."""

    async def deliver(subject: str, payload: dict[str, Any]) -> None:
        await subscription.handle(services, subscription.decode(payload))

    await bus.subscribe(subscription.event.subject, deliver)
