"""The GST audit trail as FINANCE reads it (payments-finance.md §5 ``GET /api/finance/audit``):
newest first, filtered by entity. The log itself has no write route: rows are appended only by
the use cases they describe."""

from __future__ import annotations

from typing import Annotated

from litestar import get
from litestar.params import QueryParameter

from mas.core.finance.audit.chain import ChainedRow
from mas.core.finance.audit.model import AuditEntity
from mas.core.platform.paging import Page, PageRequest
from mas.http.finance import Finance, FinanceController
from mas.http.params import PageNo, PageSize

EntityId = Annotated[
    str | None,
    QueryParameter(
        name="entityId", min_length=1, max_length=64, description="the entity's id (exact)"
    ),
]
EntityType = Annotated[AuditEntity | None, QueryParameter(name="entityType")]


class AuditController(FinanceController):
    path = "/api/finance/audit"
    tags = ["finance"]

    @get(
        "",
        operation_id="financeAuditTrail",
        summary="The GST audit trail, newest first",
        opt={"policy": "finance"},
    )
    async def trail(
        self,
        finance: Finance,
        entity_type: EntityType = None,
        entity_id: EntityId = None,
        page: PageNo = 1,
        page_size: PageSize = 20,
    ) -> Page[ChainedRow]:
        kind = entity_type.value if entity_type is not None else None
        return await finance.audit.log.page(
            kind, entity_id, PageRequest(page=page, page_size=page_size)
        )
