"""Discount requests and the pipeline cost ledger over HTTP (payments-finance.md §5):
salespeople ask (``/api/sales/discount-requests``), ADMINs decide (``/api/admin/...``), the
effective price is read by sales and admins; HR reads a job's pipeline costs, ADMINs the
summary and may record a cost by hand (the same idempotent path the providers' adapters use).
"""

from __future__ import annotations

import uuid
from datetime import date
from typing import Annotated, Literal

from litestar import Response, get, post
from litestar.params import FromPath, JSONBody, QueryParameter

from mas.core.finance.sales.model import (
    Approval,
    CostSummary,
    DecisionNote,
    DiscountRequest,
    DiscountStatus,
    EffectivePrice,
    JobCosts,
    NewDiscountRequest,
    PipelineCostEntry,
    PipelineCostInput,
)
from mas.core.platform.paging import Page, PageRequest
from mas.http.finance import Finance, FinanceController
from mas.http.params import CallerDep, PageNo, PageSize

MISSING = {"discount_not_found": "the discount request exists"}
MOVE_RULES = {
    **MISSING,
    "illegal_transition": "the request is in the state this decision applies to",
    "discount_changed": "nobody decided the request meanwhile",
}
MOVE_STATUS = {"discount_not_found": 404, "illegal_transition": 409, "discount_changed": 409}
CREATE_RULES = {
    "batch_not_found": "the batch exists",
    "price_out_of_range": "requested_price_paise is above 0 and below the batch fee",
    "discount_request_active": "the student has no open or approved request for the batch",
}
CREATE_STATUS = {"batch_not_found": 404, "price_out_of_range": 422, "discount_request_active": 409}
APPROVE_RULES = {
    **MOVE_RULES,
    "self_approval": "the approver did not file the request",
    "approved_price_out_of_range": "approved_price_paise is in [requested, fee)",
}
APPROVE_STATUS = {**MOVE_STATUS, "self_approval": 403, "approved_price_out_of_range": 422}
CANCEL_RULES = {**MOVE_RULES, "not_requester": "the caller filed the request"}
CANCEL_STATUS = {**MOVE_STATUS, "not_requester": 403}
JOB_RULES = {"job_not_found": "the job exists", "not_job_owner": "the job is the caller's"}
JOB_STATUS = {"job_not_found": 404, "not_job_owner": 403}
RANGE_RULES = {"range_out_of_bounds": "to is on or after from, at most 366 days later"}

StatusFilter = Annotated[DiscountStatus | None, QueryParameter(description="only this status")]
BatchId = Annotated[uuid.UUID, QueryParameter(name="batchId", description="the batch")]
StudentEmail = Annotated[
    str, QueryParameter(min_length=3, max_length=254, description="the student's e-mail")
]
FromDate = Annotated[date, QueryParameter(name="from", description="first day (UTC)")]
ToDate = Annotated[date, QueryParameter(name="to", description="last day (UTC), inclusive")]
GroupBy = Annotated[
    Literal["provider", "job"], QueryParameter(name="groupBy", description="provider or job")
]


class SalesDiscountController(FinanceController):
    path = "/api/sales/discount-requests"
    tags = ["finance: discounts"]

    @post(
        "",
        operation_id="createDiscountRequest",
        summary="Ask for a student's price on a batch below its fee",
        status_code=201,
        opt={"policy": "sales", "rules": CREATE_RULES, "rules_status": CREATE_STATUS},
    )
    async def create(
        self, finance: Finance, caller: CallerDep, data: JSONBody[NewDiscountRequest]
    ) -> DiscountRequest:
        return await finance.sales.discounts.create(caller, data)

    @get(
        "",
        operation_id="myDiscountRequests",
        summary="My discount requests (a head: the team's too), newest first",
        opt={"policy": "sales"},
    )
    async def mine(
        self,
        finance: Finance,
        caller: CallerDep,
        status: StatusFilter = None,
        page: PageNo = 1,
        page_size: PageSize = 20,
    ) -> Page[DiscountRequest]:
        return await finance.sales.discounts.mine(
            caller, status, PageRequest(page=page, page_size=page_size)
        )

    @post(
        "/{request_id:uuid}/cancel",
        operation_id="cancelDiscountRequest",
        summary="Withdraw my pending request",
        status_code=200,
        opt={"policy": "sales", "rules": CANCEL_RULES, "rules_status": CANCEL_STATUS},
    )
    async def cancel(
        self, finance: Finance, caller: CallerDep, request_id: FromPath[uuid.UUID]
    ) -> DiscountRequest:
        return await finance.sales.discounts.cancel(caller, request_id)


class AdminDiscountController(FinanceController):
    path = "/api/admin/discount-requests"
    tags = ["finance: discounts"]

    @get(
        "",
        operation_id="discountRequestQueue",
        summary="Every discount request, newest first",
        opt={"policy": "admin"},
    )
    async def queue(
        self,
        finance: Finance,
        status: StatusFilter = None,
        page: PageNo = 1,
        page_size: PageSize = 20,
    ) -> Page[DiscountRequest]:
        return await finance.sales.discounts.queue(
            status, PageRequest(page=page, page_size=page_size)
        )

    @post(
        "/{request_id:uuid}/approve",
        operation_id="approveDiscountRequest",
        summary="Approve a pending request (at the requested price or any up to the fee)",
        status_code=200,
        opt={"policy": "admin", "rules": APPROVE_RULES, "rules_status": APPROVE_STATUS},
    )
    async def approve(
        self,
        finance: Finance,
        caller: CallerDep,
        request_id: FromPath[uuid.UUID],
        data: JSONBody[Approval],
    ) -> DiscountRequest:
        return await finance.sales.discounts.approve(caller, request_id, data)

    @post(
        "/{request_id:uuid}/reject",
        operation_id="rejectDiscountRequest",
        summary="Reject a pending request",
        status_code=200,
        opt={"policy": "admin", "rules": MOVE_RULES, "rules_status": MOVE_STATUS},
    )
    async def reject(
        self,
        finance: Finance,
        caller: CallerDep,
        request_id: FromPath[uuid.UUID],
        data: JSONBody[DecisionNote],
    ) -> DiscountRequest:
        return await finance.sales.discounts.reject(caller, request_id, data)

    @post(
        "/{request_id:uuid}/revoke",
        operation_id="revokeDiscountRequest",
        summary="Revoke an approval before the student pays",
        status_code=200,
        opt={"policy": "admin", "rules": MOVE_RULES, "rules_status": MOVE_STATUS},
    )
    async def revoke(
        self,
        finance: Finance,
        caller: CallerDep,
        request_id: FromPath[uuid.UUID],
        data: JSONBody[DecisionNote],
    ) -> DiscountRequest:
        return await finance.sales.discounts.revoke(caller, request_id, data)


class EffectivePriceController(FinanceController):
    path = "/api/discounts/effective-price"
    tags = ["finance: discounts"]

    @get(
        "",
        operation_id="effectivePrice",
        summary="A student's price for a batch: an approval still valid, else the fee",
        opt={
            "policy": "sales",
            "rules": {
                "batch_not_found": "the batch exists",
                "invalid_email": "email is an address the server accepts",
            },
            "rules_status": {"batch_not_found": 404, "invalid_email": 422},
        },
    )
    async def price(
        self, finance: Finance, batch_id: BatchId, email: StudentEmail
    ) -> EffectivePrice:
        return await finance.sales.discounts.effective_price(batch_id, email)


class JobCostController(FinanceController):
    path = "/api/recruitment/jobs/{job_id:uuid}/pipeline-costs"
    tags = ["finance: pipeline costs"]

    @get(
        "",
        operation_id="jobPipelineCosts",
        summary="A job's pipeline costs with totals by stage and provider (its HR or an admin)",
        opt={"policy": "hr", "rules": JOB_RULES, "rules_status": JOB_STATUS},
    )
    async def costs(
        self, finance: Finance, caller: CallerDep, job_id: FromPath[uuid.UUID]
    ) -> JobCosts:
        return await finance.sales.costs.of_job(caller, job_id)


class AdminCostController(FinanceController):
    path = "/api/admin/pipeline-costs"
    tags = ["finance: pipeline costs"]

    @get(
        "/summary",
        operation_id="pipelineCostSummary",
        summary="Spend in a date range grouped by provider or job",
        opt={"policy": "admin", "rules": RANGE_RULES},
    )
    async def summary(
        self, finance: Finance, date_from: FromDate, date_to: ToDate, group_by: GroupBy
    ) -> CostSummary:
        return await finance.sales.costs.summary(date_from, date_to, group_by)

    @post(
        "",
        operation_id="recordPipelineCost",
        summary="Record one provider call's cost (201; the same idempotency key again: 200)",
        opt={
            "policy": "admin",
            "rules": {
                "original_amount_incomplete": "original_amount_micros comes with its currency",
                "occurred_at_out_of_range": "occurred_at is between 2015-01-01 and now",
            },
        },
    )
    async def record(
        self, finance: Finance, data: JSONBody[PipelineCostInput]
    ) -> Response[PipelineCostEntry]:
        recorded = await finance.sales.costs.record(data)
        return Response(recorded.entry, status_code=201 if recorded.created else 200)
