"""Reading and removing recordings: the ADMIN's list and soft delete, and a download URL for
an ADMIN or the meeting's participants."""

from __future__ import annotations

import logging
import uuid
from datetime import timedelta

from mas.core.identity.policy import Caller
from mas.core.mentorship.recordings.model import (
    DOWNLOAD_TTL_S,
    PresignedUrl,
    RecordingChange,
    RecordingStatus,
    RecordingView,
    check_move,
)
from mas.core.mentorship.recordings.ports import RecordingsUnitOfWork
from mas.core.mentorship.recordings.uploads import check_participant
from mas.core.platform.errors import Conflict, NotFound
from mas.core.platform.paging import Page, PageRequest
from mas.core.platform.ports.clock import Clock
from mas.core.platform.ports.storage import Storage
from mas.core.platform.ports.uow import UnitOfWorkFactory

log = logging.getLogger("mas.mentorship.recordings")


def _missing() -> NotFound:
    return NotFound("no such recording", code="recording_not_found")


class RecordingLibrary:
    def __init__(
        self, uow: UnitOfWorkFactory[RecordingsUnitOfWork], clock: Clock, storage: Storage
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._storage = storage

    async def page(
        self, slot_id: uuid.UUID | None, status: RecordingStatus | None, req: PageRequest
    ) -> Page[RecordingView]:
        """Every recording (the route admits ADMINs only), newest first."""
        async with self._uow() as uow:
            page = await uow.recordings.page(slot_id, status, req)
        return Page(
            items=[RecordingView.of(r) for r in page.items],
            total=page.total,
            page=page.page,
            page_size=page.page_size,
        )

    async def download_url(self, caller: Caller, recording_id: uuid.UUID) -> PresignedUrl:
        """A deleted recording is gone for everyone (404); one still uploading or failed has
        nothing to download (409)."""
        async with self._uow() as uow:
            recording = await uow.recordings.get(recording_id)
            if recording is None or recording.status is RecordingStatus.DELETED:
                raise _missing()
            slot = await uow.slots.get(recording.slot_id)
            if slot is None:
                raise _missing()
            check_participant(caller, slot)
        if recording.status is not RecordingStatus.AVAILABLE:
            raise Conflict(
                f"the recording is {recording.status.value}: nothing to download yet",
                code="recording_not_available",
            )
        url = await self._storage.presign_get(recording.storage_key, DOWNLOAD_TTL_S)
        return PresignedUrl(
            url=url, expires_at=self._clock.now() + timedelta(seconds=DOWNLOAD_TTL_S)
        )

    async def delete(self, caller: Caller, recording_id: uuid.UUID) -> RecordingView:
        """Soft delete: the row stays ``DELETED``; the purge removes the object a week later."""
        now = self._clock.now()
        async with self._uow() as uow:
            recording = await uow.recordings.get(recording_id)
            if recording is None:
                raise _missing()
            check_move(recording.status, RecordingStatus.DELETED)
            moved = await uow.recordings.move(
                recording.id,
                recording.status,
                RecordingStatus.DELETED,
                RecordingChange(deleted_at=now),
                now,
            )
            if moved is None:
                raise Conflict(
                    "the recording changed meanwhile; read it again", code="recording_changed"
                )
            await uow.commit()
        log.info(
            "mentorship.recording_deleted",
            extra={"recording_id": str(recording_id), "actor": str(caller.user_id)},
        )
        return RecordingView.of(moved)
