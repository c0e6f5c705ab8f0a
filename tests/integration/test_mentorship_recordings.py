"""Meeting recordings on SQLite and PostgreSQL, through the local-folder storage: the SQL
repository's filters and compare-and-set moves, and the purge cron run through the job ledger
(twice: one delete). The last tests race real transactions on PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from mas.adapters.fakes.platform import FakeClock
from mas.adapters.storage.local import LocalStorage
from mas.core.identity.policy import Caller, Role
from mas.core.mentorship.meetings.model import Slot, SlotStatus
from mas.core.mentorship.recordings.model import (
    CompleteRecording,
    NewRecording,
    RecordingMime,
    RecordingStatus,
    RecordingView,
    UploadedPart,
)
from mas.core.platform.errors import Conflict, InvalidState
from mas.core.platform.ids import uuid7
from mas.core.platform.paging import PageRequest
from tests.conftest import Database, make_settings, open_container
from tests.integration.test_mentorship_meetings import person

NOW = datetime(2026, 12, 10, 10, 5, tzinfo=UTC)


@pytest.fixture
async def rec(database: Database, tmp_path: Path) -> AsyncIterator[Any]:
    c = await open_container(
        make_settings(database.url, tmp_path), database=database.joined, clock=FakeClock(NOW)
    )
    yield c
    await c.close()


class Meeting:
    def __init__(self, mentor: Caller, student: Caller, admin: Caller, slot: Slot) -> None:
        self.mentor, self.student, self.admin, self.slot = mentor, student, admin, slot


async def confirmed(c: Any, status: SlotStatus = SlotStatus.CONFIRMED) -> Meeting:
    mentor, student, admin = [await person(c, r) for r in (Role.EXPERT, Role.USER, Role.ADMIN)]
    start = NOW.replace(minute=0)
    slot = Slot(
        id=uuid7(),
        mentor_id=mentor.user_id,
        student_id=student.user_id,
        start_date_time=start,
        end_date_time=start + timedelta(minutes=30),
        status=status,
        is_available=False,
        created_at=NOW,
        updated_at=NOW,
        room_id=f"room-{uuid7().hex}",
    )
    async with c.uow() as uow:
        await uow.slots.add_many([slot])
        await uow.commit()
    return Meeting(mentor, student, admin, slot)


async def uploaded(c: Any, m: Meeting, *chunks: bytes) -> tuple[RecordingView, CompleteRecording]:
    """A recording with its parts PUT into the local folder, as a browser would."""
    started = await c.mentorship.recordings.uploads.start(m.mentor, m.slot.id, NewRecording())
    async with c.uow() as uow:
        upload_id = (await uow.recordings.get(started.recording.id)).upload_id
    storage: LocalStorage = c.storage
    parts = [
        UploadedPart(n, await storage.write_part(upload_id, n, chunk))
        for n, chunk in enumerate(chunks or (b"x" * 10,), 1)
    ]
    return started.recording, CompleteRecording(parts, size_bytes=sum(map(len, chunks)))


async def test_an_upload_completes_into_one_stored_file(rec: Any) -> None:
    m = await confirmed(rec)
    recording, done = await uploaded(rec, m, b"first ", b"second")
    uploads = rec.mentorship.recordings.uploads
    available = await uploads.complete(m.student, m.slot.id, recording.id, done)
    assert (available.status, available.size_bytes) == (RecordingStatus.AVAILABLE, 12)
    assert await rec.storage.get(recording.storage_key) == b"first second"
    with pytest.raises(InvalidState):
        await uploads.complete(m.student, m.slot.id, recording.id, done)
    url = await rec.mentorship.recordings.library.download_url(m.student, recording.id)
    assert "/api/storage/objects/recordings/" in url.url


async def test_the_list_filters_on_both_databases(rec: Any) -> None:
    m, other = await confirmed(rec), await confirmed(rec)
    uploads, library = rec.mentorship.recordings.uploads, rec.mentorship.recordings.library
    first, done = await uploaded(rec, m)
    await uploads.complete(m.mentor, m.slot.id, first.id, done)
    rec.clock.advance(minutes=1)
    second = await uploads.start(m.student, m.slot.id, NewRecording(RecordingMime.AUDIO_WEBM))
    rec.clock.advance(minutes=1)
    elsewhere = await uploads.start(other.mentor, other.slot.id, NewRecording())
    everything = await library.page(None, None, PageRequest(1, 2))
    assert everything.total == 3
    assert [r.id for r in everything.items] == [elsewhere.recording.id, second.recording.id]
    mine = await library.page(m.slot.id, None, PageRequest())
    assert [r.id for r in mine.items] == [second.recording.id, first.id]
    assert mine.items[0].mime_type is RecordingMime.AUDIO_WEBM
    uploading = await library.page(m.slot.id, RecordingStatus.UPLOADING, PageRequest())
    assert [r.id for r in uploading.items] == [second.recording.id]


async def test_the_purge_cron_twice_deletes_once(rec: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    deletes: list[str] = []
    delete = LocalStorage.delete

    async def counted(self: LocalStorage, key: str) -> None:
        deletes.append(key)
        await delete(self, key)

    monkeypatch.setattr(LocalStorage, "delete", counted)
    m = await confirmed(rec)
    uploads, library = rec.mentorship.recordings.uploads, rec.mentorship.recordings.library
    old, done = await uploaded(rec, m)
    await uploads.complete(m.mentor, m.slot.id, old.id, done)
    await library.delete(m.admin, old.id)
    stale = await uploads.start(m.mentor, m.slot.id, NewRecording())
    rec.clock.advance(days=6)
    recent, recent_done = await uploaded(rec, m)
    await uploads.complete(m.mentor, m.slot.id, recent.id, recent_done)
    await library.delete(m.admin, recent.id)
    rec.clock.advance(days=1, minutes=1)
    for tick in (1, 2):
        run = await rec.jobs.enqueue("mentorship.recording_purge", {}, key=f"cron:{tick}")
        assert run.status.value in ("queued", "succeeded")
    assert deletes == [old.storage_key]
    assert not await rec.storage.exists(old.storage_key)
    assert await rec.storage.exists(recent.storage_key)
    async with rec.uow() as uow:
        purged = await uow.recordings.get(old.id)
        failed = await uow.recordings.get(stale.recording.id)
        kept = await uow.recordings.get(recent.id)
    assert purged.purged_at == rec.clock.now() and purged.status is RecordingStatus.DELETED
    assert failed.status is RecordingStatus.FAILED
    assert kept.purged_at is None
    upload_folder = Path(str(rec.storage.root) + ".uploads") / failed.upload_id
    assert not upload_folder.exists()


async def test_a_missing_object_does_not_stop_the_purge(rec: Any) -> None:
    m = await confirmed(rec)
    recording, done = await uploaded(rec, m)
    await rec.mentorship.recordings.uploads.complete(m.mentor, m.slot.id, recording.id, done)
    await rec.mentorship.recordings.library.delete(m.admin, recording.id)
    await rec.storage.delete(recording.storage_key)  # someone removed it by hand
    rec.clock.advance(days=8)
    assert (await rec.mentorship.recordings.purge.run()).purged == 1
    assert (await rec.mentorship.recordings.purge.run()).purged == 0


@pytest.fixture
async def racing(database: Database, tmp_path: Path) -> AsyncIterator[Any]:
    if not database.url.startswith("postgresql"):
        pytest.skip("row locks between transactions: PostgreSQL (SQLite has one writer)")
    c = await open_container(
        make_settings(database.url, tmp_path, db_pool_max=20), clock=FakeClock(NOW)
    )
    yield c
    await c.close()


@pytest.mark.committing
async def test_two_completions_racing_settle_once(racing: Any) -> None:
    m = await confirmed(racing)
    recording, done = await uploaded(racing, m, b"only part")
    start = asyncio.Event()

    async def complete(who: Caller) -> str:
        await start.wait()
        try:
            await racing.mentorship.recordings.uploads.complete(who, m.slot.id, recording.id, done)
        except Conflict as refused:
            return refused.code
        return "completed"

    racers = [asyncio.create_task(complete(who)) for who in (m.mentor, m.student)]
    start.set()
    outcomes = sorted(await asyncio.gather(*racers))
    assert outcomes[0] == "completed" and outcomes[1] in (
        "illegal_transition",
        "recording_changed",
        "upload_gone",
    )
    async with racing.uow() as uow:
        assert (await uow.recordings.get(recording.id)).status is RecordingStatus.AVAILABLE
    assert await racing.storage.get(recording.storage_key) == b"only part"


@pytest.mark.committing
async def test_two_purges_racing_mark_a_recording_once(racing: Any) -> None:
    m = await confirmed(racing)
    recordings = []
    for _ in range(3):
        recording, done = await uploaded(racing, m)
        await racing.mentorship.recordings.uploads.complete(m.mentor, m.slot.id, recording.id, done)
        await racing.mentorship.recordings.library.delete(m.admin, recording.id)
        recordings.append(recording)
    racing.clock.advance(days=8)
    reports = await asyncio.gather(*(racing.mentorship.recordings.purge.run() for _ in range(2)))
    assert sum(r.purged for r in reports) == 3
    for recording in recordings:
        assert not await racing.storage.exists(recording.storage_key)
