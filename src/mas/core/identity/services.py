"""The identity domain's services, as the platform builds them once per process."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from mas.core.identity.access import AccessGuard
from mas.core.identity.admin import AccountAdmin, AdminDeps
from mas.core.identity.auth import AuthDeps, AuthService
from mas.core.identity.ports import (
    IdentityProvider,
    IdentityUnitOfWork,
    PasswordHasher,
    Secrets,
    TokenCodec,
    TotpVerifier,
)
from mas.core.identity.tokens import TokenIssuer
from mas.core.identity.vendor import VendorKeys
from mas.core.platform.ports.cache import Cache
from mas.core.platform.ports.clock import Clock
from mas.core.platform.ports.uow import UnitOfWorkFactory
from mas.core.platform.ratelimit import RateLimiter


@dataclass(frozen=True)
class IdentityServices:
    access: AccessGuard
    issuer: TokenIssuer
    auth: AuthService
    accounts: AccountAdmin
    vendor_keys: VendorKeys


@dataclass(frozen=True)
class IdentityPorts:
    """What identity needs from the outside, handed over by its module at start-up."""

    uow: UnitOfWorkFactory[IdentityUnitOfWork]
    clock: Clock
    cache: Cache
    limiter: RateLimiter
    codec: TokenCodec
    hasher: PasswordHasher
    secrets: Secrets
    google: IdentityProvider
    totp: TotpVerifier | None
    mail_configured: Callable[[], bool]
    pages: frozenset[str]
    """Every SALES_HEAD page key the domains declare (granted by the admin)."""
    access_ttl_s: int = 900
    refresh_ttl_s: int = 30 * 86400
    master_password_hash: str | None = None
    impersonation_enabled: bool = False


def build_identity(ports: IdentityPorts) -> IdentityServices:
    issuer = TokenIssuer(
        ports.codec, ports.secrets, ports.clock, ports.access_ttl_s, ports.refresh_ttl_s
    )
    access = AccessGuard(ports.codec, ports.cache, ports.uow, ports.access_ttl_s)
    auth = AuthService(
        AuthDeps(
            uow=ports.uow,
            issuer=issuer,
            hasher=ports.hasher,
            secrets=ports.secrets,
            clock=ports.clock,
            guard=access,
            limiter=ports.limiter,
            google=ports.google,
            mail_configured=ports.mail_configured,
        )
    )
    accounts = AccountAdmin(
        AdminDeps(
            uow=ports.uow,
            issuer=issuer,
            hasher=ports.hasher,
            secrets=ports.secrets,
            clock=ports.clock,
            guard=access,
            limiter=ports.limiter,
            totp=ports.totp,
            master_password_hash=ports.master_password_hash,
            pages=ports.pages,
            impersonation_enabled=ports.impersonation_enabled,
        )
    )
    return IdentityServices(
        access=access,
        issuer=issuer,
        auth=auth,
        accounts=accounts,
        vendor_keys=VendorKeys(ports.uow, ports.secrets, ports.clock),
    )
