"""Ports of the identity domain: repositories and the crypto/identity-provider helpers."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Protocol

import msgspec

from mas.core.identity.model import (
    AccountThrottle,
    AuditEvent,
    OtpCode,
    OtpPurpose,
    RefreshSession,
    RevokeReason,
    User,
    VendorKey,
)
from mas.core.identity.model import EmailSyntax as EmailSyntax  # a port, kept by its rule
from mas.core.identity.policy import Role
from mas.core.platform.paging import Page, PageRequest
from mas.core.platform.ports.uow import UnitOfWork


class UserRepository(Protocol):
    async def add(self, user: User) -> None:
        """Insert; raises ``DuplicateKey`` when the email (or google id) is taken."""
        ...

    async def get(self, user_id: uuid.UUID) -> User | None: ...

    async def by_email(self, email: str) -> User | None: ...

    async def by_google_id(self, google_id: str) -> User | None: ...

    async def save(self, user: User) -> None: ...

    async def page(
        self, roles: list[Role] | None, search: str | None, req: PageRequest
    ) -> Page[User]: ...

    async def count_active(self, role: Role) -> int:
        """Users with ``role`` that are not deleted (the last SUPERADMIN rule)."""
        ...

    async def active_with_roles(self, roles: list[Role]) -> list[User]: ...

    async def set_permissions(self, user_id: uuid.UUID, keys: list[str], by: uuid.UUID) -> None: ...

    async def master_counter(self) -> int:
        """The last TOTP time step used for master login (0 when never)."""
        ...

    async def set_master_counter(self, counter: int) -> None: ...


class SessionRepository(Protocol):
    async def add(self, session: RefreshSession) -> None: ...

    async def by_hash(self, token_hash: str, *, for_update: bool = False) -> RefreshSession | None:
        """The token with this hash; ``for_update`` locks its row until the transaction ends
        (a concurrent refresh of the same token waits, then sees what this one did)."""
        ...

    async def get(self, session_id: uuid.UUID) -> RefreshSession | None: ...

    async def rotate(self, session_id: uuid.UUID, replaced_by: uuid.UUID, now: datetime) -> bool:
        """Mark an active token rotated; False when it was no longer active (a racing refresh)."""
        ...

    async def active_for_user(self, user_id: uuid.UUID, now: datetime) -> list[RefreshSession]: ...

    async def revoke_family(
        self, family_id: uuid.UUID, reason: RevokeReason, now: datetime
    ) -> list[uuid.UUID]:
        """Revoke every active token of the family; returns the revoked ids."""
        ...

    async def revoke_user(
        self, user_id: uuid.UUID, reason: RevokeReason, now: datetime
    ) -> list[uuid.UUID]: ...

    async def purge(self, expired_before: datetime) -> int: ...


class AccountThrottleRepository(Protocol):
    """Failed sign-ins per account, shared by every process (so every process agrees)."""

    async def get(self, subject: str) -> AccountThrottle | None: ...

    async def put(self, state: AccountThrottle, expected_failures: int | None) -> bool:
        """Compare and set: write ``state`` if the stored count is still ``expected_failures``
        (``None``: no row yet). False when a concurrent attempt changed it first."""
        ...

    async def clear(self, subject: str) -> None: ...

    async def purge(self, idle_since: datetime, now: datetime) -> int:
        """Drop rows untouched since ``idle_since`` whose wait is over."""
        ...


class OtpRepository(Protocol):
    async def add(self, code: OtpCode) -> None: ...

    async def live(self, email: str, purpose: OtpPurpose) -> OtpCode | None:
        """The newest code neither consumed nor superseded (it may be expired or locked)."""
        ...

    async def supersede(self, email: str, purpose: OtpPurpose, now: datetime) -> None: ...

    async def save(self, code: OtpCode) -> None: ...

    async def count_since(self, email: str, purpose: OtpPurpose, since: datetime) -> int: ...

    async def newest(self, email: str, purpose: OtpPurpose) -> OtpCode | None: ...

    async def recent(self, email: str, purpose: OtpPurpose, limit: int) -> list[OtpCode]:
        """The newest ``limit`` codes, newest first (a replaced code is recognised, not guessed)."""
        ...

    async def purge(self, created_before: datetime) -> int: ...


class VendorKeyRepository(Protocol):
    async def add(self, key: VendorKey) -> None: ...

    async def by_prefix(self, prefix: str) -> VendorKey | None: ...

    async def get(self, key_id: uuid.UUID) -> VendorKey | None: ...

    async def save(self, key: VendorKey) -> None: ...

    async def all(self) -> list[VendorKey]: ...


class AuditLog(Protocol):
    """Append-only: there is no update or delete."""

    async def append(self, event: AuditEvent) -> None: ...

    async def page(
        self, target_user_id: uuid.UUID | None, req: PageRequest
    ) -> Page[AuditEvent]: ...


class PasswordHasher(Protocol):
    def hash(self, password: str) -> str: ...

    def verify(self, password: str, hashed: str | None) -> bool:
        """Constant-time; with ``hashed=None`` it still spends the time of a real check."""
        ...


class AccessTokenClaims(msgspec.Struct, frozen=True, kw_only=True):
    sub: str
    role: str
    plt: str
    tv: int
    jti: str
    amr: str
    iat: int
    exp: int
    sid: str | None = None
    act: str | None = None


class TokenCodec(Protocol):
    def encode(self, claims: AccessTokenClaims) -> str: ...

    def decode(self, token: str) -> AccessTokenClaims:
        """Raises ``Unauthorized`` (code ``token_expired`` or ``invalid_token``)."""
        ...


class TotpVerifier(Protocol):
    def matching_counter(self, code: str, at: datetime) -> int | None:
        """The 30-s time step ``code`` belongs to (±1 step), or None."""
        ...


class GoogleIdentity(msgspec.Struct, frozen=True, kw_only=True):
    sub: str
    email: str
    email_verified: bool
    name: str | None = None
    picture: str | None = None


class IdentityProvider(Protocol):
    @property
    def configured(self) -> bool: ...

    async def verify_id_token(self, id_token: str) -> GoogleIdentity:
        """Raises ``Unauthorized`` for a bad token, ``ExternalUnavailable`` when Google is down."""
        ...


class Secrets(Protocol):
    def random_token(self, nbytes: int) -> str: ...

    def otp_code(self) -> str: ...

    def digest(self, value: str) -> str:
        """SHA-256 hex of ``value``."""
        ...

    def keyed_digest(self, value: str) -> str:
        """HMAC-SHA256 hex of ``value`` with the server key (OTP codes)."""
        ...

    def successor_token(self, refresh_token: str) -> str:
        """The refresh token that replaces ``refresh_token``: derived from it with the server
        key, so the same token always has the same successor (the reuse interval hands a
        concurrent refresh the very pair the first one got, without storing any plaintext)."""
        ...


JsonDict = dict[str, Any]


class IdentityUnitOfWork(UnitOfWork, Protocol):
    """The identity domain's view of a unit of work."""

    users: UserRepository
    sessions: SessionRepository
    account_throttles: AccountThrottleRepository
    otps: OtpRepository
    vendor_keys: VendorKeyRepository
    audit: AuditLog
