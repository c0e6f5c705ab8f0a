"""RazorpayX payouts over httpx: the earnings part's ``PayoutPort``.

A payout is one composite ``POST /v1/payouts``: the contact and its fund account (a VPA for
UPI, a bank account for BANK) travel with the payout, and RazorpayX reuses a contact or fund
account whose details match one it has, so no ids are kept on our side. Every create carries
``X-Payout-Idempotency`` (RazorpayX refuses a payout without it): the same key again answers the
same payout, which is what lets a timed-out request be asked again safely.

Errors: a 4xx with RazorpayX's ``{"error": {"code", "description", ...}}`` is a refusal
(``UpstreamRejected``, 502 to our client: sending it again would be refused again); 401 means
our keys are wrong, also a refusal; a 429, a 5xx, a timeout or an unreadable answer is an
unknown outcome (``ExternalUnavailable``, retried later with the same key).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from mas.core.platform.errors import ExternalUnavailable, NotConfigured, UpstreamRejected
from mas.core.tokens.earnings.model import split_bank
from mas.core.tokens.earnings.ports import GatewayPayout, PayoutStatus

if TYPE_CHECKING:
    import httpx

DEFAULT_BASE_URL = "https://api.razorpay.com"


class RazorpayXPayouts:
    def __init__(
        self,
        *,
        key_id: str,
        key_secret: str,
        account_number: str,
        base_url: str = DEFAULT_BASE_URL,
        http: httpx.AsyncClient | None = None,
        timeout_s: float = 15.0,
    ) -> None:
        if not (key_id.strip() and key_secret.strip() and account_number.strip()):
            raise NotConfigured("RazorpayX payouts")
        self._auth = (key_id.strip(), key_secret.strip())
        self._account = account_number.strip()
        self._base = base_url.rstrip("/")
        self._http = http
        self._owns_http = http is None
        self._timeout_s = timeout_s

    async def aclose(self) -> None:
        if self._owns_http and self._http is not None:
            await self._http.aclose()
            self._http = None

    def _client(self) -> httpx.AsyncClient:
        import httpx

        if self._http is None:
            self._http = httpx.AsyncClient()
        return self._http

    async def create_payout(
        self,
        amount_paise: int,
        method: Literal["UPI", "BANK"],
        destination: str,
        beneficiary_name: str,
        idempotency_key: str,
    ) -> GatewayPayout:
        # RazorpayX finds an existing contact by its details, so one mentor stays one contact.
        contact = {"name": beneficiary_name[:50] or "Mentor", "type": "vendor"}
        if method == "UPI":
            fund: dict[str, Any] = {
                "account_type": "vpa",
                "vpa": {"address": destination},
                "contact": contact,
            }
            mode = "UPI"
        else:
            account, ifsc = split_bank(destination)
            fund = {
                "account_type": "bank_account",
                "bank_account": {
                    "name": beneficiary_name[:120] or "Mentor",
                    "ifsc": ifsc,
                    "account_number": account,
                },
                "contact": contact,
            }
            mode = "IMPS"
        body = {
            "account_number": self._account,
            "amount": amount_paise,
            "currency": "INR",
            "mode": mode,
            "purpose": "payout",
            "fund_account": fund,
            "queue_if_low_balance": True,
            "reference_id": idempotency_key[:40],
            "narration": "Mentor earnings",
        }
        answer = await self._request(
            "POST", "/v1/payouts", json=body, headers={"X-Payout-Idempotency": idempotency_key}
        )
        return _payout(answer)

    async def fetch_payout(self, payout_id: str) -> GatewayPayout:
        return _payout(await self._request("GET", f"/v1/payouts/{payout_id}"))

    async def _request(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        import httpx

        try:
            response = await self._client().request(
                method, f"{self._base}{path}", auth=self._auth, timeout=self._timeout_s, **kwargs
            )
        except httpx.HTTPError as exc:
            raise ExternalUnavailable(f"RazorpayX is unreachable ({type(exc).__name__})") from None
        if response.status_code == 429 or response.status_code >= 500:
            raise ExternalUnavailable(f"RazorpayX answered {response.status_code}")
        try:
            data = response.json()
        except ValueError:
            raise ExternalUnavailable("RazorpayX answered something that is not JSON") from None
        if not isinstance(data, dict):
            raise ExternalUnavailable("RazorpayX answered something that is not an object")
        if response.status_code >= 400:
            error = data.get("error") if isinstance(data.get("error"), dict) else {}
            code = str(error.get("code") or "ERROR")[:60]
            description = str(error.get("description") or "refused")[:300]
            raise UpstreamRejected(f"RazorpayX refused the payout: {code}: {description}")
        return data


def _payout(data: dict[str, Any]) -> GatewayPayout:
    try:
        status = PayoutStatus(str(data.get("status")))
        payout_id = str(data["id"])
    except (KeyError, ValueError):
        raise ExternalUnavailable("RazorpayX answered a payout without an id or status") from None
    failure = data.get("failure_reason")
    details = data.get("status_details")
    if not failure and isinstance(details, dict):
        failure = details.get("description")
    utr = data.get("utr")
    return GatewayPayout(
        id=payout_id[:64],
        status=status,
        amount_paise=int(data.get("amount") or 0),
        utr=str(utr)[:100] if utr else None,
        failure_reason=str(failure)[:500] if failure else None,
    )
