"""The ADMINs' daily digest of withdrawals waiting for payment (tokens-earnings.md §6,
``earnings.withdrawal_notifications``: "ADMIN digest of new requests").

One email per active ADMIN / SUPERADMIN per day (key: the day and the admin), only when at
least one withdrawal is ``requested``: how many are new since the last digest (24 hours), how
many wait in all, and the newest few. The mentor's own mails (requested, completed, failed) are
sent by ``Withdrawals`` in the transaction that moves the withdrawal.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from mas.core.platform.paging import PageRequest
from mas.core.platform.ports.clock import Clock
from mas.core.platform.ports.messenger import Messenger
from mas.core.platform.ports.uow import UnitOfWorkFactory
from mas.core.tokens.earnings.model import TxnStatus
from mas.core.tokens.earnings.ports import EarningsUnitOfWork

log = logging.getLogger("mas.tokens.earnings")

MAIL_DIGEST = "earnings.withdrawal_digest"
LISTED = 20
MAX_ADMINS = 50


def rupees(paise: int) -> str:
    return f"₹{paise // 100:,}.{paise % 100:02d}"


class WithdrawalDigest:
    def __init__(
        self, uow: UnitOfWorkFactory[EarningsUnitOfWork], clock: Clock, messenger: Messenger
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._messenger = messenger

    async def send(self) -> int:
        """Queue today's digest to every admin; how many mails (0 with nothing waiting).
        Idempotent: a second run the same day writes nothing new."""
        now = self._clock.now()
        since = now - timedelta(days=1)
        async with self._uow() as uow:
            repo = uow.mentor_earnings
            waiting = await repo.withdrawals(TxnStatus.REQUESTED, PageRequest(1, 100))
            if waiting.total == 0:
                return 0
            fresh = sum(1 for txn, _ in waiting.items if txn.created_at >= since)
            lines = [
                f"{rupees(txn.withdrawn)} by {email or txn.mentor_id}, requested "
                f"{txn.created_at:%Y-%m-%d %H:%M} UTC"
                for txn, email in waiting.items[:LISTED]
            ]
            admins = await repo.admins(MAX_ADMINS)
            day = now.date().isoformat()
            for admin in admins:
                await self._messenger.email(
                    uow,
                    template=MAIL_DIGEST,
                    to=admin.email,
                    data={
                        "name": admin.name,
                        "waiting": waiting.total,
                        "new": fresh,
                        "lines": lines,
                    },
                    key=f"{MAIL_DIGEST}:{day}:{admin.id}",
                )
            await uow.commit()
        log.info(
            "earnings.withdrawal_digest", extra={"waiting": waiting.total, "admins": len(admins)}
        )
        return len(admins)
