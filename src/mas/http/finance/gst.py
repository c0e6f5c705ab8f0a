"""The GST masters over HTTP (payments-finance.md §5): the HSN/SAC rate rows (list, add, close
one) and the state codes (list, rename or flag UTGST). FINANCE and ADMIN only."""

from __future__ import annotations

from typing import Annotated

from litestar import get, post, put
from litestar.params import JSONBody, PathParameter, QueryParameter

from mas.core.finance.invoicing.commands import CloseRate, NewRate, StateCodeEdit
from mas.core.finance.invoicing.model import RateRow, StateCodeRow
from mas.core.platform.paging import Page, PageRequest, page_of
from mas.http.finance import Finance, FinanceController
from mas.http.params import CallerDep, PageNo, PageSize

PERIOD = {
    "overlapping_period": "no other row of the code covers any day of the period",
    "invalid_period": "effective_to is on or after effective_from",
}
ADD_RULES = {**PERIOD, "rate_not_allowed": "gst_rate_bp is one of 0, 500, 1200, 1800, 2800"}
PERIOD_STATUS = {"overlapping_period": 409, "invalid_period": 422}
ADD_STATUS = {**PERIOD_STATUS, "rate_not_allowed": 422}
CodeFilter = Annotated[
    str | None,
    QueryParameter(pattern=r"^[0-9]{4,8}$", max_length=8, description="only this HSN/SAC code"),
]
StateCode = Annotated[
    str, PathParameter(pattern=r"^[0-9]{2}$", max_length=2, description="two digits")
]


class GstMasterController(FinanceController):
    path = "/api/finance/gst"
    tags = ["finance: GST masters"]
    opt = {"policy": "finance"}

    @get("/hsn-sac", operation_id="hsnSacRates", summary="The HSN/SAC rate rows")
    async def rates(
        self,
        finance: Finance,
        code: CodeFilter = None,
        page: PageNo = 1,
        page_size: PageSize = 50,
    ) -> Page[RateRow]:
        found = await finance.invoicing.masters.rates(code)
        return page_of(found, PageRequest(page, page_size))

    @post(
        "/hsn-sac",
        operation_id="addHsnSacRate",
        summary="Add a rate row (no overlap with the code's other rows)",
        status_code=201,
        opt={"rules": ADD_RULES, "rules_status": ADD_STATUS},
    )
    async def add_rate(
        self, finance: Finance, caller: CallerDep, data: JSONBody[NewRate]
    ) -> RateRow:
        return await finance.invoicing.masters.add_rate(caller, data)

    @put(
        "/hsn-sac",
        operation_id="closeHsnSacRate",
        summary="Close a rate row: set its effective_to",
        opt={"rules": PERIOD, "rules_status": PERIOD_STATUS, "problems": (404,)},
    )
    async def close_rate(
        self, finance: Finance, caller: CallerDep, data: JSONBody[CloseRate]
    ) -> RateRow:
        return await finance.invoicing.masters.close_rate(caller, data)

    @get("/state-codes", operation_id="gstStateCodes", summary="The GST state codes")
    async def states(
        self, finance: Finance, page: PageNo = 1, page_size: PageSize = 50
    ) -> Page[StateCodeRow]:
        found = await finance.invoicing.masters.states()
        return page_of(found, PageRequest(page, page_size))

    @put(
        "/state-codes/{state_code:str}",
        operation_id="editGstStateCode",
        summary="Rename a state code or flag whether it levies UTGST",
    )
    async def edit_state(
        self,
        finance: Finance,
        caller: CallerDep,
        state_code: StateCode,
        data: JSONBody[StateCodeEdit],
    ) -> StateCodeRow:
        return await finance.invoicing.masters.edit_state(caller, state_code, data)
