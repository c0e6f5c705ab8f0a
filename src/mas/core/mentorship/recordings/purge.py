"""The daily ``mentorship.recording_purge`` (mentorship.md §6).

Two sweeps, each safe to run again after any crash:

* A recording ``DELETED`` more than ``PURGE_AFTER`` ago loses its object: storage deletes it
  (a missing key is no error: the port's ``delete`` takes that as done), then ``purged_at`` is
  set by compare-and-set, so the next run does not find it. A crash between the two deletes
  once more, which the port tolerates. A recording never completed also has its multipart
  upload aborted (its parts are not an object yet).
* An upload still ``UPLOADING`` after ``STALE_AFTER`` is abandoned: its multipart upload is
  aborted first, then the row moves to ``FAILED``; a crash between the two aborts once more
  (also tolerated), and a completion that loses the race finds the upload gone (409).
"""

from __future__ import annotations

import logging

import msgspec

from mas.core.mentorship.recordings.model import (
    PURGE_AFTER,
    STALE_AFTER,
    Recording,
    RecordingChange,
    RecordingStatus,
)
from mas.core.mentorship.recordings.ports import RecordingsUnitOfWork
from mas.core.platform.ports.clock import Clock
from mas.core.platform.ports.storage import Storage
from mas.core.platform.ports.uow import UnitOfWorkFactory

log = logging.getLogger("mas.mentorship.recordings")

BATCH = 100


class PurgeReport(msgspec.Struct, frozen=True, kw_only=True):
    purged: int
    """Deleted recordings whose object this run removed."""
    failed: int
    """Stale uploads this run failed."""


class RecordingPurge:
    def __init__(
        self, uow: UnitOfWorkFactory[RecordingsUnitOfWork], clock: Clock, storage: Storage
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._storage = storage

    async def run(self) -> PurgeReport:
        report = PurgeReport(purged=await self._purge_deleted(), failed=await self._fail_stale())
        log.info(
            "mentorship.recording_purge", extra={"purged": report.purged, "failed": report.failed}
        )
        return report

    async def _purge_deleted(self) -> int:
        purged = 0
        while True:
            now = self._clock.now()
            async with self._uow() as uow:
                due = await uow.recordings.deleted_before(now - PURGE_AFTER, BATCH)
            for recording in due:
                await self._remove_object(recording)
                async with self._uow() as uow:
                    if await uow.recordings.mark_purged(recording.id, now):
                        purged += 1
                    await uow.commit()
            if len(due) < BATCH:
                return purged

    async def _remove_object(self, recording: Recording) -> None:
        if recording.completed_at is None:
            await self._storage.abort_multipart(recording.storage_key, recording.upload_id)
        await self._storage.delete(recording.storage_key)

    async def _fail_stale(self) -> int:
        failed = 0
        while True:
            now = self._clock.now()
            async with self._uow() as uow:
                stale = await uow.recordings.uploading_since(now - STALE_AFTER, BATCH)
            for recording in stale:
                await self._storage.abort_multipart(recording.storage_key, recording.upload_id)
                async with self._uow() as uow:
                    moved = await uow.recordings.move(
                        recording.id,
                        RecordingStatus.UPLOADING,
                        RecordingStatus.FAILED,
                        RecordingChange(),
                        now,
                    )
                    await uow.commit()
                failed += moved is not None
            if len(stale) < BATCH:
                return failed
