"""Identity's manifest: accounts, sessions, role policies, vendor keys.

``GET /api/user-details`` shows one's token balance through the ``balances`` port the tokens
domain provides (``Module.provides``; identity is built before tokens): without it, None.
"""

from __future__ import annotations

from mas.adapters.db.identity.repos import (
    SqlAccountThrottleRepository,
    SqlAuditLog,
    SqlOtpRepository,
    SqlSessionRepository,
    SqlUserRepository,
    SqlVendorKeyRepository,
)
from mas.adapters.identity.emails import EmailValidatorSyntax
from mas.adapters.identity.google import GoogleIdentityProvider
from mas.adapters.identity.passwords import Argon2Hasher
from mas.adapters.identity.tokens import JwtCodec
from mas.adapters.identity.totp import PyOtpVerifier
from mas.core.identity.handlers import HANDLERS
from mas.core.identity.mail import MAIL_TEMPLATES
from mas.core.identity.policy import POLICY
from mas.core.identity.secrets import StdSecrets
from mas.core.identity.services import IdentityPorts, IdentityServices, build_identity
from mas.core.identity.tasks import CRONS
from mas.core.platform.ports.balances import NoBalances
from mas.modules.base import Module
from mas.modules.container import Container


def build(c: Container) -> IdentityServices:
    settings = c.settings
    return build_identity(
        IdentityPorts(
            uow=c.uow,
            clock=c.clock,
            cache=c.cache,
            limiter=c.rate_limiter,
            codec=JwtCodec(settings.effective_jwt_secret),
            hasher=c.password_hasher or Argon2Hasher(),
            secrets=StdSecrets(settings.encryption_key or settings.effective_jwt_secret),
            google=GoogleIdentityProvider(settings.google_client_id),
            totp=PyOtpVerifier(settings.master_totp_secret)
            if settings.master_totp_secret
            else None,
            mail_configured=lambda: c.mail.configured,
            messenger=c.messenger,
            pages=c.pages,
            vendor_scopes=c.vendor_scopes,
            access_ttl_s=settings.access_ttl_s,
            refresh_ttl_s=settings.refresh_ttl_s,
            refresh_reuse_interval_s=settings.refresh_reuse_interval_s,
            email_syntax=EmailValidatorSyntax(),
            master_password_hash=settings.master_password_hash or None,
            impersonation_enabled=settings.impersonation_enabled,
            balances=c.ports.get("balances", NoBalances()),
        )
    )


MODULE = Module(
    name="identity",
    services=IdentityServices,
    build=build,
    tables=["mas.adapters.db.identity.tables"],
    repositories={
        "users": SqlUserRepository,
        "sessions": SqlSessionRepository,
        "account_throttles": SqlAccountThrottleRepository,
        "otps": SqlOtpRepository,
        "vendor_keys": SqlVendorKeyRepository,
        "audit": SqlAuditLog,
    },
    handlers=HANDLERS,
    crons=CRONS,
    policies=POLICY,
    mail_templates=MAIL_TEMPLATES,
    controllers=[
        "mas.http.identity.auth_routes:AuthController",
        "mas.http.identity.auth_routes:UserController",
        "mas.http.identity.details:UserDetailsController",
        "mas.http.identity.admin:AdminUsersController",
        "mas.http.identity.admin:VendorController",
    ],
    cli={"users": "mas.cli.users:app"},
)
