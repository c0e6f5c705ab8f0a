"""Razorpay over httpx: orders, an order's payments, payments, and the two signatures.

Wire format (razorpay.com/docs/api):

- ``POST /v1/orders`` with JSON ``{amount, currency, receipt, notes}`` (amount in paise,
  receipt ≤ 40 characters, ≤ 15 notes); answers the order ``{id: "order_…", entity: "order",
  amount, amount_paid, amount_due, currency, receipt, status: created|attempted|paid, attempts,
  notes, created_at}``.
- ``GET /v1/orders/{id}``; ``GET /v1/orders/{id}/payments`` and ``GET /v1/payments?from&to&
  count&skip`` answer a collection ``{entity: "collection", count, items: [payment…]}``;
  ``GET /v1/payments/{id}``.
- Errors: an HTTP status with ``{"error": {"code": "BAD_REQUEST_ERROR"|"GATEWAY_ERROR"|
  "SERVER_ERROR", "description", "field"?}}``; bad API keys are a 401 with a
  ``BAD_REQUEST_ERROR`` "Authentication failed".

Authentication is HTTP basic with the key id and key secret. 429, 5xx and transport failures
raise ``GatewayUnavailable``; any other refusal ``GatewayRejected`` with Razorpay's code and
description. Nothing retries here: an order created twice is harmless but a caller decides.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, TypeVar

import msgspec

from mas.adapters.payments.razorpay_wire import (
    PaymentCollection,
    RazorpayOrder,
    RazorpayPayment,
    decode_event,
)
from mas.core.platform.errors import NotConfigured
from mas.core.platform.ports.payments import (
    GatewayEvent,
    GatewayOrder,
    GatewayPayment,
    GatewayRejected,
    GatewayUnavailable,
    checkout_signature,
    signatures_match,
    webhook_signature,
)

if TYPE_CHECKING:
    import httpx

log = logging.getLogger("mas.payments.razorpay")

MAX_RECEIPT = 40
MAX_NOTES = 15
MAX_COUNT = 100
T = TypeVar("T")


class _Error(msgspec.Struct):
    code: str = "UNKNOWN"
    description: str = ""


class _ErrorBody(msgspec.Struct):
    error: _Error


class RazorpayGateway:
    def __init__(
        self,
        *,
        key_id: str,
        key_secret: str,
        webhook_secret: str = "",
        base_url: str = "https://api.razorpay.com",
        http: httpx.AsyncClient | None = None,
        timeout_s: float = 10.0,
    ) -> None:
        self._key_id = key_id.strip()
        self._key_secret = key_secret.strip()
        self._webhook_secret = webhook_secret.strip()
        self._base = base_url.rstrip("/") + "/v1"
        self._auth = (self._key_id, self._key_secret)
        self._http = http
        self._owns_http = http is None
        self._timeout_s = timeout_s

    @property
    def key_id(self) -> str:
        return self._key_id

    @property
    def configured(self) -> bool:
        return bool(self._key_id and self._key_secret)

    async def aclose(self) -> None:
        if self._owns_http and self._http is not None:
            await self._http.aclose()
            self._http = None

    # --- the port -----------------------------------------------------------------------------

    async def create_order(
        self, amount_paise: int, currency: str, receipt: str, notes: dict[str, str]
    ) -> GatewayOrder:
        if len(receipt) > MAX_RECEIPT or len(notes) > MAX_NOTES:
            raise ValueError(f"a receipt ≤ {MAX_RECEIPT} characters and ≤ {MAX_NOTES} notes")
        body = {"amount": amount_paise, "currency": currency, "receipt": receipt, "notes": notes}
        return self._decode(await self._request("POST", "/orders", json=body), RazorpayOrder).view()

    async def fetch_order(self, order_id: str) -> GatewayOrder:
        answer = await self._request("GET", f"/orders/{_segment(order_id)}")
        return self._decode(answer, RazorpayOrder).view()

    async def fetch_order_payments(self, order_id: str) -> list[GatewayPayment]:
        answer = await self._request("GET", f"/orders/{_segment(order_id)}/payments")
        return [p.view() for p in self._decode(answer, PaymentCollection).items]

    async def list_payments(
        self, from_ts: int, to_ts: int, skip: int, count: int
    ) -> list[GatewayPayment]:
        params = {"from": from_ts, "to": to_ts, "skip": skip, "count": min(count, MAX_COUNT)}
        answer = await self._request("GET", "/payments", params=params)
        return [p.view() for p in self._decode(answer, PaymentCollection).items]

    async def fetch_payment(self, payment_id: str) -> GatewayPayment:
        answer = await self._request("GET", f"/payments/{_segment(payment_id)}")
        return self._decode(answer, RazorpayPayment).view()

    def verify_checkout_signature(self, order_id: str, payment_id: str, signature: str) -> bool:
        if not self._key_secret:
            return False
        expected = checkout_signature(self._key_secret, order_id, payment_id)
        return signatures_match(expected, signature)

    def verify_webhook_signature(self, raw_body: bytes, signature: str) -> bool:
        if not self._webhook_secret:
            return False
        return signatures_match(webhook_signature(self._webhook_secret, raw_body), signature)

    def parse_webhook(self, raw_body: bytes) -> GatewayEvent:
        return decode_event(raw_body)

    # --- plumbing -----------------------------------------------------------------------------

    def _client(self) -> httpx.AsyncClient:
        import httpx

        if self._http is None:
            self._http = httpx.AsyncClient()
        return self._http

    async def _request(self, method: str, path: str, **kwargs: Any) -> bytes:
        import httpx

        if not self.configured:
            raise NotConfigured(
                "the payment gateway (MAS_RAZORPAY_KEY_ID, MAS_RAZORPAY_KEY_SECRET)"
            )
        try:
            response = await self._client().request(
                method, self._base + path, auth=self._auth, timeout=self._timeout_s, **kwargs
            )
        except httpx.TransportError as exc:
            log.warning("razorpay.unreachable", extra={"path": path, "error": repr(exc)})
            raise GatewayUnavailable(f"Razorpay is not reachable: {exc!r}") from exc
        if response.status_code == 429 or response.status_code >= 500:
            retry_after = _retry_after(response.headers.get("Retry-After"))
            raise GatewayUnavailable(
                f"Razorpay answered {response.status_code}", retry_after=retry_after
            )
        if response.status_code >= 400:
            error = self._error(response)
            log.info(
                "razorpay.rejected",
                extra={"path": path, "status": response.status_code, "code": error.code},
            )
            raise GatewayRejected(error.code, error.description, status=response.status_code)
        return response.content

    def _error(self, response: httpx.Response) -> _Error:
        try:
            return msgspec.json.decode(response.content, type=_ErrorBody).error
        except msgspec.DecodeError:
            return _Error(code=f"HTTP_{response.status_code}", description=response.text[:200])

    def _decode(self, body: bytes, kind: type[T]) -> T:
        try:
            return msgspec.json.decode(body, type=kind)
        except msgspec.DecodeError as exc:
            raise GatewayUnavailable(f"Razorpay answered a malformed document: {exc}") from None


def _segment(identifier: str) -> str:
    """An id as one path segment: Razorpay's ids are letters, digits and ``_``."""
    if not identifier or not all(ch.isascii() and (ch.isalnum() or ch == "_") for ch in identifier):
        raise GatewayRejected("BAD_REQUEST_ERROR", "The id provided does not exist")
    return identifier


def _retry_after(value: str | None) -> int | None:
    try:
        return max(0, int(value)) if value is not None else None
    except ValueError:
        return None
