"""The payment mirror over HTTP (payments-finance.md §5): list and read mirrored payments, ask
for a sync of a window, and reconcile (match, ignore, unmatch; one GST audit row each).

FINANCE and ADMIN only. Without Razorpay keys every route answers 503
``integration_not_configured`` (after a 404 for an unknown id).
"""

from __future__ import annotations

import uuid
from typing import Annotated

from litestar import get, post
from litestar.params import FromPath, JSONBody, QueryParameter

from mas.core.finance.payments.mirror import PaymentSource, Reconciliation
from mas.core.finance.payments.model import (
    EmailQuery,
    IgnoreRequest,
    MatchRequest,
    MirroredPayment,
    PaymentDetail,
    PaymentFilter,
    SyncQueued,
    SyncRequest,
    SyncState,
)
from mas.core.platform.paging import Page, PageRequest
from mas.core.platform.ports.payments import PaymentStatus
from mas.http.finance import Finance, FinanceController
from mas.http.params import CallerDep, InfoDep, PageNo, PageSize, query_moment

WINDOW = "from and to carry a UTC offset, from < to, from in 2000 or later"
LIST_RULES = {"bad_window": f"{WINDOW}, at most 366 days apart"}
SYNC_RULES = {
    "bad_window": f"{WINDOW}, at most 31 days apart, from not in the future",
    "sync_running": "no payment sync is running (409)",
    "impersonation_refused": "not while impersonating another account (403)",
}
ACTION_RULES = {"impersonation_refused": "not while impersonating another account (403)"}
MATCH_RULES = {
    **ACTION_RULES,
    "payment_not_found": "the payment is mirrored (404)",
    "entity_not_found": "a TOKEN_PURCHASE id names a token purchase (404)",
    "payment_already_matched": "the payment is not matched yet (409)",
    "illegal_transition": "an IGNORED payment is unignored (unmatch) before matching (409)",
    "payment_busy": "nobody changed the payment meanwhile (409)",
}
IGNORE_RULES = {
    **ACTION_RULES,
    "payment_not_found": "the payment is mirrored (404)",
    "illegal_transition": "only an UNMATCHED payment is ignored (409)",
    "payment_busy": "nobody changed the payment meanwhile (409)",
}
UNMATCH_RULES = {
    **ACTION_RULES,
    "payment_not_found": "the payment is mirrored (404)",
    "illegal_transition": "the payment is MATCHED or IGNORED (409)",
    "invoice_issued": "the payment has no ISSUED invoice (409)",
    "payment_busy": "nobody changed the payment meanwhile (409)",
}


def _statuses(rules: dict[str, str]) -> dict[str, int]:
    found = {
        "impersonation_refused": 403,
        "payment_not_found": 404,
        "entity_not_found": 404,
        "payment_already_matched": 409,
        "illegal_transition": 409,
        "payment_busy": 409,
        "invoice_issued": 409,
        "sync_running": 409,
        "bad_window": 422,
    }
    return {code: found[code] for code in rules}


From = Annotated[
    str | None,
    QueryParameter(
        name="from",
        min_length=10,
        max_length=40,
        description="gateway creation time from: ISO 8601 with a UTC offset",
    ),
]
To = Annotated[
    str | None,
    QueryParameter(
        min_length=10,
        max_length=40,
        description="gateway creation time up to (≤ 366 days after from): ISO 8601 with offset",
    ),
]
Status = Annotated[PaymentStatus | None, QueryParameter(description="gateway status")]
Source = Annotated[PaymentSource | None, QueryParameter(description="where it came from")]
Reconciled = Annotated[Reconciliation | None, QueryParameter(description="reconciliation")]
Email = Annotated[
    EmailQuery | None,
    QueryParameter(min_length=1, max_length=254, description="payer's email (exact)"),
]


class PaymentController(FinanceController):
    path = "/api/finance/payments"
    tags = ["finance: payments"]
    opt = {"policy": "finance"}

    @get(
        "",
        operation_id="financeListPayments",
        summary="Mirrored gateway payments, newest first, filtered",
        opt={"rules": LIST_RULES, "rules_status": _statuses(LIST_RULES), "problems": (503,)},
    )
    async def list_payments(
        self,
        finance: Finance,
        from_: From = None,
        to: To = None,
        status: Status = None,
        source: Source = None,
        reconciliation: Reconciled = None,
        email: Email = None,
        page: PageNo = 1,
        page_size: PageSize = 20,
    ) -> Page[MirroredPayment]:
        flt = PaymentFilter(
            created_from=query_moment(from_, "from"),
            created_to=query_moment(to, "to"),
            status=status,
            source=source,
            reconciliation=reconciliation,
            email=email,
        )
        return await finance.payments.desk.page(flt, PageRequest(page=page, page_size=page_size))

    @get(
        "/sync",
        operation_id="financePaymentSyncState",
        summary="The payment sync's cursor (last_synced_to), lock and last outcome",
    )
    async def sync_state(self, finance: Finance) -> SyncState:
        return await finance.payments.sync.state()

    @post(
        "/sync",
        operation_id="financeSyncPayments",
        summary="Enqueue a payment sync of a window (≤ 31 days)",
        status_code=202,
        opt={"rules": SYNC_RULES, "rules_status": _statuses(SYNC_RULES), "problems": (503,)},
    )
    async def request_sync(
        self, finance: Finance, caller: CallerDep, data: JSONBody[SyncRequest]
    ) -> SyncQueued:
        return await finance.payments.desk.request_sync(caller, data)

    @get(
        "/{payment_id:uuid}",
        operation_id="financeGetPayment",
        summary="A mirrored payment, its match and whether it has an issued invoice",
        opt={"problems": (503,)},
    )
    async def get_payment(self, finance: Finance, payment_id: FromPath[uuid.UUID]) -> PaymentDetail:
        return await finance.payments.desk.detail(payment_id)

    @post(
        "/{payment_id:uuid}/match",
        operation_id="financeMatchPayment",
        summary="Link a payment to what it paid for",
        status_code=200,
        opt={"rules": MATCH_RULES, "rules_status": _statuses(MATCH_RULES), "problems": (503,)},
    )
    async def match(
        self,
        finance: Finance,
        caller: CallerDep,
        info: InfoDep,
        payment_id: FromPath[uuid.UUID],
        data: JSONBody[MatchRequest],
    ) -> PaymentDetail:
        return await finance.payments.desk.match(caller, payment_id, data, info.ip)

    @post(
        "/{payment_id:uuid}/ignore",
        operation_id="financeIgnorePayment",
        summary="Set a payment aside with a reason",
        status_code=200,
        opt={"rules": IGNORE_RULES, "rules_status": _statuses(IGNORE_RULES), "problems": (503,)},
    )
    async def ignore(
        self,
        finance: Finance,
        caller: CallerDep,
        info: InfoDep,
        payment_id: FromPath[uuid.UUID],
        data: JSONBody[IgnoreRequest],
    ) -> PaymentDetail:
        return await finance.payments.desk.ignore(caller, payment_id, data, info.ip)

    @post(
        "/{payment_id:uuid}/unmatch",
        operation_id="financeUnmatchPayment",
        summary="Undo a match or an ignore (refused once an invoice is issued)",
        status_code=200,
        opt={
            "rules": UNMATCH_RULES,
            "rules_status": _statuses(UNMATCH_RULES),
            "problems": (503,),
        },
    )
    async def unmatch(
        self,
        finance: Finance,
        caller: CallerDep,
        info: InfoDep,
        payment_id: FromPath[uuid.UUID],
    ) -> PaymentDetail:
        return await finance.payments.desk.unmatch(caller, payment_id, info.ip)
