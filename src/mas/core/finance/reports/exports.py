"""Password-protected exports (payments-finance.md §3 FinanceExport, §6 ``finance.build_export``
and ``finance.expire_exports``, §8, §9 check 13).

``QUEUED → RUNNING → READY | FAILED``, ``READY → EXPIRED``. The requester's password is sealed
with the server key (the installation's secret box) from the request until the job ends, and
is never logged, returned or kept after: READY and FAILED rows hold no password. The job is
idempotent on the export id: a finished export is left alone, a retried attempt builds again
and overwrites the same storage key. Seven days after READY the row answers 410 and the daily
sweep deletes the object.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from datetime import datetime

import msgspec

from mas.core.finance.audit.model import AuditAction, AuditEntity, AuditEntry
from mas.core.finance.audit.trail import AuditTrail
from mas.core.finance.reports import gstr1, sheets
from mas.core.finance.reports.model import (
    EXPORT_TTL,
    ExportKind,
    ExportStatus,
    ExportView,
    FinanceExport,
    NewExport,
    Period,
    Sheet,
    period,
)
from mas.core.finance.reports.ports import (
    PayoutSource,
    ReportsUnitOfWork,
    WorkbookPacker,
)
from mas.core.finance.reports.tasks import BUILD_EXPORT, ExportRef
from mas.core.identity.policy import Caller
from mas.core.platform.errors import Forbidden, Gone, NotConfigured, NotFound
from mas.core.platform.ids import uuid7
from mas.core.platform.paging import Page, PageRequest
from mas.core.platform.ports.clock import Clock
from mas.core.platform.ports.secrets import SecretBox, SecretUnreadable
from mas.core.platform.ports.storage import Storage
from mas.core.platform.ports.tasks import Enqueuer
from mas.core.platform.ports.uow import UnitOfWorkFactory
from mas.core.platform.tasking import PermanentFailure

log = logging.getLogger("mas.finance.exports")

MAX_ROWS = 1_000_000
"""An XLSX sheet holds 1,048,576 rows; a larger export fails rather than truncating."""
LINK_TTL_S = 900
EXPIRE_BATCH = 200
FAILED_BUILD = "the export could not be built; request it again"


def refuse_impersonation(caller: Caller) -> None:
    if caller.impersonated_by is not None:
        raise Forbidden("an impersonation session cannot write finance data", code="impersonated")


def storage_key(export: FinanceExport) -> str:
    return f"finance/exports/{export.id}.zip"


def filename(export: FinanceExport) -> str:
    return (
        f"{export.kind.value.lower()}_{export.period_from.isoformat()}_"
        f"{export.period_to.isoformat()}.xlsx"
    )


class Exports:
    def __init__(
        self,
        *,
        uow: UnitOfWorkFactory[ReportsUnitOfWork],
        clock: Clock,
        trail: AuditTrail,
        jobs: Enqueuer,
        storage: Storage,
        packer: WorkbookPacker,
        box: SecretBox | None,
        payouts: PayoutSource | None,
    ) -> None:
        self._uow: Callable[[], ReportsUnitOfWork] = uow
        self._clock = clock
        self._trail = trail
        self._jobs = jobs
        self._storage = storage
        self._packer = packer
        self._box = box
        self._payouts = payouts

    async def request(self, caller: Caller, data: NewExport) -> ExportView:
        refuse_impersonation(caller)
        covered = period(data.from_, data.to)
        if self._box is None:
            raise NotConfigured("the export password key (encryption_key)")
        if data.kind is ExportKind.PAYOUTS and self._payouts is None:
            raise NotConfigured("mentor payouts")
        sealed, version = self._box.seal(data.password.encode())
        now = self._clock.now()
        export = FinanceExport(
            id=uuid7(),
            kind=data.kind,
            period_from=covered.first,
            period_to=covered.last,
            status=ExportStatus.QUEUED,
            requested_by=caller.user_id,
            created_at=now,
            updated_at=now,
            password_enc=sealed,
            key_version=version,
        )
        async with self._uow() as uow:
            await uow.finance_exports.add(export)
            await self._trail.append(
                uow,
                AuditEntry(
                    entity_type=AuditEntity.EXPORT,
                    entity_id=str(export.id),
                    action=AuditAction.CREATED,
                    actor_id=caller.user_id,
                    after=_described(export),
                ),
            )
            await uow.commit()
        log.info("finance.export_requested", extra={"export_id": str(export.id)})
        await self._jobs.submit(BUILD_EXPORT, ExportRef(export.id))
        return ExportView.of(await self._reread(export.id))

    async def get(self, caller: Caller, export_id: uuid.UUID) -> ExportView:
        """The export and, when READY, a short-lived download link; 410 once it has expired.
        Only its requester and administrators see it (404 for anyone else)."""
        now = self._clock.now()
        async with self._uow() as uow:
            export = await uow.finance_exports.get(export_id)
            if export is None or not (caller.is_admin or export.requested_by == caller.user_id):
                raise NotFound("no such export")
            if export.expired(now):
                raise Gone("this export has expired; request it again", code="export_expired")
            if export.status is not ExportStatus.READY or export.storage_key is None:
                return ExportView.of(export)
            await uow.finance_exports.count_download(export.id)
            await uow.commit()
        assert export.expires_at is not None
        ttl = max(1, min(LINK_TTL_S, int((export.expires_at - now).total_seconds())))
        url = await self._storage.presign_get(export.storage_key, ttl)
        counted = msgspec.structs.replace(export, download_count=export.download_count + 1)
        return ExportView.of(counted, url)

    async def page(self, caller: Caller | None, req: PageRequest) -> Page[ExportView]:
        """Newest first: an administrator (or the CLI, ``caller`` None) sees everyone's."""
        mine = None if caller is None or caller.is_admin else caller.user_id
        async with self._uow() as uow:
            found = await uow.finance_exports.page(mine, req)
        return Page(
            items=[ExportView.of(e) for e in found.items],
            total=found.total,
            page=found.page,
            page_size=found.page_size,
        )

    # --- the jobs --------------------------------------------------------------------------------

    async def build(self, export_id: uuid.UUID) -> ExportStatus | None:
        """Build, encrypt and store the workbook; the status it ended in (None: no such row)."""
        async with self._uow() as uow:
            export = await uow.finance_exports.get(export_id)
            if export is None or export.status not in (ExportStatus.QUEUED, ExportStatus.RUNNING):
                return None if export is None else export.status
            running = export.moved(ExportStatus.RUNNING, self._clock.now())
            if not await uow.finance_exports.save(running, export.status.value):
                return None
            await uow.commit()
        password = self._password(running)
        built = await self._sheets(running)
        rows = sheets.row_count(built)
        if max((len(sheet.rows) for sheet in built), default=0) > MAX_ROWS:
            raise PermanentFailure(f"more than {MAX_ROWS} rows in one sheet")
        key = storage_key(running)
        data = await self._packer.pack(filename(running), built, password)
        await self._storage.put(key, data, "application/zip")
        now = self._clock.now()
        ready = msgspec.structs.replace(
            running.moved(ExportStatus.READY, now),
            storage_key=key,
            row_count=rows,
            password_enc=None,
            key_version=None,
            expires_at=now + EXPORT_TTL,
        )
        async with self._uow() as uow:
            if not await uow.finance_exports.save(ready, ExportStatus.RUNNING.value):
                return None
            await self._trail.append(
                uow,
                AuditEntry(
                    entity_type=AuditEntity.EXPORT,
                    entity_id=str(ready.id),
                    action=AuditAction.EXPORTED,
                    actor_id=ready.requested_by,
                    after={**_described(ready), "rows": rows, "bytes": len(data)},
                ),
            )
            await uow.commit()
        log.info("finance.export_ready", extra={"export_id": str(ready.id), "rows": rows})
        return ExportStatus.READY

    async def fail(self, export_id: uuid.UUID, reason: str = FAILED_BUILD) -> bool:
        """The job gave up: FAILED, and the sealed password is wiped."""
        async with self._uow() as uow:
            export = await uow.finance_exports.get(export_id)
            if export is None or export.status not in (ExportStatus.QUEUED, ExportStatus.RUNNING):
                return False
            failed = msgspec.structs.replace(
                export.moved(ExportStatus.FAILED, self._clock.now()),
                password_enc=None,
                key_version=None,
                error=reason[:500],
            )
            saved = await uow.finance_exports.save(failed, export.status.value)
            await uow.commit()
        log.warning("finance.export_failed", extra={"export_id": str(export_id)})
        return saved

    async def expire(self) -> int:
        """READY exports past ``expires_at`` → EXPIRED, their objects deleted. Idempotent:
        deleting an absent object is no error and the move is a compare-and-set."""
        expired = 0
        while True:
            now = self._clock.now()
            async with self._uow() as uow:
                due = await uow.finance_exports.due_to_expire(now, EXPIRE_BATCH)
            for export in due:
                if export.storage_key is not None:
                    await self._storage.delete(export.storage_key)
                async with self._uow() as uow:
                    if await uow.finance_exports.save(
                        export.moved(ExportStatus.EXPIRED, now), ExportStatus.READY.value
                    ):
                        expired += 1
                    await uow.commit()
            if len(due) < EXPIRE_BATCH:
                return expired

    # --- helpers ---------------------------------------------------------------------------------

    def _password(self, export: FinanceExport) -> str:
        if self._box is None or export.password_enc is None or export.key_version is None:
            raise PermanentFailure("the export's password is gone")
        try:
            return self._box.open(export.password_enc, export.key_version).decode()
        except SecretUnreadable as exc:
            raise PermanentFailure("the export's password no longer opens") from exc

    async def _sheets(self, export: FinanceExport) -> list[Sheet]:
        covered = Period(export.period_from, export.period_to)
        if export.kind is ExportKind.PAYOUTS:
            if self._payouts is None:
                raise NotConfigured("mentor payouts")
            return sheets.payouts(await self._payouts.completed(covered))
        async with self._uow() as uow:
            source = uow.finance_reports
            if export.kind is ExportKind.PAYMENTS:
                return sheets.payments(await source.payment_lines(covered, captured_only=False))
            lines = await source.invoice_lines(covered)
        if export.kind is ExportKind.INVOICES:
            return sheets.invoices(lines)
        return sheets.gstr1(gstr1.summarize(covered, lines))

    async def _reread(self, export_id: uuid.UUID) -> FinanceExport:
        async with self._uow() as uow:
            export = await uow.finance_exports.get(export_id)
        if export is None:
            raise NotFound("no such export")
        return export

    async def ready_count(self, now: datetime) -> int:
        async with self._uow() as uow:
            return await uow.finance_exports.count_ready(now)


def _described(export: FinanceExport) -> dict[str, str]:
    return {
        "kind": export.kind.value,
        "from": export.period_from.isoformat(),
        "to": export.period_to.isoformat(),
        "status": export.status.value,
    }
