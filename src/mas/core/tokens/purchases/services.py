"""The purchases part's services as the manifest builds them."""

from __future__ import annotations

from dataclasses import dataclass

from mas.core.platform.ports.clock import Clock
from mas.core.platform.ports.payments import PaymentPort
from mas.core.platform.ports.uow import UnitOfWorkFactory
from mas.core.tokens.purchases.checkout import PurchaseService
from mas.core.tokens.purchases.directory import PurchaseDirectory
from mas.core.tokens.purchases.model import TokenPack
from mas.core.tokens.purchases.ports import PurchasesUnitOfWork
from mas.core.tokens.purchases.reconcile import Reconciler
from mas.core.tokens.purchases.webhooks import WebhookService
from mas.core.tokens.wallet.purse import Purse


@dataclass(frozen=True)
class PurchasePorts:
    uow: UnitOfWorkFactory[PurchasesUnitOfWork]
    clock: Clock
    gateway: PaymentPort | None
    """None when no payment provider is configured (purchases answer 503)."""
    purse: Purse
    packs: list[TokenPack]
    provider: str = "razorpay"


@dataclass(frozen=True)
class PurchaseServices:
    purchases: PurchaseService
    webhooks: WebhookService
    reconciler: Reconciler
    gateway: PaymentPort | None
    directory: PurchaseDirectory
    """The public interface other domains read purchases through (the finance mirror)."""


def build_purchases(ports: PurchasePorts) -> PurchaseServices:
    return PurchaseServices(
        purchases=PurchaseService(
            uow=ports.uow,
            clock=ports.clock,
            gateway=ports.gateway,
            purse=ports.purse,
            packs=ports.packs,
        ),
        webhooks=WebhookService(
            uow=ports.uow,
            clock=ports.clock,
            gateway=ports.gateway,
            purse=ports.purse,
            provider=ports.provider,
        ),
        reconciler=Reconciler(
            uow=ports.uow, clock=ports.clock, gateway=ports.gateway, purse=ports.purse
        ),
        gateway=ports.gateway,
        directory=PurchaseDirectory(ports.uow),
    )
