"""The tokens manifest's earnings part: its tables, repositories, controllers and how its
services are built from the container."""

from __future__ import annotations

from typing import Any

from mas.core.tokens.earnings import EarningsPorts, EarningsServices, build_earnings
from mas.core.tokens.wallet import WalletServices
from mas.modules.container import Container

TABLES: list[str] = []
REPOSITORIES: dict[str, Any] = {}
CONTROLLERS: list[str] = []
MAIL_TEMPLATES: dict[str, Any] = {}


def build(c: Container, wallet: WalletServices) -> EarningsServices:
    """``wallet``: the wallet part's services (its ``purse`` credits and reads the ledger)."""
    return build_earnings(EarningsPorts())
