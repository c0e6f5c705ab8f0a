"""The tokens manifest's purchases part: its tables, repositories, controllers and how its
services are built from the container."""

from __future__ import annotations

from typing import Any

from mas.core.tokens.purchases import PurchasePorts, PurchaseServices, build_purchases
from mas.core.tokens.wallet import WalletServices
from mas.modules.container import Container

TABLES: list[str] = []
REPOSITORIES: dict[str, Any] = {}
CONTROLLERS: list[str] = []
MAIL_TEMPLATES: dict[str, Any] = {}


def build(c: Container, wallet: WalletServices) -> PurchaseServices:
    """``wallet``: the wallet part's services (its ``purse`` credits and reads the ledger)."""
    return build_purchases(PurchasePorts())
