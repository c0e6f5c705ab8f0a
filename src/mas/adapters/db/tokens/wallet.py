"""The wallet part's repositories on SQLAlchemy Core (SQLite and PostgreSQL alike).

The purse's hot path is a handful of short statements per movement: the wallet row read
``FOR UPDATE`` (the per-user serialization point; SQLite has one writer at a time and ignores
it), the key lookup, the active grant, the guarded wallet ``UPDATE … WHERE col + delta >= 0``
and the ledger ``INSERT … ON CONFLICT DO NOTHING``, which never aborts the caller's transaction.
The drift check replays the ledger per user with two grouped sums over a chunk of wallets.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, and_, bindparam, case, func, literal, or_, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from mas.adapters.db.comms.notifications import upsert_for
from mas.adapters.db.identity.tables import UserRow
from mas.adapters.db.tokens.wallet_tables import (
    AllotmentRequestRow,
    PromotionalGrantRow,
    TokenWalletRow,
    token_usage,
)
from mas.core.platform.ids import uuid7
from mas.core.platform.paging import Page, PageRequest
from mas.core.tokens.wallet.model import (
    AllotmentRequest,
    AllotmentStatus,
    Drift,
    Grant,
    GrantStatus,
    WalletState,
)
from mas.core.tokens.wallet.ports import Contact
from mas.core.tokens.wallet.purse import Direction, Movement, Source, TokenKind, UsageType

WALLETS = cast(Table, TokenWalletRow.__table__)
GRANTS = cast(Table, PromotionalGrantRow.__table__)
ALLOTMENTS = cast(Table, AllotmentRequestRow.__table__)
USERS = cast(Table, UserRow.__table__)
LEDGER = token_usage
ACTIVE = GrantStatus.ACTIVE.value
PENDING = AllotmentStatus.PENDING.value


class _Statements:
    """The purse's hot statements, built once with bound parameters (the same text on both
    databases): building and caching a statement per call cost more CPU than its round trip."""

    def __init__(self) -> None:
        user: Any = bindparam("owner")
        self.lock = (
            select(WALLETS.c.token, WALLETS.c.resume_tokens)
            .where(WALLETS.c.user_id == user)
            .with_for_update()
        )
        self.read = select(WALLETS.c.token, WALLETS.c.resume_tokens).where(
            WALLETS.c.user_id == user
        )
        used = (
            select(LEDGER.c.id)
            .where(LEDGER.c.idempotency_key == bindparam("key"))
            .limit(1)
            .scalar_subquery()
        )
        self.key_used = select(used.label("used"))
        self.key_and_grant = select(used.label("used"), *GRANTS.c).select_from(
            select(literal(1).label("one"))
            .subquery("anchor")
            .outerjoin(
                GRANTS,
                and_(
                    GRANTS.c.user_id == user,
                    GRANTS.c.token_kind == bindparam("kind"),
                    GRANTS.c.status == ACTIVE,
                ),
            )
        )
        self.move = {
            kind: update(WALLETS)
            .where(WALLETS.c.user_id == user, _column(kind) + bindparam("delta") >= 0)
            .values(
                {
                    _column(kind).name: _column(kind) + bindparam("delta"),
                    "version": WALLETS.c.version + 1,
                    "updated_at": bindparam("at"),
                }
            )
            for kind in TokenKind
        }
        # Written out: the dialects' ``insert().on_conflict_do_nothing()`` has no cache key,
        # so SQLAlchemy compiled it again on every booking.
        names = [column.name for column in LEDGER.c]
        self.append = text(
            f"INSERT INTO token_usage ({', '.join(names)}) "
            f"VALUES ({', '.join(':' + name for name in names)}) "
            "ON CONFLICT (idempotency_key) DO NOTHING RETURNING id"
        ).bindparams(*(bindparam(column.name, type_=column.type) for column in LEDGER.c))


def _column(kind: TokenKind) -> Any:
    return WALLETS.c.token if kind is TokenKind.MENTOR else WALLETS.c.resume_tokens


def _signed() -> Any:
    return case(
        (LEDGER.c.direction == Direction.CREDIT.value, LEDGER.c.tokens_used),
        else_=-LEDGER.c.tokens_used,
    )


STATEMENTS = _Statements()


def _movement(row: Any) -> Movement:
    return Movement(
        id=row.id,
        user_id=row.user_id,
        kind=TokenKind(row.token_kind),
        direction=Direction(row.direction),
        usage_type=UsageType(row.usage_type),
        tokens=row.tokens_used,
        source=Source(row.source),
        balance_before=row.balance_before,
        balance_after=row.balance_after,
        key=row.idempotency_key,
        created_at=row.created_at,
        slot_id=row.slot_id,
        reference_id=row.reference_id,
        description=row.description,
        actor_id=row.actor_id,
    )


def _ledger_values(row: Movement) -> dict[str, Any]:
    return {
        "id": row.id,
        "user_id": row.user_id,
        "slot_id": row.slot_id,
        "usage_type": row.usage_type.value,
        "token_kind": row.kind.value,
        "direction": row.direction.value,
        "tokens_used": row.tokens,
        "source": row.source.value,
        "balance_before": row.balance_before,
        "balance_after": row.balance_after,
        "description": row.description,
        "reference_id": row.reference_id,
        "idempotency_key": row.key,
        "actor_id": row.actor_id,
        "created_at": row.created_at,
    }


class SqlWalletRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._s = session

    async def ensure(self, user_id: uuid.UUID, now: datetime) -> bool:
        statement = (
            upsert_for(self._s)(WALLETS)
            .values(
                id=uuid7(),
                user_id=user_id,
                token=0,
                resume_tokens=0,
                version=1,
                created_at=now,
                updated_at=now,
            )
            .on_conflict_do_nothing(index_elements=[WALLETS.c.user_id])
            .returning(WALLETS.c.id)
        )
        return (await self._s.execute(statement)).first() is not None

    async def lock(self, user_id: uuid.UUID) -> WalletState | None:
        conn = await self._s.connection()
        found = (await conn.execute(STATEMENTS.lock, {"owner": user_id})).first()
        return WalletState(mentor=found[0], resume=found[1]) if found is not None else None

    async def read(self, user_id: uuid.UUID) -> WalletState | None:
        conn = await self._s.connection()
        found = (await conn.execute(STATEMENTS.read, {"owner": user_id})).first()
        return WalletState(mentor=found[0], resume=found[1]) if found is not None else None

    async def move(self, user_id: uuid.UUID, kind: TokenKind, delta: int, now: datetime) -> bool:
        conn = await self._s.connection()
        done = await conn.execute(
            STATEMENTS.move[kind], {"owner": user_id, "delta": delta, "at": now}
        )
        return bool(cast(Any, done).rowcount == 1)

    async def key_used(self, key: str) -> bool:
        conn = await self._s.connection()
        return (await conn.scalar(STATEMENTS.key_used, {"key": key})) is not None

    async def key_and_grant(
        self, key: str, user_id: uuid.UUID, kind: TokenKind
    ) -> tuple[bool, Grant | None]:
        conn = await self._s.connection()
        found = (
            await conn.execute(
                STATEMENTS.key_and_grant,
                {"key": key, "owner": user_id, "kind": kind.value},
            )
        ).one()
        return found.used is not None, _grant(found) if found.id is not None else None

    async def append(self, rows: list[Movement]) -> int:
        conn = await self._s.connection()
        written = 0
        for row in rows:
            done = await conn.execute(STATEMENTS.append, _ledger_values(row))
            if done.first() is not None:
                written += 1
        return written

    async def by_keys(self, keys: list[str]) -> list[Movement]:
        found = await self._s.execute(
            select(LEDGER).where(LEDGER.c.idempotency_key.in_(keys)).order_by(LEDGER.c.id)
        )
        return [_movement(row) for row in found]

    async def held_for_slot(self, slot_id: uuid.UUID) -> int:
        held = await self._s.scalar(
            select(func.coalesce(func.sum(-_signed()), 0)).where(
                LEDGER.c.slot_id == slot_id,
                LEDGER.c.token_kind == TokenKind.MENTOR.value,
                LEDGER.c.usage_type.in_([UsageType.MEETING_BOOKING.value, UsageType.REFUND.value]),
            )
        )
        return int(held or 0)

    async def history(self, user_id: uuid.UUID, req: PageRequest) -> Page[Movement]:
        total = await self._s.scalar(
            select(func.count()).select_from(LEDGER).where(LEDGER.c.user_id == user_id)
        )
        found = await self._s.execute(
            select(LEDGER)
            .where(LEDGER.c.user_id == user_id)
            .order_by(LEDGER.c.created_at.desc(), LEDGER.c.id.desc())
            .offset(req.offset)
            .limit(req.page_size)
        )
        return Page(
            items=[_movement(row) for row in found],
            total=int(total or 0),
            page=req.page,
            page_size=req.page_size,
        )

    async def user_exists(self, user_id: uuid.UUID) -> bool:
        found = await self._s.scalar(
            select(USERS.c.id).where(USERS.c.id == user_id, USERS.c.deleted_at.is_(None))
        )
        return found is not None

    async def find_user(self, ref: str) -> uuid.UUID | None:
        try:
            by_id: Any = USERS.c.id == uuid.UUID(ref)
        except ValueError:
            by_id = None
        by_email = func.lower(USERS.c.email) == ref.strip().lower()
        where = or_(by_id, by_email) if by_id is not None else by_email
        return cast(uuid.UUID | None, await self._s.scalar(select(USERS.c.id).where(where)))

    async def drifts(
        self, after: uuid.UUID | None, limit: int
    ) -> tuple[list[Drift], int, uuid.UUID | None]:
        query = select(WALLETS.c.user_id, WALLETS.c.token, WALLETS.c.resume_tokens)
        if after is not None:
            query = query.where(WALLETS.c.user_id > after)
        wallets = (await self._s.execute(query.order_by(WALLETS.c.user_id).limit(limit))).all()
        if not wallets:
            return [], 0, None
        users = [row.user_id for row in wallets]
        replay: dict[tuple[uuid.UUID, str, str], int] = {}
        sums = await self._s.execute(
            select(LEDGER.c.user_id, LEDGER.c.token_kind, LEDGER.c.source, func.sum(_signed()))
            .where(LEDGER.c.user_id.in_(users))
            .group_by(LEDGER.c.user_id, LEDGER.c.token_kind, LEDGER.c.source)
        )
        for user_id, kind, source, total in sums:
            replay[(user_id, kind, source)] = int(total or 0)
        grants: dict[tuple[uuid.UUID, str], int] = {}
        held = await self._s.execute(
            select(GRANTS.c.user_id, GRANTS.c.token_kind, func.sum(GRANTS.c.tokens_remaining))
            .where(GRANTS.c.user_id.in_(users))
            .group_by(GRANTS.c.user_id, GRANTS.c.token_kind)
        )
        for user_id, kind, total in held:
            grants[(user_id, kind)] = int(total or 0)
        drifts: list[Drift] = []
        for row in wallets:
            for kind, stored in (
                (TokenKind.MENTOR, row.token),
                (TokenKind.RESUME, row.resume_tokens),
            ):
                buckets = (
                    (Source.WALLET, stored),
                    (Source.GRANT, grants.get((row.user_id, kind.value), 0)),
                )
                for source, value in buckets:
                    ledger = replay.get((row.user_id, kind.value, source.value), 0)
                    if ledger != value:
                        drifts.append(
                            Drift(
                                user_id=row.user_id,
                                kind=kind,
                                bucket=source.value,
                                stored=value,
                                ledger=ledger,
                            )
                        )
        last = users[-1] if len(users) == limit else None
        return drifts, len(users), last


def _grant(row: Any) -> Grant:
    return Grant(
        id=row.id,
        user_id=row.user_id,
        token_kind=TokenKind(row.token_kind),
        tokens_granted=row.tokens_granted,
        tokens_remaining=row.tokens_remaining,
        expires_at=row.expires_at,
        reason=row.reason,
        granted_by=row.granted_by,
        status=GrantStatus(row.status),
        created_at=row.created_at,
        closed_at=row.closed_at,
    )


class SqlGrantRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._s = session

    async def add(self, grant: Grant) -> bool:
        statement = (
            upsert_for(self._s)(GRANTS)
            .values(
                id=grant.id,
                user_id=grant.user_id,
                token_kind=grant.token_kind.value,
                tokens_granted=grant.tokens_granted,
                tokens_remaining=grant.tokens_remaining,
                expires_at=grant.expires_at,
                reason=grant.reason,
                granted_by=grant.granted_by,
                status=grant.status.value,
                created_at=grant.created_at,
                updated_at=grant.created_at,
            )
            .on_conflict_do_nothing()
            .returning(GRANTS.c.id)
        )
        return (await self._s.execute(statement)).first() is not None

    async def get(self, grant_id: uuid.UUID) -> Grant | None:
        found = (await self._s.execute(select(GRANTS).where(GRANTS.c.id == grant_id))).first()
        return _grant(found) if found is not None else None

    async def active(self, user_id: uuid.UUID, kind: TokenKind) -> Grant | None:
        found = (
            await self._s.execute(
                select(GRANTS).where(
                    GRANTS.c.user_id == user_id,
                    GRANTS.c.token_kind == kind.value,
                    GRANTS.c.status == ACTIVE,
                )
            )
        ).first()
        return _grant(found) if found is not None else None

    async def set_remaining(
        self,
        grant_id: uuid.UUID,
        remaining: int,
        status: GrantStatus,
        now: datetime,
    ) -> bool:
        closed_at = now if status is not GrantStatus.ACTIVE else None
        done = await self._s.execute(
            update(GRANTS)
            .where(GRANTS.c.id == grant_id, GRANTS.c.status == ACTIVE)
            .values(
                tokens_remaining=remaining,
                status=status.value,
                closed_at=closed_at,
                updated_at=now,
            )
        )
        return bool(cast(Any, done).rowcount == 1)

    async def due(self, now: datetime, limit: int) -> list[Grant]:
        found = await self._s.execute(
            select(GRANTS)
            .where(GRANTS.c.status == ACTIVE, GRANTS.c.expires_at <= now)
            .order_by(GRANTS.c.expires_at)
            .limit(limit)
        )
        return [_grant(row) for row in found]


def _request(row: Any) -> AllotmentRequest:
    return AllotmentRequest(
        id=row.id,
        student_id=row.student_id,
        batch_id=row.batch_id,
        batch_lead_id=row.batch_lead_id,
        token_kind=TokenKind(row.token_kind),
        tokens_requested=row.tokens_requested,
        reason=row.reason,
        status=AllotmentStatus(row.status),
        created_at=row.created_at,
        updated_at=row.updated_at,
        decided_by=row.decided_by,
        decided_at=row.decided_at,
        decision_note=row.decision_note,
    )


class SqlAllotmentRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._s = session

    async def add(self, request: AllotmentRequest) -> bool:
        statement = (
            upsert_for(self._s)(ALLOTMENTS)
            .values(
                id=request.id,
                student_id=request.student_id,
                batch_id=request.batch_id,
                batch_lead_id=request.batch_lead_id,
                token_kind=request.token_kind.value,
                tokens_requested=request.tokens_requested,
                reason=request.reason,
                status=request.status.value,
                created_at=request.created_at,
                updated_at=request.updated_at,
            )
            .on_conflict_do_nothing()
            .returning(ALLOTMENTS.c.id)
        )
        return (await self._s.execute(statement)).first() is not None

    async def get(self, request_id: uuid.UUID) -> AllotmentRequest | None:
        found = (
            await self._s.execute(select(ALLOTMENTS).where(ALLOTMENTS.c.id == request_id))
        ).first()
        return _request(found) if found is not None else None

    async def move(
        self,
        request_id: uuid.UUID,
        target: AllotmentStatus,
        now: datetime,
        decided_by: uuid.UUID | None = None,
        note: str | None = None,
    ) -> AllotmentRequest | None:
        found = (
            await self._s.execute(
                update(ALLOTMENTS)
                .where(ALLOTMENTS.c.id == request_id, ALLOTMENTS.c.status == PENDING)
                .values(
                    status=target.value,
                    decided_by=decided_by,
                    decided_at=now,
                    decision_note=note,
                    updated_at=now,
                )
                .returning(*ALLOTMENTS.c)
            )
        ).first()
        return _request(found) if found is not None else None

    async def _page(self, where: list[Any], req: PageRequest) -> Page[AllotmentRequest]:
        total = await self._s.scalar(select(func.count()).select_from(ALLOTMENTS).where(*where))
        found = await self._s.execute(
            select(ALLOTMENTS)
            .where(*where)
            .order_by(ALLOTMENTS.c.created_at.desc(), ALLOTMENTS.c.id.desc())
            .offset(req.offset)
            .limit(req.page_size)
        )
        return Page(
            items=[_request(row) for row in found],
            total=int(total or 0),
            page=req.page,
            page_size=req.page_size,
        )

    async def of_student(self, student_id: uuid.UUID, req: PageRequest) -> Page[AllotmentRequest]:
        return await self._page([ALLOTMENTS.c.student_id == student_id], req)

    async def for_decider(
        self, lead_id: uuid.UUID | None, status: AllotmentStatus | None, req: PageRequest
    ) -> Page[AllotmentRequest]:
        where: list[Any] = []
        if lead_id is not None:
            where.append(ALLOTMENTS.c.batch_lead_id == lead_id)
        if status is not None:
            where.append(ALLOTMENTS.c.status == status.value)
        return await self._page(where, req)

    async def approved_since(
        self, student_id: uuid.UUID, batch_id: uuid.UUID, since: datetime
    ) -> int:
        total = await self._s.scalar(
            select(func.coalesce(func.sum(ALLOTMENTS.c.tokens_requested), 0)).where(
                and_(
                    ALLOTMENTS.c.student_id == student_id,
                    ALLOTMENTS.c.batch_id == batch_id,
                    ALLOTMENTS.c.status == AllotmentStatus.APPROVED.value,
                    ALLOTMENTS.c.decided_at >= since,
                )
            )
        )
        return int(total or 0)

    async def expire(self, before: datetime, now: datetime) -> list[AllotmentRequest]:
        found = await self._s.execute(
            update(ALLOTMENTS)
            .where(ALLOTMENTS.c.status == PENDING, ALLOTMENTS.c.created_at < before)
            .values(status=AllotmentStatus.EXPIRED.value, updated_at=now)
            .returning(*ALLOTMENTS.c)
        )
        return [_request(row) for row in found]

    async def contacts(self, user_ids: list[uuid.UUID]) -> dict[uuid.UUID, Contact]:
        if not user_ids:
            return {}
        found = await self._s.execute(
            select(USERS.c.id, USERS.c.email, USERS.c.full_name).where(
                USERS.c.id.in_(set(user_ids)), USERS.c.deleted_at.is_(None)
            )
        )
        return {
            row.id: Contact(
                id=row.id,
                email=row.email,
                name=(row.full_name or "").strip() or row.email.split("@")[0],
            )
            for row in found
        }
