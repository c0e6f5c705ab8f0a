"""The composition root: from ``Settings`` build every adapter and service, once.

HTTP, CLI and jobs all call ``build_container``; nothing else constructs an adapter.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from taskiq import AsyncBroker

from mas.adapters.bus.memory import InProcessBus
from mas.adapters.bus.taskiq import TaskiqQueue, make_broker
from mas.adapters.cache.memory import MemoryCache
from mas.adapters.db.platform.ledger_batcher import BatchedJobRunClaims
from mas.adapters.db.session import make_engine, make_sessionmaker
from mas.adapters.db.uow import SqlUnitOfWork
from mas.adapters.identity.google import GoogleIdentityProvider
from mas.adapters.identity.passwords import Argon2Hasher
from mas.adapters.identity.tokens import JwtCodec
from mas.adapters.identity.totp import PyOtpVerifier
from mas.adapters.messaging.local import LocalMailbox
from mas.adapters.messaging.smtp import SmtpTransport
from mas.adapters.phone import LibPhoneNormalizer
from mas.adapters.storage.local import LocalStorage
from mas.core.crm.analytics import LeadAnalytics
from mas.core.crm.approvals import ApprovalService
from mas.core.crm.assignment import AssignmentService
from mas.core.crm.assignment_access import AssignmentDeps
from mas.core.crm.auto_assign import AutoAssigner
from mas.core.crm.campaigns import CampaignService
from mas.core.crm.config import SystemConfig
from mas.core.crm.deps import CrmDeps
from mas.core.crm.followups import FollowUpService
from mas.core.crm.imports import ImportDeps, ImportService
from mas.core.crm.intake import LeadIntakeService
from mas.core.crm.service import LeadService
from mas.core.crm.tagging import TagService
from mas.core.crm.targets import TargetService
from mas.core.crm.teams import TeamService
from mas.core.crm.transfers import OwnershipTransfers
from mas.core.crm.vendor_intake import VendorLeadService
from mas.core.identity.access import AccessGuard
from mas.core.identity.admin import AccountAdmin, AdminDeps
from mas.core.identity.auth import AuthDeps, AuthService
from mas.core.identity.secrets import StdSecrets
from mas.core.identity.tokens import TokenIssuer
from mas.core.identity.vendor import VendorKeys
from mas.core.platform.jobs import JobService
from mas.core.platform.messenger import MessageDelivery, Messenger
from mas.core.platform.outbox import OutboxRelay
from mas.core.platform.ports.cache import Cache
from mas.core.platform.ports.clock import Clock, SystemClock
from mas.core.platform.ports.events import EventBus
from mas.core.platform.ports.mail import MailTransport
from mas.core.platform.ports.storage import Storage
from mas.core.platform.ratelimit import RateLimiter
from mas.jobs import registry
from mas.settings import Settings


@dataclass
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
    delivery: MessageDelivery
    relay: OutboxRelay
    messenger: Messenger
    access: AccessGuard
    issuer: TokenIssuer
    auth: AuthService
    accounts: AccountAdmin
    vendor_keys: VendorKeys
    rate_limiter: RateLimiter
    crm_intake: LeadIntakeService
    crm_leads: LeadService
    crm_follow_ups: FollowUpService
    crm_tags: TagService
    crm_campaigns: CampaignService
    crm_analytics: LeadAnalytics
    crm_assignment: AssignmentService
    crm_auto_assign: AutoAssigner
    crm_approvals: ApprovalService
    crm_transfers: OwnershipTransfers
    crm_teams: TeamService
    crm_targets: TargetService
    crm_imports: ImportService
    crm_vendor_leads: VendorLeadService
    system_config: SystemConfig
    _closers: list[Any] = field(default_factory=list)

    def uow(self) -> SqlUnitOfWork:
        return SqlUnitOfWork(self.sessions, after_commit=self.relay.after_commit)

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
            "master_login": "enabled" if self.accounts.master_enabled else "off",
            "impersonation": "enabled" if self.settings.impersonation_enabled else "off",
        }

    async def start_broker(self) -> None:
        await self.broker.startup()
        self._closers.append(self.broker.shutdown)

    async def close(self) -> None:
        for closer in reversed(self._closers):
            await closer()
        self._closers.clear()
        await self.engine.dispose()


def _mail_transport(settings: Settings) -> MailTransport:
    if settings.mail_transport == "smtp":
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
    settings: Settings, *, clock: Clock | None = None, inline_tasks: bool = False
) -> Container:
    """Build everything. ``inline_tasks``: with the in-memory broker, a send runs the task and
    waits for it (a CLI command must not exit with its task half done)."""
    registry.load_task_modules()
    engine = make_engine(
        settings.database_url,
        pool_min=settings.db_pool_min,
        pool_max=settings.db_pool_max,
        echo=settings.db_echo,
    )
    sessions = make_sessionmaker(engine)
    clock = clock or SystemClock()
    closers: list[Any] = []

    nc = None
    if "nats" in (settings.cache, settings.event_bus):
        from mas.adapters.nats_conn import connect

        nc = await connect(settings)
        closers.append(nc.close)

    bus: EventBus
    if settings.event_bus == "nats":
        from mas.adapters.bus.nats import NatsEventBus

        bus = NatsEventBus(nc)
    else:
        bus = InProcessBus()

    cache: Cache
    if settings.cache == "nats":
        from mas.adapters.cache.nats_kv import NatsKvCache

        cache = NatsKvCache(nc, prefix=settings.nats_kv_prefix)
    else:
        cache = MemoryCache()

    broker = make_broker(
        kind=settings.broker,
        inline=inline_tasks,
        nats_url=settings.nats_url,
        stream=settings.nats_stream,
        subject=settings.nats_subject,
        ack_wait_s=settings.nats_ack_wait_s,
        max_ack_pending=max(settings.worker_concurrency * 4, 100),
        timeout_for=registry.timeout_for,
        connect_options=nats_connect_options(settings),
    )
    claims = BatchedJobRunClaims(engine, clock)
    closers.append(claims.close)
    jobs = JobService(
        uow=lambda: container.uow(),
        queue=TaskiqQueue(broker),
        clock=clock,
        policies=registry.POLICIES,
        claims=claims,
    )
    mail = _mail_transport(settings)
    relay = OutboxRelay(lambda: container.uow(), bus, jobs, clock)

    def uow() -> SqlUnitOfWork:
        return container.uow()

    secrets = StdSecrets(settings.encryption_key or settings.effective_jwt_secret)
    codec = JwtCodec(settings.effective_jwt_secret)
    hasher = Argon2Hasher()
    issuer = TokenIssuer(codec, secrets, clock, settings.access_ttl_s, settings.refresh_ttl_s)
    rate_limiter = RateLimiter(cache)
    access = AccessGuard(codec, cache, uow, settings.access_ttl_s)
    google = GoogleIdentityProvider(settings.google_client_id)
    auth = AuthService(
        AuthDeps(
            uow=uow,
            issuer=issuer,
            hasher=hasher,
            secrets=secrets,
            clock=clock,
            guard=access,
            limiter=rate_limiter,
            google=google,
            mail_configured=lambda: mail.configured,
        )
    )
    accounts = AccountAdmin(
        AdminDeps(
            uow=uow,
            issuer=issuer,
            hasher=hasher,
            secrets=secrets,
            clock=clock,
            guard=access,
            limiter=rate_limiter,
            totp=PyOtpVerifier(settings.master_totp_secret)
            if settings.master_totp_secret
            else None,
            master_password_hash=settings.master_password_hash or None,
            impersonation_enabled=settings.impersonation_enabled,
        )
    )
    crm = CrmDeps(
        uow=uow,
        clock=clock,
        phones=LibPhoneNormalizer(),
        cache=cache,
        limiter=rate_limiter,
        jobs=jobs,
        zone=settings.timezone,
        ip_pepper=settings.encryption_key or settings.effective_jwt_secret,
    )
    crm_leads = LeadService(crm)
    storage = LocalStorage(settings.storage_dir)
    importing = ImportDeps(uow=uow, storage=storage, clock=clock, phone=crm.phones, jobs=jobs)
    assigning = AssignmentDeps(uow=uow, clock=clock, jobs=jobs, zone=settings.timezone)
    container = Container(
        settings=settings,
        engine=engine,
        sessions=sessions,
        clock=clock,
        bus=bus,
        cache=cache,
        storage=storage,
        mail=mail,
        broker=broker,
        jobs=jobs,
        delivery=MessageDelivery(lambda: container.uow(), mail, clock, settings.mail_from),
        relay=relay,
        messenger=Messenger(lambda: container.uow(), clock),
        rate_limiter=rate_limiter,
        access=access,
        issuer=issuer,
        auth=auth,
        accounts=accounts,
        vendor_keys=VendorKeys(uow, secrets, clock),
        crm_intake=LeadIntakeService(crm),
        crm_leads=crm_leads,
        crm_follow_ups=FollowUpService(crm),
        crm_tags=TagService(crm, crm_leads),
        crm_campaigns=CampaignService(crm),
        crm_analytics=LeadAnalytics(crm),
        crm_assignment=AssignmentService(assigning),
        crm_auto_assign=AutoAssigner(assigning),
        crm_approvals=ApprovalService(assigning),
        crm_transfers=OwnershipTransfers(assigning),
        crm_teams=TeamService(assigning),
        crm_targets=TargetService(assigning),
        crm_imports=ImportService(importing),
        crm_vendor_leads=VendorLeadService(importing),
        system_config=SystemConfig(uow, clock),
        _closers=closers,
    )
    # New pool leads are auto-assigned by a task the event queues (keyed by lead or batch: a
    # repeat delivery, or one per subscribed process on NATS, is a skip).
    await bus.subscribe("mas.lead.created", container.crm_auto_assign.on_lead_created)
    await bus.subscribe("mas.lead.imported", container.crm_auto_assign.on_leads_imported)
    return container
