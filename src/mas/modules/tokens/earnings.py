"""The tokens manifest's earnings part: its tables, repositories, controllers and how its
services are built from the container.

Payouts go through RazorpayX when ``razorpay_key_id``, ``razorpay_key_secret`` and
``razorpayx_account_number`` are set (``payments_provider=fake``: the in-memory gateway, which
moves no money); otherwise RAZORPAY mode answers 503 ``integration_not_configured`` and
withdrawals are paid by hand (MANUAL). The payout webhook is signed with
``razorpay_webhook_secret``.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from mas.adapters.db.tokens.earnings import SqlEarningsRepository
from mas.adapters.fakes.payouts import FakePayouts
from mas.adapters.payouts.razorpayx import RazorpayXPayouts
from mas.core.tokens.earnings import EarningsPorts, EarningsServices, build_earnings
from mas.core.tokens.earnings.mails import MAIL_TEMPLATES as EARNINGS_MAILS
from mas.core.tokens.earnings.ports import PayoutPort
from mas.core.tokens.wallet import WalletServices
from mas.core.tokens.wallet.purse import Purse
from mas.modules.container import BoundHandler, Container

TABLES: list[str] = ["mas.adapters.db.tokens.earnings_tables"]
REPOSITORIES: dict[str, Any] = {"mentor_earnings": SqlEarningsRepository}
CONTROLLERS: list[str] = [
    "mas.http.tokens.earnings:MentorEarningsController",
    "mas.http.tokens.earnings:EarningsAdminController",
    "mas.http.tokens.earnings:RazorpayXWebhookController",
]
MAIL_TEMPLATES: dict[str, Any] = dict(EARNINGS_MAILS)


def payouts(c: Container) -> PayoutPort | None:
    settings = c.settings
    if not settings.razorpayx_account_number.strip():
        return None
    if settings.payments_provider == "fake":
        return FakePayouts()
    if settings.payments_provider != "razorpay":
        return None
    if not (settings.razorpay_key_id.strip() and settings.razorpay_key_secret.strip()):
        return None
    client = RazorpayXPayouts(
        key_id=settings.razorpay_key_id,
        key_secret=settings.razorpay_key_secret,
        account_number=settings.razorpayx_account_number,
        base_url=settings.razorpay_base_url,
    )
    c.closers.append(client.aclose)
    return client


def services(c: Container, purse: Purse | None, gateway: PayoutPort | None) -> EarningsServices:
    settings = c.settings
    return build_earnings(
        EarningsPorts(
            uow=c.uow,
            clock=c.clock,
            messenger=c.messenger,
            purse=purse,
            payouts=gateway,
            token_value_paise=settings.token_value_paise,
            min_withdrawal_paise=settings.min_withdrawal_paise,
            webhook_secret=settings.razorpay_webhook_secret,
        )
    )


def build(c: Container, wallet: WalletServices) -> EarningsServices:
    """``wallet``: the wallet part's services (its ``purse`` reads what a slot held)."""
    return services(c, wallet.purse, payouts(c))


def install(c: Container, purse: Purse | None, gateway: PayoutPort | None) -> EarningsServices:
    """Swap the built container's purse and payout gateway (a test's fakes); HTTP requests and
    tasks read the domain's services per request."""
    part = services(c, purse, gateway)
    before = c.domains["tokens"]
    after = c.domains["tokens"] = dataclasses.replace(before, earnings=part)
    for name, bound in list(c.tasks.items()):
        if bound.services is before:
            c.tasks[name] = BoundHandler(bound.handler, after)
    return part
