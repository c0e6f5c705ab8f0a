"""Parameter and dependency aliases every controller shares."""

from __future__ import annotations

from typing import Annotated

from litestar.di import NamedDependency
from litestar.params import QueryParameter

from mas.core.identity.policy import Caller
from mas.core.identity.tokens import RequestInfo

CallerDep = NamedDependency[Caller]
InfoDep = NamedDependency[RequestInfo]
PageNo = Annotated[int, QueryParameter(ge=1, description="page number, from 1")]
PageSize = Annotated[int, QueryParameter(ge=1, le=100, description="items per page (max 100)")]
