"""The wallet part's crons and its subscription to identity's ``UserSignedUp``
(tokens-earnings.md §6)."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from mas.core.identity.events import UserSignedUp
from mas.core.platform.tasking import NoArgs, Task, TaskPolicy

if TYPE_CHECKING:
    from mas.core.tokens.wallet import WalletServices

log = logging.getLogger("mas.tokens.wallet")

EXPIRE_GRANTS = Task("tokens.expire_promotional_grants", NoArgs, TaskPolicy(attempts=2))
EXPIRE_ALLOTMENTS = Task("tokens.expire_allotment_requests", NoArgs, TaskPolicy(attempts=2))
LEDGER_CHECK = Task("tokens.ledger_check", NoArgs, TaskPolicy(attempts=1, timeout_s=1800))


async def expire_grants(wallet: WalletServices, _: NoArgs) -> None:
    """Idempotent: a grant leaves ACTIVE once (a CAS), its expiry debit is keyed."""
    expired = await wallet.accounts.expire_grants()
    log.info("tokens.grants_expired", extra={"count": expired})


async def expire_allotments(wallet: WalletServices, _: NoArgs) -> None:
    """PENDING allotment requests untouched for 14 days → EXPIRED (one predicate UPDATE)."""
    await wallet.allotments.expire()


async def ledger_check(wallet: WalletServices, _: NoArgs) -> None:
    """Read-only; every drift is logged (``tokens.ledger_drift``), none is fixed."""
    await wallet.accounts.check()


async def open_wallet(wallet: WalletServices, event: UserSignedUp) -> None:
    """A new account's wallet (idempotent: an existing wallet is left as it is)."""
    await wallet.accounts.open_wallet(event.user_id)
