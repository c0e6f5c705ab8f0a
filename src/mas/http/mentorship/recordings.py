"""Meeting recordings over HTTP (mentorship.md §5; architecture-original §c3 "Recordings").

A participant of a confirmed meeting (its mentor or student) or an ADMIN starts a recording,
asks for one presigned URL per part, and completes or aborts the upload; the media goes from
the browser to storage, never through these routes. ADMINs list and soft-delete recordings; a
participant or an ADMIN gets a 15-minute download URL. A caller outside the meeting gets 403,
as the meeting's details route answers (404 only when the meeting does not exist).
"""

from __future__ import annotations

import uuid
from typing import Annotated

from litestar import delete, get, post
from litestar.params import FromPath, JSONBody, PathParameter, QueryParameter

from mas.core.mentorship.recordings.model import (
    CompleteRecording,
    NewRecording,
    PresignedUrl,
    RecordingStarted,
    RecordingStatus,
    RecordingView,
)
from mas.core.platform.paging import Page, PageRequest
from mas.core.platform.ports.storage import MAX_PART_NUMBER
from mas.http.mentorship import Mentorship, MentorshipController
from mas.http.params import CallerDep, PageNo, PageSize

MEETING_RULES = {
    "meeting_not_found": "the meeting exists and is booked",
    "not_participant": "the caller is the meeting's mentor, its student or an admin",
}
MEETING_STATUS = {"meeting_not_found": 404, "not_participant": 403}
RECORDING_RULES = {
    **MEETING_RULES,
    "recording_not_found": "the recording exists and belongs to the meeting",
}
RECORDING_STATUS = {**MEETING_STATUS, "recording_not_found": 404}
MOVE_RULES = {
    "illegal_transition": "the recording is in a state this move starts from",
    "recording_changed": "nobody changed the recording meanwhile",
}
MOVE_STATUS = {"illegal_transition": 409, "recording_changed": 409}
STORAGE_DOWN = (503,)
"""Storage not configured or not reachable."""

PartNumber = Annotated[
    int, PathParameter(ge=1, le=MAX_PART_NUMBER, description="the part, 1..10000")
]


class MeetingRecordingController(MentorshipController):
    path = "/api/meetings/{meeting_id:uuid}/recordings"
    tags = ["mentorship: recordings"]

    @post(
        "/",
        operation_id="startRecording",
        summary="Start recording a confirmed meeting: a multipart upload and the bot's ticket",
        opt={
            "policy": "authenticated",
            "rules": {
                **MEETING_RULES,
                "meeting_not_confirmed": "the meeting is confirmed",
                "too_many_recordings": "the meeting has fewer than 20 recordings",
            },
            "rules_status": {
                **MEETING_STATUS,
                "meeting_not_confirmed": 409,
                "too_many_recordings": 409,
            },
            "problems": STORAGE_DOWN,
        },
    )
    async def start(
        self,
        mentorship: Mentorship,
        caller: CallerDep,
        meeting_id: FromPath[uuid.UUID],
        data: JSONBody[NewRecording | None] = None,
    ) -> RecordingStarted:
        return await mentorship.recordings.uploads.start(
            caller, meeting_id, data if data is not None else NewRecording()
        )

    @get(
        "/{recording_id:uuid}/parts/{part_number:int}/url",
        operation_id="recordingPartUrl",
        summary="A presigned URL to PUT one part of the recording to (an hour)",
        opt={
            "policy": "authenticated",
            "rules": {
                **RECORDING_RULES,
                "recording_not_uploading": "the recording is still uploading",
            },
            "rules_status": {**RECORDING_STATUS, "recording_not_uploading": 409},
            "problems": STORAGE_DOWN,
        },
    )
    async def part_url(
        self,
        mentorship: Mentorship,
        caller: CallerDep,
        meeting_id: FromPath[uuid.UUID],
        recording_id: FromPath[uuid.UUID],
        part_number: PartNumber,
    ) -> PresignedUrl:
        return await mentorship.recordings.uploads.part_url(
            caller, meeting_id, recording_id, part_number
        )

    @post(
        "/{recording_id:uuid}/complete",
        operation_id="completeRecording",
        summary="Join the uploaded parts (their etags, ascending): the recording is available",
        status_code=200,
        opt={
            "policy": "authenticated",
            "rules": {
                **RECORDING_RULES,
                **MOVE_RULES,
                "upload_gone": "the upload is still open in storage",
                "invalid_part": "every part listed was uploaded with that etag",
                "invalid_part_order": "parts are listed in ascending part number, each once",
            },
            "rules_status": {
                **RECORDING_STATUS,
                **MOVE_STATUS,
                "upload_gone": 409,
                "invalid_part": 422,
                "invalid_part_order": 422,
            },
            "problems": STORAGE_DOWN,
        },
    )
    async def complete(
        self,
        mentorship: Mentorship,
        caller: CallerDep,
        meeting_id: FromPath[uuid.UUID],
        recording_id: FromPath[uuid.UUID],
        data: JSONBody[CompleteRecording],
    ) -> RecordingView:
        return await mentorship.recordings.uploads.complete(caller, meeting_id, recording_id, data)

    @post(
        "/{recording_id:uuid}/abort",
        operation_id="abortRecording",
        summary="Give up an upload: its parts are dropped and the recording is FAILED",
        status_code=200,
        opt={
            "policy": "authenticated",
            "rules": {**RECORDING_RULES, **MOVE_RULES},
            "rules_status": {**RECORDING_STATUS, **MOVE_STATUS},
            "problems": STORAGE_DOWN,
        },
    )
    async def abort(
        self,
        mentorship: Mentorship,
        caller: CallerDep,
        meeting_id: FromPath[uuid.UUID],
        recording_id: FromPath[uuid.UUID],
    ) -> RecordingView:
        return await mentorship.recordings.uploads.abort(caller, meeting_id, recording_id)


class RecordingController(MentorshipController):
    path = "/api"
    tags = ["mentorship: recordings"]

    @get(
        "/admin/recordings",
        operation_id="listRecordings",
        summary="Recordings, newest first (admin)",
        opt={"policy": "admin"},
    )
    async def list_recordings(
        self,
        mentorship: Mentorship,
        slot_id: Annotated[
            uuid.UUID | None, QueryParameter(description="only this meeting's recordings")
        ] = None,
        status: Annotated[
            RecordingStatus | None, QueryParameter(description="only recordings in this status")
        ] = None,
        page: PageNo = 1,
        page_size: PageSize = 20,
    ) -> Page[RecordingView]:
        return await mentorship.recordings.library.page(
            slot_id, status, PageRequest(page, page_size)
        )

    @get(
        "/recordings/{recording_id:uuid}/url",
        operation_id="recordingDownloadUrl",
        summary="A presigned download URL of an available recording (15 minutes)",
        opt={
            "policy": "authenticated",
            "rules": {
                "recording_not_found": "the recording exists and is not deleted",
                "not_participant": MEETING_RULES["not_participant"],
                "recording_not_available": "the recording is available (uploaded)",
            },
            "rules_status": {
                "recording_not_found": 404,
                "not_participant": 403,
                "recording_not_available": 409,
            },
            "problems": STORAGE_DOWN,
        },
    )
    async def download_url(
        self, mentorship: Mentorship, caller: CallerDep, recording_id: FromPath[uuid.UUID]
    ) -> PresignedUrl:
        return await mentorship.recordings.library.download_url(caller, recording_id)

    @delete(
        "/admin/recordings/{recording_id:uuid}",
        operation_id="deleteRecording",
        summary="Soft-delete a recording (admin); its object is purged a week later",
        status_code=200,
        opt={
            "policy": "admin",
            "rules": {"recording_not_found": "the recording exists", **MOVE_RULES},
            "rules_status": {"recording_not_found": 404, **MOVE_STATUS},
        },
    )
    async def delete_recording(
        self, mentorship: Mentorship, caller: CallerDep, recording_id: FromPath[uuid.UUID]
    ) -> RecordingView:
        return await mentorship.recordings.library.delete(caller, recording_id)
