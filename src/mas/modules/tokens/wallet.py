"""The tokens manifest's wallet part: its tables, repositories, controllers and how its
services are built from the container."""

from __future__ import annotations

from typing import Any

from mas.adapters.db.tokens.wallet import (
    SqlAllotmentRepository,
    SqlGrantRepository,
    SqlWalletRepository,
)
from mas.core.platform.ports.balances import TokenBalances
from mas.core.tokens.wallet import WalletPorts, WalletServices, build_wallet
from mas.core.tokens.wallet.accounts import WalletAccounts
from mas.core.tokens.wallet.ledger import LedgerPurse
from mas.core.tokens.wallet.notices import MAIL_TEMPLATES as ALLOTMENT_MAILS
from mas.modules.container import Container

TABLES: list[str] = ["mas.adapters.db.tokens.wallet_tables"]
REPOSITORIES: dict[str, Any] = {
    "token_wallets": SqlWalletRepository,
    "token_grants": SqlGrantRepository,
    "token_allotments": SqlAllotmentRepository,
}
CONTROLLERS: list[str] = [
    "mas.http.tokens.wallet:BalanceController",
    "mas.http.tokens.wallet:AdminTokensController",
    "mas.http.tokens.wallet:AllotmentController",
    "mas.http.tokens.wallet:BatchLeadController",
]
MAIL_TEMPLATES: dict[str, Any] = dict(ALLOTMENT_MAILS)


def balances(c: Container) -> TokenBalances:
    """The ``balances`` port every domain may read: the wallet's accounts, built from the
    container's shared fields only (provided ports are built before any domain's services)."""
    return WalletAccounts(c.uow, c.clock, LedgerPurse(c.clock))


def build(c: Container) -> WalletServices:
    return build_wallet(
        WalletPorts(
            uow=c.uow,
            clock=c.clock,
            messenger=c.messenger,
            governance=c.settings.enable_token_governance,
        )
    )
