"""Meeting recordings (mentorship.md §3 ``MeetingRecording``): metadata only, the media goes
straight from the browser to storage as a multipart upload.

A recording's status moves only along ``TRANSITIONS``: ``UPLOADING`` until the client completes
(``AVAILABLE``) or aborts it, or the purge finds it stale (``FAILED``); an ADMIN soft-deletes
any of them (``DELETED``), and the purge removes a deleted recording's object a week later.
"""

from __future__ import annotations

import enum
import uuid
from datetime import datetime, timedelta
from typing import Annotated

import msgspec

from mas.core.platform.bounds import schema_extra
from mas.core.platform.errors import InvalidState
from mas.core.platform.ports.storage import MAX_PART_NUMBER

PART_URL_TTL_S = 3600
"""A part URL lives an hour: a browser asks for each part's URL just before it sends it."""
DOWNLOAD_TTL_S = 15 * 60
PURGE_AFTER = timedelta(days=7)
"""A deleted recording's object stays this long (an ADMIN's mistake can still be undone in
storage), then the purge removes it."""
STALE_AFTER = timedelta(days=1)
"""An upload still open this long after it started is abandoned: the purge fails it."""
MAX_PER_MEETING = 20
"""Recordings a meeting may have (every start reserves a multipart upload in storage)."""
MAX_DURATION_S = 24 * 3600
MAX_SIZE_BYTES = 5 * 1024**4
"""S3's largest object (5 TiB)."""


class RecordingStatus(enum.StrEnum):
    UPLOADING = "UPLOADING"
    AVAILABLE = "AVAILABLE"
    FAILED = "FAILED"
    DELETED = "DELETED"


class RecordingMime(enum.StrEnum):
    """The media types a recording may have (what browsers' ``MediaRecorder`` produces)."""

    VIDEO_WEBM = "video/webm"
    VIDEO_MP4 = "video/mp4"
    VIDEO_MATROSKA = "video/x-matroska"
    AUDIO_WEBM = "audio/webm"
    AUDIO_OGG = "audio/ogg"
    AUDIO_MP4 = "audio/mp4"
    AUDIO_MPEG = "audio/mpeg"


EXTENSION: dict[RecordingMime, str] = {
    RecordingMime.VIDEO_WEBM: "webm",
    RecordingMime.VIDEO_MP4: "mp4",
    RecordingMime.VIDEO_MATROSKA: "mkv",
    RecordingMime.AUDIO_WEBM: "weba",
    RecordingMime.AUDIO_OGG: "ogg",
    RecordingMime.AUDIO_MP4: "m4a",
    RecordingMime.AUDIO_MPEG: "mp3",
}
"""The storage key's extension: a download's media type is guessed from it."""

R = RecordingStatus
TRANSITIONS: dict[RecordingStatus, frozenset[RecordingStatus]] = {
    R.UPLOADING: frozenset({R.AVAILABLE, R.FAILED, R.DELETED}),
    R.AVAILABLE: frozenset({R.DELETED}),
    R.FAILED: frozenset({R.DELETED}),
    R.DELETED: frozenset(),
}


def check_move(current: RecordingStatus, target: RecordingStatus) -> None:
    if target not in TRANSITIONS[current]:
        raise InvalidState("recording", current.value, target.value)


def storage_key(slot_id: uuid.UUID, recording_id: uuid.UUID, mime: RecordingMime) -> str:
    return f"recordings/{slot_id}/{recording_id}.{EXTENSION[mime]}"


class Recording(msgspec.Struct, frozen=True, kw_only=True):
    id: uuid.UUID
    slot_id: uuid.UUID
    storage_key: str
    upload_id: str
    status: RecordingStatus
    mime_type: RecordingMime
    started_by: uuid.UUID | None
    started_at: datetime
    size_bytes: int | None = None
    duration_seconds: int | None = None
    completed_at: datetime | None = None
    deleted_at: datetime | None = None
    purged_at: datetime | None = None
    """When the purge removed the object (a deleted recording's, once)."""


class RecordingChange(msgspec.Struct, frozen=True, kw_only=True):
    """What a move writes besides the status (None: left as is)."""

    size_bytes: int | None = None
    duration_seconds: int | None = None
    completed_at: datetime | None = None
    deleted_at: datetime | None = None


class RecordingView(msgspec.Struct, frozen=True, kw_only=True):
    """A recording as the API shows it (without the storage's upload id)."""

    id: uuid.UUID
    slot_id: uuid.UUID
    storage_key: str
    status: RecordingStatus
    mime_type: RecordingMime
    size_bytes: int | None
    duration_seconds: int | None
    started_by: uuid.UUID | None
    started_at: datetime
    completed_at: datetime | None
    deleted_at: datetime | None

    @classmethod
    def of(cls, recording: Recording) -> RecordingView:
        return cls(
            **{name: getattr(recording, name) for name in cls.__struct_fields__},
        )


class NewRecording(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    mime_type: RecordingMime = RecordingMime.VIDEO_WEBM


class RecordingStarted(msgspec.Struct, frozen=True, kw_only=True):
    recording: RecordingView
    bot_ticket: str
    """The recording bot's ticket for ``GET /api/meetings/{id}/bot-info`` (until the
    meeting's end + 30 minutes)."""


PartNumber = Annotated[int, msgspec.Meta(ge=1, le=MAX_PART_NUMBER)]
Etag = Annotated[str, msgspec.Meta(min_length=1, max_length=128)]


class UploadedPart(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    part_number: PartNumber
    etag: Etag
    """The ``ETag`` header the part's PUT answered."""


# Litestar drops a bound of 0 from the document (it tests the bound for truth): stated again.
Bytes = Annotated[
    int, msgspec.Meta(ge=0, le=MAX_SIZE_BYTES, extra_json_schema=schema_extra(minimum=0))
]
Seconds = Annotated[
    int, msgspec.Meta(ge=0, le=MAX_DURATION_S, extra_json_schema=schema_extra(minimum=0))
]


class CompleteRecording(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    parts: Annotated[list[UploadedPart], msgspec.Meta(min_length=1, max_length=MAX_PART_NUMBER)]
    """Every uploaded part, in ascending part number order."""
    size_bytes: Bytes | None = None
    """What the client sent, as it counted it (storage is not asked)."""
    duration_seconds: Seconds | None = None


class PresignedUrl(msgspec.Struct, frozen=True, kw_only=True):
    url: str
    expires_at: datetime
