"""Password-protected exports (payments-finance.md §5, §8): request one (202, built by the
``finance.build_export`` job), follow it, download it while it is READY (a short-lived
presigned link), 410 once its seven days are over. Only the requester and administrators see
an export; the password is accepted once and never shown again."""

from __future__ import annotations

import uuid

from litestar import get, post
from litestar.params import FromPath, JSONBody

from mas.core.finance.reports.model import ExportView, NewExport
from mas.core.platform.paging import Page, PageRequest
from mas.http.finance import Finance, FinanceController
from mas.http.finance.reports import RANGE_RULES
from mas.http.params import CallerDep, PageNo, PageSize

REQUEST_RULES = {
    **RANGE_RULES,
    "impersonated": "an impersonation session cannot request exports",
}
REQUEST_STATUS = {"bad_range": 422, "impersonated": 403}
EXPIRED_RULES = {"export_expired": "the export is within its seven days"}


class ExportsController(FinanceController):
    path = "/api/finance/exports"
    tags = ["finance"]
    opt = {"policy": "finance"}

    @post(
        "",
        operation_id="financeRequestExport",
        summary="Request a password-protected export (XLSX in an AES-256 zip)",
        status_code=202,
        opt={"rules": REQUEST_RULES, "rules_status": REQUEST_STATUS, "problems": (503,)},
    )
    async def request(
        self, finance: Finance, caller: CallerDep, data: JSONBody[NewExport]
    ) -> ExportView:
        return await finance.reports.exports.request(caller, data)

    @get("", operation_id="financeListExports", summary="My exports (ADMIN: everyone's)")
    async def list_exports(
        self, finance: Finance, caller: CallerDep, page: PageNo = 1, page_size: PageSize = 20
    ) -> Page[ExportView]:
        return await finance.reports.exports.page(caller, PageRequest(page, page_size))

    @get(
        "/{export_id:uuid}",
        operation_id="financeGetExport",
        summary="An export's status, with a download link while it is READY",
        opt={"rules": EXPIRED_RULES, "rules_status": 410},
    )
    async def get_export(
        self, finance: Finance, caller: CallerDep, export_id: FromPath[uuid.UUID]
    ) -> ExportView:
        return await finance.reports.exports.get(caller, export_id)
