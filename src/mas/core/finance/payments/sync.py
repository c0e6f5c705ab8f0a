"""``finance.sync_global_payments`` (payments-finance.md §6, §8): page Razorpay's payments into
the mirror.

A run covers a window ``[from, to]`` (unix seconds, as Razorpay takes them): the cron's is
``last_synced_to − 24 h`` up to now (a payment created before the cursor but captured or
refunded since is seen again); an on-demand run's is what FINANCE asked for (≤ 31 days). It
pages ``GET /v1/payments?from&to&count=100&skip`` until a short page, mirroring every ten pages
in one transaction while the next ten are fetched. Razorpay lists newest first, so a payment
created while the run pages pushes the others down a place: a row is seen twice, never missed,
and the upsert makes the repeat a no-op.

One run at a time: the state row is the lock (a lease renewed as pages go by, so a dead
worker's run is taken over once its lease lapses). The cursor moves only after the whole window
succeeded, and only forward over a window that joins it: an outage mid-window fails the run
(retried by the job's policy) and leaves the cursor where it was, so the next run covers the
gap. Without Razorpay keys a run records ``pending_config`` and does nothing else.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import msgspec

from mas.core.finance.payments.mirroring import MirrorReport, PaymentMirror
from mas.core.finance.payments.model import MAX_SYNC_DAYS, SyncState
from mas.core.finance.payments.ports import PaymentsUnitOfWork
from mas.core.platform.errors import Conflict, FieldError, Transient, ValidationFailed
from mas.core.platform.ids import uuid7
from mas.core.platform.ports.clock import Clock
from mas.core.platform.ports.payments import GatewayPayment, PaymentPort
from mas.core.platform.ports.uow import UnitOfWorkFactory

log = logging.getLogger("mas.finance.payments")

PAGE = 100
"""Razorpay's largest ``count``."""
BATCH = 1000
"""Payments mirrored per transaction (ten pages): one upsert, one purchase lookup and one
commit per thousand payments instead of per hundred."""
OVERLAP = timedelta(hours=24)
LEASE_S = 1800.0
RENEW_EVERY = 20
"""Pages between lease renewals."""

Gateway = Callable[[], PaymentPort | None]
Progress = Callable[[MirrorReport, datetime | None], None]
"""Told after each batch: the totals so far and the oldest creation time in the batch
(Razorpay lists newest first, so the window is done from there to its end)."""


class SyncWindow(msgspec.Struct, frozen=True, kw_only=True):
    """The job's message: an on-demand window, or none (the cron: from the cursor to now)."""

    from_ts: int | None = None
    to_ts: int | None = None


class SyncReport(msgspec.Struct, frozen=True, kw_only=True):
    status: str
    """``ok``, ``pending_config`` or ``busy`` (another run holds the lock)."""
    window_from: datetime | None = None
    window_to: datetime | None = None
    pages: int = 0
    mirrored: MirrorReport = MirrorReport()
    cursor: datetime | None = None


class SyncBusy(Conflict, Transient):
    """Another run holds the lock: an on-demand run waits its turn (retried)."""

    code = "sync_running"


async def _settle(pending: asyncio.Task[MirrorReport] | None) -> None:
    """Let a batch being written end before the run records its failure (the lock is held until
    then); its own failure, if any, is logged: the run fails with the first error it met."""
    if pending is None:
        return
    await asyncio.wait([pending])
    error = None if pending.cancelled() else pending.exception()
    if error is not None:
        log.warning("finance.sync_batch_failed", extra={"error": repr(error)[:200]})


def _ts(moment: datetime) -> int:
    return int(moment.timestamp())


def _at(ts: int) -> datetime:
    return datetime.fromtimestamp(ts, UTC)


EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)


def aware_utc(moment: datetime, field: str) -> datetime:
    """``moment`` in UTC; a naive or unrepresentable time is a 422 naming ``field``."""
    try:
        if moment.tzinfo is None or moment.utcoffset() is None:
            raise ValueError("naive")
        return moment.astimezone(UTC)
    except (ValueError, OverflowError):
        message = "is a time with a UTC offset, within years 2000-9998"
        raise ValidationFailed(
            f"{field} {message}", code="bad_window", errors=[FieldError(field, message)]
        ) from None


def check_window(start: datetime, end: datetime, now: datetime, *, max_days: int) -> None:
    """A window FINANCE may ask for: ordered, not in the future, at most ``max_days`` long."""
    start, end = aware_utc(start, "from"), aware_utc(end, "to")
    problems: list[FieldError] = []
    if start < EARLIEST:
        problems.append(FieldError("from", "is in 2000 or later"))
    elif end <= start:
        problems.append(FieldError("to", "is after from"))
    elif end - start > timedelta(days=max_days):
        problems.append(FieldError("to", f"is at most {max_days} days after from"))
    elif start > now:
        problems.append(FieldError("from", "is not in the future"))
    if problems:
        raise ValidationFailed(
            "; ".join(f"{p.field} {p.message}" for p in problems),
            code="bad_window",
            errors=problems,
        )


class PaymentSync:
    def __init__(
        self,
        *,
        uow: UnitOfWorkFactory[PaymentsUnitOfWork],
        clock: Clock,
        gateway: Gateway,
        mirror: PaymentMirror,
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._gateway = gateway
        self._mirror = mirror

    @property
    def configured(self) -> bool:
        return self._gateway() is not None

    async def state(self) -> SyncState:
        async with self._uow() as uow:
            return await uow.global_payment_sync.read(self._clock.now())

    async def run(self, window: SyncWindow, progress: Progress | None = None) -> SyncReport:
        """One run over ``window`` (see the module's note). Raises what the gateway raises
        (``GatewayUnavailable`` is retried by the job) after releasing the lock."""
        gateway = self._gateway()
        holder = str(uuid7())
        now = self._clock.now()
        on_demand = window.from_ts is not None and window.to_ts is not None
        async with self._uow() as uow:
            if not await uow.global_payment_sync.acquire(holder, now, LEASE_S):
                await uow.rollback()
                if on_demand:
                    raise SyncBusy("a payment sync is running; this one runs after it")
                log.info("finance.sync_skipped_busy")
                return SyncReport(status="busy")
            state = await uow.global_payment_sync.read(now)
            await uow.commit()
        if gateway is None:
            await self._finish(holder, "pending_config", None, None, MirrorReport(), None)
            log.warning("finance.sync_pending_config")
            return SyncReport(status="pending_config")
        if on_demand:
            assert window.from_ts is not None and window.to_ts is not None
            start, end = _at(window.from_ts), _at(window.to_ts)
        else:
            end = now
            start = (state.last_synced_to or now) - OVERLAP
        total = MirrorReport()
        pages = 0
        pending: asyncio.Task[MirrorReport] | None = None
        try:
            skip = 0
            batch: list[GatewayPayment] = []
            while True:
                payments = await gateway.list_payments(_ts(start), _ts(end), skip, PAGE)
                pages += 1
                batch.extend(payments)
                last = len(payments) < PAGE
                if len(batch) >= BATCH or last:
                    if pending is not None:
                        written, pending = pending, None
                        total = self._tell(progress, total, await written)
                    # The next pages are fetched while this batch is written.
                    pending = asyncio.create_task(self._mirror.mirror(batch))
                    batch = []
                if last:
                    break
                skip += len(payments)
                if pages % RENEW_EVERY == 0:
                    await self._renew(holder)
            if pending is not None:
                written, pending = pending, None
                total = self._tell(progress, total, await written)
        except Exception as exc:
            await _settle(pending)
            await self._finish(holder, "failed", repr(exc)[:500], (start, end), total, None)
            log.warning(
                "finance.sync_failed",
                extra={"pages": pages, "seen": total.seen, "error": repr(exc)[:200]},
            )
            raise
        joins = state.last_synced_to is None or start <= state.last_synced_to
        cursor = end if joins else None
        await self._finish(holder, "ok", None, (start, end), total, cursor)
        log.info(
            "finance.sync_done",
            extra={
                "pages": pages,
                "seen": total.seen,
                "written": total.written,
                "captured": total.captured,
                "matched": total.matched,
            },
        )
        known = [c for c in (cursor, state.last_synced_to) if c is not None]
        return SyncReport(
            status="ok",
            window_from=start,
            window_to=end,
            pages=pages,
            mirrored=total,
            cursor=max(known) if known else None,
        )

    @staticmethod
    def _tell(progress: Progress | None, total: MirrorReport, batch: MirrorReport) -> MirrorReport:
        total = total.plus(batch)
        if progress is not None:
            progress(total, batch.oldest)
        return total

    async def _renew(self, holder: str) -> None:
        async with self._uow() as uow:
            if not await uow.global_payment_sync.acquire(holder, self._clock.now(), LEASE_S):
                raise SyncBusy("the sync's lease lapsed and another run took over")
            await uow.commit()

    async def _finish(
        self,
        holder: str,
        status: str,
        error: str | None,
        window: tuple[datetime, datetime] | None,
        total: MirrorReport,
        cursor: datetime | None,
    ) -> None:
        async with self._uow() as uow:
            await uow.global_payment_sync.finish(
                holder,
                self._clock.now(),
                status=status,
                error=error,
                window=window,
                count=total.seen,
                advance_to=cursor,
            )
            await uow.commit()


def window_for(start: datetime, end: datetime, now: datetime) -> SyncWindow:
    """An on-demand window, checked (≤ 31 days)."""
    check_window(start, end, now, max_days=MAX_SYNC_DAYS)
    return SyncWindow(from_ts=_ts(start), to_ts=_ts(end))
