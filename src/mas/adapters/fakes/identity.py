"""In-memory stand-ins for every port of the identity domain.

``IdentityStore`` keeps two copies of the data, the committed one and the one being changed;
a ``FakeIdentityUnitOfWork`` left without ``commit`` restores the committed copy, as a database
transaction would. Each repository hands out copies, so a service sees its own changes only
after it saves them. The crypto fakes are predictable and cheap: ``FakeHasher`` is the password
hasher for test fixtures (argon2 stays in the tests of the argon2 adapter).
"""

from __future__ import annotations

import copy
import hashlib
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from types import TracebackType
from typing import TYPE_CHECKING, Self

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
from mas.core.identity.policy import Role
from mas.core.identity.ports import (
    AccessTokenClaims,
    AccountThrottleRepository,
    AuditLog,
    GoogleIdentity,
    IdentityUnitOfWork,
    OtpRepository,
    SessionRepository,
    UserRepository,
    VendorKeyRepository,
)
from mas.core.platform.errors import ExternalUnavailable, Unauthorized
from mas.core.platform.events import DomainEvent
from mas.core.platform.messages import OutboxMessage
from mas.core.platform.paging import Page, PageRequest
from mas.core.platform.ports.clock import Clock
from mas.core.platform.ports.uow import DuplicateKey

# --- crypto and the identity provider ----------------------------------------------------------


class FakeSecrets:
    """Predictable tokens (with ``-`` and ``_`` in them, as url-safe tokens have) and codes."""

    def __init__(self) -> None:
        self._tokens = 0
        self.codes: list[str] = []
        """Every one-time code handed out, oldest first."""

    def random_token(self, nbytes: int) -> str:
        self._tokens += 1
        return f"t-{self._tokens:04d}_".ljust(nbytes, "z")

    def otp_code(self) -> str:
        self.codes.append(f"{100_000 + len(self.codes):06d}")
        return self.codes[-1]

    def digest(self, value: str) -> str:
        return f"sha:{value}"

    def keyed_digest(self, value: str) -> str:
        return f"hmac:{value}"

    def successor_token(self, refresh_token: str) -> str:
        """Deterministic, as the real one: ``n-<8 hex of the token>`` padded like a token."""
        return f"n-{hashlib.sha256(refresh_token.encode()).hexdigest()[:8]}_".ljust(32, "z")


class FakeHasher:
    """A cheap ``PasswordHasher``: ``h:<password>``. Counts checks against no hash at all."""

    def __init__(self) -> None:
        self.blind_checks = 0

    def hash(self, password: str) -> str:
        return f"h:{password}"

    def verify(self, password: str, hashed: str | None) -> bool:
        if hashed is None:
            self.blind_checks += 1
            return False
        return hashed == f"h:{password}"


class FakeCodec:
    """Claims as plain JSON; expiry read from the clock. No signature, no crypto."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock

    def encode(self, claims: AccessTokenClaims) -> str:
        return msgspec.json.encode(claims).decode()

    def decode(self, token: str) -> AccessTokenClaims:
        try:
            claims = msgspec.json.decode(token, type=AccessTokenClaims)
        except msgspec.DecodeError:
            raise Unauthorized("the access token is not valid", code="invalid_token") from None
        if claims.exp <= self._clock.now().timestamp():
            raise Unauthorized("the access token has expired", code="token_expired")
        return claims

    @staticmethod
    def claims(token: str) -> AccessTokenClaims:
        """What a token says, expired or not."""
        return msgspec.json.decode(token, type=AccessTokenClaims)


class FakeTotp:
    """Codes are the decimal time step itself; only steps listed in ``valid`` match."""

    def __init__(self) -> None:
        self.valid: set[int] = set()

    def matching_counter(self, code: str, at: datetime) -> int | None:
        step = int(code) if code.isdigit() else -1
        return step if step in self.valid else None


class FakeIdentityProvider:
    """Google sign-in: known token strings map to identities, anything else is refused."""

    def __init__(self) -> None:
        self._identities: dict[str, GoogleIdentity] = {}
        self._failures = 0
        self.calls: list[str] = []

    @property
    def configured(self) -> bool:
        return True

    def add(self, token: str, identity: GoogleIdentity) -> None:
        self._identities[token] = identity

    def fail_next(self, n: int = 1) -> None:
        """The next ``n`` verifications fail as if Google were down."""
        self._failures = n

    async def verify_id_token(self, id_token: str) -> GoogleIdentity:
        self.calls.append(id_token)
        if self._failures > 0:
            self._failures -= 1
            raise ExternalUnavailable("Google sign-in is unreachable", code="idp_unavailable")
        identity = self._identities.get(id_token)
        if identity is None:
            raise Unauthorized("the Google token is not valid", code="invalid_google_token")
        if not identity.email_verified:  # as the real adapter: it never returns such an identity
            raise Unauthorized(
                "the Google account's email address is not verified",
                code="google_email_unverified",
            )
        return identity


# --- the data and its unit of work -------------------------------------------------------------


@dataclass
class IdentityTables:
    users: dict[uuid.UUID, User] = field(default_factory=dict)
    permissions: dict[uuid.UUID, list[str]] = field(default_factory=dict)
    sessions: dict[uuid.UUID, RefreshSession] = field(default_factory=dict)
    account_throttles: dict[str, AccountThrottle] = field(default_factory=dict)
    otps: dict[uuid.UUID, OtpCode] = field(default_factory=dict)
    vendor_keys: dict[uuid.UUID, VendorKey] = field(default_factory=dict)
    audit: list[AuditEvent] = field(default_factory=list)
    outbox: list[OutboxMessage] = field(default_factory=list)
    events: list[DomainEvent] = field(default_factory=list)
    master_counter: int = 0


class IdentityStore:
    """The fake database: what is committed, and what the open unit of work changes."""

    def __init__(self) -> None:
        self.live = IdentityTables()
        self.committed = IdentityTables()
        self.opened = 0
        """How many units of work were opened (a test asserts "no database read")."""
        self.before_rotate: Callable[[uuid.UUID], None] | None = None
        """Called as a refresh token is rotated (a test makes a concurrent refresh win)."""

    def uow(self) -> FakeIdentityUnitOfWork:
        return FakeIdentityUnitOfWork(self)

    def commit(self) -> None:
        self.committed = copy.deepcopy(self.live)

    def rollback(self) -> None:
        self.live = copy.deepcopy(self.committed)

    def elsewhere(self, change: Callable[[IdentityTables], None]) -> None:
        """A change another transaction committed meanwhile: visible to both copies."""
        change(self.live)
        change(self.committed)


class FakeUsers:
    def __init__(self, store: IdentityStore) -> None:
        self._store = store

    @property
    def _t(self) -> IdentityTables:
        return self._store.live

    def _out(self, user: User) -> User:
        found = copy.deepcopy(user)
        if found.role is Role.SALES_HEAD:
            found.page_permissions = sorted(self._t.permissions.get(user.id, []))
        return found

    async def add(self, user: User) -> None:
        for other in self._t.users.values():
            if other.id == user.id or other.email == user.email:
                raise DuplicateKey(user.email)
            if user.google_id is not None and other.google_id == user.google_id:
                raise DuplicateKey(user.google_id)
        self._t.users[user.id] = copy.deepcopy(user)

    async def get(self, user_id: uuid.UUID) -> User | None:
        user = self._t.users.get(user_id)
        return self._out(user) if user else None

    async def by_email(self, email: str) -> User | None:
        return next((self._out(u) for u in self._t.users.values() if u.email == email), None)

    async def by_google_id(self, google_id: str) -> User | None:
        return next(
            (self._out(u) for u in self._t.users.values() if u.google_id == google_id), None
        )

    async def save(self, user: User) -> None:
        assert user.id in self._t.users, "save() of a user that was never added"
        self._t.users[user.id] = copy.deepcopy(user)

    async def page(
        self, roles: list[Role] | None, search: str | None, req: PageRequest
    ) -> Page[User]:
        needle = (search or "").strip().lower()
        found = [
            u
            for u in self._t.users.values()
            if not u.is_deleted
            and (not roles or u.role in roles)
            and (needle in u.email.lower() or needle in (u.full_name or "").lower())
        ]
        found.sort(key=lambda u: (u.created_at, u.id), reverse=True)
        items = [self._out(u) for u in found[req.offset : req.offset + req.page_size]]
        return Page(items=items, total=len(found), page=req.page, page_size=req.page_size)

    async def count_active(self, role: Role) -> int:
        return sum(1 for u in self._t.users.values() if u.role is role and not u.is_deleted)

    async def active_with_roles(self, roles: list[Role]) -> list[User]:
        return [
            self._out(u)
            for u in self._t.users.values()
            if u.role in roles and not u.is_deleted and not u.is_blocked
        ]

    async def set_permissions(self, user_id: uuid.UUID, keys: list[str], by: uuid.UUID) -> None:
        self._t.permissions[user_id] = list(keys)

    async def master_counter(self) -> int:
        return self._t.master_counter

    async def set_master_counter(self, counter: int) -> None:
        self._t.master_counter = counter


class FakeSessions:
    def __init__(self, store: IdentityStore) -> None:
        self._store = store

    @property
    def _t(self) -> IdentityTables:
        return self._store.live

    async def add(self, session: RefreshSession) -> None:
        self._t.sessions[session.id] = copy.deepcopy(session)

    async def by_hash(self, token_hash: str, *, for_update: bool = False) -> RefreshSession | None:
        return next(
            (copy.deepcopy(s) for s in self._t.sessions.values() if s.token_hash == token_hash),
            None,
        )

    async def get(self, session_id: uuid.UUID) -> RefreshSession | None:
        return copy.deepcopy(self._t.sessions.get(session_id))

    async def rotate(self, session_id: uuid.UUID, replaced_by: uuid.UUID, now: datetime) -> bool:
        if self._store.before_rotate is not None:
            self._store.before_rotate(session_id)
        session = self._t.sessions.get(session_id)
        if session is None or session.revoked_at is not None:
            return False
        session.revoked_at = session.last_used_at = now
        session.revoked_reason = RevokeReason.ROTATED
        session.replaced_by_id = replaced_by
        return True

    async def active_for_user(self, user_id: uuid.UUID, now: datetime) -> list[RefreshSession]:
        found = [
            copy.deepcopy(s)
            for s in self._t.sessions.values()
            if s.user_id == user_id and s.is_active(now)
        ]
        return sorted(found, key=lambda s: s.created_at, reverse=True)

    def _revoke(
        self, match: Callable[[RefreshSession], bool], reason: RevokeReason, now: datetime
    ) -> list[uuid.UUID]:
        revoked = []
        for session in self._t.sessions.values():
            if match(session) and session.revoked_at is None:
                session.revoked_at, session.revoked_reason = now, reason
                revoked.append(session.id)
        return revoked

    async def revoke_family(
        self, family_id: uuid.UUID, reason: RevokeReason, now: datetime
    ) -> list[uuid.UUID]:
        return self._revoke(lambda s: s.family_id == family_id, reason, now)

    async def revoke_user(
        self, user_id: uuid.UUID, reason: RevokeReason, now: datetime
    ) -> list[uuid.UUID]:
        return self._revoke(lambda s: s.user_id == user_id, reason, now)

    async def purge(self, expired_before: datetime) -> int:
        gone = [i for i, s in self._t.sessions.items() if s.expires_at < expired_before]
        for session_id in gone:
            del self._t.sessions[session_id]
        return len(gone)


class FakeAccountThrottles:
    def __init__(self, store: IdentityStore) -> None:
        self._store = store

    @property
    def _t(self) -> IdentityTables:
        return self._store.live

    async def get(self, subject: str) -> AccountThrottle | None:
        return copy.deepcopy(self._t.account_throttles.get(subject))

    async def put(self, state: AccountThrottle, expected_failures: int | None) -> bool:
        stored = self._t.account_throttles.get(state.subject)
        if (stored.failures if stored else None) != expected_failures:
            return False
        self._t.account_throttles[state.subject] = copy.deepcopy(state)
        return True

    async def clear(self, subject: str) -> None:
        self._t.account_throttles.pop(subject, None)

    async def purge(self, idle_since: datetime, now: datetime) -> int:
        gone = [
            subject
            for subject, state in self._t.account_throttles.items()
            if state.last_attempt_at < idle_since
            and (state.blocked_until is None or state.blocked_until <= now)
        ]
        for subject in gone:
            del self._t.account_throttles[subject]
        return len(gone)


class FakeOtps:
    def __init__(self, store: IdentityStore) -> None:
        self._store = store

    @property
    def _t(self) -> IdentityTables:
        return self._store.live

    def _of(self, email: str, purpose: OtpPurpose) -> list[OtpCode]:
        found = [c for c in self._t.otps.values() if (c.email, c.purpose) == (email, purpose)]
        return sorted(found, key=lambda c: c.created_at, reverse=True)

    async def add(self, code: OtpCode) -> None:
        self._t.otps[code.id] = copy.deepcopy(code)

    async def live(self, email: str, purpose: OtpPurpose) -> OtpCode | None:
        found = [c for c in self._of(email, purpose) if not (c.consumed_at or c.superseded_at)]
        return copy.deepcopy(found[0]) if found else None

    async def supersede(self, email: str, purpose: OtpPurpose, now: datetime) -> None:
        for code in self._of(email, purpose):
            if code.consumed_at is None and code.superseded_at is None:
                code.superseded_at = now

    async def save(self, code: OtpCode) -> None:
        self._t.otps[code.id] = copy.deepcopy(code)

    async def count_since(self, email: str, purpose: OtpPurpose, since: datetime) -> int:
        return sum(1 for c in self._of(email, purpose) if c.created_at >= since)

    async def newest(self, email: str, purpose: OtpPurpose) -> OtpCode | None:
        found = self._of(email, purpose)
        return copy.deepcopy(found[0]) if found else None

    async def recent(self, email: str, purpose: OtpPurpose, limit: int) -> list[OtpCode]:
        return [copy.deepcopy(c) for c in self._of(email, purpose)[:limit]]

    async def purge(self, created_before: datetime) -> int:
        gone = [i for i, c in self._t.otps.items() if c.created_at < created_before]
        for code_id in gone:
            del self._t.otps[code_id]
        return len(gone)


class FakeVendorKeys:
    def __init__(self, store: IdentityStore) -> None:
        self._store = store

    @property
    def _t(self) -> IdentityTables:
        return self._store.live

    async def add(self, key: VendorKey) -> None:
        self._t.vendor_keys[key.id] = copy.deepcopy(key)

    async def by_prefix(self, prefix: str) -> VendorKey | None:
        return next(
            (copy.deepcopy(k) for k in self._t.vendor_keys.values() if k.key_prefix == prefix),
            None,
        )

    async def get(self, key_id: uuid.UUID) -> VendorKey | None:
        return copy.deepcopy(self._t.vendor_keys.get(key_id))

    async def save(self, key: VendorKey) -> None:
        self._t.vendor_keys[key.id] = copy.deepcopy(key)

    async def all(self) -> list[VendorKey]:
        keys = sorted(self._t.vendor_keys.values(), key=lambda k: k.created_at, reverse=True)
        return copy.deepcopy(keys)


class FakeAudit:
    def __init__(self, store: IdentityStore) -> None:
        self._store = store

    async def append(self, event: AuditEvent) -> None:
        self._store.live.audit.append(event)

    async def page(self, target_user_id: uuid.UUID | None, req: PageRequest) -> Page[AuditEvent]:
        found = [
            e
            for e in reversed(self._store.live.audit)
            if target_user_id is None or e.target_user_id == target_user_id
        ]
        items = found[req.offset : req.offset + req.page_size]
        return Page(items=items, total=len(found), page=req.page, page_size=req.page_size)


class FakeIdentityUnitOfWork:
    """``IdentityUnitOfWork`` over an ``IdentityStore``: identity's repositories and no others."""

    def __init__(self, store: IdentityStore) -> None:
        self._store = store
        self.users: UserRepository = FakeUsers(store)
        self.sessions: SessionRepository = FakeSessions(store)
        self.account_throttles: AccountThrottleRepository = FakeAccountThrottles(store)
        self.otps: OtpRepository = FakeOtps(store)
        self.vendor_keys: VendorKeyRepository = FakeVendorKeys(store)
        self.audit: AuditLog = FakeAudit(store)

    async def __aenter__(self) -> Self:
        self._store.opened += 1
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._store.rollback()

    async def commit(self) -> None:
        self._store.commit()

    async def rollback(self) -> None:
        self._store.rollback()

    def record(self, event: DomainEvent) -> None:
        self._store.live.events.append(event)

    async def send(self, message: OutboxMessage) -> uuid.UUID:
        for kept in self._store.live.outbox:
            if message.idempotency_key and kept.idempotency_key == message.idempotency_key:
                return kept.id
        self._store.live.outbox.append(message)
        return message.id


if TYPE_CHECKING:  # mypy holds every fake to its port
    from mas.core.identity.ports import (
        IdentityProvider,
        PasswordHasher,
        Secrets,
        TokenCodec,
        TotpVerifier,
    )
    from mas.core.platform.ports.clock import SystemClock
    from mas.core.platform.ports.uow import UnitOfWorkFactory

    _store = IdentityStore()
    _secrets: Secrets = FakeSecrets()
    _hasher: PasswordHasher = FakeHasher()
    _codec: TokenCodec = FakeCodec(SystemClock())
    _totp: TotpVerifier = FakeTotp()
    _google: IdentityProvider = FakeIdentityProvider()
    _uow: UnitOfWorkFactory[IdentityUnitOfWork] = _store.uow
