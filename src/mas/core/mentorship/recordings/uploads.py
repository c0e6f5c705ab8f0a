"""Recording a meeting: start a multipart upload, hand out part URLs, complete or abort it
(the meeting's mentor, its student or an ADMIN).

The media never passes through this process: ``start`` opens a multipart upload in storage and
writes the ``UPLOADING`` row, the browser PUTs each part to a presigned URL and reports the
etags to ``complete``. Storage is called outside any database transaction (a slow bucket holds
no row lock); the row then moves by compare-and-set, so two completions racing settle once.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

from mas.core.identity.policy import Caller
from mas.core.mentorship.meetings.model import Slot, SlotStatus
from mas.core.mentorship.recordings.model import (
    MAX_PER_MEETING,
    PART_URL_TTL_S,
    CompleteRecording,
    NewRecording,
    PresignedUrl,
    Recording,
    RecordingChange,
    RecordingStarted,
    RecordingStatus,
    RecordingView,
    check_move,
    storage_key,
)
from mas.core.mentorship.recordings.ports import RecordingsUnitOfWork
from mas.core.mentorship.room import bot_tickets
from mas.core.platform.errors import Conflict, Forbidden, NotFound
from mas.core.platform.ids import uuid7
from mas.core.platform.ports.clock import Clock
from mas.core.platform.ports.storage import Storage
from mas.core.platform.ports.uow import UnitOfWorkFactory


def check_participant(caller: Caller, slot: Slot) -> None:
    if caller.user_id not in (slot.mentor_id, slot.student_id) and not caller.is_admin:
        raise Forbidden("only a participant or an admin", code="not_participant")


async def meeting_of(uow: RecordingsUnitOfWork, caller: Caller, meeting_id: uuid.UUID) -> Slot:
    """The booked meeting, if the caller takes part in it (or is an admin)."""
    slot = await uow.slots.get(meeting_id)
    if slot is None or slot.student_id is None:
        raise NotFound("no such meeting", code="meeting_not_found")
    check_participant(caller, slot)
    return slot


class RecordingUploads:
    def __init__(
        self,
        uow: UnitOfWorkFactory[RecordingsUnitOfWork],
        clock: Clock,
        storage: Storage,
        bot_key: bytes,
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._storage = storage
        self._bot_key = bot_key

    async def start(
        self, caller: Caller, meeting_id: uuid.UUID, data: NewRecording
    ) -> RecordingStarted:
        async with self._uow() as uow:
            slot = await meeting_of(uow, caller, meeting_id)
            if slot.status is not SlotStatus.CONFIRMED:
                raise Conflict(
                    f"only a confirmed meeting is recorded (this one is {slot.status.value})",
                    code="meeting_not_confirmed",
                )
            if await uow.recordings.count_of_slot(slot.id) >= MAX_PER_MEETING:
                raise Conflict(
                    f"a meeting has at most {MAX_PER_MEETING} recordings",
                    code="too_many_recordings",
                )
        recording_id = uuid7()
        key = storage_key(slot.id, recording_id, data.mime_type)
        upload_id = await self._storage.start_multipart(key, data.mime_type.value)
        recording = Recording(
            id=recording_id,
            slot_id=slot.id,
            storage_key=key,
            upload_id=upload_id,
            status=RecordingStatus.UPLOADING,
            mime_type=data.mime_type,
            started_by=caller.user_id,
            started_at=self._clock.now(),
        )
        try:
            async with self._uow() as uow:
                await uow.recordings.add(recording)
                await uow.commit()
        except BaseException:
            # No row names the upload: nothing would ever abort it.
            await self._storage.abort_multipart(key, upload_id)
            raise
        return RecordingStarted(
            recording=RecordingView.of(recording),
            bot_ticket=bot_tickets.mint(self._bot_key, slot.id, slot.end_date_time),
        )

    async def part_url(
        self, caller: Caller, meeting_id: uuid.UUID, recording_id: uuid.UUID, part_number: int
    ) -> PresignedUrl:
        recording = await self._uploading(caller, meeting_id, recording_id)
        url = await self._storage.presign_part(
            recording.storage_key, recording.upload_id, part_number, PART_URL_TTL_S
        )
        return PresignedUrl(
            url=url, expires_at=self._clock.now() + timedelta(seconds=PART_URL_TTL_S)
        )

    async def complete(
        self,
        caller: Caller,
        meeting_id: uuid.UUID,
        recording_id: uuid.UUID,
        data: CompleteRecording,
    ) -> RecordingView:
        recording = await self._of_meeting(caller, meeting_id, recording_id)
        check_move(recording.status, RecordingStatus.AVAILABLE)
        parts = [(part.part_number, part.etag) for part in data.parts]
        try:
            await self._storage.complete_multipart(
                recording.storage_key, recording.upload_id, parts
            )
        except NotFound:
            raise Conflict(
                "the upload is no longer open in storage (aborted or already joined)",
                code="upload_gone",
            ) from None
        change = RecordingChange(
            size_bytes=data.size_bytes,
            duration_seconds=data.duration_seconds,
            completed_at=self._clock.now(),
        )
        return await self._move(recording, RecordingStatus.AVAILABLE, change)

    async def abort(
        self, caller: Caller, meeting_id: uuid.UUID, recording_id: uuid.UUID
    ) -> RecordingView:
        recording = await self._of_meeting(caller, meeting_id, recording_id)
        check_move(recording.status, RecordingStatus.FAILED)
        await self._storage.abort_multipart(recording.storage_key, recording.upload_id)
        return await self._move(recording, RecordingStatus.FAILED, RecordingChange())

    async def _of_meeting(
        self, caller: Caller, meeting_id: uuid.UUID, recording_id: uuid.UUID
    ) -> Recording:
        async with self._uow() as uow:
            await meeting_of(uow, caller, meeting_id)
            recording = await uow.recordings.get(recording_id)
        if recording is None or recording.slot_id != meeting_id:
            raise NotFound("no such recording of this meeting", code="recording_not_found")
        return recording

    async def _uploading(
        self, caller: Caller, meeting_id: uuid.UUID, recording_id: uuid.UUID
    ) -> Recording:
        recording = await self._of_meeting(caller, meeting_id, recording_id)
        if recording.status is not RecordingStatus.UPLOADING:
            raise Conflict(
                f"the recording is {recording.status.value}, not uploading",
                code="recording_not_uploading",
            )
        return recording

    async def _move(
        self, recording: Recording, target: RecordingStatus, change: RecordingChange
    ) -> RecordingView:
        async with self._uow() as uow:
            moved = await uow.recordings.move(
                recording.id, recording.status, target, change, self._clock.now()
            )
            if moved is None:
                raise Conflict(
                    "the recording changed meanwhile; read it again", code="recording_changed"
                )
            await uow.commit()
        return RecordingView.of(moved)
