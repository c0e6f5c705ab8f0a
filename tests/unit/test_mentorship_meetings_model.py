"""The slot state machine, the publish window rules, the decision links and the booking mail."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from mas.core.mentorship.meetings import links
from mas.core.mentorship.meetings.availability import window_problem
from mas.core.mentorship.meetings.mails import booking_request
from mas.core.mentorship.meetings.model import (
    TRANSITIONS,
    EmailAction,
    ExpiryReason,
    SlotStatus,
    check_move,
    refunds,
)
from mas.core.platform.errors import InvalidState

S = SlotStatus
NOW = datetime(2026, 12, 10, 8, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("current", "target"),
    [
        (S.OPEN, S.TENTATIVE),
        (S.OPEN, S.EXPIRED),
        (S.TENTATIVE, S.CONFIRMED),
        (S.TENTATIVE, S.REJECTED),
        (S.TENTATIVE, S.CANCELLED),
        (S.TENTATIVE, S.EXPIRED),
        (S.CONFIRMED, S.CANCELLATION_REQUESTED),
        (S.CONFIRMED, S.CANCELLED),
        (S.CONFIRMED, S.COMPLETED),
        (S.CONFIRMED, S.EXPIRED),
        (S.CANCELLATION_REQUESTED, S.CANCELLED),
        (S.CANCELLATION_REQUESTED, S.CONFIRMED),
    ],
)
def test_the_moves_of_the_spec_are_allowed(current: SlotStatus, target: SlotStatus) -> None:
    check_move(current, target)


def test_every_other_move_is_refused_naming_both_states() -> None:
    allowed = sum(len(targets) for targets in TRANSITIONS.values())
    assert allowed == 12
    for terminal in (S.COMPLETED, S.CANCELLED, S.REJECTED, S.EXPIRED):
        with pytest.raises(InvalidState) as refused:
            check_move(terminal, S.CONFIRMED)
        assert refused.value.code == "illegal_transition"
        assert terminal.value in refused.value.detail and "confirmed" in refused.value.detail
    for current, target in [(S.TENTATIVE, S.COMPLETED), (S.OPEN, S.CONFIRMED)]:
        with pytest.raises(InvalidState):
            check_move(current, target)


def test_which_moves_refund() -> None:
    assert refunds(S.TENTATIVE, S.REJECTED)
    assert refunds(S.TENTATIVE, S.EXPIRED)
    assert refunds(S.CANCELLATION_REQUESTED, S.CANCELLED)
    assert refunds(S.CONFIRMED, S.CANCELLED)
    assert not refunds(S.TENTATIVE, S.CONFIRMED)
    assert not refunds(S.OPEN, S.EXPIRED)
    assert refunds(S.CONFIRMED, S.EXPIRED, ExpiryReason.NOBODY_JOINED)
    assert not refunds(S.CONFIRMED, S.EXPIRED, ExpiryReason.STUDENT_NO_SHOW)


def test_publish_windows() -> None:
    ten = datetime(2026, 12, 11, 10, 0, tzinfo=UTC)
    half = timedelta(minutes=30)
    assert window_problem(ten, ten + half, NOW) is None
    assert window_problem(ten + half, ten + 2 * half, NOW) is None
    quarter = ten + timedelta(minutes=15)
    assert (
        window_problem(quarter, quarter + half, NOW) == "a slot starts on the hour or the half hour"
    )
    assert (
        window_problem(ten, ten + timedelta(minutes=45), NOW) == "a slot lasts exactly 30 minutes"
    )
    past = NOW - timedelta(hours=1)
    assert window_problem(past, past + half, NOW) == "the slot is in the past"
    far = ten + timedelta(days=61)
    assert window_problem(far, far + half, NOW) == "the slot is more than 60 days ahead"


def test_links_are_bound_to_slot_action_and_nonce() -> None:
    secret, slot = b"k" * 32, uuid.uuid4()
    nonce = links.new_nonce()
    assert len(nonce) == 32
    token = links.sign(secret, slot, EmailAction.APPROVE, nonce)
    assert links.verify(secret, slot, EmailAction.APPROVE, nonce, token)
    assert not links.verify(secret, slot, EmailAction.REJECT, nonce, token)
    assert not links.verify(secret, uuid.uuid4(), EmailAction.APPROVE, nonce, token)
    assert not links.verify(secret, slot, EmailAction.APPROVE, links.new_nonce(), token)
    assert not links.verify(secret, slot, EmailAction.APPROVE, None, token)
    assert not links.verify(b"x" * 32, slot, EmailAction.APPROVE, nonce, token)
    url = links.action_url("https://mas.example/", slot, EmailAction.REJECT, token)
    assert url == (
        f"https://mas.example/api/mentors/meetings/{slot}/email-action?action=reject&token={token}"
    )


def test_the_booking_mail_carries_both_links_escaped() -> None:
    mail = booking_request(
        {
            "student_name": "Asha <b>",
            "start": "2026-12-11T10:00:00+00:00",
            "note": "SQL joins",
            "approve_url": "https://x/a?action=approve&token=1",
            "reject_url": "https://x/a?action=reject&token=2",
        }
    )
    assert mail.subject == "Meeting request from Asha <b>"
    assert "Approve: https://x/a?action=approve&token=1" in mail.text
    assert "Reject: https://x/a?action=reject&token=2" in mail.text
    assert "Topic: SQL joins" in mail.text
    assert mail.html is not None and "Asha &lt;b&gt;" in mail.html
    assert "action=approve&amp;token=1" in mail.html
    bare = booking_request(
        {**{"student_name": "A", "start": "s", "approve_url": "a"}, "reject_url": "r"}
    )
    assert "Topic" not in bare.text


def test_why_a_confirmed_meeting_expires() -> None:
    from mas.core.mentorship.meetings.cleanup import no_show
    from mas.core.mentorship.meetings.ports import Attendance

    def seen(student: bool, mentor: bool, verified: bool = False) -> ExpiryReason | None:
        return no_show(Attendance(student_joined=student, mentor_joined=mentor, verified=verified))

    assert seen(False, False) is ExpiryReason.NOBODY_JOINED
    assert seen(False, True) is ExpiryReason.STUDENT_NO_SHOW
    assert seen(True, False) is ExpiryReason.MENTOR_NO_SHOW
    assert seen(True, True) is ExpiryReason.NOBODY_JOINED
    assert seen(True, True, verified=True) is None
