"""Parameter and dependency aliases every controller shares."""

from __future__ import annotations

from typing import Annotated

from litestar.di import NamedDependency
from litestar.params import QueryParameter

from mas.core.identity.policy import Caller
from mas.core.identity.tokens import RequestInfo
from mas.core.platform.paging import MAX_PAGE, MAX_PAGE_SIZE

CallerDep = NamedDependency[Caller]
InfoDep = NamedDependency[RequestInfo]
PageNo = Annotated[
    int, QueryParameter(ge=1, le=MAX_PAGE, description=f"page number, from 1 (max {MAX_PAGE})")
]
PageSize = Annotated[
    int,
    QueryParameter(ge=1, le=MAX_PAGE_SIZE, description=f"items per page (max {MAX_PAGE_SIZE})"),
]
