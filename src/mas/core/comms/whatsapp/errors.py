"""WhatsApp's refusals, each with its stable code (mapped to HTTP once, by class)."""

from __future__ import annotations

from mas.core.platform.errors import Conflict, FieldError, Forbidden, NotFound, ValidationFailed


class WindowClosed(Conflict):
    code = "window_closed"
    title = "The 24-hour window is closed"

    def __init__(self, phone: str) -> None:
        super().__init__(
            f"{phone} has not written in the last 24 hours: only an approved template may be sent"
        )


class TemplateNotApproved(Conflict):
    code = "template_not_approved"
    title = "Template not approved"

    def __init__(self, name: str, language: str, status: str | None) -> None:
        state = f"is {status}" if status else "is not in the template mirror"
        super().__init__(f"template {name} ({language}) {state}; only APPROVED ones are sent")


class ParamCountMismatch(ValidationFailed):
    code = "template_params"

    def __init__(self, expected: int, got: int) -> None:
        message = f"expected {expected}, got {got}"
        super().__init__(
            f"the template takes {expected} parameters: {message}",
            errors=[FieldError("params", message)],
        )


class SenderNotActive(Forbidden):
    code = "sender_not_active"
    title = "Sender not active"


class SenderConfigExists(Conflict):
    code = "sender_config_exists"
    title = "Sender already registered"


class TemplateExists(Conflict):
    code = "template_exists"
    title = "Template already exists"


class NotRetryable(Conflict):
    code = "not_retryable"
    title = "Only a FAILED outbound message can be retried"


class AlreadyRetried(Conflict):
    code = "already_retried"
    title = "Already retried"


class LeadHasNoPhone(ValidationFailed):
    code = "lead_has_no_phone"


class TemplateOrText(ValidationFailed):
    code = "template_or_text"

    def __init__(self) -> None:
        super().__init__("give either a template or a text, not both and not neither")


def message_not_found(message_id: object) -> NotFound:
    return NotFound(f"no WhatsApp message {message_id}", code="whatsapp_message_not_found")


def template_not_found(name: str) -> NotFound:
    return NotFound(f"no template {name} in the mirror", code="whatsapp_template_not_found")


def config_not_found() -> NotFound:
    return NotFound("no such WhatsApp sender config", code="sender_config_not_found")
