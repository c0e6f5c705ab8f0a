"""In-memory stand-ins for the recordings part's unit of work: its recordings and the
meetings' slots it reads.

``RecordingStore`` is the committed state; a ``FakeRecordingsUnitOfWork`` writes straight into
it and, unless committed, puts back what it changed on exit (one connection's view, as the
platform fakes keep it). Moves are compare-and-set on the status, as the SQL adapter's are.
"""

from __future__ import annotations

import copy
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from types import TracebackType
from typing import TYPE_CHECKING, Self

import msgspec

from mas.core.mentorship.meetings.model import Slot
from mas.core.mentorship.recordings.model import Recording, RecordingChange, RecordingStatus
from mas.core.mentorship.recordings.ports import MeetingSlots, RecordingRepository
from mas.core.platform.events import DomainEvent
from mas.core.platform.messages import OutboxMessage
from mas.core.platform.paging import Page, PageRequest, page_of


@dataclass
class RecordingStore:
    slots: dict[uuid.UUID, Slot] = field(default_factory=dict)
    recordings: dict[uuid.UUID, Recording] = field(default_factory=dict)
    commits: int = 0


class FakeRecordingRepository:
    def __init__(self, store: RecordingStore) -> None:
        self._store = store

    async def add(self, recording: Recording) -> None:
        self._store.recordings[recording.id] = recording

    async def get(self, recording_id: uuid.UUID) -> Recording | None:
        return self._store.recordings.get(recording_id)

    async def count_of_slot(self, slot_id: uuid.UUID) -> int:
        return sum(r.slot_id == slot_id for r in self._store.recordings.values())

    async def move(
        self,
        recording_id: uuid.UUID,
        current: RecordingStatus,
        target: RecordingStatus,
        change: RecordingChange,
        now: datetime,
    ) -> Recording | None:
        found = self._store.recordings.get(recording_id)
        if found is None or found.status is not current:
            return None
        written = {
            name: getattr(change, name)
            for name in RecordingChange.__struct_fields__
            if getattr(change, name) is not None
        }
        moved = msgspec.structs.replace(found, status=target, **written)
        self._store.recordings[recording_id] = moved
        return moved

    async def page(
        self, slot_id: uuid.UUID | None, status: RecordingStatus | None, req: PageRequest
    ) -> Page[Recording]:
        chosen = [
            r
            for r in self._store.recordings.values()
            if (slot_id is None or r.slot_id == slot_id) and (status is None or r.status is status)
        ]
        chosen.sort(key=lambda r: (r.started_at, r.id), reverse=True)
        return page_of(chosen, req)

    async def deleted_before(self, before: datetime, limit: int) -> list[Recording]:
        due = [
            r
            for r in self._store.recordings.values()
            if r.status is RecordingStatus.DELETED
            and r.deleted_at is not None
            and r.deleted_at < before
            and r.purged_at is None
        ]
        return sorted(due, key=lambda r: (r.deleted_at or before, r.id))[:limit]

    async def mark_purged(self, recording_id: uuid.UUID, now: datetime) -> bool:
        found = self._store.recordings.get(recording_id)
        if found is None or found.purged_at is not None:
            return False
        self._store.recordings[recording_id] = msgspec.structs.replace(found, purged_at=now)
        return True

    async def uploading_since(self, started_before: datetime, limit: int) -> list[Recording]:
        stale = [
            r
            for r in self._store.recordings.values()
            if r.status is RecordingStatus.UPLOADING and r.started_at < started_before
        ]
        return sorted(stale, key=lambda r: (r.started_at, r.id))[:limit]


class FakeMeetingSlots:
    def __init__(self, store: RecordingStore) -> None:
        self._store = store

    async def get(self, slot_id: uuid.UUID) -> Slot | None:
        return self._store.slots.get(slot_id)


class FakeRecordingsUnitOfWork:
    """Rolls back unless committed; events and messages are not this part's (none are sent)."""

    def __init__(self, store: RecordingStore) -> None:
        self._store = store
        self._before: RecordingStore | None = None
        self.recordings: RecordingRepository = FakeRecordingRepository(store)
        self.slots: MeetingSlots = FakeMeetingSlots(store)

    async def __aenter__(self) -> Self:
        self._before = copy.copy(self._store)
        self._before.slots = dict(self._store.slots)
        self._before.recordings = dict(self._store.recordings)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.rollback()

    async def commit(self) -> None:
        self._store.commits += 1
        self._before = None

    async def rollback(self) -> None:
        if self._before is not None:
            self._store.slots = self._before.slots
            self._store.recordings = self._before.recordings
        self._before = None

    def record(self, event: DomainEvent) -> None:
        raise NotImplementedError("the recordings part records no events")

    async def send(self, message: OutboxMessage) -> uuid.UUID:
        raise NotImplementedError("the recordings part sends no messages")


if TYPE_CHECKING:  # mypy holds every fake to its port
    from mas.core.mentorship.recordings.ports import RecordingsUnitOfWork

    _store = RecordingStore()
    _recordings: RecordingRepository = FakeRecordingRepository(_store)
    _slots: MeetingSlots = FakeMeetingSlots(_store)
    _uow: RecordingsUnitOfWork = FakeRecordingsUnitOfWork(_store)
