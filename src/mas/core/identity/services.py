"""The identity domain's services, as the platform builds them once per process.

``build_identity`` is the one place that constructs them: its module hands it the ports.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from mas.core.identity.access import AccessGuard
from mas.core.identity.accounts import AccountAdmin
from mas.core.identity.breakglass import BreakGlass
from mas.core.identity.codes import OneTimeCodes
from mas.core.identity.details import AccountDetails
from mas.core.identity.housekeeping import Housekeeping
from mas.core.identity.impersonation import Impersonation
from mas.core.identity.lockout import AccountLockout
from mas.core.identity.model import EmailSyntax
from mas.core.identity.passwords import Passwords
from mas.core.identity.ports import (
    IdentityProvider,
    IdentityUnitOfWork,
    PasswordHasher,
    Secrets,
    TokenCodec,
    TotpVerifier,
)
from mas.core.identity.registration import Registration
from mas.core.identity.sales_head_pages import SalesHeadPages
from mas.core.identity.sessions import Sessions
from mas.core.identity.signin import SignIn
from mas.core.identity.tokens import TokenIssuer
from mas.core.identity.vendor import VendorKeys
from mas.core.platform.ports.balances import NoBalances, TokenBalances
from mas.core.platform.ports.cache import Cache
from mas.core.platform.ports.clock import Clock
from mas.core.platform.ports.messenger import Messenger
from mas.core.platform.ports.uow import UnitOfWorkFactory
from mas.core.platform.ratelimit import RateLimiter


@dataclass(frozen=True)
class IdentityServices:
    access: AccessGuard
    """Access token to ``Caller`` (the HTTP guard), and the cached account."""
    issuer: TokenIssuer
    hasher: PasswordHasher
    """The password hasher the services use (fixtures hash their accounts' passwords with it)."""
    registration: Registration
    sign_in: SignIn
    lockout: AccountLockout
    """Failed sign-ins per account and the growing wait they impose."""
    sessions: Sessions
    passwords: Passwords
    housekeeping: Housekeeping
    accounts: AccountAdmin
    sales_head_pages: SalesHeadPages
    impersonation: Impersonation
    break_glass: BreakGlass
    vendor_keys: VendorKeys
    details: AccountDetails
    """One's own account with one's token balance (``GET /api/user-details``)."""


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
    messenger: Messenger
    """How identity's mails are sent (code templates ``MAIL_TEMPLATES``, in the caller's unit)."""
    pages: frozenset[str]
    """Every SALES_HEAD page key the domains declare (granted by the admin)."""
    vendor_scopes: frozenset[str] = frozenset()
    """Every scope a vendor API key may be granted (declared by the domains' vendor routes)."""
    access_ttl_s: int = 900
    refresh_ttl_s: int = 30 * 86400
    refresh_reuse_interval_s: int = 30
    """How long a rotated refresh token still yields the pair its rotation produced."""
    email_syntax: EmailSyntax | None = None
    """The full address grammar (email-validator); without it only the core's own rules."""
    master_password_hash: str | None = None
    impersonation_enabled: bool = False
    balances: TokenBalances = NoBalances()
    """Token balances (provided by the tokens domain; the null object when it is absent)."""


def build_identity(ports: IdentityPorts) -> IdentityServices:
    uow, clock, hasher = ports.uow, ports.clock, ports.hasher
    issuer = TokenIssuer(ports.codec, ports.secrets, clock, ports.access_ttl_s, ports.refresh_ttl_s)
    access = AccessGuard(ports.codec, ports.cache, uow, ports.access_ttl_s)
    codes = OneTimeCodes(
        secrets=ports.secrets, clock=clock, limiter=ports.limiter, messenger=ports.messenger
    )
    lockout = AccountLockout(uow=uow, clock=clock, secrets=ports.secrets)
    emails = ports.email_syntax
    return IdentityServices(
        access=access,
        issuer=issuer,
        hasher=hasher,
        registration=Registration(
            uow=uow,
            clock=clock,
            hasher=hasher,
            codes=codes,
            issuer=issuer,
            guard=access,
            mail_configured=ports.mail_configured,
            email_syntax=emails,
        ),
        sign_in=SignIn(
            uow=uow,
            clock=clock,
            hasher=hasher,
            issuer=issuer,
            guard=access,
            limiter=ports.limiter,
            google=ports.google,
            lockout=lockout,
            email_syntax=emails,
        ),
        lockout=lockout,
        sessions=Sessions(
            uow=uow,
            clock=clock,
            secrets=ports.secrets,
            issuer=issuer,
            guard=access,
            reuse_interval_s=ports.refresh_reuse_interval_s,
        ),
        passwords=Passwords(
            uow=uow,
            clock=clock,
            hasher=hasher,
            codes=codes,
            issuer=issuer,
            guard=access,
            limiter=ports.limiter,
            email_syntax=emails,
        ),
        housekeeping=Housekeeping(uow=uow, clock=clock),
        accounts=AccountAdmin(
            uow=uow,
            clock=clock,
            hasher=hasher,
            secrets=ports.secrets,
            guard=access,
            messenger=ports.messenger,
            email_syntax=emails,
        ),
        sales_head_pages=SalesHeadPages(uow=uow, clock=clock, guard=access, pages=ports.pages),
        impersonation=Impersonation(
            uow=uow, clock=clock, issuer=issuer, enabled=ports.impersonation_enabled
        ),
        break_glass=BreakGlass(
            uow=uow,
            clock=clock,
            hasher=hasher,
            issuer=issuer,
            limiter=ports.limiter,
            totp=ports.totp,
            master_password_hash=ports.master_password_hash,
            messenger=ports.messenger,
            email_syntax=emails,
        ),
        vendor_keys=VendorKeys(uow, ports.secrets, clock, ports.vendor_scopes),
        details=AccountDetails(uow, access, ports.balances),
    )
