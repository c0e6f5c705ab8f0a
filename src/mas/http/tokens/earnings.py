"""Mentor earnings over HTTP: a mentor's balances, journal and withdrawals; the ADMIN's
processing, completing and cancelling of withdrawals and manual meeting credits; FINANCE reads;
and RazorpayX's payout webhook (tokens-earnings.md §5).

Payout destinations are masked in every answer but the ADMIN's mentor detail. The webhook is
public and authenticated by ``X-Razorpay-Signature`` (HMAC-SHA256 of the raw body with the
webhook secret): a wrong one is a 401 and nothing is read.
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from litestar import Request, get, post
from litestar.params import FromPath, HeaderParameter, JSONBody, QueryParameter

from mas.core.platform.paging import Page, PageRequest
from mas.core.tokens.earnings.model import (
    CancelRequest,
    CompleteRequest,
    CreditMeetingRequest,
    CreditResult,
    EarningsView,
    MentorEarningsDetail,
    PayoutReceipt,
    ProcessRequest,
    TransactionView,
    TxnStatus,
    WithdrawRequest,
)
from mas.http.params import CallerDep, PageNo, PageSize
from mas.http.tokens import Tokens, TokensController

TRANSITION = {"illegal_transition": "the withdrawal is in a state this action applies to"}
WITHDRAW_RULES = {
    "below_minimum": "amount_paise is at least the minimum withdrawal",
    "bad_destination": "bank_upi is a UPI id (UPI) or account:IFSC (BANK)",
    "insufficient_balance": "amount_paise is at most the available balance",
    "withdrawal_open": "the mentor has no other open withdrawal",
}
WITHDRAW_STATUS = {
    "below_minimum": 422,
    "bad_destination": 422,
    "insufficient_balance": 409,
    "withdrawal_open": 409,
}
CANCEL_RULES = {
    **TRANSITION,
    "payout_in_flight": "a RazorpayX payout under way is not cancelled (MANUAL mode only)",
}
CREDIT_RULES = {
    "already_credited": "the meeting was not credited before",
    "nothing_held": "the meeting's booking held a token",
}
DETAIL_ROWS = 50
WEBHOOK_RULES = {"bad_signature": "X-Razorpay-Signature signs the body with the webhook secret"}
HistorySize = Annotated[
    int, QueryParameter(ge=1, le=50, description="items per page (max 50, default 10)")
]
StatusFilter = Annotated[TxnStatus | None, QueryParameter(description="only this status")]
Signature = Annotated[
    str | None,
    HeaderParameter(
        name="X-Razorpay-Signature",
        max_length=128,
        description="HMAC-SHA256 (hex) of the raw body with the webhook secret",
        schema_extra={"one_of": None, "type": "string"},
    ),
]


class MentorEarningsController(TokensController):
    """A mentor's earnings and withdrawals."""

    path = "/api/mentor"
    tags = ["tokens: earnings"]
    opt = {"policy": "expert"}

    @get("/earnings", operation_id="mentorEarnings", summary="My balances and last transaction")
    async def earnings(self, tokens: Tokens, caller: CallerDep) -> EarningsView:
        return await tokens.earnings.summary(caller.user_id)

    @get(
        "/payment-history",
        operation_id="mentorPaymentHistory",
        summary="My earnings and withdrawals, newest first",
    )
    async def history(
        self, tokens: Tokens, caller: CallerDep, page: PageNo = 1, page_size: HistorySize = 10
    ) -> Page[TransactionView]:
        return await tokens.earnings.history(caller.user_id, PageRequest(page, page_size))

    @post(
        "/withdraw",
        operation_id="mentorWithdraw",
        summary="Ask to withdraw from my available balance",
        status_code=201,
        opt={"rules": WITHDRAW_RULES, "rules_status": WITHDRAW_STATUS},
    )
    async def withdraw(
        self, tokens: Tokens, caller: CallerDep, data: JSONBody[WithdrawRequest]
    ) -> TransactionView:
        return await tokens.earnings.withdrawals.request(caller, data)

    @post(
        "/withdrawals/{withdrawal_id:uuid}/cancel",
        operation_id="mentorCancelWithdrawal",
        summary="Cancel my withdrawal while it is requested",
        status_code=200,
        opt={"rules": TRANSITION, "rules_status": 409},
    )
    async def cancel(
        self, tokens: Tokens, caller: CallerDep, withdrawal_id: FromPath[uuid.UUID]
    ) -> TransactionView:
        return await tokens.earnings.withdrawals.cancel_own(caller, withdrawal_id, None)

    @get(
        "/withdrawal-requests",
        operation_id="withdrawalRequests",
        summary="Every mentor's withdrawals, newest first",
        opt={"policy": "finance"},
    )
    async def requests(
        self,
        tokens: Tokens,
        status: StatusFilter = None,
        page: PageNo = 1,
        page_size: PageSize = 20,
    ) -> Page[TransactionView]:
        return await tokens.earnings.withdrawals.requests(status, PageRequest(page, page_size))

    @post(
        "/complete-withdrawal",
        operation_id="completeWithdrawal",
        summary="Record a withdrawal as paid, with its reference (UTR)",
        status_code=200,
        opt={"policy": "admin", "rules": TRANSITION, "rules_status": 409, "problems": (404,)},
    )
    async def complete(
        self, tokens: Tokens, caller: CallerDep, data: JSONBody[CompleteRequest]
    ) -> TransactionView:
        return await tokens.earnings.withdrawals.complete(
            caller, data.transaction_id, data.reference
        )


class EarningsAdminController(TokensController):
    """ADMIN money actions on mentor earnings; FINANCE may read a mentor's."""

    path = "/api/admin/mentor-earnings"
    tags = ["tokens: earnings"]
    opt = {"policy": "admin"}

    @post(
        "/withdrawals/{withdrawal_id:uuid}/process",
        operation_id="processWithdrawal",
        summary="Start paying a withdrawal: by hand (MANUAL) or by a RazorpayX payout",
        status_code=200,
        # 502: RazorpayX refused (the withdrawal stays requested); 503: not configured or down
        opt={"rules": TRANSITION, "rules_status": 409, "problems": (502, 503)},
    )
    async def process(
        self,
        tokens: Tokens,
        caller: CallerDep,
        withdrawal_id: FromPath[uuid.UUID],
        data: JSONBody[ProcessRequest],
    ) -> TransactionView:
        return await tokens.earnings.withdrawals.process(caller, withdrawal_id, data.mode)

    @post(
        "/withdrawals/{withdrawal_id:uuid}/cancel",
        operation_id="adminCancelWithdrawal",
        summary="Cancel a withdrawal (once in process, MANUAL mode only)",
        status_code=200,
        opt={"rules": CANCEL_RULES, "rules_status": 409},
    )
    async def cancel(
        self,
        tokens: Tokens,
        caller: CallerDep,
        withdrawal_id: FromPath[uuid.UUID],
        data: JSONBody[CancelRequest],
    ) -> TransactionView:
        return await tokens.earnings.withdrawals.cancel(caller, withdrawal_id, data.reason)

    @post(
        "/credit-meeting",
        operation_id="creditMeeting",
        summary="Credit a completed meeting its mentor was not credited for",
        status_code=200,
        # 404: no such mentor; 503: the wallet cannot say what the meeting held
        opt={"rules": CREDIT_RULES, "rules_status": 409, "problems": (404, 503)},
    )
    async def credit(
        self, tokens: Tokens, caller: CallerDep, data: JSONBody[CreditMeetingRequest]
    ) -> CreditResult:
        return await tokens.earnings.credit_manually(caller, data)

    @get(
        "/{mentor_id:uuid}",
        operation_id="mentorEarningsDetail",
        summary="A mentor's balances and latest journal rows (payout details: ADMIN only)",
        opt={"policy": "finance"},
    )
    async def detail(
        self, tokens: Tokens, caller: CallerDep, mentor_id: FromPath[uuid.UUID]
    ) -> MentorEarningsDetail:
        return await tokens.earnings.detail(caller, mentor_id, PageRequest(1, DETAIL_ROWS))


class RazorpayXWebhookController(TokensController):
    """RazorpayX's payout events (public; signed)."""

    path = "/api/webhooks/razorpayx"
    tags = ["tokens: webhooks"]
    opt = {"public": True}

    @post(
        "",
        operation_id="razorpayxWebhook",
        summary="RazorpayX payout events: processed, reversed, failed",
        status_code=200,
        # 503: the webhook secret is not configured
        opt={"rules": WEBHOOK_RULES, "rules_status": 401, "problems": (503,)},
    )
    async def receive(
        self, tokens: Tokens, request: Request[Any, Any, Any], signature: Signature = None
    ) -> PayoutReceipt:
        applied = await tokens.earnings.on_webhook(await request.body(), signature)
        return PayoutReceipt(applied=applied)
