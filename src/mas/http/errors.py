"""Every error leaves as RFC 9457 problem+json with a stable ``code``; mapped here, once."""

from __future__ import annotations

import logging
import re
from typing import Any

import msgspec
from litestar import MediaType, Request, Response
from litestar.exceptions import (
    HTTPException,
    MethodNotAllowedException,
    NotAuthorizedException,
    NotFoundException,
    PermissionDeniedException,
    SerializationException,
    TooManyRequestsException,
    ValidationException,
)
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR

from mas.core.platform import errors as domain
from mas.observability import request_id

log = logging.getLogger("mas.http")

PROBLEM_JSON = "application/problem+json"

STATUS_OF: list[tuple[type[domain.DomainError], int]] = [
    (domain.BadRequest, 400),
    (domain.Unauthorized, 401),
    (domain.Forbidden, 403),
    (domain.PaymentRequired, 402),
    (domain.Gone, 410),
    (domain.NotFound, 404),
    (domain.Conflict, 409),  # InvalidState too
    (domain.ValidationFailed, 422),
    (domain.RateLimited, 429),
    (domain.ExternalUnavailable, 503),  # NotConfigured too
    (domain.UpstreamRejected, 502),
]

_CODE_BY_STATUS = {
    400: "bad_request",
    401: "unauthorized",
    402: "insufficient_balance",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    410: "gone",
    413: "payload_too_large",
    502: "upstream_rejected",
    415: "unsupported_media_type",
    422: "validation_failed",
    429: "rate_limited",
    500: "internal_error",
    503: "service_unavailable",
}


class FieldProblem(msgspec.Struct):
    field: str
    message: str


class Problem(msgspec.Struct, omit_defaults=True):
    """The problem+json body (RFC 9457) with mas's ``code`` and ``errors`` members."""

    type: str
    title: str
    status: int
    detail: str
    code: str
    request_id: str | None = None
    errors: list[FieldProblem] | None = None


def problem(
    status: int,
    code: str,
    title: str,
    detail: str,
    errors: list[FieldProblem] | None = None,
    headers: dict[str, str] | None = None,
) -> Response[Problem]:
    body = Problem(
        type=f"https://docs.mas.local/problems/{code}",
        title=title,
        status=status,
        detail=detail,
        code=code,
        request_id=request_id.get(),
        errors=errors or None,
    )
    return Response(content=body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def status_of(exc: domain.DomainError) -> int:
    for cls, status in STATUS_OF:
        if isinstance(exc, cls):
            return status
    return 400


def on_domain_error(_: Request[Any, Any, Any], exc: domain.DomainError) -> Response[Problem]:
    headers = {"Retry-After": str(exc.retry_after)} if exc.retry_after is not None else None
    fields = [FieldProblem(e.field, e.message) for e in exc.errors]
    return problem(status_of(exc), exc.code, exc.title, exc.detail, fields, headers)


_NAMED_FIELD = re.compile(r"field `([^`]+)`")
# Litestar names a missing required parameter only in its message, too.
_MISSING_PARAMETER = re.compile(r"Missing required \w+ parameter '([^']+)'")


def _field_errors(extra: Any) -> list[FieldProblem]:
    found = []
    for item in extra if isinstance(extra, list) else []:
        if isinstance(item, dict):
            message = str(item.get("message", "invalid value"))
            field = str(item.get("key") or item.get("source") or "body")
            named = _NAMED_FIELD.search(message)
            if field == "data" and named:
                # msgspec names a missing or unknown member only in its message.
                field = named.group(1)
            found.append(FieldProblem(field, message))
    return found


def _public_name(request: Request[Any, Any, Any], field: str) -> str:
    """The name the client sent (``If-Match``, ``from``), not the handler's argument name."""
    handler = request.scope.get("route_handler")
    parameter = handler.parsed_fn_signature.parameters.get(field) if handler else None
    alias = getattr(getattr(parameter, "kwarg_definition", None), "name", None)
    return str(alias) if alias else field


def on_validation(request: Request[Any, Any, Any], exc: ValidationException) -> Response[Problem]:
    fields = [
        FieldProblem(_public_name(request, f.field), f.message) for f in _field_errors(exc.extra)
    ]
    detail = str(exc.detail)
    # Litestar reports an unparseable body as a validation failure; it is a malformed request.
    if "malformed" in detail.lower() or any("malformed" in f.message.lower() for f in fields):
        return problem(
            400, "malformed_body", "Malformed request body", "the body is not valid JSON"
        )
    if not fields:
        missing = _MISSING_PARAMETER.search(detail)
        fields = [FieldProblem(missing.group(1) if missing else "body", detail)]
    names = ", ".join(f.field for f in fields)
    return problem(
        422, "validation_failed", "Validation failed", f"invalid value for: {names}", fields
    )


def on_http_error(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Problem]:
    status = exc.status_code
    code = _CODE_BY_STATUS.get(status, "http_error")
    detail = str(exc.detail)
    if isinstance(exc, NotFoundException):
        detail = (
            f"no route matches {request.method} {request.url.path}"
            if detail == "Not Found"
            else detail
        )
    elif isinstance(exc, MethodNotAllowedException):
        detail = f"{request.method} is not allowed on {request.url.path}"
    elif status == 400 and _caused_by_decoding(exc):
        return problem(
            400, "malformed_body", "Malformed request body", f"the body is not valid JSON: {detail}"
        )
    elif isinstance(exc, NotAuthorizedException):
        code = "unauthorized"
    elif isinstance(exc, PermissionDeniedException):
        code = "forbidden"
    elif isinstance(exc, TooManyRequestsException):
        code = "rate_limited"
    headers = {k: v for k, v in (exc.headers or {}).items()}
    return problem(status, code, _title(status), detail, headers=headers or None)


def _caused_by_decoding(exc: BaseException) -> bool:
    seen: BaseException | None = exc
    for _ in range(5):
        if seen is None:
            return False
        if isinstance(seen, (msgspec.DecodeError, SerializationException)):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def on_crash(request: Request[Any, Any, Any], exc: Exception) -> Response[Problem]:
    log.error(
        "http.unhandled_error",
        exc_info=exc,
        extra={"method": request.method, "path": request.url.path},
    )
    return problem(
        HTTP_500_INTERNAL_SERVER_ERROR,
        "internal_error",
        "Internal server error",
        "something went wrong on our side; quote the request id when you report it",
    )


def _title(status: int) -> str:
    from http import HTTPStatus

    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


EXCEPTION_HANDLERS: dict[Any, Any] = {
    domain.DomainError: on_domain_error,
    ValidationException: on_validation,
    HTTPException: on_http_error,
    Exception: on_crash,
}

__all__ = ["EXCEPTION_HANDLERS", "PROBLEM_JSON", "MediaType", "Problem", "problem"]
