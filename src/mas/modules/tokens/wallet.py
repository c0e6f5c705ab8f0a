"""The tokens manifest's wallet part: its tables, repositories, controllers and how its
services are built from the container."""

from __future__ import annotations

from typing import Any

from mas.adapters.db.tokens.wallet import (
    SqlAllotmentRepository,
    SqlGrantRepository,
    SqlWalletRepository,
)
from mas.core.tokens.wallet import WalletPorts, WalletServices, build_wallet
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
MAIL_TEMPLATES: dict[str, Any] = {}


def build(c: Container) -> WalletServices:
    return build_wallet(
        WalletPorts(uow=c.uow, clock=c.clock, governance=c.settings.enable_token_governance)
    )
