"""The notifications part's pure rules: the broadcast state machine, the feed cursor, the locked
toggles and the audiences a broadcast may take."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from mas.core.comms.notifications.broadcasts import check_audience
from mas.core.comms.notifications.model import (
    BROADCAST_MOVES,
    Audience,
    BroadcastStatus,
    Category,
    Channel,
    Notification,
    PreferenceToggle,
    PreferenceUpdate,
    check_move,
    decode_cursor,
    encode_cursor,
    preference_grid,
    refuse_locked,
)
from mas.core.comms.notifications.writer import category_of
from mas.core.platform.errors import InvalidState, ValidationFailed

S = BroadcastStatus


def test_the_broadcast_moves_are_the_specs() -> None:
    legal = {(a, b) for a, targets in BROADCAST_MOVES.items() for b in targets}
    assert legal == {
        (S.DRAFT, S.SCHEDULED),
        (S.SCHEDULED, S.SENDING),
        (S.SENDING, S.SENT),
        (S.DRAFT, S.CANCELLED),
        (S.SCHEDULED, S.CANCELLED),
    }
    for current in S:
        for target in S:
            if (current, target) in legal:
                check_move(current, target)
            else:
                with pytest.raises(InvalidState, match=f"'{current.value}' to '{target.value}'"):
                    check_move(current, target)


def test_a_cursor_round_trips_and_a_foreign_one_is_refused() -> None:
    item = Notification(
        id=uuid.uuid4(),
        user_id=uuid.uuid4(),
        category=Category.SYSTEM,
        title="t",
        body="b",
        created_at=datetime(2026, 12, 4, 10, 30, 0, 123456, tzinfo=UTC),
    )
    assert decode_cursor(encode_cursor(item)) == (item.created_at, item.id)
    naive = msgspec_replace(item, created_at=item.created_at.replace(tzinfo=None))
    assert decode_cursor(encode_cursor(naive)) == (item.created_at, item.id)
    for bad in ("", "12-xyz", f"1-{item.id.hex}-1", "a" * 49):
        with pytest.raises(ValidationFailed):
            decode_cursor(bad)


def msgspec_replace(item: Notification, **changes: object) -> Notification:
    import msgspec

    return msgspec.structs.replace(item, **changes)


def test_only_system_and_payment_email_are_locked() -> None:
    grid = preference_grid({(Channel.IN_APP, Category.ENGAGEMENT)}).items
    assert len(grid) == 18
    assert [(p.channel, p.category) for p in grid if not p.enabled] == [
        (Channel.IN_APP, Category.ENGAGEMENT)
    ]
    refuse_locked(
        PreferenceUpdate(
            items=[PreferenceToggle(channel=Channel.EMAIL, category=Category.SYSTEM, enabled=True)]
        )
    )
    with pytest.raises(ValidationFailed) as refused:
        refuse_locked(
            PreferenceUpdate(
                items=[
                    PreferenceToggle(
                        channel=Channel.EMAIL, category=Category.PAYMENT, enabled=False
                    ),
                    PreferenceToggle(
                        channel=Channel.WHATSAPP, category=Category.PAYMENT, enabled=False
                    ),
                ]
            )
        )
    assert refused.value.code == "category_locked"
    assert "EMAIL/PAYMENT" in refused.value.detail and "WHATSAPP" not in refused.value.detail


def test_audiences() -> None:
    check_audience(Audience.ALL_STUDENTS, None)
    check_audience(Audience.ROLE, "EXPERT")
    for audience, ref, code in (
        (Audience.BATCH, "b-1", "audience_unavailable"),
        (Audience.COURSE, None, "audience_unavailable"),
        (Audience.ROLE, None, "audience_ref_invalid"),
        (Audience.ROLE, "expert", "audience_ref_invalid"),
        (Audience.ALL_STUDENTS, "USER", "audience_ref_invalid"),
    ):
        with pytest.raises(ValidationFailed) as refused:
            check_audience(audience, ref)
        assert refused.value.code == code


def test_an_unknown_category_is_refused() -> None:
    assert category_of("MEETING") is Category.MEETING
    with pytest.raises(ValidationFailed):
        category_of("meeting")
