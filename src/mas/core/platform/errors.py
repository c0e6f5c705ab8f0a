"""Domain errors. Each carries a stable ``code``; ``mas.http.errors`` maps the class to a status."""

from __future__ import annotations

import msgspec


class FieldError(msgspec.Struct, frozen=True):
    field: str
    message: str


class DomainError(Exception):
    """Base of every error a use case raises on purpose."""

    code = "domain_error"
    title = "Request could not be completed"

    def __init__(
        self,
        detail: str,
        *,
        code: str | None = None,
        errors: list[FieldError] | None = None,
        retry_after: int | None = None,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        if code is not None:
            self.code = code
        self.errors = errors or []
        self.retry_after = retry_after


class BadRequest(DomainError):
    """The request itself is malformed (bad header, unparseable body)."""

    code = "bad_request"
    title = "Bad request"


class NotFound(DomainError):
    code = "not_found"
    title = "Not found"


class Conflict(DomainError):
    code = "conflict"
    title = "Conflict"


class InvalidState(Conflict):
    """An illegal state transition; the message names both states."""

    code = "illegal_transition"
    title = "Illegal state transition"

    def __init__(self, entity: str, current: str, target: str) -> None:
        super().__init__(f"{entity} cannot move from '{current}' to '{target}'")
        self.current = current
        self.target = target


class Gone(DomainError):
    """The thing existed but can no longer be used (an expired or locked code)."""

    code = "gone"
    title = "No longer valid"


class Forbidden(DomainError):
    code = "forbidden"
    title = "Forbidden"


class PaymentRequired(DomainError):
    """The caller's balance does not cover the spend (402; ``detail`` gives the balance)."""

    code = "insufficient_balance"
    title = "Insufficient balance"


class Unauthorized(DomainError):
    code = "unauthorized"
    title = "Authentication required"


class ValidationFailed(DomainError):
    code = "validation_failed"
    title = "Validation failed"


class RateLimited(DomainError):
    code = "rate_limited"
    title = "Too many requests"


class Transient(Exception):
    """Mixed into an error that may pass when the same work is tried again later (a busy
    resource, an outside system that is down). The task runner retries these; any other
    ``DomainError`` raised by a task is a verdict, not a hiccup."""


class ExternalUnavailable(DomainError, Transient):
    """An outside system is unreachable or not configured."""

    code = "external_unavailable"
    title = "Service unavailable"


class UpstreamRejected(DomainError):
    """An outside system answered and refused the request; sending it again would be refused
    again (a bad number, a template the provider does not know). HTTP answers 502."""

    code = "upstream_rejected"
    title = "The outside system refused the request"


class NotConfigured(ExternalUnavailable):
    code = "integration_not_configured"
    title = "Integration not configured"

    def __init__(self, port: str) -> None:
        super().__init__(f"{port} is not configured")
        self.port = port
