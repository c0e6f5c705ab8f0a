"""Parameter and dependency aliases every controller shares."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from litestar import Request
from litestar.di import NamedDependency
from litestar.params import QueryParameter

from mas.core.identity.policy import Caller
from mas.core.identity.tokens import RequestInfo
from mas.core.platform.errors import FieldError, ValidationFailed
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


async def refuse_coerced_bools(request: Request[Any, Any, Any], *names: str) -> None:
    """422 unless each named top-level member of the JSON body, when present, is ``true`` or
    ``false``: Litestar converts a body with msgspec's ``strict=False``, which takes ``0`` and
    ``1`` (and ``"true"``) for booleans. The body is the one already decoded for the route."""
    body = await request.json()
    if not isinstance(body, dict):
        return
    wrong = [name for name in names if name in body and not isinstance(body[name], bool)]
    if wrong:
        raise ValidationFailed(
            f"invalid value for: {', '.join(wrong)}",
            errors=[FieldError(name, "Expected `bool`: true or false") for name in wrong],
        )


def query_moment(value: str | None, field: str) -> datetime | None:
    """An ISO 8601 time from the query (a number is not one, whatever Litestar would take);
    422 ``bad_window`` naming ``field`` otherwise."""
    if value is None:
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        message = "is an ISO 8601 time with a UTC offset"
        raise ValidationFailed(
            f"{field} {message}", code="bad_window", errors=[FieldError(field, message)]
        ) from None
