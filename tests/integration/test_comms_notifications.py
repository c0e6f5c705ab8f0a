"""In-app notifications on SQLite and PostgreSQL: the messenger's ``notify`` (preferences, dedupe,
the students' daily cap, after-commit push), the feed, preferences, broadcasts and their fan-out
(communications.md §10 checks 4 and 5)."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select, update

from mas.adapters.db.comms.notifications_tables import (
    NotificationBroadcastRow,
    NotificationRow,
    notification_daily_counts,
)
from mas.core.comms.notifications.model import (
    Audience,
    BroadcastStatus,
    Category,
    Channel,
    NewBroadcast,
    PreferenceToggle,
    PreferenceUpdate,
)
from mas.core.identity.model import User
from mas.core.identity.policy import Caller, Platform, Role
from mas.core.platform.errors import Conflict, NotFound, ValidationFailed
from mas.core.platform.ids import uuid7
from mas.core.platform.paging import PageRequest
from mas.core.platform.ports.messenger import NotifyOutcome
from mas.core.platform.realtime import user_subject


async def person(c: Any, role: Role) -> Caller:
    user = User(
        id=uuid7(),
        email=f"{role.value.lower()}-{uuid.uuid4().hex[:8]}@example.com",
        role=role,
        created_at=c.clock.now(),
    )
    async with c.uow() as uow:
        await uow.users.add(user)
        await uow.commit()
    return Caller(user_id=user.id, role=role, platform=Platform.MY_ANALYTICS_SCHOOL)


async def notify(c: Any, user: Caller, title: str = "hello", **kw: Any) -> Any:
    async with c.uow() as uow:
        result = await c.messenger.notify(uow, user.user_id, "ACADEMIC", title, "body", **kw)
        await uow.commit()
    return result


async def count_rows(c: Any, *where: Any) -> int:
    async with c.sessions() as session:
        return int(
            await session.scalar(select(func.count()).select_from(NotificationRow).where(*where))
            or 0
        )


async def pushed_to(c: Any, user: Caller) -> list[dict[str, Any]]:
    got: list[dict[str, Any]] = []

    async def keep(subject: str, payload: dict[str, Any]) -> None:
        got.append(payload)

    await c.bus.subscribe(user_subject(user.user_id), keep)
    return got


async def test_a_student_is_capped_at_three_a_day_and_an_admin_is_not(container: Any) -> None:
    student = await person(container, Role.USER)
    admin = await person(container, Role.ADMIN)
    outcomes = [(await notify(container, student, f"n{i}")).outcome for i in range(4)]
    assert outcomes == [NotifyOutcome.DELIVERED] * 3 + [NotifyOutcome.CAPPED]
    assert await count_rows(container, NotificationRow.user_id == student.user_id) == 3
    async with container.sessions() as session:
        counted = await session.scalar(
            select(notification_daily_counts.c.count).where(
                notification_daily_counts.c.user_id == student.user_id
            )
        )
    assert counted == 3
    staff = [(await notify(container, admin, f"a{i}")).outcome for i in range(5)]
    assert staff == [NotifyOutcome.DELIVERED] * 5


async def test_preferences_and_dedupe_decide_before_the_cap(container: Any) -> None:
    student = await person(container, Role.USER)
    first = await notify(container, student, dedupe_key="reminder:1")
    assert first.outcome is NotifyOutcome.DELIVERED and first.notification_id is not None
    again = await notify(container, student, dedupe_key="reminder:1")
    assert again.outcome is NotifyOutcome.DUPLICATE
    await container.comms.notifications.feed.set_preferences(
        student,
        PreferenceUpdate(
            items=[
                PreferenceToggle(channel=Channel.IN_APP, category=Category.ACADEMIC, enabled=False)
            ]
        ),
    )
    skipped = await notify(container, student, dedupe_key="reminder:2")
    assert skipped.outcome is NotifyOutcome.SKIPPED_PREF
    assert await count_rows(container, NotificationRow.user_id == student.user_id) == 1
    with pytest.raises(ValidationFailed):
        async with container.uow() as uow:
            await container.messenger.notify(uow, student.user_id, "GOSSIP", "t", "b")
    with pytest.raises(NotFound):
        async with container.uow() as uow:
            await container.messenger.notify(uow, uuid7(), "SYSTEM", "t", "b")


async def test_the_push_and_the_row_follow_the_commit_only(container: Any) -> None:
    student = await person(container, Role.USER)
    pushed = await pushed_to(container, student)
    async with container.uow() as uow:
        result = await container.messenger.notify(uow, student.user_id, "MEETING", "t", "b")
        assert result.outcome is NotifyOutcome.DELIVERED
        await uow.rollback()
    assert pushed == []
    assert await count_rows(container, NotificationRow.user_id == student.user_id) == 0
    result = await notify(container, student, "after commit")
    assert [p["type"] for p in pushed] == ["notification"]
    assert pushed[0]["data"]["notification_id"] == str(result.notification_id)


async def test_unread_count_is_cached_and_drops_after_read(container: Any) -> None:
    """Check 5 (service side): the count drops by one after a read; another's → 404."""
    student = await person(container, Role.USER)
    other = await person(container, Role.USER)
    feed = container.comms.notifications.feed
    ids = [(await notify(container, student, f"n{i}")).notification_id for i in range(2)]
    assert (await feed.unread_count(student)).count == 2
    # Cached: a row changed behind the service's back is not seen for 30 s…
    async with container.sessions() as session:
        await session.execute(
            update(NotificationRow).where(NotificationRow.id == ids[0]).values(title="x")
        )
        await session.commit()
    # …but every write through the service or the messenger drops the cached count.
    await notify(container, student, "third")
    assert (await feed.unread_count(student)).count == 3
    read = await feed.mark_read(student, ids[0])
    assert read.is_read and read.read_at is not None
    assert (await feed.unread_count(student)).count == 2
    with pytest.raises(NotFound):
        await feed.mark_read(other, ids[1])
    assert (await feed.read_all(student)).updated == 2
    assert (await feed.unread_count(student)).count == 0


async def test_the_feed_pages_by_cursor_and_filters_unread(container: Any) -> None:
    admin = await person(container, Role.ADMIN)
    feed = container.comms.notifications.feed
    made = [(await notify(container, admin, f"n{i}")).notification_id for i in range(5)]
    seen: list[uuid.UUID] = []
    cursor = None
    while True:
        page = await feed.page(admin, False, cursor, 2)
        seen += [n.id for n in page.items]
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert seen == list(reversed(made))
    await feed.mark_read(admin, made[4])
    unread = await feed.page(admin, True, None, 10)
    assert [n.id for n in unread.items] == list(reversed(made[:4]))
    with pytest.raises(ValidationFailed):
        await feed.page(admin, False, "not-a-cursor", 2)


async def test_system_and_payment_email_cannot_be_turned_off(container: Any) -> None:
    student = await person(container, Role.USER)
    feed = container.comms.notifications.feed
    with pytest.raises(ValidationFailed) as refused:
        await feed.set_preferences(
            student,
            PreferenceUpdate(
                items=[
                    PreferenceToggle(
                        channel=Channel.EMAIL, category=Category.PAYMENT, enabled=False
                    )
                ]
            ),
        )
    assert refused.value.code == "category_locked"
    grid = await feed.set_preferences(
        student,
        PreferenceUpdate(
            items=[
                PreferenceToggle(
                    channel=Channel.WHATSAPP, category=Category.ENGAGEMENT, enabled=True
                ),
                PreferenceToggle(
                    channel=Channel.WHATSAPP, category=Category.ENGAGEMENT, enabled=False
                ),
                PreferenceToggle(channel=Channel.EMAIL, category=Category.SYSTEM, enabled=True),
            ]
        ),
    )
    assert len(grid.items) == len(Channel) * len(Category)
    off = {(p.channel, p.category) for p in grid.items if not p.enabled}
    assert off == {(Channel.WHATSAPP, Category.ENGAGEMENT)}
    assert {(p.channel, p.category) for p in grid.items if p.locked} == {
        (Channel.EMAIL, Category.SYSTEM),
        (Channel.EMAIL, Category.PAYMENT),
    }


def announcement(audience: Audience = Audience.ALL_STUDENTS, **kw: Any) -> NewBroadcast:
    return NewBroadcast(
        audience=audience, title="Exam moved", body="to Friday", link="/exams", **kw
    )


async def test_a_broadcast_counts_capped_skipped_and_delivered(container: Any) -> None:
    """Check 4: a student at the cap gets nothing and the broadcast counts it."""
    admin = await person(container, Role.ADMIN)
    full = await person(container, Role.USER)
    quiet = await person(container, Role.USER)
    fresh = await person(container, Role.USER)
    for i in range(3):
        await notify(container, full, f"n{i}")
    await container.comms.notifications.feed.set_preferences(
        quiet,
        PreferenceUpdate(
            items=[
                PreferenceToggle(
                    channel=Channel.IN_APP, category=Category.ANNOUNCEMENT, enabled=False
                )
            ]
        ),
    )
    pushed = await pushed_to(container, fresh)
    broadcasts = container.comms.notifications.broadcasts
    sent = await broadcasts.create(admin, announcement(send_now=True))
    done = await broadcasts.get(sent.id)  # the in-memory broker ran the task inline
    assert done.status is BroadcastStatus.SENT
    assert (done.recipients, done.delivered, done.capped, done.skipped_pref, done.duplicates) == (
        3,
        1,
        1,
        1,
        0,
    )
    assert done.started_at is not None and done.sent_at is not None
    assert await count_rows(container, NotificationRow.broadcast_id == sent.id) == 1
    assert [p["data"]["broadcast_id"] for p in pushed] == [str(sent.id)]
    assert (await container.comms.notifications.feed.unread_count(fresh)).count == 1
    # Staff reached by role are never capped.
    for i in range(5):
        await notify(container, admin, f"a{i}")
    staff = await broadcasts.create(
        admin, announcement(Audience.ROLE, audience_ref="ADMIN", send_now=True)
    )
    staff_done = await broadcasts.get(staff.id)
    assert (staff_done.recipients, staff_done.delivered, staff_done.capped) == (1, 1, 0)
    listed = await broadcasts.page(PageRequest(1, 10))
    assert [b.id for b in listed.items] == [staff.id, sent.id] and listed.total == 2


async def test_the_fan_out_runs_again_without_notifying_twice(container: Any) -> None:
    admin = await person(container, Role.ADMIN)
    students = [await person(container, Role.USER) for _ in range(5)]
    broadcasts = container.comms.notifications.broadcasts
    broadcasts.chunk = 2  # three chunks
    sent = await broadcasts.create(admin, announcement(send_now=True))
    first = await broadcasts.get(sent.id)
    assert (first.recipients, first.delivered) == (5, 5)
    await broadcasts.fan_out(sent.id)  # a redelivered task: SENT, nothing to do
    again = await broadcasts.get(sent.id)
    assert (again.recipients, again.delivered, again.duplicates) == (5, 5, 0)
    # A run that starts over from nothing (its progress lost) finds every key taken.
    async with container.sessions() as session:
        await session.execute(
            update(NotificationBroadcastRow)
            .where(NotificationBroadcastRow.id == sent.id)
            .values(status="SENDING", progress_user_id=None, recipients=0, delivered=0)
        )
        await session.commit()
    await broadcasts.fan_out(sent.id)
    redone = await broadcasts.get(sent.id)
    assert (redone.status, redone.recipients, redone.delivered, redone.duplicates) == (
        BroadcastStatus.SENT,
        5,
        0,
        5,
    )
    assert await count_rows(container, NotificationRow.broadcast_id == sent.id) == 5
    for student in students:
        assert await count_rows(container, NotificationRow.user_id == student.user_id) == 1


async def test_a_crashed_fan_out_resumes_after_its_last_chunk(
    container: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    admin = await person(container, Role.ADMIN)
    for _ in range(5):
        await person(container, Role.USER)
    broadcasts = container.comms.notifications.broadcasts
    broadcasts.chunk = 2
    created = await broadcasts.create(admin, announcement())
    real = broadcasts._next_chunk
    calls = 0

    async def dies_on_the_second(broadcast: Any) -> Any:
        nonlocal calls
        calls += 1
        if calls == 2:
            raise RuntimeError("worker died")
        return await real(broadcast)

    monkeypatch.setattr(broadcasts, "_next_chunk", dies_on_the_second)
    await broadcasts.send(created.id)  # the runner logs the failure and schedules a retry
    half = await broadcasts.get(created.id)
    assert (half.status, half.recipients, half.delivered) == (BroadcastStatus.SENDING, 2, 2)
    monkeypatch.setattr(broadcasts, "_next_chunk", real)
    await broadcasts.fan_out(created.id)
    done = await broadcasts.get(created.id)
    assert (done.status, done.recipients, done.delivered, done.duplicates) == (
        BroadcastStatus.SENT,
        5,
        5,
        0,
    )


async def test_broadcast_lifecycle_and_refusals(container: Any) -> None:
    admin = await person(container, Role.ADMIN)
    await person(container, Role.USER)
    broadcasts = container.comms.notifications.broadcasts
    draft = await broadcasts.create(admin, announcement())
    assert draft.status is BroadcastStatus.DRAFT
    cancelled = await broadcasts.cancel(draft.id)
    assert cancelled.status is BroadcastStatus.CANCELLED and cancelled.cancelled_at is not None
    with pytest.raises(Conflict) as twice:
        await broadcasts.cancel(draft.id)
    assert twice.value.code == "broadcast_not_cancellable"
    with pytest.raises(Conflict):
        await broadcasts.send(draft.id)
    later = container.clock.now() + timedelta(hours=2)
    scheduled = await broadcasts.create(admin, announcement(scheduled_at=later))
    assert scheduled.status is BroadcastStatus.SCHEDULED and scheduled.scheduled_at == later
    await broadcasts.cancel(scheduled.id)
    await broadcasts.fan_out(scheduled.id)  # the delayed task finds it cancelled
    assert await count_rows(container, NotificationRow.broadcast_id == scheduled.id) == 0
    sent = await broadcasts.create(admin, announcement(send_now=True))
    with pytest.raises(Conflict) as late:
        await broadcasts.cancel(sent.id)
    assert late.value.code == "broadcast_not_cancellable"
    with pytest.raises(NotFound):
        await broadcasts.cancel(uuid7())
    refusals = {
        "audience_unavailable": announcement(Audience.BATCH, audience_ref="b1"),
        "audience_ref_invalid": announcement(Audience.ROLE, audience_ref="WIZARD"),
        "empty_audience": announcement(Audience.ROLE, audience_ref="FINANCE"),
        "schedule_conflict": announcement(scheduled_at=later, send_now=True),
        "scheduled_at_out_of_range": announcement(scheduled_at=later - timedelta(days=1)),
    }
    for code, new in refusals.items():
        with pytest.raises(ValidationFailed) as refused:
            await broadcasts.create(admin, new)
        assert refused.value.code == code


async def test_a_scheduled_broadcast_is_a_delayed_ledger_run(container: Any) -> None:
    admin = await person(container, Role.ADMIN)
    await person(container, Role.USER)
    later = container.clock.now() + timedelta(hours=1)
    scheduled = await container.comms.notifications.broadcasts.create(
        admin, announcement(scheduled_at=later)
    )
    async with container.uow() as uow:
        run = await uow.jobs.find_active("comms.notify.broadcast", f"broadcast:{scheduled.id}")
    assert run is not None and run.args == {"broadcast_id": str(scheduled.id)}
    assert (
        await container.comms.notifications.broadcasts.get(scheduled.id)
    ).status is BroadcastStatus.SCHEDULED


@pytest.mark.committing  # concurrent transactions
async def test_two_concurrent_notifications_cannot_both_take_the_last_slot(
    container: Any, database: Any
) -> None:
    if not database.url.startswith("postgresql"):
        pytest.skip("row locks: PostgreSQL (SQLite has one writer at a time)")
    student = await person(container, Role.USER)
    for i in range(2):
        await notify(container, student, f"n{i}")
    first_in = asyncio.Event()

    async def holder() -> Any:
        async with container.uow() as uow:
            result = await container.messenger.notify(uow, student.user_id, "SYSTEM", "a", "b")
            first_in.set()
            await asyncio.sleep(0.3)  # the other writer reaches the count row meanwhile
            await uow.commit()
        return result.outcome

    async def racer() -> Any:
        await first_in.wait()
        async with container.uow() as uow:
            result = await container.messenger.notify(uow, student.user_id, "SYSTEM", "c", "d")
            await uow.commit()
        return result.outcome

    outcomes = await asyncio.gather(holder(), racer())
    assert sorted(outcomes) == sorted([NotifyOutcome.DELIVERED, NotifyOutcome.CAPPED])
    assert await count_rows(container, NotificationRow.user_id == student.user_id) == 3
