"""A payout gateway in memory: payouts ``pout_fake_1``… start ``processing``; a test settles
them (``settle(id, "processed" | "reversed")``) or makes the next creates fail."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from mas.core.platform.errors import ExternalUnavailable, UpstreamRejected
from mas.core.tokens.earnings.ports import GatewayPayout, PayoutStatus


@dataclass
class FakePayout:
    payout: GatewayPayout
    method: str
    destination: str
    beneficiary_name: str
    idempotency_key: str


@dataclass
class FakePayouts:
    payouts: dict[str, FakePayout] = field(default_factory=dict)
    by_key: dict[str, str] = field(default_factory=dict)
    refuse: int = 0
    unreachable: int = 0
    created: int = 0

    def refuse_next(self, n: int = 1) -> None:
        self.refuse += n

    def unreachable_next(self, n: int = 1) -> None:
        self.unreachable += n

    async def create_payout(
        self,
        amount_paise: int,
        method: Literal["UPI", "BANK"],
        destination: str,
        beneficiary_name: str,
        idempotency_key: str,
    ) -> GatewayPayout:
        if self.refuse:
            self.refuse -= 1
            raise UpstreamRejected("BAD_REQUEST_ERROR: the fund account is invalid")
        if idempotency_key in self.by_key:
            return self.payouts[self.by_key[idempotency_key]].payout
        self.created += 1
        payout = GatewayPayout(
            id=f"pout_fake_{self.created}",
            status=PayoutStatus.PROCESSING,
            amount_paise=amount_paise,
        )
        self.payouts[payout.id] = FakePayout(
            payout, method, destination, beneficiary_name, idempotency_key
        )
        self.by_key[idempotency_key] = payout.id
        if self.unreachable:  # the gateway took it, but the answer was lost
            self.unreachable -= 1
            raise ExternalUnavailable("RazorpayX is unreachable (ReadTimeout)")
        return payout

    async def fetch_payout(self, payout_id: str) -> GatewayPayout:
        if payout_id not in self.payouts:
            raise UpstreamRejected(f"BAD_REQUEST_ERROR: no payout {payout_id}")
        return self.payouts[payout_id].payout

    def settle(
        self, payout_id: str, status: Literal["processed", "reversed", "failed"]
    ) -> GatewayPayout:
        entry = self.payouts[payout_id]
        entry.payout = GatewayPayout(
            id=payout_id,
            status=PayoutStatus(status),
            amount_paise=entry.payout.amount_paise,
            utr="UTR" + payout_id[-6:].upper() if status == "processed" else None,
            failure_reason=None if status == "processed" else f"payout {status} by the bank",
        )
        return entry.payout
