"""Reading and correcting wallets: a person's balance and history, an admin's grants,
adjustments and manual debits, the ledger of anyone, and the daily drift check.

Every admin money action refuses an impersonation session (tokens-earnings.md §8).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable
from datetime import timedelta

from mas.core.identity.policy import Caller
from mas.core.platform.errors import Conflict, Forbidden, NotFound, ValidationFailed
from mas.core.platform.ids import uuid7
from mas.core.platform.paging import Page, PageRequest
from mas.core.platform.ports.clock import Clock
from mas.core.platform.ports.uow import UnitOfWorkFactory
from mas.core.tokens.wallet.ledger import LedgerPurse
from mas.core.tokens.wallet.model import (
    GRANT_MAX_DAYS,
    Adjustment,
    Balance,
    DriftReport,
    Grant,
    GrantStatus,
    KindBalance,
    ManualDebit,
    MovementResult,
    NewGrant,
    check_grant_move,
)
from mas.core.tokens.wallet.ports import WalletUnitOfWork
from mas.core.tokens.wallet.purse import Movement, TokenKind, UsageType

log = logging.getLogger("mas.tokens.wallet")
Move = Callable[..., Awaitable[list[Movement] | None]]
CHECK_CHUNK = 500


def no_impersonation(caller: Caller) -> None:
    if caller.impersonated_by is not None:
        raise Forbidden(
            "money actions are refused while impersonating", code="impersonation_refused"
        )


class WalletAccounts:
    def __init__(
        self, uow: UnitOfWorkFactory[WalletUnitOfWork], clock: Clock, purse: LedgerPurse
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._purse = purse

    async def open_wallet(self, user_id: uuid.UUID) -> bool:
        """Create the wallet of a new account (the ``UserSignedUp`` subscription); idempotent."""
        async with self._uow() as uow:
            created = await uow.token_wallets.ensure(user_id, self._clock.now())
            await uow.commit()
        return created

    async def balance(self, user_id: uuid.UUID) -> Balance:
        now = self._clock.now()
        async with self._uow() as uow:
            wallet = await uow.token_wallets.read(user_id)
            if wallet is None:
                await uow.token_wallets.ensure(user_id, now)
                await uow.commit()
            kinds = {}
            for kind in TokenKind:
                grant = await uow.token_grants.active(user_id, kind)
                promo = grant.spendable(now) if grant is not None else 0
                held = wallet.of(kind) if wallet is not None else 0
                kinds[kind] = KindBalance(
                    wallet=held,
                    promo=promo,
                    promo_expires_at=grant.expires_at if grant is not None and promo else None,
                    total=held + promo,
                )
        return Balance(mentor=kinds[TokenKind.MENTOR], resume=kinds[TokenKind.RESUME])

    async def history(self, user_id: uuid.UUID, req: PageRequest) -> Page[Movement]:
        async with self._uow() as uow:
            return await uow.token_wallets.history(user_id, req)

    async def ledger_of(self, user_id: uuid.UUID, req: PageRequest) -> Page[Movement]:
        async with self._uow() as uow:
            if not await uow.token_wallets.user_exists(user_id):
                raise NotFound("no such user", code="user_not_found")
            return await uow.token_wallets.history(user_id, req)

    async def find_user(self, ref: str) -> uuid.UUID:
        async with self._uow() as uow:
            found = await uow.token_wallets.find_user(ref)
        if found is None:
            raise NotFound(f"no user {ref!r}", code="user_not_found")
        return found

    async def grant(self, caller: Caller, data: NewGrant) -> Grant:
        no_impersonation(caller)
        now = self._clock.now()
        if not now < data.expires_at <= now + timedelta(days=GRANT_MAX_DAYS):
            raise ValidationFailed(
                f"expires_at must be in the future, within {GRANT_MAX_DAYS} days",
                code="grant_expiry_out_of_range",
            )
        grant = Grant(
            id=uuid7(),
            user_id=data.user_id,
            token_kind=data.token_kind,
            tokens_granted=data.token_count,
            tokens_remaining=data.token_count,
            expires_at=data.expires_at,
            reason=data.reason,
            granted_by=caller.user_id,
            status=GrantStatus.ACTIVE,
            created_at=now,
        )
        async with self._uow() as uow:
            if not await uow.token_wallets.user_exists(caller.user_id):
                grant.granted_by = None  # the console operator is no account
            if await self._purse.open_grant(uow, grant, caller.user_id) is None:
                raise Conflict(
                    f"the user already has an ACTIVE {data.token_kind.value} grant",
                    code="grant_active_exists",
                )
            await uow.commit()
        log.info(
            "tokens.grant_opened", extra={"grant_id": str(grant.id), "tokens": data.token_count}
        )
        return grant

    async def revoke(self, caller: Caller, grant_id: uuid.UUID) -> Grant:
        no_impersonation(caller)
        async with self._uow() as uow:
            found = await uow.token_grants.get(grant_id)
            if found is None:
                raise NotFound("no such grant", code="grant_not_found")
            check_grant_move(found.status, GrantStatus.REVOKED)
            closed = await self._purse.close_grant(
                uow, grant_id, GrantStatus.REVOKED, caller.user_id
            )
            if closed is None:
                raise Conflict("the grant was closed meanwhile", code="illegal_transition")
            await uow.commit()
        return closed

    async def expire_grants(self, limit: int = 500) -> int:
        """ACTIVE grants past expiry → EXPIRED, their remaining debited (``promo_expiry``)."""
        async with self._uow() as uow:
            due = await uow.token_grants.due(self._clock.now(), limit)
        expired = 0
        for grant in due:
            async with self._uow() as uow:
                if await self._purse.close_grant(uow, grant.id, GrantStatus.EXPIRED, None):
                    expired += 1
                await uow.commit()
        return expired

    async def adjust(self, caller: Caller, data: Adjustment) -> MovementResult:
        no_impersonation(caller)
        if data.token_delta == 0:
            raise ValidationFailed("token_delta must not be 0", code="adjustment_zero")
        move = self._purse.credit if data.token_delta > 0 else self._purse.debit
        return await self._manual(
            move,
            caller,
            data.user_id,
            data.token_kind,
            abs(data.token_delta),
            UsageType.ADMIN_ADJUSTMENT,
            data.reason,
            f"adjust:{data.idempotency_key}",
        )

    async def deduct(self, caller: Caller, data: ManualDebit) -> MovementResult:
        no_impersonation(caller)
        return await self._manual(
            self._purse.debit,
            caller,
            data.user_id,
            data.kind,
            data.token_count,
            UsageType.PENALTY,
            data.reason,
            f"deduct:{data.idempotency_key}",
        )

    async def _manual(
        self,
        move: Move,
        caller: Caller,
        user_id: uuid.UUID,
        kind: TokenKind,
        tokens: int,
        usage: UsageType,
        reason: str,
        key: str,
    ) -> MovementResult:
        async with self._uow() as uow:
            rows = await move(
                uow,
                user_id=user_id,
                kind=kind,
                tokens=tokens,
                usage_type=usage,
                key=key,
                description=reason,
                actor_id=caller.user_id,
            )
            await uow.commit()
        return MovementResult(applied=rows is not None, rows=rows or [])

    async def check(self) -> DriftReport:
        """Replay every wallet's ledger against its buckets, in chunks; reports, never fixes."""
        drifts, checked, after = [], 0, None
        while True:
            async with self._uow() as uow:
                found, count, after = await uow.token_wallets.drifts(after, CHECK_CHUNK)
            drifts += found
            checked += count
            if after is None:
                break
        for drift in drifts:
            log.error(
                "tokens.ledger_drift",
                extra={
                    "user_id": str(drift.user_id),
                    "kind": drift.kind.value,
                    "bucket": drift.bucket,
                    "stored": drift.stored,
                    "ledger": drift.ledger,
                },
            )
        log.info("tokens.ledger_checked", extra={"users": checked, "drifts": len(drifts)})
        return DriftReport(users_checked=checked, drifts=drifts)
