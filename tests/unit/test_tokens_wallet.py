"""The wallet part's pure rules: the grant and allotment machines, what a grant may spend, the
crons and the subscription the part declares."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from mas.core.identity.events import UserSignedUp
from mas.core.platform.errors import InvalidState
from mas.core.platform.ids import uuid7
from mas.core.tokens import handlers
from mas.core.tokens.wallet import CRONS, SUBSCRIPTIONS
from mas.core.tokens.wallet.model import (
    AllotmentStatus,
    Grant,
    GrantStatus,
    check_allotment_move,
    check_grant_move,
)
from mas.core.tokens.wallet.ports import NoBatches
from mas.core.tokens.wallet.purse import TokenKind

NOW = datetime(2026, 12, 4, 12, tzinfo=UTC)


def test_a_closed_grant_is_never_revived() -> None:
    for closed in (GrantStatus.EXHAUSTED, GrantStatus.EXPIRED, GrantStatus.REVOKED):
        with pytest.raises(InvalidState, match=f"'{closed.value}' to 'ACTIVE'"):
            check_grant_move(closed, GrantStatus.ACTIVE)
    check_grant_move(GrantStatus.ACTIVE, GrantStatus.REVOKED)


def test_a_decided_request_stays_decided() -> None:
    for done in set(AllotmentStatus) - {AllotmentStatus.PENDING}:
        with pytest.raises(InvalidState):
            check_allotment_move(done, AllotmentStatus.APPROVED)
    check_allotment_move(AllotmentStatus.PENDING, AllotmentStatus.EXPIRED)


def test_a_grant_spends_only_while_active_and_unexpired() -> None:
    grant = Grant(
        id=uuid7(),
        user_id=uuid7(),
        token_kind=TokenKind.MENTOR,
        tokens_granted=3,
        tokens_remaining=2,
        expires_at=NOW + timedelta(hours=1),
        reason="r",
        granted_by=None,
        status=GrantStatus.ACTIVE,
        created_at=NOW,
    )
    assert grant.spendable(NOW) == 2
    assert grant.spendable(NOW + timedelta(hours=1)) == 0
    grant.status = GrantStatus.REVOKED
    assert grant.spendable(NOW) == 0


def test_the_part_declares_its_crons_and_the_sign_up_subscription() -> None:
    assert {task.name: cron for task, cron in CRONS.items()} == {
        "tokens.expire_promotional_grants": "7 * * * *",
        "tokens.expire_allotment_requests": "20 2 * * *",
        "tokens.ledger_check": "40 2 * * *",
    }
    assert [s.event for s in SUBSCRIPTIONS] == [UserSignedUp]
    assert UserSignedUp in [s.event for s in handlers.SUBSCRIPTIONS]
    assert {"tokens.ledger_check"} <= {h.task.name for h in handlers.HANDLERS}


async def test_without_an_lms_there_is_no_batch() -> None:
    batches = NoBatches()
    assert await batches.lead_of(uuid7()) is None
    assert await batches.is_member(uuid7(), uuid7()) is False
