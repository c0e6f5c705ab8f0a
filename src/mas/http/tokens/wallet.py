"""The wallet over HTTP: one's balance and ledger (``/api/tokens``), an admin's grants,
adjustments and any user's ledger (``/api/admin/tokens``), and token governance (allotment
requests: ``/api/tokens/allotment-requests`` for students, ``/api/batch-lead/token-requests``
for batch leads; 404 while ``MAS_ENABLE_TOKEN_GOVERNANCE`` is off).

Without an LMS no batch exists: a student is in no batch (403 ``not_in_batch``), and a lead
decides nothing.
"""

from __future__ import annotations

import uuid
from typing import Annotated

from litestar import delete, get, post
from litestar.params import FromPath, JSONBody, QueryParameter

from mas.core.platform.paging import Page, PageRequest
from mas.core.tokens.wallet.model import (
    Adjustment,
    AllotmentRequest,
    AllotmentStatus,
    Balance,
    Decision,
    Grant,
    ManualDebit,
    MovementResult,
    NewAllotmentRequest,
    NewGrant,
)
from mas.core.tokens.wallet.purse import Movement
from mas.http.params import CallerDep, PageNo, PageSize
from mas.http.tokens import Tokens, TokensController

INSUFFICIENT = "the balance does not cover the debit"
NO_USER = "the user exists"
IMPERSONATION = "money actions are refused while impersonating"
GOVERNANCE_OFF = "token governance is off (MAS_ENABLE_TOKEN_GOVERNANCE)"
MOVE_RULES = {
    "insufficient_tokens": INSUFFICIENT,
    "user_not_found": NO_USER,
    "impersonation_refused": IMPERSONATION,
}
MOVE_STATUS = {"insufficient_tokens": 402, "user_not_found": 404, "impersonation_refused": 403}


class BalanceController(TokensController):
    path = "/api/tokens"
    tags = ["tokens: wallet"]
    opt = {"policy": "authenticated"}

    @get("/balance", operation_id="tokenBalance", summary="My token balance, by kind")
    async def balance(self, tokens: Tokens, caller: CallerDep) -> Balance:
        return await tokens.wallet.accounts.balance(caller.user_id)

    @get(
        "/usage-history",
        operation_id="tokenUsageHistory",
        summary="My token ledger, newest first",
    )
    async def usage_history(
        self, tokens: Tokens, caller: CallerDep, page: PageNo = 1, page_size: PageSize = 20
    ) -> Page[Movement]:
        return await tokens.wallet.accounts.history(caller.user_id, PageRequest(page, page_size))

    @post(
        "/deduct",
        operation_id="deductTokens",
        summary="Debit a user's tokens by hand (grant first; once per idempotency key)",
        status_code=200,
        opt={"policy": "admin", "rules": MOVE_RULES, "rules_status": MOVE_STATUS},
    )
    async def deduct(
        self, tokens: Tokens, caller: CallerDep, data: JSONBody[ManualDebit]
    ) -> MovementResult:
        return await tokens.wallet.accounts.deduct(caller, data)


class AdminTokensController(TokensController):
    path = "/api/admin/tokens"
    tags = ["tokens: wallet"]
    opt = {"policy": "admin"}

    @post(
        "/grants",
        operation_id="createPromotionalGrant",
        summary="Grant promotional tokens that expire (one ACTIVE grant per user and kind)",
        opt={
            "rules": {
                "grant_active_exists": "the user has no ACTIVE grant of this kind",
                "grant_expiry_out_of_range": "expires_at is in the future, within 365 days",
                "user_not_found": NO_USER,
                "impersonation_refused": IMPERSONATION,
            },
            "rules_status": {
                "grant_active_exists": 409,
                "grant_expiry_out_of_range": 422,
                "user_not_found": 404,
                "impersonation_refused": 403,
            },
        },
    )
    async def grant(self, tokens: Tokens, caller: CallerDep, data: JSONBody[NewGrant]) -> Grant:
        return await tokens.wallet.accounts.grant(caller, data)

    @delete(
        "/grants/{grant_id:uuid}",
        operation_id="revokePromotionalGrant",
        summary="Revoke an ACTIVE grant (its remaining tokens are debited)",
        status_code=200,
        opt={
            "rules": {
                "illegal_transition": "only an ACTIVE grant is revoked",
                "grant_not_found": "the grant exists",
                "impersonation_refused": IMPERSONATION,
            },
            "rules_status": {
                "illegal_transition": 409,
                "grant_not_found": 404,
                "impersonation_refused": 403,
            },
        },
    )
    async def revoke(
        self, tokens: Tokens, caller: CallerDep, grant_id: FromPath[uuid.UUID]
    ) -> Grant:
        return await tokens.wallet.accounts.revoke(caller, grant_id)

    @post(
        "/adjust",
        operation_id="adjustTokens",
        summary="Credit (tokens > 0) or debit (< 0) a user's wallet with a reason",
        status_code=200,
        opt={
            "rules": {**MOVE_RULES, "adjustment_zero": "token_delta is not 0"},
            "rules_status": {**MOVE_STATUS, "adjustment_zero": 422},
        },
    )
    async def adjust(
        self, tokens: Tokens, caller: CallerDep, data: JSONBody[Adjustment]
    ) -> MovementResult:
        return await tokens.wallet.accounts.adjust(caller, data)

    @get(
        "/ledger",
        operation_id="userTokenLedger",
        summary="Any user's token ledger, newest first",
        opt={"policy": "finance", "rules": {"user_not_found": NO_USER}, "rules_status": 404},
    )
    async def ledger(
        self,
        tokens: Tokens,
        user_id: Annotated[uuid.UUID, QueryParameter(description="whose ledger")],
        page: PageNo = 1,
        page_size: PageSize = 20,
    ) -> Page[Movement]:
        return await tokens.wallet.accounts.ledger_of(user_id, PageRequest(page, page_size))


class AllotmentController(TokensController):
    path = "/api/tokens/allotment-requests"
    tags = ["tokens: governance"]
    opt = {"policy": "student"}

    @post(
        "/",
        operation_id="createAllotmentRequest",
        summary="Ask my batch lead for tokens",
        opt={
            "rules": {
                "governance_off": GOVERNANCE_OFF,
                "not_in_batch": "the student is enrolled in the batch (no batch exists "
                "without the LMS)",
                "request_pending": "no PENDING request for this batch and kind",
            },
            "rules_status": {"governance_off": 404, "not_in_batch": 403, "request_pending": 409},
        },
    )
    async def create(
        self, tokens: Tokens, caller: CallerDep, data: JSONBody[NewAllotmentRequest]
    ) -> AllotmentRequest:
        return await tokens.wallet.allotments.raise_request(caller, data)

    @get(
        "/mine",
        operation_id="myAllotmentRequests",
        summary="My allotment requests, newest first",
        opt={"rules": {"governance_off": GOVERNANCE_OFF}, "rules_status": 404},
    )
    async def mine(
        self, tokens: Tokens, caller: CallerDep, page: PageNo = 1, page_size: PageSize = 20
    ) -> Page[AllotmentRequest]:
        return await tokens.wallet.allotments.mine(caller, PageRequest(page, page_size))

    @post(
        "/{request_id:uuid}/withdraw",
        operation_id="withdrawAllotmentRequest",
        summary="Withdraw my PENDING request",
        status_code=200,
        opt={
            "rules": {
                "governance_off": GOVERNANCE_OFF,
                "request_not_found": "the request exists and is mine",
                "request_not_pending": "the request is PENDING",
            },
            "rules_status": {
                "governance_off": 404,
                "request_not_found": 404,
                "request_not_pending": 409,
            },
        },
    )
    async def withdraw(
        self, tokens: Tokens, caller: CallerDep, request_id: FromPath[uuid.UUID]
    ) -> AllotmentRequest:
        return await tokens.wallet.allotments.withdraw(caller, request_id)


DECIDE_RULES = {
    "governance_off": GOVERNANCE_OFF,
    "request_not_found": "the request exists",
    "not_batch_lead": "the caller leads the request's batch (or is an admin)",
    "request_not_pending": "the request is PENDING",
}
DECIDE_STATUS = {
    "governance_off": 404,
    "request_not_found": 404,
    "not_batch_lead": 403,
    "request_not_pending": 409,
}


class BatchLeadController(TokensController):
    path = "/api/batch-lead/token-requests"
    tags = ["tokens: governance"]
    opt = {"policy": "community"}

    @get(
        "/",
        operation_id="batchLeadTokenRequests",
        summary="Allotment requests of the batches I lead (all of them for an admin)",
        opt={"rules": {"governance_off": GOVERNANCE_OFF}, "rules_status": 404},
    )
    async def list_requests(
        self,
        tokens: Tokens,
        caller: CallerDep,
        status: Annotated[AllotmentStatus | None, QueryParameter()] = None,
        page: PageNo = 1,
        page_size: PageSize = 20,
    ) -> Page[AllotmentRequest]:
        return await tokens.wallet.allotments.for_lead(caller, status, PageRequest(page, page_size))

    @post(
        "/{request_id:uuid}/approve",
        operation_id="approveTokenRequest",
        summary="Approve a PENDING request: its tokens are credited",
        status_code=200,
        opt={
            "rules": {
                **DECIDE_RULES,
                "allotment_cap": "at most 10 tokens per student per batch per month",
                "impersonation_refused": IMPERSONATION,
            },
            "rules_status": {**DECIDE_STATUS, "allotment_cap": 409, "impersonation_refused": 403},
        },
    )
    async def approve(
        self, tokens: Tokens, caller: CallerDep, request_id: FromPath[uuid.UUID]
    ) -> AllotmentRequest:
        return await tokens.wallet.allotments.approve(caller, request_id)

    @post(
        "/{request_id:uuid}/reject",
        operation_id="rejectTokenRequest",
        summary="Reject a PENDING request with a note",
        status_code=200,
        opt={
            "rules": {**DECIDE_RULES, "note_required": "a rejection carries a note"},
            "rules_status": {**DECIDE_STATUS, "note_required": 422},
        },
    )
    async def reject(
        self,
        tokens: Tokens,
        caller: CallerDep,
        request_id: FromPath[uuid.UUID],
        data: JSONBody[Decision],
    ) -> AllotmentRequest:
        return await tokens.wallet.allotments.reject(caller, request_id, data)
