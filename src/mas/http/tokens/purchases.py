"""Token purchases over HTTP: the pack list (public), buying a pack, the checkout's answer,
cancelling, the buyer's history, and Razorpay's webhook.

The price is the catalogue's; a purchase body carries only ``pack_code``. The webhook is public
and authenticated by ``X-Razorpay-Signature`` over the raw body (401 and nothing stored when it
does not match).
"""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Request, delete, get, post
from litestar.params import FromPath, JSONBody

from mas.core.platform.paging import Page, PageRequest, page_of
from mas.core.tokens.purchases.model import (
    Checkout,
    PackView,
    PurchaseRequest,
    PurchaseView,
    VerifyPaymentRequest,
    WebhookReceipt,
)
from mas.http.params import CallerDep, PageNo, PageSize
from mas.http.tokens import Tokens, TokensController

IMPERSONATION = {"impersonation_refused": "not while impersonating another account (403)"}
PURCHASE_RULES = {
    **IMPERSONATION,
    "unknown_pack": "pack_code is a pack on sale (GET /api/token-packs)",
    "too_many_pending_purchases": "the buyer has fewer than 3 purchases waiting for payment",
}
VERIFY_RULES = {
    **IMPERSONATION,
    "purchase_not_found": "razorpay_order_id is the order of a purchase (404)",
    "not_purchase_owner": "the purchase is the caller's (403)",
    "bad_signature": "razorpay_signature is the gateway's signature of order and payment (400)",
    "purchase_already_completed": "a completed purchase is verified with its own payment",
    "purchase_not_pending": "a cancelled or failed purchase completes only once captured",
    "payment_already_used": "the payment completed no other purchase",
}
CANCEL_RULES = {
    "purchase_not_found": "the purchase is the caller's (404)",
    "purchase_not_pending": "only a pending purchase is cancelled",
}
WEBHOOK_RULES = {
    "bad_signature": "X-Razorpay-Signature is the HMAC of the body with the webhook secret (401)",
    "bad_webhook_body": "the body is Razorpay's event JSON (400)",
}


class TokenPackController(TokensController):
    path = "/api/token-packs"
    tags = ["tokens: purchases"]
    opt = {"public": True}

    @get("/", operation_id="listTokenPacks", summary="Token packs on sale (GST-inclusive prices)")
    async def packs(
        self, tokens: Tokens, page: PageNo = 1, page_size: PageSize = 20
    ) -> Page[PackView]:
        return page_of(tokens.purchases.purchases.packs(), PageRequest(page, page_size))


class PurchaseController(TokensController):
    path = "/api/tokens"
    tags = ["tokens: purchases"]

    @post(
        "/purchase",
        operation_id="purchaseTokens",
        summary="Start buying a pack: a pending purchase and its gateway order",
        status_code=201,
        opt={
            "policy": "student",
            "rules": PURCHASE_RULES,
            "rules_status": {"impersonation_refused": 403, "too_many_pending_purchases": 409},
            # 502: the gateway refused the order; 503: not configured or unreachable
            "problems": (403, 409, 502, 503),
        },
    )
    async def purchase(
        self, tokens: Tokens, caller: CallerDep, data: JSONBody[PurchaseRequest]
    ) -> Checkout:
        return await tokens.purchases.purchases.buy(caller, data)

    @post(
        "/verify-payment",
        operation_id="verifyTokenPayment",
        summary="Complete a purchase with the checkout's signed answer (idempotent)",
        status_code=200,
        opt={
            "policy": "student",
            "rules": VERIFY_RULES,
            "rules_status": {
                "impersonation_refused": 403,
                "purchase_not_found": 404,
                "not_purchase_owner": 403,
                "bad_signature": 400,
                "purchase_already_completed": 409,
                "purchase_not_pending": 409,
                "payment_already_used": 409,
            },
            "problems": (400, 403, 404, 409, 502, 503),
        },
    )
    async def verify(
        self, tokens: Tokens, caller: CallerDep, data: JSONBody[VerifyPaymentRequest]
    ) -> PurchaseView:
        return await tokens.purchases.purchases.verify(caller, data)

    @delete(
        "/purchase/{purchase_id:uuid}",
        operation_id="cancelTokenPurchase",
        summary="Cancel my pending purchase",
        status_code=200,
        opt={
            "policy": "student",
            "rules": CANCEL_RULES,
            "rules_status": {"purchase_not_found": 404, "purchase_not_pending": 409},
            "problems": (409,),
        },
    )
    async def cancel(
        self, tokens: Tokens, caller: CallerDep, purchase_id: FromPath[uuid.UUID]
    ) -> PurchaseView:
        return await tokens.purchases.purchases.cancel(caller, purchase_id)

    @get(
        "/history",
        operation_id="tokenPurchaseHistory",
        summary="My purchases, newest first",
        opt={"policy": "authenticated"},
    )
    async def history(
        self, tokens: Tokens, caller: CallerDep, page: PageNo = 1, page_size: PageSize = 20
    ) -> Page[PurchaseView]:
        return await tokens.purchases.purchases.history(caller, PageRequest(page, page_size))


class RazorpayWebhookController(TokensController):
    path = "/api/webhooks/razorpay"
    tags = ["tokens: webhooks"]
    opt = {"public": True}

    @post(
        "/",
        operation_id="razorpayWebhook",
        summary="Razorpay's events (X-Razorpay-Signature); payment.captured and order.paid "
        "complete a token purchase",
        status_code=200,
        opt={
            "rules": WEBHOOK_RULES,
            "rules_status": {"bad_signature": 401, "bad_webhook_body": 400},
        },
    )
    async def webhook(self, tokens: Tokens, request: Request[Any, Any, Any]) -> WebhookReceipt:
        body = await request.body()
        return await tokens.purchases.webhooks.receive(request.headers, body)
