"""The tokens manifest's purchases part: its tables, repositories, controllers and how its
services are built from the container.

The payment gateway is ``settings.payments_provider``:

- ``razorpay``: Razorpay's REST API at ``razorpay_base_url`` with ``razorpay_key_id`` and
  ``razorpay_key_secret`` (both required, else purchases answer 503
  ``integration_not_configured``); webhooks are checked with ``razorpay_webhook_secret``
  (unset: every webhook is a 401);
- ``fake``: the in-process ``FakeGateway`` (the embedded demo: ``FAKE_KEY_SECRET`` signs its
  checkouts, ``FAKE_WEBHOOK_SECRET`` its webhooks; no money moves);
- ``none``: purchases answer 503 ``integration_not_configured``; the pack list still answers.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from mas.adapters.db.tokens.purchases import SqlPaymentWebhookEvents, SqlTokenPurchases
from mas.adapters.fakes.payments import FakeGateway
from mas.adapters.payments.razorpay import RazorpayGateway
from mas.core.platform.ports.payments import PaymentPort
from mas.core.tokens.purchases import PurchasePorts, PurchaseServices, build_purchases
from mas.core.tokens.purchases.model import catalogue
from mas.core.tokens.wallet import WalletServices
from mas.modules.container import BoundHandler, Container

TABLES: list[str] = ["mas.adapters.db.tokens.purchases_tables"]
REPOSITORIES: dict[str, Any] = {
    "token_purchases": SqlTokenPurchases,
    "payment_webhook_events": SqlPaymentWebhookEvents,
}
CONTROLLERS: list[str] = [
    "mas.http.tokens.purchases:TokenPackController",
    "mas.http.tokens.purchases:PurchaseController",
    "mas.http.tokens.purchases:RazorpayWebhookController",
]
MAIL_TEMPLATES: dict[str, Any] = {}


def gateway(c: Container) -> PaymentPort | None:
    """The configured gateway, or None (purchases then answer 503)."""
    settings = c.settings
    if settings.payments_provider == "fake":
        return FakeGateway()
    if settings.payments_provider != "razorpay":
        return None
    client = RazorpayGateway(
        key_id=settings.razorpay_key_id,
        key_secret=settings.razorpay_key_secret,
        webhook_secret=settings.razorpay_webhook_secret,
        base_url=settings.razorpay_base_url,
    )
    if not client.configured:
        return None
    c.closers.append(client.aclose)
    return client


def services(
    c: Container, wallet: WalletServices, payments: PaymentPort | None
) -> PurchaseServices:
    settings = c.settings
    return build_purchases(
        PurchasePorts(
            uow=c.uow,
            clock=c.clock,
            gateway=payments,
            purse=wallet.purse,
            packs=catalogue(settings.token_packs, settings.token_price_paise),
            provider=settings.payments_provider,
        )
    )


def build(c: Container, wallet: WalletServices) -> PurchaseServices:
    """``wallet``: the wallet part's services (its ``purse`` credits and reads the ledger)."""
    return services(c, wallet, gateway(c))


def install(c: Container, payments: PaymentPort | None) -> PurchaseServices:
    """Swap the built container's gateway (a test's Razorpay client or fake); HTTP requests
    and tasks read the domain's services per call."""
    before = c.domains["tokens"]
    part = services(c, before.wallet, payments)
    after = c.domains["tokens"] = dataclasses.replace(before, purchases=part)
    for name, bound in list(c.tasks.items()):
        if bound.services is before:
            c.tasks[name] = BoundHandler(bound.handler, after)
    return part
