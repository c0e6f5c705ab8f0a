"""The tokens domain's services, as the platform builds them once per process."""

from __future__ import annotations

from dataclasses import dataclass

from mas.core.tokens.earnings import EarningsServices
from mas.core.tokens.purchases import PurchaseServices
from mas.core.tokens.wallet import WalletServices


@dataclass(frozen=True)
class TokensServices:
    wallet: WalletServices
    purchases: PurchaseServices
    earnings: EarningsServices
