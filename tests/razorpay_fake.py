"""A fake Razorpay speaking its wire format (the ``razorpay`` package's ``tests/mocks`` and
razorpay.com/docs/api are the reference), as an ASGI app reached through ``httpx.ASGITransport``.

It answers ``POST /v1/orders``, ``GET /v1/orders/{id}``, ``GET /v1/orders/{id}/payments``,
``GET /v1/payments`` (``from``, ``to`` inclusive Unix seconds, ``count`` 1..100 (default 10),
``skip``; newest first, as Razorpay lists) and ``GET /v1/payments/{id}``;
checks HTTP basic auth (401 ``BAD_REQUEST_ERROR`` "Authentication failed" otherwise); refuses
like Razorpay: ``{"error": {"code": "BAD_REQUEST_ERROR", "description", "field"?}}``, 400 for an
unknown id. ``pay(order_id)`` is what a buyer does at the checkout: a captured payment for the
whole amount, the order ``paid``, the checkout signature returned. ``fail_with`` queues raw
answers (429, 5xx, an HTML error page) served before normal behaviour resumes.
"""

from __future__ import annotations

import base64
import bisect
import hashlib
import hmac
import json
import time
from collections.abc import MutableMapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

from tests.whatsapp_fakes import Answer, Request, _answer, _read, json_answer

KEY_ID = "rzp_test_1DP5mmOlF5G5ag"
KEY_SECRET = "thisissupersecret"


def razorpay_error(status: int, description: str, field_name: str | None = None) -> Answer:
    error: dict[str, Any] = {"code": "BAD_REQUEST_ERROR", "description": description}
    if field_name is not None:
        error["field"] = field_name
    return json_answer(status, {"error": error})


def server_error(status: int = 500) -> Answer:
    return json_answer(
        status,
        {"error": {"code": "SERVER_ERROR", "description": "The server encountered an error"}},
    )


@dataclass
class FakeRazorpay:
    key_id: str = KEY_ID
    key_secret: str = KEY_SECRET
    orders: dict[str, dict[str, Any]] = field(default_factory=dict)
    payments: dict[str, dict[str, Any]] = field(default_factory=dict)
    fail_with: list[Answer] = field(default_factory=list)
    requests: list[Request] = field(default_factory=list)
    _ids: int = 0
    _sorted: list[tuple[int, str]] | None = None
    _sorted_size: int = 0
    _keys: list[int] = field(default_factory=list)

    def _next(self, prefix: str) -> str:
        self._ids += 1
        return f"{prefix}_{self._ids:014d}"

    async def __call__(self, scope: MutableMapping[str, Any], receive: Any, send: Any) -> None:
        assert scope["type"] == "http"
        query = {k: v[-1] for k, v in parse_qs(scope["query_string"].decode()).items()}
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        request = Request(scope["method"], scope["path"], query, headers, await _read(receive))
        self.requests.append(request)
        await _answer(send, self._handle(request))

    def _handle(self, request: Request) -> Answer:
        if self.fail_with:
            return self.fail_with.pop(0)
        expected = base64.b64encode(f"{self.key_id}:{self.key_secret}".encode()).decode()
        if request.headers.get("authorization") != f"Basic {expected}":
            return razorpay_error(401, "Authentication failed")
        parts = request.path.strip("/").split("/")
        if len(parts) < 2 or parts[0] != "v1":
            return razorpay_error(400, "The requested URL was not found on the server.")
        resource, ident, edge = parts[1], (parts[2:3] or [None])[0], (parts[3:4] or [None])[0]
        if resource == "orders" and ident is None and request.method == "POST":
            return self._create_order(request)
        if resource == "orders" and ident is not None and request.method == "GET":
            order = self.orders.get(ident)
            if order is None:
                return razorpay_error(400, "The id provided does not exist")
            if edge == "payments":
                return self._collection(
                    [p for p in self.payments.values() if p["order_id"] == ident]
                )
            return json_answer(200, order)
        if resource == "payments" and request.method == "GET":
            if ident is None:
                return self._list_payments(request.query)
            payment = self.payments.get(ident)
            if payment is None:
                return razorpay_error(400, "The id provided does not exist")
            return json_answer(200, payment)
        return razorpay_error(400, "The requested URL was not found on the server.")

    def _create_order(self, request: Request) -> Answer:
        if request.headers.get("content-type", "").split(";")[0] != "application/json":
            return razorpay_error(400, "The amount field is required.", "amount")
        body = request.json()
        amount = body.get("amount")
        if not isinstance(amount, int) or amount < 100:
            return razorpay_error(400, "Order amount less than minimum amount allowed", "amount")
        receipt = body.get("receipt")
        if receipt is not None and (not isinstance(receipt, str) or len(receipt) > 40):
            return razorpay_error(
                400, "receipt: the length must be no more than 40 characters.", "receipt"
            )
        notes = body.get("notes") or {}
        if not isinstance(notes, dict) or len(notes) > 15:
            return razorpay_error(400, "notes: the number of notes must be at most 15", "notes")
        order = {
            "id": self._next("order"),
            "entity": "order",
            "amount": amount,
            "amount_paid": 0,
            "amount_due": amount,
            "currency": body.get("currency", "INR"),
            "receipt": receipt,
            "offer_id": None,
            "status": "created",
            "attempts": 0,
            "notes": notes or [],  # Razorpay writes an empty notes object as []
            "created_at": int(time.time()),
        }
        self.orders[order["id"]] = order
        return json_answer(200, order)

    def _collection(self, items: list[dict[str, Any]]) -> Answer:
        return json_answer(200, {"entity": "collection", "count": len(items), "items": items})

    def _list_payments(self, query: dict[str, str]) -> Answer:
        try:
            count = int(query.get("count", "10"))
            skip = int(query.get("skip", "0"))
            start = int(query.get("from", "0"))
            end = int(query.get("to", str(2**31)))
        except ValueError:
            return razorpay_error(400, "The count must be an integer.", "count")
        if not 1 <= count <= 100:
            return razorpay_error(400, "The count may not be greater than 100.", "count")
        if skip < 0:
            return razorpay_error(400, "The skip must be at least 0.", "skip")
        # Razorpay lists newest first; ``from`` and ``to`` are inclusive Unix seconds.
        newest_first = self._newest_first()
        keys = self._keys
        first = bisect.bisect_left(keys, -end)
        last = bisect.bisect_right(keys, -start)
        window = newest_first[first:last][skip : skip + count]
        return self._collection([self.payments[pid] for _, pid in window])

    def _newest_first(self) -> list[tuple[int, str]]:
        """(created_at, id) of every payment, newest first (kept while the set is unchanged)."""
        if self._sorted is None or self._sorted_size != len(self.payments):
            self._sorted = sorted(
                ((p["created_at"], p["id"]) for p in self.payments.values()),
                key=lambda item: (-item[0], item[1]),
            )
            self._sorted_size = len(self.payments)
            self._keys = [-created for created, _ in self._sorted]
        return self._sorted

    def add_payment(self, payment: dict[str, Any]) -> None:
        """Seed a payment in Razorpay's document shape (``payment_document`` builds one)."""
        self.payments[payment["id"]] = payment
        self._sorted = None

    # --- the buyer's side -----------------------------------------------------------------------

    def pay(self, order_id: str, *, status: str = "captured") -> tuple[str, str]:
        """A payment of the whole order: ``(payment_id, checkout signature)``."""
        order = self.orders[order_id]
        payment = {
            "id": self._next("pay"),
            "entity": "payment",
            "amount": order["amount"],
            "currency": order["currency"],
            "status": status,
            "order_id": order_id,
            "invoice_id": None,
            "international": False,
            "method": "upi",
            "amount_refunded": 0,
            "refund_status": None,
            "captured": status == "captured",
            "description": None,
            "vpa": "buyer@okaxis",
            "email": "buyer@example.com",
            "contact": "+919900000001",
            "notes": order["notes"],
            "fee": 354,
            "tax": 54,
            "error_code": None,
            "error_description": None,
            "created_at": int(time.time()),
        }
        self.add_payment(payment)
        order["attempts"] += 1
        if status == "captured":
            order.update(status="paid", amount_paid=order["amount"], amount_due=0)
        else:
            order["status"] = "attempted"
        message = f"{order_id}|{payment['id']}".encode()
        signature = hmac.new(self.key_secret.encode(), message, hashlib.sha256).hexdigest()
        return payment["id"], signature


def payment_document(
    payment_id: str,
    created_at: int,
    *,
    amount: int = 35000,
    status: str = "captured",
    order_id: str | None = None,
    notes: dict[str, str] | None = None,
    refunded: int = 0,
) -> dict[str, Any]:
    """A payment as ``GET /v1/payments`` lists it."""
    return {
        "id": payment_id,
        "entity": "payment",
        "amount": amount,
        "currency": "INR",
        "status": status,
        "order_id": order_id,
        "invoice_id": None,
        "international": False,
        "method": "upi",
        "amount_refunded": refunded,
        "refund_status": None if not refunded else ("full" if refunded == amount else "partial"),
        "captured": status in ("captured", "refunded"),
        "description": "Token pack",
        "vpa": "buyer@okaxis",
        "email": f"{payment_id}@example.com",
        "contact": "+919900000001",
        "notes": notes or [],
        "fee": 826,
        "tax": 126,
        "error_code": None,
        "error_description": None,
        "created_at": created_at,
    }


def html_error(status: int = 502) -> Answer:
    return (status, b"<html><body>Bad Gateway</body></html>", {"content-type": "text/html"})


def dumps(document: Any) -> bytes:
    return json.dumps(document).encode()
