"""CSV lead imports: upload → preview (proposed mapping) → edit mapping → commit → run → progress
→ error CSV (spec §3, §4, §9).

The run streams the file in windows of ``writers * chunk_rows`` rows. A window is split into
parts that cannot end in the same lead (``import_partition``); each part is one transaction
that writes the leads, intakes, activities and tags set-based (``ImportRepository.write_chunk``)
together with the batch's counters, and the parts run at the same time on PostgreSQL. Once all
of a window's parts are committed the batch's ``resume_row`` moves past it: a retried run starts
at the first unfinished window, and intake uniqueness on (CSV, ``batch:<id>:<row>``) makes a
replayed row a no-op (a rejected row is kept, and counted, once). Parsing runs in a worker
thread one window ahead of the database, so PostgreSQL and Python work at the same time
(``import_engine``).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import io
import logging
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from datetime import timedelta
from typing import Any, BinaryIO

from mas.core.crm.events import LeadsImported
from mas.core.crm.import_engine import (
    CHUNK_ROWS,
    apply_outcome,
    chunked,
    prefetch,
    rows_done,
    scan,
    write_with_retry,
)
from mas.core.crm.import_partition import Identities, split
from mas.core.crm.import_rules import (
    MAX_UPLOAD_ROWS,
    IntakeRow,
    RejectedRow,
    RowRules,
    check_committable,
    check_mapping,
    error_csv,
    read_shape,
    records,
)
from mas.core.crm.model import (
    ImportBatch,
    ImportStatus,
    IntakeChannel,
    LeadSource,
    propose_mapping,
    slugify_tag,
)
from mas.core.crm.phones import PhoneNormalizer
from mas.core.crm.ports.imports import IntakeTarget, LeadKeys
from mas.core.crm.ports.uow import CrmUnitOfWork
from mas.core.crm.tasks import IMPORT_BATCH, BatchRef
from mas.core.identity.policy import Caller, Role
from mas.core.platform.errors import (
    Conflict,
    DomainError,
    ExternalUnavailable,
    FieldError,
    Forbidden,
    NotFound,
    ValidationFailed,
)
from mas.core.platform.ids import uuid7
from mas.core.platform.ports.clock import Clock
from mas.core.platform.ports.storage import Storage
from mas.core.platform.ports.tasks import Enqueuer
from mas.core.platform.ports.uow import UnitOfWorkFactory

log = logging.getLogger("mas.crm.imports")

SAME_FILE_WINDOW = timedelta(hours=24)
DONE = frozenset(
    {ImportStatus.COMPLETED, ImportStatus.COMPLETED_WITH_ERRORS, ImportStatus.CANCELLED}
)

Opener = Callable[[], BinaryIO]
Window = tuple[list[IntakeRow], list[RejectedRow], int, Identities | None]
ChunkHook = Callable[[ImportBatch], None]


async def _settle(*tasks: asyncio.Future[Any] | None) -> None:
    """Wait for tasks still running when a run fails; what they raise is logged (the failure
    that ended the run is the one raised)."""
    running = [task for task in tasks if task is not None]
    if not running:
        return
    await asyncio.wait(running)
    for task in running:
        if not task.cancelled() and (error := task.exception()) is not None:
            log.warning("crm.import_task_failed", extra={"error": repr(error)})


class ImportService:
    def __init__(
        self,
        *,
        uow: UnitOfWorkFactory[CrmUnitOfWork],
        storage: Storage,
        clock: Clock,
        phones: PhoneNormalizer,
        jobs: Enqueuer,
        chunk_rows: int = CHUNK_ROWS,
        writers: int = 1,
    ) -> None:
        self._uow = uow
        self._storage = storage
        self._clock = clock
        self._phones = phones
        self._jobs = jobs
        self.chunk_rows = chunk_rows
        """Rows per transaction of a run, about."""
        self.writers = writers
        """Transactions writing at the same time: a window of ``writers * chunk_rows`` rows is
        split into that many independent parts (``import_partition``), and the run resumes
        after each window."""

    # --- upload, preview, mapping, commit, cancel ---------------------------------------------

    async def upload(
        self,
        caller: Caller,
        file_name: str,
        data: bytes,
        *,
        target_sales_head_id: uuid.UUID | None = None,
        force: bool = False,
        tags: list[str] | None = None,
    ) -> ImportBatch:
        """Store the file and answer a PREVIEWED batch: header, proposed mapping, first rows."""
        pool = await self._pool(caller, target_sales_head_id)
        default_tags = await self._tags(tags or [])
        shape, total, preview = scan(io.BytesIO(data))
        if total > MAX_UPLOAD_ROWS:
            raise ValidationFailed(
                f"the file has {total:,} rows; an upload takes at most {MAX_UPLOAD_ROWS:,} "
                "(split it, or ask an operator to run `mas leads import`)",
                code="too_many_rows",
                errors=[FieldError("file", f"at most {MAX_UPLOAD_ROWS} rows")],
            )
        sha = hashlib.sha256(data).hexdigest()
        now = self._clock.now()
        async with self._uow() as uow:
            earlier = await uow.imports.same_file_since(sha, now - SAME_FILE_WINDOW)
        if earlier is not None and not force:
            raise Conflict(
                f"this file was uploaded at {earlier.created_at:%Y-%m-%d %H:%M} UTC (batch "
                f"{earlier.id}); send force=true to import it again",
                code="duplicate_file",
            )
        batch_id = uuid7()
        key = f"crm/imports/{batch_id}/source.csv"
        try:
            await self._storage.put(key, data, "text/csv")
        except OSError as exc:
            raise ExternalUnavailable("file storage is unavailable; try again") from exc
        batch = ImportBatch(
            id=batch_id,
            uploaded_by=caller.user_id,
            target_sales_head_id=pool,
            file_key=key,
            file_sha256=sha,
            file_name=file_name[:300] or "upload.csv",
            status=ImportStatus.UPLOADED,
            created_at=now,
            default_tags=default_tags,
            headers=shape.headers,
            preview=preview,
            total_rows=total,
        )
        batch.column_map = propose_mapping(shape.headers)
        batch.move(ImportStatus.PREVIEWED)
        async with self._uow() as uow:
            await uow.imports.add(batch)
            await uow.commit()
        log.info("crm.import_uploaded", extra={"batch_id": str(batch.id), "rows": total})
        return batch

    async def get(self, caller: Caller, batch_id: uuid.UUID) -> ImportBatch:
        async with self._uow() as uow:
            return await self._visible(uow, caller, batch_id)

    async def set_mapping(
        self, caller: Caller, batch_id: uuid.UUID, column_map: Mapping[str, str | None]
    ) -> ImportBatch:
        async with self._uow() as uow:
            batch = await self._visible(uow, caller, batch_id)
            batch.move(ImportStatus.PREVIEWED)
            batch.column_map = check_mapping(batch.headers, column_map)
            await uow.imports.save(batch)
            await uow.commit()
        return batch

    async def commit(self, caller: Caller, batch_id: uuid.UUID) -> ImportBatch:
        """Queue the import (from PREVIEWED, or FAILED to retry); the task runs it."""
        async with self._uow() as uow:
            batch = await self._visible(uow, caller, batch_id)
            if batch.status is not ImportStatus.FAILED:
                batch.move(ImportStatus.QUEUED)  # 409 unless PREVIEWED, before the 422s
                check_committable(batch.column_map, batch.total_rows)
            else:
                batch.move(ImportStatus.QUEUED)
                batch.last_error = None
            batch.committed_at = self._clock.now()
            await uow.imports.save(batch)
            await uow.commit()
        await self._enqueue(batch)
        return await self.get(caller, batch_id)

    async def retry(self, caller: Caller, batch_id: uuid.UUID) -> ImportBatch:
        async with self._uow() as uow:
            batch = await self._visible(uow, caller, batch_id)
        if batch.status is not ImportStatus.FAILED:
            raise Conflict(
                f"only a FAILED import can be retried (this one is {batch.status.value})",
                code="illegal_transition",
            )
        return await self.commit(caller, batch_id)

    async def cancel(self, caller: Caller, batch_id: uuid.UUID) -> ImportBatch:
        async with self._uow() as uow:
            batch = await self._visible(uow, caller, batch_id)
            batch.move(ImportStatus.CANCELLED)
            batch.finished_at = self._clock.now()
            await uow.imports.save(batch)
            await uow.commit()
        return batch

    async def errors_csv(self, caller: Caller, batch_id: uuid.UUID) -> bytes:
        async with self._uow() as uow:
            batch = await self._visible(uow, caller, batch_id)
            rows = []
            if batch.error_file_key is None and batch.rejected_count:
                rows = await uow.imports.rejected_rows(batch.id)
        if batch.error_file_key is not None:
            return await self._storage.get(batch.error_file_key)
        if not rows:
            raise NotFound("this import has no rejected rows", code="no_errors")
        return error_csv(batch.headers, rows)

    # --- the operator's door: a local file, no row cap -------------------------------------

    async def prepare_local(
        self,
        file_name: str,
        stream: BinaryIO,
        *,
        pool_email: str,
        overrides: Mapping[str, str | None],
        tags: list[str],
    ) -> ImportBatch:
        """A QUEUED batch for a file on this machine (``mas leads import``); run it with ``run``."""
        shape = read_shape(stream)
        mapping: dict[str, str | None] = dict(propose_mapping(shape.headers))
        for column, field in overrides.items():
            for taken in [c for c, f in mapping.items() if f == field and field]:
                mapping[taken] = None  # an explicit mapping wins over a guessed one
            mapping[column] = field
        column_map = check_mapping(shape.headers, mapping)
        check_committable(column_map, None)
        default_tags = await self._tags(tags)
        async with self._uow() as uow:
            head = await uow.users.by_email(pool_email.strip().lower())
            if head is None or head.role is not Role.SALES_HEAD or head.is_deleted:
                raise NotFound(f"no sales head with the email {pool_email}", code="no_such_pool")
            now = self._clock.now()
            batch = ImportBatch(
                id=uuid7(),
                uploaded_by=None,
                target_sales_head_id=head.id,
                file_key=f"local:{file_name}"[:300],
                file_sha256="",
                file_name=file_name[:300],
                status=ImportStatus.UPLOADED,
                created_at=now,
                column_map=column_map,
                default_tags=default_tags,
                headers=shape.headers,
                committed_at=now,
            )
            for status in (ImportStatus.PREVIEWED, ImportStatus.QUEUED):
                batch.move(status)
            await uow.imports.add(batch)
            await uow.commit()
        return batch

    # --- the run -------------------------------------------------------------------------

    async def run(
        self, batch_id: uuid.UUID, source: Opener | None = None, on_chunk: ChunkHook | None = None
    ) -> ImportBatch:
        """Import the batch's rows (resuming after the rows already counted); a no-op when done."""
        batch, resumed = await self._start(batch_id)
        if batch.status in DONE:
            return batch
        target = IntakeTarget(
            channel=IntakeChannel.CSV,
            source=LeadSource.CSV,
            source_detail=batch.file_name[:200],
            pool_head_id=batch.target_sales_head_id,
            actor_id=batch.uploaded_by,
            label=f"CSV import {batch.file_name}"[:200],
            default_tags=batch.default_tags,
            batch_id=batch.id,
            may_replay=resumed,
        )
        stream = source() if source is not None else await self._stored(batch)
        with stream:
            shape = read_shape(stream)
            rules = RowRules(shape.headers, batch.column_map, self._phones, f"batch:{batch.id}:")
            window = self.chunk_rows * self.writers
            # Several writers: the first window is half a part, so they start while the parser
            # reads the second.
            first = max(self.chunk_rows // 2, 1) if self.writers > 1 else window
            chunks = chunked(records(stream, shape), rules, batch.resume_row, window, first)
            # The rows' own links are found in the parsing thread too, ahead of the database.
            windows = (
                (rows, rejected, last_row, Identities(rows) if self.writers > 1 else None)
                for rows, rejected, last_row in chunks
            )
            # Closed in this order on any exit: the reader thread, the parser, then the file.
            with contextlib.closing(chunks):
                async with contextlib.aclosing(prefetch(windows)) as ahead:
                    await self._write_windows(target, ahead, on_chunk)
        return await self._finish(batch_id)

    async def _write_windows(
        self, target: IntakeTarget, ahead: AsyncIterator[Window], on_chunk: ChunkHook | None
    ) -> None:
        """Each window in turn; with several writers, overlapped with its neighbours.

        A window's parts stage their rows while the window before is still being written, and
        wait for its commit (``ready``: it committed, and the statistics were refreshed) before
        they read any lead. The links of the window after are read once this window's ``ready``
        has passed, meanwhile (``import_partition.split`` says why that is enough).
        """
        if self.writers < 2:
            # One writer shares its connection with nothing: one window after the other.
            async for rows, rejected, last_row, _ in ahead:
                await self._refresh(target)
                batch = await self._write_window(target, [rows], rejected, last_row, None)
                if on_chunk is not None:
                    on_chunk(batch)
            return
        window = await anext(ahead, None)
        previous: Identities | None = None
        earlier: asyncio.Task[ImportBatch] | None = None  # the window before, being written
        planned: asyncio.Task[list[LeadKeys]] | None = None
        ready: asyncio.Task[None] | None = None
        writing: asyncio.Task[ImportBatch] | None = None
        try:
            while window is not None:
                rows, rejected, last_row, identities = window
                ready = asyncio.ensure_future(self._ready(target, earlier))
                links = await (planned or self._links(window, ready))
                parts = (
                    split(rows, identities, links, self.writers, previous)
                    if identities is not None
                    else [rows]
                )
                writing = asyncio.ensure_future(
                    self._write_window(target, parts, rejected, last_row, ready)
                )
                following = await anext(ahead, None)
                planned = self._links(following, ready) if following is not None else None
                if earlier is not None:
                    batch = await earlier
                    if on_chunk is not None:
                        on_chunk(batch)
                earlier, window, previous = writing, following, identities
            if earlier is not None:
                batch = await earlier
                if on_chunk is not None:
                    on_chunk(batch)
        except BaseException:
            # Transactions still open end (commit or roll back) before the failure leaves.
            await _settle(earlier, writing, ready, planned)
            raise

    async def _ready(self, target: IntakeTarget, earlier: asyncio.Task[ImportBatch] | None) -> None:
        """The window before is committed (its failure is this window's), then the statistics
        the next matching uses are refreshed."""
        if earlier is not None:
            await earlier
        await self._refresh(target)

    async def _refresh(self, target: IntakeTarget) -> None:
        """Fresh statistics for the matching, in a transaction of its own (an ANALYZE locks
        them until its commit: not inside the writers' transactions)."""
        async with self._uow() as uow:
            await uow.imports.refresh_statistics(target.may_replay)
            await uow.commit()

    def _links(self, window: Window, after: asyncio.Task[None]) -> asyncio.Task[list[LeadKeys]]:
        """Started now, read once ``after`` has passed: the live leads linked to the window's
        rows."""
        rows, identities = window[0], window[3]

        async def links() -> list[LeadKeys]:
            await after
            if identities is None or len(rows) < 2:
                return []
            async with self._uow() as uow:
                return await uow.imports.linked_leads(*identities.lookup())

        return asyncio.ensure_future(links())

    async def _write_window(
        self,
        target: IntakeTarget,
        parts: list[list[IntakeRow]],
        rejected: list[RejectedRow],
        last_row: int,
        ready: Awaitable[None] | None,
    ) -> ImportBatch:
        """A window of rows, in independent parts written at the same time; the batch resumes
        after the window once every part is committed. The parts read no lead before
        ``ready``."""
        if len(parts) <= 1:
            rows = parts[0] if parts else []
            return await self._write(target, rows, rejected, last_row, resume=True, gate=ready)
        results = await asyncio.gather(
            *(
                self._write(
                    target, part, rejected if at == 0 else [], last_row, resume=False, gate=ready
                )
                for at, part in enumerate(parts)
            ),
            return_exceptions=True,
        )
        failures = [r for r in results if isinstance(r, BaseException)]
        if failures:
            # The parts that committed stay: the run resumes at the window, and replays them.
            for other in failures[1:]:
                log.warning("crm.import_part_failed", extra={"error": repr(other)})
            raise failures[0]
        return await self._resume_after(target, last_row)

    async def _write(
        self,
        target: IntakeTarget,
        rows: list[IntakeRow],
        rejected: list[RejectedRow],
        last_row: int,
        *,
        resume: bool,
        gate: Awaitable[None] | None = None,
    ) -> ImportBatch:
        """Rows and the batch's counters in one transaction; ``resume``: these were the window's
        last rows to write, and the run resumes after them; ``gate``: see ``write_chunk``."""
        assert target.batch_id is not None
        batch_id = target.batch_id

        async def work(uow: CrmUnitOfWork) -> ImportBatch:
            now = self._clock.now()
            outcome = await uow.imports.write_chunk(target, rows, rejected, now, gate=gate)
            batch = await uow.imports.get(batch_id, for_update=True)
            assert batch is not None
            apply_outcome(batch, outcome)
            batch.total_rows = max(batch.total_rows, last_row)
            if resume:
                batch.resume_row = max(batch.resume_row, last_row)
            await uow.imports.save(batch)
            return batch

        return await write_with_retry(self._uow, work)

    async def _resume_after(self, target: IntakeTarget, last_row: int) -> ImportBatch:
        assert target.batch_id is not None
        async with self._uow() as uow:
            batch = await uow.imports.get(target.batch_id, for_update=True)
            assert batch is not None
            batch.resume_row = max(batch.resume_row, last_row)
            await uow.imports.save(batch)
            await uow.commit()
        return batch

    async def mark_failed(self, batch_id: uuid.UUID, error: str) -> None:
        """The run gave up (its job is dead): FAILED, retryable with ``commit``/``retry``."""
        async with self._uow() as uow:
            batch = await uow.imports.get(batch_id)
            if batch is None or batch.status not in (ImportStatus.QUEUED, ImportStatus.RUNNING):
                return
            if batch.status is ImportStatus.QUEUED:
                batch.move(ImportStatus.RUNNING)
            batch.move(ImportStatus.FAILED)
            batch.last_error = error[:2000]
            await uow.imports.save(batch)
            await uow.commit()

    async def _start(self, batch_id: uuid.UUID) -> tuple[ImportBatch, bool]:
        """The batch, RUNNING; and whether an earlier run may have written some of its rows."""
        async with self._uow() as uow:
            batch = await uow.imports.get(batch_id)
            if batch is None:
                raise NotFound(f"no import batch {batch_id}", code="import_not_found")
            if batch.status in DONE:
                return batch, True
            resumed = batch.status is not ImportStatus.QUEUED or rows_done(batch) > 0
            resumed = resumed or batch.resume_row > 0
            resumed = resumed or batch.last_error is not None
            if batch.status is ImportStatus.FAILED:
                batch.move(ImportStatus.QUEUED)  # a retried job run of a failed batch
            batch.move(ImportStatus.RUNNING)  # RUNNING -> RUNNING: resuming after a crash
            await uow.imports.save(batch)
            await uow.commit()
        return batch, resumed

    async def _finish(self, batch_id: uuid.UUID) -> ImportBatch:
        async with self._uow() as uow:
            batch = await uow.imports.get(batch_id)
            assert batch is not None
            rejected = await uow.imports.rejected_rows(batch_id) if batch.rejected_count else []
        error_key = None
        if rejected:
            key = f"crm/imports/{batch_id}/errors.csv"
            try:
                await self._storage.put(key, error_csv(batch.headers, rejected), "text/csv")
                error_key = key
            except (OSError, DomainError) as exc:
                # Spec §9: the batch still finishes; the rows stay readable from the database.
                log.warning("crm.import_error_file_failed", extra={"error": str(exc)})
        async with self._uow() as uow:
            batch = await uow.imports.get(batch_id)
            assert batch is not None
            if batch.status in DONE:
                return batch
            batch.total_rows = rows_done(batch)
            batch.error_file_key = error_key
            batch.finished_at = self._clock.now()
            batch.move(
                ImportStatus.COMPLETED_WITH_ERRORS
                if batch.rejected_count
                else ImportStatus.COMPLETED
            )
            await uow.imports.save(batch)
            uow.record(
                LeadsImported(
                    batch_id=batch.id,
                    channel=IntakeChannel.CSV.value,
                    pool_head_id=batch.target_sales_head_id,
                    created=batch.created_count,
                    merged=batch.merged_count,
                    rejected=batch.rejected_count,
                )
            )
            await uow.commit()
        log.info(
            "crm.import_finished",
            extra={
                "batch_id": str(batch_id),
                "leads_created": batch.created_count,
                "rows_merged": batch.merged_count,
                "rows_rejected": batch.rejected_count,
            },
        )
        return batch

    async def _stored(self, batch: ImportBatch) -> BinaryIO:
        if batch.file_key.startswith("local:"):
            raise ValidationFailed(
                "this import read a file on the operator's machine; run `mas leads import` again",
                code="file_not_stored",
            )
        return io.BytesIO(await self._storage.get(batch.file_key))

    async def _enqueue(self, batch: ImportBatch) -> None:
        assert batch.committed_at is not None
        key = f"{batch.id}@{batch.committed_at.isoformat()}"
        await self._jobs.submit(IMPORT_BATCH, BatchRef(batch.id), key=key)

    # --- who may do what -------------------------------------------------------------------

    async def _pool(self, caller: Caller, requested: uuid.UUID | None) -> uuid.UUID:
        if caller.role is Role.SALES_HEAD:
            if requested is not None and requested != caller.user_id:
                raise Forbidden("a sales head imports into their own pool only", code="other_pool")
            return caller.user_id
        if not caller.is_admin:
            raise Forbidden("only sales heads and admins import leads", code="role_forbidden")
        if requested is None:
            raise ValidationFailed(
                "name the pool: target_sales_head_id",
                code="pool_required",
                errors=[FieldError("target_sales_head_id", "required for an admin")],
            )
        async with self._uow() as uow:
            head = await uow.users.get(requested)
        if head is None or head.role is not Role.SALES_HEAD or head.is_deleted:
            raise ValidationFailed(
                "target_sales_head_id is not a sales head",
                code="not_sales_head",
                errors=[FieldError("target_sales_head_id", "not a sales head")],
            )
        return head.id

    async def _tags(self, names: list[str]) -> list[str]:
        slugs = sorted({slugify_tag(name) for name in names})
        if not slugs:
            return []
        async with self._uow() as uow:
            missing = await uow.imports.missing_tags(slugs)
        if missing:
            raise ValidationFailed(
                f"no such tags: {', '.join(missing)} (an admin creates tags)",
                code="unknown_tag",
                errors=[FieldError("tags", f"unknown: {', '.join(missing)}")],
            )
        return slugs

    async def _visible(
        self, uow: CrmUnitOfWork, caller: Caller, batch_id: uuid.UUID
    ) -> ImportBatch:
        batch = await uow.imports.get(batch_id)
        if batch is None or not (caller.is_admin or batch.target_sales_head_id == caller.user_id):
            raise NotFound(f"no import batch {batch_id}", code="import_not_found")
        return batch
