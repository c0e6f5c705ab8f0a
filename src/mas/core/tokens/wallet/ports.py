"""What the wallet part needs from storage and from the LMS, and its view of the unit of work."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Protocol

import msgspec

from mas.core.platform.paging import Page, PageRequest
from mas.core.platform.ports.uow import UnitOfWork
from mas.core.tokens.wallet.model import (
    AllotmentRequest,
    AllotmentStatus,
    Drift,
    Grant,
    GrantStatus,
    WalletState,
)
from mas.core.tokens.wallet.purse import Movement, TokenKind


class WalletRepository(Protocol):
    """Wallet rows and the append-only ledger (``tokens``, ``token_usage``)."""

    async def ensure(self, user_id: uuid.UUID, now: datetime) -> bool:
        """Create the user's wallet unless it exists (False when it did)."""
        ...

    async def lock(self, user_id: uuid.UUID) -> WalletState | None:
        """The wallet, row-locked until the transaction ends (PostgreSQL ``FOR UPDATE``):
        every movement of a user takes this lock first, so its key check, grant read and
        updates are serialized with any other movement of that user."""
        ...

    async def read(self, user_id: uuid.UUID) -> WalletState | None: ...

    async def move(self, user_id: uuid.UUID, kind: TokenKind, delta: int, now: datetime) -> bool:
        """``column = column + delta`` where the result stays ≥ 0 (and the version + 1);
        False when it would not (nothing written)."""
        ...

    async def key_used(self, key: str) -> bool: ...

    async def key_and_grant(
        self, key: str, user_id: uuid.UUID, kind: TokenKind
    ) -> tuple[bool, Grant | None]:
        """Whether ``key`` was used, and the user's ACTIVE grant of ``kind``: one round trip
        (read after the wallet lock, so both see every movement committed before it)."""
        ...

    async def append(self, rows: list[Movement]) -> int:
        """Insert ledger rows, skipping any whose key is taken (never an error that aborts the
        caller's transaction); how many were written."""
        ...

    async def by_keys(self, keys: list[str]) -> list[Movement]: ...

    async def held_for_slot(self, slot_id: uuid.UUID) -> int: ...

    async def history(self, user_id: uuid.UUID, req: PageRequest) -> Page[Movement]:
        """Newest first."""
        ...

    async def user_exists(self, user_id: uuid.UUID) -> bool: ...

    async def find_user(self, ref: str) -> uuid.UUID | None:
        """A user by id or email (the CLI's USER argument)."""
        ...

    async def drifts(
        self, after: uuid.UUID | None, limit: int
    ) -> tuple[list[Drift], int, uuid.UUID | None]:
        """Replay the ledger of the next ``limit`` wallets (by user id, after ``after``) against
        their wallet and grant buckets: the drifts, the wallets checked, the last user id."""
        ...


class GrantRepository(Protocol):
    async def add(self, grant: Grant) -> bool:
        """Insert; False when the user already has an ACTIVE grant of that kind."""
        ...

    async def get(self, grant_id: uuid.UUID) -> Grant | None: ...

    async def active(self, user_id: uuid.UUID, kind: TokenKind) -> Grant | None: ...

    async def set_remaining(
        self,
        grant_id: uuid.UUID,
        remaining: int,
        status: GrantStatus,
        now: datetime,
    ) -> bool:
        """Write remaining and status (closed at ``now`` unless ACTIVE) if the grant is
        still ACTIVE (a CAS)."""
        ...

    async def due(self, now: datetime, limit: int) -> list[Grant]:
        """ACTIVE grants whose expiry has passed."""
        ...


class Contact(msgspec.Struct, frozen=True, kw_only=True):
    """A person as a notice addresses them."""

    id: uuid.UUID
    email: str
    name: str


class AllotmentRepository(Protocol):
    async def add(self, request: AllotmentRequest) -> bool:
        """Insert; False when a PENDING request exists for (student, batch, kind)."""
        ...

    async def get(self, request_id: uuid.UUID) -> AllotmentRequest | None: ...

    async def move(
        self,
        request_id: uuid.UUID,
        target: AllotmentStatus,
        now: datetime,
        decided_by: uuid.UUID | None = None,
        note: str | None = None,
    ) -> AllotmentRequest | None:
        """Move a PENDING request to ``target`` (a CAS on PENDING); None when it was not."""
        ...

    async def of_student(
        self, student_id: uuid.UUID, req: PageRequest
    ) -> Page[AllotmentRequest]: ...

    async def for_decider(
        self, lead_id: uuid.UUID | None, status: AllotmentStatus | None, req: PageRequest
    ) -> Page[AllotmentRequest]:
        """Requests whose batch lead is ``lead_id`` (every request when None), newest first."""
        ...

    async def approved_since(
        self, student_id: uuid.UUID, batch_id: uuid.UUID, since: datetime
    ) -> int:
        """Tokens approved for the student in the batch since ``since``."""
        ...

    async def expire(self, before: datetime, now: datetime) -> list[AllotmentRequest]:
        """PENDING requests created before ``before`` → EXPIRED (one predicate UPDATE)."""
        ...

    async def contacts(self, user_ids: list[uuid.UUID]) -> dict[uuid.UUID, Contact]:
        """The people a request's notices go to (students, leads), by id; unknown ids and
        deleted accounts are left out."""
        ...


class BatchDirectory(Protocol):
    """Batches and their leads, backed by the LMS domain."""

    async def lead_of(self, batch_id: uuid.UUID) -> uuid.UUID | None: ...

    async def is_member(self, student_id: uuid.UUID, batch_id: uuid.UUID) -> bool: ...


class NoBatches:
    """The directory while no LMS exists: there is no batch, so a request for one answers 403
    (the student is in no batch) and nothing waits for a lead."""

    async def lead_of(self, batch_id: uuid.UUID) -> uuid.UUID | None:
        return None

    async def is_member(self, student_id: uuid.UUID, batch_id: uuid.UUID) -> bool:
        return False


class WalletUnitOfWork(UnitOfWork, Protocol):
    token_wallets: WalletRepository
    token_grants: GrantRepository
    token_allotments: AllotmentRepository
