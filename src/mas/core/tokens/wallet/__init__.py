"""Tokens: the wallet part (tokens-earnings.md). Built by its manifest part,
``mas.modules.tokens.wallet``.

``purse`` (``ledger.LedgerPurse``) moves tokens in the caller's unit of work; ``accounts``
serves balances, history, an admin's grants and corrections and the drift check;
``allotments`` the batch-lead governance flow. Tasks: grant expiry (hourly), allotment expiry
and the ledger check (daily); the wallet of a new account is opened on ``UserSignedUp`` (and
lazily on first use, for accounts older than the event).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from mas.core.identity.events import UserSignedUp
from mas.core.platform.events import Subscription
from mas.core.platform.ports.clock import Clock
from mas.core.platform.ports.messenger import Messenger
from mas.core.platform.ports.uow import UnitOfWorkFactory
from mas.core.platform.tasking import Handler, Task
from mas.core.tokens.wallet import tasks
from mas.core.tokens.wallet.accounts import WalletAccounts
from mas.core.tokens.wallet.allotments import Allotments
from mas.core.tokens.wallet.ledger import LedgerPurse
from mas.core.tokens.wallet.notices import AllotmentNotices
from mas.core.tokens.wallet.ports import BatchDirectory, NoBatches, WalletUnitOfWork


@dataclass(frozen=True)
class WalletPorts:
    uow: UnitOfWorkFactory[WalletUnitOfWork]
    clock: Clock
    messenger: Messenger
    """How governance notices are sent (``notices``: in-app and email, in the caller's unit)."""
    governance: bool = False
    batches: BatchDirectory = NoBatches()


@dataclass(frozen=True)
class WalletServices:
    purse: LedgerPurse
    accounts: WalletAccounts
    allotments: Allotments


def build_wallet(ports: WalletPorts) -> WalletServices:
    purse = LedgerPurse(ports.clock)
    return WalletServices(
        purse=purse,
        accounts=WalletAccounts(ports.uow, ports.clock, purse),
        allotments=Allotments(
            ports.uow,
            ports.clock,
            purse,
            ports.batches,
            ports.governance,
            AllotmentNotices(ports.messenger),
        ),
    )


HANDLERS: Sequence[Handler[WalletServices, Any]] = (
    Handler(tasks.EXPIRE_GRANTS, tasks.expire_grants),
    Handler(tasks.EXPIRE_ALLOTMENTS, tasks.expire_allotments),
    Handler(tasks.LEDGER_CHECK, tasks.ledger_check),
)
CRONS: Mapping[Task[Any], str] = {
    tasks.EXPIRE_GRANTS: "7 * * * *",
    tasks.EXPIRE_ALLOTMENTS: "20 2 * * *",
    tasks.LEDGER_CHECK: "40 2 * * *",
}
SUBSCRIPTIONS: Sequence[Subscription[WalletServices, Any]] = (
    Subscription(UserSignedUp, tasks.open_wallet),
)
