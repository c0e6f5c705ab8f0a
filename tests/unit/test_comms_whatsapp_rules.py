"""WhatsApp's pure rules: the monotonic status order, quiet hours, sender transitions and the
stored request's exact bytes."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from mas.core.comms.whatsapp.model import SenderConfig, SendRequest, advances, predecessors
from mas.core.comms.whatsapp.quiet import QuietHours
from mas.core.platform.errors import InvalidState
from mas.core.platform.ids import uuid7


@pytest.mark.parametrize(
    ("current", "target", "moves"),
    [
        ("QUEUED", "SENT", True),
        ("SENT", "DELIVERED", True),
        ("SENT", "READ", True),
        ("READ", "DELIVERED", False),
        ("READ", "SENT", False),
        ("DELIVERED", "DELIVERED", False),
        ("DELIVERED", "FAILED", True),
        ("READ", "FAILED", False),
        ("FAILED", "SENT", False),
        ("RECEIVED", "READ", False),
    ],
)
def test_status_only_moves_forward(current: str, target: str, moves: bool) -> None:
    assert advances(current, target) is moves
    assert (current in predecessors(target)) is moves


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (datetime(2026, 12, 4, 6, 0, tzinfo=UTC), None),  # 11:30 IST
        (datetime(2026, 12, 4, 3, 30, tzinfo=UTC), None),  # 09:00 IST sharp
        (datetime(2026, 12, 4, 15, 30, tzinfo=UTC), datetime(2026, 12, 5, 3, 30, tzinfo=UTC)),
        (datetime(2026, 12, 4, 20, 0, tzinfo=UTC), datetime(2026, 12, 5, 3, 30, tzinfo=UTC)),
        (datetime(2026, 12, 4, 22, 0, tzinfo=UTC), datetime(2026, 12, 5, 3, 30, tzinfo=UTC)),
    ],
)
def test_quiet_hours_wait_for_the_next_morning(now: datetime, expected: datetime | None) -> None:
    assert QuietHours().next_allowed(now) == expected


def test_a_quiet_span_within_one_day() -> None:
    quiet = QuietHours(zone="UTC", start="12:00", end="13:00")
    assert quiet.next_allowed(datetime(2026, 1, 1, 12, 30, tzinfo=UTC)) == datetime(
        2026, 1, 1, 13, 0, tzinfo=UTC
    )
    assert quiet.next_allowed(datetime(2026, 1, 1, 13, 0, tzinfo=UTC)) is None


def test_a_sender_is_approved_then_toggled() -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    config = SenderConfig(
        id=uuid7(),
        owner_user_id=uuid7(),
        phone_e164="+919800000001",
        display_name="HR",
        provider="META",
        status="PENDING",
        created_at=now,
        updated_at=now,
    )
    with pytest.raises(InvalidState, match="'PENDING' to 'DISABLED'"):
        config.move("DISABLED", now)
    for target in ("ACTIVE", "DISABLED", "ACTIVE", "ACTIVE"):
        config.move(target, now)  # type: ignore[arg-type]
        assert config.status == target


def test_the_stored_request_round_trips_to_the_same_bytes() -> None:
    request = SendRequest(
        kind="TEMPLATE", to="+919800000001", template="t", language="en", params=["é", '{"x"}']
    )
    raw = request.encode()
    assert SendRequest.decode(raw) == request
    assert SendRequest.decode(raw).encode() == raw
