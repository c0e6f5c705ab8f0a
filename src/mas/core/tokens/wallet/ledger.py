"""``LedgerPurse``: the ``Purse`` on the wallet row, the promotional grant and the ledger.

How a movement stays right under concurrency: it first takes the user's wallet row lock
(``WalletRepository.lock``, created on first use so accounts older than the sign-up event
work). Every movement of that user waits there, so the idempotency check that follows sees any
movement committed meanwhile (READ COMMITTED reads a fresh snapshot per statement): two
transactions with the same key move tokens once, and a 100-way race for 10 tokens finds the
balance after each winner. The wallet update is still the guarded ``col = col + delta WHERE
col + delta >= 0`` and the ledger insert still skips a taken key (``ON CONFLICT DO NOTHING``),
so neither relies on the lock alone; a skipped insert after a balance change (a key reused for
another user) raises, and the caller's transaction rolls back.

A movement writes one ledger row per bucket it touched: the first with the caller's key, a
second (the wallet part of a split spend) with ``<key>#2``. ``balance_before``/``after`` are the
total spendable of that kind (wallet + the ACTIVE unexpired grant) around each row.

A refund credits back exactly what the booking took: to the grant it came from while that
grant is still ACTIVE and unexpired, otherwise to the wallet (a closed grant is never revived;
an expired one would only expire the token again).
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import cast

from mas.core.platform.errors import Conflict, NotFound
from mas.core.platform.ids import uuid7
from mas.core.platform.ports.clock import Clock
from mas.core.platform.ports.uow import UnitOfWork
from mas.core.tokens.wallet.model import Grant, GrantStatus, WalletState
from mas.core.tokens.wallet.ports import WalletUnitOfWork
from mas.core.tokens.wallet.purse import (
    Direction,
    InsufficientTokens,
    Movement,
    Source,
    TokenKind,
    UsageType,
)


def book_key(slot_id: uuid.UUID) -> str:
    return f"book:{slot_id}"


def refund_key(slot_id: uuid.UUID) -> str:
    return f"refund:{slot_id}"


def row_keys(key: str) -> list[str]:
    return [key, f"{key}#2"]


class LedgerPurse:
    def __init__(self, clock: Clock) -> None:
        self._clock = clock

    async def credit(
        self,
        uow: UnitOfWork,
        *,
        user_id: uuid.UUID,
        kind: TokenKind,
        tokens: int,
        usage_type: UsageType,
        key: str,
        slot_id: uuid.UUID | None = None,
        reference_id: str | None = None,
        description: str | None = None,
        actor_id: uuid.UUID | None = None,
    ) -> list[Movement] | None:
        _positive(tokens)
        work = cast(WalletUnitOfWork, uow)
        opened = await self._open(work, user_id, kind, key)
        if opened is None:
            return None
        total, _grant = opened
        now = self._clock.now()
        await self._move_wallet(work, user_id, kind, tokens, now)
        row = self._row(
            user_id,
            kind,
            Direction.CREDIT,
            usage_type,
            tokens,
            Source.WALLET,
            total,
            key,
            now,
            slot_id,
            reference_id,
            description,
            actor_id,
        )
        await self._append(work, [row])
        return [row]

    async def debit(
        self,
        uow: UnitOfWork,
        *,
        user_id: uuid.UUID,
        kind: TokenKind,
        tokens: int,
        usage_type: UsageType,
        key: str,
        slot_id: uuid.UUID | None = None,
        reference_id: str | None = None,
        description: str | None = None,
        actor_id: uuid.UUID | None = None,
    ) -> list[Movement] | None:
        _positive(tokens)
        work = cast(WalletUnitOfWork, uow)
        opened = await self._open(work, user_id, kind, key)
        if opened is None:
            return None
        total, grant = opened
        if total < tokens:
            raise InsufficientTokens(
                f"{tokens} {kind.value} token(s) needed, {total} available",
                code="insufficient_tokens",
            )
        now = self._clock.now()
        from_grant = min(tokens, grant.spendable(now)) if grant is not None else 0
        rows: list[Movement] = []
        keys = iter(row_keys(key))
        if grant is not None and from_grant:
            left = grant.tokens_remaining - from_grant
            status = GrantStatus.EXHAUSTED if left == 0 else GrantStatus.ACTIVE
            await self._set_grant(work, grant, left, status, now)
            rows.append(
                self._row(
                    user_id,
                    kind,
                    Direction.DEBIT,
                    usage_type,
                    from_grant,
                    Source.GRANT,
                    total,
                    next(keys),
                    now,
                    slot_id,
                    reference_id or str(grant.id),
                    description,
                    actor_id,
                )
            )
        from_wallet = tokens - from_grant
        if from_wallet:
            await self._move_wallet(work, user_id, kind, -from_wallet, now)
            rows.append(
                self._row(
                    user_id,
                    kind,
                    Direction.DEBIT,
                    usage_type,
                    from_wallet,
                    Source.WALLET,
                    total - from_grant,
                    next(keys),
                    now,
                    slot_id,
                    reference_id,
                    description,
                    actor_id,
                )
            )
        await self._append(work, rows)
        return rows

    async def hold_for_meeting(
        self, uow: UnitOfWork, student_id: uuid.UUID, slot_id: uuid.UUID
    ) -> list[Movement] | None:
        return await self.debit(
            uow,
            user_id=student_id,
            kind=TokenKind.MENTOR,
            tokens=1,
            usage_type=UsageType.MEETING_BOOKING,
            key=book_key(slot_id),
            slot_id=slot_id,
            reference_id=str(slot_id),
            description="meeting booked",
        )

    async def refund_meeting(
        self, uow: UnitOfWork, student_id: uuid.UUID, slot_id: uuid.UUID, reason: str
    ) -> list[Movement] | None:
        work = cast(WalletUnitOfWork, uow)
        key = refund_key(slot_id)
        opened = await self._open(work, student_id, TokenKind.MENTOR, key)
        if opened is None:
            return None
        held = [
            row
            for row in await work.token_wallets.by_keys(row_keys(book_key(slot_id)))
            if row.user_id == student_id
        ]
        if not held:
            return None
        total, grant = opened
        now = self._clock.now()
        rows: list[Movement] = []
        keys = iter(row_keys(key))
        for taken in held:
            back_to_grant = (
                taken.source is Source.GRANT
                and grant is not None
                and grant.spendable(now) > 0
                # one ACTIVE grant per kind at a time: one that existed at booking is the one
                # the token came from
                and grant.created_at <= taken.created_at
                and grant.tokens_remaining + taken.tokens <= grant.tokens_granted
            )
            if back_to_grant and grant is not None:
                await self._set_grant(
                    work, grant, grant.tokens_remaining + taken.tokens, GrantStatus.ACTIVE, now
                )
                grant.tokens_remaining += taken.tokens
                source = Source.GRANT
            else:
                await self._move_wallet(work, student_id, TokenKind.MENTOR, taken.tokens, now)
                source = Source.WALLET
            rows.append(
                self._row(
                    student_id,
                    TokenKind.MENTOR,
                    Direction.CREDIT,
                    UsageType.REFUND,
                    taken.tokens,
                    source,
                    total,
                    next(keys),
                    now,
                    slot_id,
                    str(slot_id),
                    reason[:500],
                    None,
                )
            )
            total += taken.tokens
        await self._append(work, rows)
        return rows

    async def held_for_slot(self, uow: UnitOfWork, slot_id: uuid.UUID) -> int:
        return await cast(WalletUnitOfWork, uow).token_wallets.held_for_slot(slot_id)

    async def open_grant(
        self, uow: UnitOfWork, grant: Grant, actor_id: uuid.UUID | None
    ) -> Movement | None:
        """Record a new ACTIVE grant and its ``promo_grant`` credit (key ``grant:<id>``);
        None when the user already has an ACTIVE grant of that kind."""
        work = cast(WalletUnitOfWork, uow)
        key = f"grant:{grant.id}"
        opened = await self._open(work, grant.user_id, grant.token_kind, key)
        if opened is None:
            return None
        total, active = opened
        if active is not None and active.expires_at <= grant.created_at:
            # past its expiry, waiting for the hourly job: close it now (its total is already
            # out of ``total``) so that it does not block the new grant
            await self.close_grant(uow, active.id, GrantStatus.EXPIRED, None)
            active = None
        if active is not None or not await work.token_grants.add(grant):
            return None
        row = self._row(
            grant.user_id,
            grant.token_kind,
            Direction.CREDIT,
            UsageType.PROMO_GRANT,
            grant.tokens_granted,
            Source.GRANT,
            total,
            key,
            grant.created_at,
            None,
            str(grant.id),
            grant.reason,
            actor_id,
        )
        await self._append(work, [row])
        return row

    async def close_grant(
        self,
        uow: UnitOfWork,
        grant_id: uuid.UUID,
        target: GrantStatus,
        actor_id: uuid.UUID | None,
    ) -> Grant | None:
        """Close an ACTIVE grant (EXPIRED or REVOKED) and debit what remains of it
        (``promo_expiry`` / ``admin_adjustment``, key ``<status>:<grant>``). None when the
        grant is no longer ACTIVE (another closer won)."""
        work = cast(WalletUnitOfWork, uow)
        found = await work.token_grants.get(grant_id)
        if found is None:
            raise NotFound("no such grant", code="grant_not_found")
        key = f"{target.value.lower()}:{grant_id}"
        opened = await self._open(work, found.user_id, found.token_kind, key)
        if opened is None:
            return None
        grant = await work.token_grants.get(grant_id)  # read again under the wallet lock
        if grant is None or grant.status is not GrantStatus.ACTIVE:
            return None
        now = self._clock.now()
        remaining = grant.tokens_remaining
        if not await work.token_grants.set_remaining(grant.id, 0, target, now):
            return None
        if remaining:
            wallet = await work.token_wallets.read(grant.user_id)
            before = (wallet.of(grant.token_kind) if wallet else 0) + remaining
            usage = (
                UsageType.PROMO_EXPIRY
                if target is GrantStatus.EXPIRED
                else UsageType.ADMIN_ADJUSTMENT
            )
            row = self._row(
                grant.user_id,
                grant.token_kind,
                Direction.DEBIT,
                usage,
                remaining,
                Source.GRANT,
                before,
                key,
                now,
                None,
                str(grant.id),
                f"grant {target.value.lower()}",
                actor_id,
            )
            await self._append(work, [row])
        grant.status, grant.tokens_remaining, grant.closed_at = target, 0, now
        return grant

    async def _open(
        self, work: WalletUnitOfWork, user_id: uuid.UUID, kind: TokenKind, key: str
    ) -> tuple[int, Grant | None] | None:
        """Lock the wallet (creating it), then: None when ``key`` was used, else the total
        spendable of ``kind`` and the ACTIVE grant."""
        wallet = await work.token_wallets.lock(user_id)
        if wallet is None:
            if not await work.token_wallets.user_exists(user_id):
                raise NotFound("no such user", code="user_not_found")
            await work.token_wallets.ensure(user_id, self._clock.now())
            wallet = await work.token_wallets.lock(user_id)
            assert wallet is not None
        used, grant = await work.token_wallets.key_and_grant(key, user_id, kind)
        if used:
            return None
        spendable = grant.spendable(self._clock.now()) if grant is not None else 0
        return _total(wallet, kind, spendable), grant

    async def _move_wallet(
        self, work: WalletUnitOfWork, user_id: uuid.UUID, kind: TokenKind, delta: int, now: datetime
    ) -> None:
        if not await work.token_wallets.move(user_id, kind, delta, now):
            raise InsufficientTokens(
                f"the {kind.value} wallet does not cover {-delta} token(s)",
                code="insufficient_tokens",
            )

    async def _set_grant(
        self, work: WalletUnitOfWork, grant: Grant, left: int, status: GrantStatus, now: datetime
    ) -> None:
        if not await work.token_grants.set_remaining(grant.id, left, status, now):
            raise Conflict("the grant changed meanwhile; try again", code="grant_changed")

    async def _append(self, work: WalletUnitOfWork, rows: list[Movement]) -> None:
        if await work.token_wallets.append(rows) != len(rows):
            raise Conflict(
                f"ledger key {rows[0].key!r} is already used by another movement",
                code="ledger_key_taken",
            )

    def _row(
        self,
        user_id: uuid.UUID,
        kind: TokenKind,
        direction: Direction,
        usage_type: UsageType,
        tokens: int,
        source: Source,
        before: int,
        key: str,
        now: datetime,
        slot_id: uuid.UUID | None,
        reference_id: str | None,
        description: str | None,
        actor_id: uuid.UUID | None,
    ) -> Movement:
        sign = 1 if direction is Direction.CREDIT else -1
        return Movement(
            id=uuid7(),
            user_id=user_id,
            kind=kind,
            direction=direction,
            usage_type=usage_type,
            tokens=tokens,
            source=source,
            balance_before=before,
            balance_after=before + sign * tokens,
            key=key,
            created_at=now,
            slot_id=slot_id,
            reference_id=reference_id,
            description=description,
            actor_id=actor_id,
        )


def _total(wallet: WalletState, kind: TokenKind, spendable_grant: int) -> int:
    return wallet.of(kind) + spendable_grant


def _positive(tokens: int) -> None:
    if tokens < 1:
        raise ValueError(f"a movement takes a positive token count, not {tokens}")
