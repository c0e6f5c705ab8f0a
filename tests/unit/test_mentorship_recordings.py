"""The recordings part's rules on fakes (mentorship.md §3 MeetingRecording, §5, §6): who may
record, the upload's life (start, part URLs, complete, abort), the library (list, download,
soft delete) and the purge cron."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from mas.adapters.fakes.mentorship_recordings import (
    FakeRecordingRepository,
    FakeRecordingsUnitOfWork,
    RecordingStore,
)
from mas.adapters.fakes.platform import FakeClock
from mas.adapters.fakes.storage import FakeStorage
from mas.core.identity.policy import Caller, Platform, Role
from mas.core.mentorship import handlers as domain_handlers
from mas.core.mentorship.meetings.model import Slot, SlotStatus
from mas.core.mentorship.recordings import CRONS, RecordingPorts, build_recordings
from mas.core.mentorship.recordings.model import (
    TRANSITIONS,
    CompleteRecording,
    NewRecording,
    RecordingMime,
    RecordingStatus,
    UploadedPart,
    check_move,
)
from mas.core.mentorship.room import bot_tickets
from mas.core.platform.errors import (
    Conflict,
    ExternalUnavailable,
    Forbidden,
    InvalidState,
    NotFound,
    ValidationFailed,
)
from mas.core.platform.ids import uuid7
from mas.core.platform.paging import PageRequest

NOW = datetime(2026, 12, 10, 10, 5, tzinfo=UTC)
KEY = bot_tickets.key_of("unit-secret")


def caller(role: Role) -> Caller:
    return Caller(user_id=uuid7(), role=role, platform=Platform.MY_ANALYTICS_SCHOOL)


@dataclass
class World:
    store: RecordingStore
    storage: FakeStorage
    clock: FakeClock
    services: Any
    mentor: Caller
    student: Caller
    admin: Caller
    outsider: Caller
    meeting: Slot = field(init=False)
    """A confirmed meeting of ``mentor`` and ``student``."""

    def __post_init__(self) -> None:
        self.meeting = self.slot(SlotStatus.CONFIRMED, self.student)

    def slot(self, status: SlotStatus, student: Caller | None = None) -> Slot:
        start = NOW.replace(minute=0)
        slot = Slot(
            id=uuid7(),
            mentor_id=self.mentor.user_id,
            student_id=student.user_id if student else None,
            start_date_time=start,
            end_date_time=start + timedelta(minutes=30),
            status=status,
            created_at=NOW,
            updated_at=NOW,
        )
        self.store.slots[slot.id] = slot
        return slot

    async def uploaded(self, who: Caller | None = None, *chunks: bytes) -> Any:
        """A recording of the meeting with its parts sent, not yet completed."""
        started = await self.services.uploads.start(
            who or self.mentor, self.meeting.id, NewRecording()
        )
        upload_id = self.store.recordings[started.recording.id].upload_id
        etags = [
            self.storage.upload_part(upload_id, n, chunk)
            for n, chunk in enumerate(chunks or (b"part-one", b"part-two"), 1)
        ]
        return started.recording, [UploadedPart(n, etag) for n, etag in enumerate(etags, 1)]


@pytest.fixture
def world() -> World:
    store, storage, clock = RecordingStore(), FakeStorage(), FakeClock(NOW)
    services = build_recordings(
        RecordingPorts(
            uow=lambda: FakeRecordingsUnitOfWork(store), clock=clock, storage=storage, bot_key=KEY
        )
    )
    return World(
        store,
        storage,
        clock,
        services,
        mentor=caller(Role.EXPERT),
        student=caller(Role.USER),
        admin=caller(Role.ADMIN),
        outsider=caller(Role.USER),
    )


async def test_a_participant_starts_a_recording_with_the_bots_ticket(world: World) -> None:
    for who in (world.mentor, world.student, world.admin):
        started = await world.services.uploads.start(who, world.meeting.id, NewRecording())
        view = started.recording
        assert (view.status, view.mime_type, view.started_by) == (
            RecordingStatus.UPLOADING,
            RecordingMime.VIDEO_WEBM,
            who.user_id,
        )
        assert view.storage_key == f"recordings/{world.meeting.id}/{view.id}.webm"
        row = world.store.recordings[view.id]
        assert world.storage.uploads[row.upload_id].key == view.storage_key
        assert world.storage.uploads[row.upload_id].content_type == "video/webm"
        end = world.meeting.end_date_time
        ticket = started.bot_ticket
        assert bot_tickets.verify(KEY, ticket, world.meeting.id, end + timedelta(minutes=29))
        assert not bot_tickets.verify(KEY, ticket, world.meeting.id, end + timedelta(minutes=31))
        assert not bot_tickets.verify(KEY, ticket, uuid7(), NOW)
    audio = await world.services.uploads.start(
        world.student, world.meeting.id, NewRecording(RecordingMime.AUDIO_OGG)
    )
    assert audio.recording.storage_key.endswith(".ogg")


async def test_only_a_participant_records_a_confirmed_booked_meeting(world: World) -> None:
    start = world.services.uploads.start
    with pytest.raises(Forbidden) as refused:
        await start(world.outsider, world.meeting.id, NewRecording())
    assert refused.value.code == "not_participant"
    with pytest.raises(NotFound) as missing:
        await start(world.mentor, uuid7(), NewRecording())
    assert missing.value.code == "meeting_not_found"
    open_slot = world.slot(SlotStatus.OPEN)
    with pytest.raises(NotFound):
        await start(world.mentor, open_slot.id, NewRecording())
    for status in (SlotStatus.TENTATIVE, SlotStatus.COMPLETED, SlotStatus.CANCELLED):
        other = world.slot(status, world.student)
        with pytest.raises(Conflict) as not_confirmed:
            await start(world.mentor, other.id, NewRecording())
        assert not_confirmed.value.code == "meeting_not_confirmed"
    assert world.store.recordings == {} and world.storage.uploads == {}


async def test_a_meeting_has_at_most_twenty_recordings(world: World) -> None:
    for _ in range(20):
        await world.services.uploads.start(world.mentor, world.meeting.id, NewRecording())
    with pytest.raises(Conflict) as full:
        await world.services.uploads.start(world.mentor, world.meeting.id, NewRecording())
    assert full.value.code == "too_many_recordings"
    assert len(world.storage.uploads) == 20


async def test_an_upload_no_row_names_is_aborted(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken(self: Any, recording: Any) -> None:
        raise RuntimeError("database went away")

    monkeypatch.setattr(FakeRecordingRepository, "add", broken)
    with pytest.raises(RuntimeError):
        await world.services.uploads.start(world.mentor, world.meeting.id, NewRecording())
    assert world.storage.uploads == {} and len(world.storage.aborted) == 1


async def test_part_urls_only_while_uploading_and_of_that_meeting(world: World) -> None:
    recording, parts = await world.uploaded()
    url = await world.services.uploads.part_url(world.student, world.meeting.id, recording.id, 3)
    assert "part_number=3" in url.url and url.expires_at == NOW + timedelta(hours=1)
    other = world.slot(SlotStatus.CONFIRMED, world.student)
    with pytest.raises(NotFound) as elsewhere:
        await world.services.uploads.part_url(world.student, other.id, recording.id, 1)
    assert elsewhere.value.code == "recording_not_found"
    with pytest.raises(Forbidden):
        await world.services.uploads.part_url(world.outsider, world.meeting.id, recording.id, 1)
    await world.services.uploads.complete(
        world.mentor, world.meeting.id, recording.id, CompleteRecording(parts)
    )
    with pytest.raises(Conflict) as done:
        await world.services.uploads.part_url(world.mentor, world.meeting.id, recording.id, 1)
    assert done.value.code == "recording_not_uploading"


async def test_complete_joins_the_parts_once(world: World) -> None:
    recording, parts = await world.uploaded(None, b"abc", b"def")
    world.clock.advance(minutes=20)
    done = await world.services.uploads.complete(
        world.student,
        world.meeting.id,
        recording.id,
        CompleteRecording(parts, size_bytes=6, duration_seconds=1200),
    )
    assert (done.status, done.size_bytes, done.duration_seconds) == (
        RecordingStatus.AVAILABLE,
        6,
        1200,
    )
    assert done.completed_at == NOW + timedelta(minutes=20)
    assert world.storage.objects[recording.storage_key] == b"abcdef"
    with pytest.raises(InvalidState, match="'AVAILABLE' to 'AVAILABLE'"):
        await world.services.uploads.complete(
            world.student, world.meeting.id, recording.id, CompleteRecording(parts)
        )


async def test_a_wrong_etag_or_a_vanished_upload_leaves_the_recording_uploading(
    world: World,
) -> None:
    recording, parts = await world.uploaded()
    wrong = [parts[0], UploadedPart(2, '"0000"')]
    with pytest.raises(ValidationFailed) as bad:
        await world.services.uploads.complete(
            world.mentor, world.meeting.id, recording.id, CompleteRecording(wrong)
        )
    assert bad.value.code == "invalid_part"
    assert world.store.recordings[recording.id].status is RecordingStatus.UPLOADING
    world.storage.uploads.clear()
    with pytest.raises(Conflict) as gone:
        await world.services.uploads.complete(
            world.mentor, world.meeting.id, recording.id, CompleteRecording(parts)
        )
    assert gone.value.code == "upload_gone"
    assert world.store.recordings[recording.id].status is RecordingStatus.UPLOADING


async def test_abort_fails_the_recording_and_drops_the_parts(world: World) -> None:
    recording, _ = await world.uploaded()
    upload_id = world.store.recordings[recording.id].upload_id
    failed = await world.services.uploads.abort(world.student, world.meeting.id, recording.id)
    assert failed.status is RecordingStatus.FAILED
    assert upload_id not in world.storage.uploads and world.storage.aborted == [upload_id]
    with pytest.raises(InvalidState):
        await world.services.uploads.abort(world.student, world.meeting.id, recording.id)


async def test_the_admins_list_filters_by_meeting_and_status(world: World) -> None:
    first, parts = await world.uploaded()
    await world.services.uploads.complete(
        world.mentor, world.meeting.id, first.id, CompleteRecording(parts)
    )
    world.clock.advance(minutes=1)
    second = await world.services.uploads.start(world.mentor, world.meeting.id, NewRecording())
    other = world.slot(SlotStatus.CONFIRMED, world.student)
    await world.services.uploads.start(world.mentor, other.id, NewRecording())
    library = world.services.library
    everything = await library.page(None, None, PageRequest())
    assert everything.total == 3
    mine = await library.page(world.meeting.id, None, PageRequest())
    assert [r.id for r in mine.items] == [second.recording.id, first.id]
    available = await library.page(None, RecordingStatus.AVAILABLE, PageRequest())
    assert [r.id for r in available.items] == [first.id]


async def test_download_urls_for_participants_of_available_recordings(world: World) -> None:
    recording, parts = await world.uploaded()
    library = world.services.library
    with pytest.raises(Conflict) as uploading:
        await library.download_url(world.student, recording.id)
    assert uploading.value.code == "recording_not_available"
    await world.services.uploads.complete(
        world.mentor, world.meeting.id, recording.id, CompleteRecording(parts)
    )
    for who in (world.mentor, world.student, world.admin):
        url = await library.download_url(who, recording.id)
        assert recording.storage_key in url.url
        assert url.expires_at == NOW + timedelta(minutes=15)
    with pytest.raises(Forbidden):
        await library.download_url(world.outsider, recording.id)
    with pytest.raises(NotFound):
        await library.download_url(world.admin, uuid7())
    await library.delete(world.admin, recording.id)
    with pytest.raises(NotFound) as deleted:
        await library.download_url(world.student, recording.id)
    assert deleted.value.code == "recording_not_found"


async def test_delete_is_soft_and_happens_once(world: World) -> None:
    recording, _ = await world.uploaded()
    world.clock.advance(hours=1)
    gone = await world.services.library.delete(world.admin, recording.id)
    assert (gone.status, gone.deleted_at) == (RecordingStatus.DELETED, NOW + timedelta(hours=1))
    assert world.store.recordings[recording.id].status is RecordingStatus.DELETED
    assert world.storage.deleted == []  # the object waits for the purge
    with pytest.raises(InvalidState, match="'DELETED' to 'DELETED'"):
        await world.services.library.delete(world.admin, recording.id)
    with pytest.raises(NotFound):
        await world.services.library.delete(world.admin, uuid.uuid4())


async def test_the_purge_removes_a_week_old_deletion_once(world: World) -> None:
    kept, kept_parts = await world.uploaded()
    old, old_parts = await world.uploaded()
    for recording, parts in ((kept, kept_parts), (old, old_parts)):
        await world.services.uploads.complete(
            world.mentor, world.meeting.id, recording.id, CompleteRecording(parts)
        )
    await world.services.library.delete(world.admin, old.id)
    world.clock.advance(days=2)
    await world.services.library.delete(world.admin, kept.id)
    world.clock.advance(days=5, minutes=1)
    first = await world.services.purge.run()
    second = await world.services.purge.run()
    assert (first.purged, second.purged) == (1, 0)
    assert world.storage.deleted == [old.storage_key]
    assert old.storage_key not in world.storage.objects
    assert kept.storage_key in world.storage.objects
    assert world.store.recordings[old.id].purged_at == world.clock.now()
    assert world.store.recordings[kept.id].purged_at is None


async def test_the_purge_tolerates_a_missing_object_and_aborts_an_unfinished_one(
    world: World,
) -> None:
    unfinished, _ = await world.uploaded()
    upload_id = world.store.recordings[unfinished.id].upload_id
    await world.services.library.delete(world.admin, unfinished.id)
    world.clock.advance(days=8)
    report = await world.services.purge.run()
    assert report.purged == 1
    assert world.storage.aborted == [upload_id] and world.storage.uploads == {}
    assert world.storage.deleted == [unfinished.storage_key]


async def test_the_purge_fails_uploads_abandoned_for_a_day(world: World) -> None:
    stale, _ = await world.uploaded()
    world.clock.advance(hours=23)
    fresh, _ = await world.uploaded()
    world.clock.advance(hours=1, seconds=1)
    first = await world.services.purge.run()
    second = await world.services.purge.run()
    assert (first.failed, second.failed) == (1, 0)
    assert world.store.recordings[stale.id].status is RecordingStatus.FAILED
    assert world.store.recordings[fresh.id].status is RecordingStatus.UPLOADING
    stale_upload = world.store.recordings[stale.id].upload_id
    assert world.storage.aborted == [stale_upload]
    assert stale_upload not in world.storage.uploads


async def test_storage_down_leaves_the_purge_to_its_retry(world: World) -> None:
    recording, _ = await world.uploaded()
    await world.services.library.delete(world.admin, recording.id)
    world.clock.advance(days=8)
    world.storage.down = True
    with pytest.raises(ExternalUnavailable):
        await world.services.purge.run()
    assert world.store.recordings[recording.id].purged_at is None
    world.storage.down = False
    assert (await world.services.purge.run()).purged == 1


def test_deleted_is_final() -> None:
    assert TRANSITIONS[RecordingStatus.DELETED] == frozenset()
    for status in RecordingStatus:
        if status is not RecordingStatus.DELETED:
            check_move(status, RecordingStatus.DELETED)
    with pytest.raises(InvalidState):
        check_move(RecordingStatus.FAILED, RecordingStatus.AVAILABLE)


def test_the_purge_is_a_daily_cron_of_the_domain() -> None:
    (task, expression), *_ = CRONS.items()
    assert task.name == "mentorship.recording_purge"
    assert expression.split()[2:] == ["*", "*", "*"]
    assert task in domain_handlers.CRONS
    assert any(h.task is task for h in domain_handlers.HANDLERS)
