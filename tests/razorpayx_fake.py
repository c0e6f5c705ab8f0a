"""A fake RazorpayX (payouts) speaking its wire format, as a small ASGI app.

Reach it through ``httpx.ASGITransport``. It checks HTTP basic auth (401 with RazorpayX's
``{"error": {...}}`` otherwise), requires ``X-Payout-Idempotency`` on ``POST /v1/payouts``
(the same key answers the same payout; the same key with another body is a 400), validates the
composite body (account number, amount, mode, fund account of type ``vpa`` or
``bank_account`` with its contact), serves ``GET /v1/payouts/{id}``, and can be told to fail
the next requests with any status. ``settle`` moves a payout and returns the webhook body and
signature RazorpayX would send.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
from collections.abc import MutableMapping
from dataclasses import dataclass, field
from typing import Any

KEY_ID, KEY_SECRET = "rzp_test_key", "rzp_test_secret"
ACCOUNT = "7878780080316316"
WEBHOOK_SECRET = "whsec-test"

_PAYOUT = re.compile(r"^/v1/payouts/(?P<id>[A-Za-z0-9_]+)$")
_IFSC = re.compile(r"^[A-Z]{4}0[A-Z0-9]{6}$")


def _error(
    status: int, code: str, description: str, field_name: str | None = None
) -> tuple[int, dict[str, Any]]:
    return status, {
        "error": {
            "code": code,
            "description": description,
            "source": "business" if status == 400 else "NA",
            "step": "payout_initiation" if status == 400 else "NA",
            "reason": "input_validation_failed" if status == 400 else "NA",
            "metadata": {},
            "field": field_name,
        }
    }


@dataclass
class FakeRazorpayX:
    payouts: dict[str, dict[str, Any]] = field(default_factory=dict)
    keys: dict[str, tuple[str, str]] = field(default_factory=dict)
    requests: list[tuple[str, str, dict[str, str], Any]] = field(default_factory=list)
    fail_with: list[tuple[int, bytes]] = field(default_factory=list)
    counter: int = 0

    def fail(self, status: int, body: bytes = b"") -> None:
        self.fail_with.append((status, body))

    def settle(self, payout_id: str, status: str) -> tuple[bytes, str]:
        payout = self.payouts[payout_id]
        payout["status"] = status
        if status == "processed":
            payout["utr"] = f"UTR{self.counter:010d}"
        else:
            payout["failure_reason"] = "Beneficiary bank rejected the payout"
            payout["status_details"] = {
                "reason": "beneficiary_bank_rejected",
                "description": "Beneficiary bank rejected the payout",
                "source": "beneficiary_bank",
            }
        event = {
            "entity": "event",
            "account_id": "acc_fake",
            "event": f"payout.{status}",
            "contains": ["payout"],
            "payload": {"payout": {"entity": dict(payout)}},
            "created_at": 1733350000,
        }
        body = json.dumps(event).encode()
        signature = hmac.new(WEBHOOK_SECRET.encode(), body, hashlib.sha256).hexdigest()
        return body, signature

    async def __call__(self, scope: MutableMapping[str, Any], receive: Any, send: Any) -> None:
        assert scope["type"] == "http"
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        self.requests.append((scope["method"], scope["path"], headers, body))
        status, payload = self._answer(scope["method"], scope["path"], headers, body)
        raw = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [(b"content-type", b"application/json")],
            }
        )
        await send({"type": "http.response.body", "body": raw})

    def _answer(
        self, method: str, path: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, Any]:
        if self.fail_with:
            return self.fail_with.pop(0)
        expected = "Basic " + base64.b64encode(f"{KEY_ID}:{KEY_SECRET}".encode()).decode()
        if headers.get("authorization") != expected:
            return _error(401, "BAD_REQUEST_ERROR", "The api key provided is invalid")
        if method == "POST" and path == "/v1/payouts":
            return self._create(headers, body)
        found = _PAYOUT.match(path)
        if method == "GET" and found:
            payout = self.payouts.get(found["id"])
            if payout is None:
                return _error(400, "BAD_REQUEST_ERROR", "The id provided does not exist", "id")
            return 200, payout
        return _error(404, "NOT_FOUND", "The requested URL was not found on the server.")

    def _create(self, headers: dict[str, str], raw: bytes) -> tuple[int, Any]:
        key = headers.get("x-payout-idempotency")
        if not key:
            return _error(
                400, "BAD_REQUEST_ERROR", "X-Payout-Idempotency header is mandatory", "header"
            )
        try:
            body = json.loads(raw)
        except ValueError:
            return _error(400, "BAD_REQUEST_ERROR", "The request body is not valid JSON")
        digest = hashlib.sha256(raw).hexdigest()
        if key in self.keys:
            payout_id, seen = self.keys[key]
            if seen != digest:
                return _error(
                    400,
                    "BAD_REQUEST_ERROR",
                    "Different request body sent for the same Idempotency Header",
                )
            return 200, self.payouts[payout_id]
        problem = self._invalid(body)
        if problem is not None:
            return _error(400, "BAD_REQUEST_ERROR", *problem)
        self.counter += 1
        payout_id = f"pout_{self.counter:014d}"
        fund = body["fund_account"]
        self.payouts[payout_id] = {
            "id": payout_id,
            "entity": "payout",
            "fund_account_id": f"fa_{self.counter:014d}",
            "fund_account": {**fund, "id": f"fa_{self.counter:014d}", "entity": "fund_account"},
            "amount": body["amount"],
            "currency": "INR",
            "notes": body.get("notes", {}),
            "fees": 0,
            "tax": 0,
            "status": "processing",
            "purpose": body["purpose"],
            "utr": None,
            "mode": body["mode"],
            "reference_id": body.get("reference_id"),
            "narration": body.get("narration"),
            "batch_id": None,
            "failure_reason": None,
            "status_details": None,
            "created_at": 1733350000,
        }
        self.keys[key] = (payout_id, digest)
        return 200, self.payouts[payout_id]

    def _invalid(self, body: dict[str, Any]) -> tuple[str, str] | None:
        if body.get("account_number") != ACCOUNT:
            return "The account number is invalid", "account_number"
        amount = body.get("amount")
        if not isinstance(amount, int) or amount < 100:
            return "The amount must be at least INR 1.00", "amount"
        if body.get("currency") != "INR" or not body.get("purpose"):
            return "The currency and purpose are required", "currency"
        fund = body.get("fund_account") or {}
        contact = fund.get("contact") or {}
        if not contact.get("name") or contact.get("type") not in {
            "vendor",
            "customer",
            "employee",
            "self",
        }:
            return "The contact name and type are required", "fund_account.contact"
        if fund.get("account_type") == "vpa":
            address = (fund.get("vpa") or {}).get("address", "")
            if body.get("mode") != "UPI" or "@" not in address:
                return "The vpa address is invalid", "fund_account.vpa.address"
            if address.startswith("invalid"):
                return "Invalid VPA. Please enter a valid Virtual Payment Address", "vpa"
            return None
        if fund.get("account_type") == "bank_account":
            bank = fund.get("bank_account") or {}
            if body.get("mode") not in {"IMPS", "NEFT", "RTGS"}:
                return "The mode is invalid for a bank account", "mode"
            if not _IFSC.match(bank.get("ifsc", "")) or not bank.get("account_number"):
                return "The ifsc or account number is invalid", "fund_account.bank_account"
            return None
        return "The fund account type is invalid", "fund_account.account_type"
