"""The node catalogue's data (workflow.md §4): what each node type's ``data`` holds, with every
string and number bounded. ``graph`` builds the node Structs (a tagged union on ``type``) from
these; ``conditions`` interprets ``BranchData``; ``catalogue`` publishes their JSON Schemas.

Every ``data`` may carry the canvas's ``label``; any other unknown key is an error, so a typo
(``templateKey``) is caught at save instead of silently dropped.
"""

from __future__ import annotations

import enum
from datetime import timedelta
from typing import Annotated, Any

import msgspec

from mas.core.platform.bounds import schema_extra

MAX_WAIT = timedelta(days=90)
MIN_WAIT = timedelta(minutes=1)
MAX_CALL_TIMEOUT_MINUTES = 1440
MAX_CONDITIONS = 20
MAX_LIST_VALUES = 50

Label = Annotated[str, msgspec.Meta(max_length=150)]
TemplateKey = Annotated[str, msgspec.Meta(min_length=1, max_length=100)]
TemplateName = Annotated[str, msgspec.Meta(min_length=1, max_length=512)]
Language = Annotated[str, msgspec.Meta(min_length=2, max_length=15, pattern=r"^[A-Za-z_-]+$")]
Param = Annotated[str, msgspec.Meta(max_length=1000)]
TAG_SCHEMA: dict[str, object] = {"type": "string", "minLength": 1, "maxLength": 50}
Tag = Annotated[str, msgspec.Meta(min_length=1, max_length=50)]
LEAD_STATUS_SCHEMA: dict[str, object] = {
    "type": "string",
    "minLength": 1,
    "maxLength": 32,
    "pattern": "^[A-Z_]+$",
}
LeadStatusName = Annotated[str, msgspec.Meta(min_length=1, max_length=32, pattern=r"^[A-Z_]+$")]


def list_of(items: dict[str, object], max_items: int) -> msgspec.Meta:
    """The bound of a list and what the document says of its items (the OpenAPI document does
    not show the bounds of a list's items by itself)."""
    return msgspec.Meta(max_length=max_items, extra_json_schema=schema_extra(items=items))


Tags = Annotated[list[Tag], list_of(TAG_SCHEMA, 20)]
LeadStatuses = Annotated[list[LeadStatusName], list_of(LEAD_STATUS_SCHEMA, 20)]
ClockTime = Annotated[
    str, msgspec.Meta(min_length=5, max_length=5, pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$")
]
"""``HH:MM``, 24-hour."""
VariableName = Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
ConditionText = Annotated[str, msgspec.Meta(max_length=200)]
ConditionNumber = Annotated[float, msgspec.Meta(ge=-1e9, le=1e9)]
ConditionInt = Annotated[int, msgspec.Meta(ge=-(10**9), le=10**9)]
ConditionScalar = ConditionText | ConditionInt | ConditionNumber | bool
ConditionValue = (
    ConditionScalar
    | Annotated[list[ConditionText | ConditionInt], msgspec.Meta(max_length=MAX_LIST_VALUES)]
    | None
)


class _Data(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    label: Label | None = None


class TriggerData(_Data, frozen=True, kw_only=True):
    """Nothing: the trigger's settings live on the workflow (``trigger_config``)."""


class EndData(_Data, frozen=True, kw_only=True):
    pass


class WaitUnit(enum.StrEnum):
    MINUTES = "minutes"
    HOURS = "hours"
    DAYS = "days"


class WaitData(_Data, frozen=True, kw_only=True):
    """Either a delay (``amount`` ``unit``) or the next ``until_time`` (``HH:MM`` in the
    workflow's send-window time zone), never both."""

    amount: Annotated[int, msgspec.Meta(ge=1, le=129600)] | None = None
    unit: WaitUnit | None = None
    until_time: ClockTime | None = None

    def delay(self) -> timedelta | None:
        """The delay of an ``amount`` ``unit`` wait; None for an ``until_time`` one."""
        if self.amount is None or self.unit is None:
            return None
        return timedelta(**{self.unit.value: self.amount})


class SendEmailData(_Data, frozen=True, kw_only=True):
    template_key: TemplateKey


class SendWhatsappData(_Data, frozen=True, kw_only=True):
    template_name: TemplateName
    language: Language = "en"
    params: Annotated[list[Param], msgspec.Meta(max_length=20)] = []


class SendSmsData(_Data, frozen=True, kw_only=True):
    body: Annotated[str, msgspec.Meta(min_length=1, max_length=480)]


class AiCallData(_Data, frozen=True, kw_only=True):
    agent_ref: Annotated[str, msgspec.Meta(min_length=1, max_length=200)]
    variables: Annotated[dict[VariableName, Param], msgspec.Meta(max_length=50)] = {}
    wait_for_outcome: bool = False
    timeout_minutes: Annotated[int, msgspec.Meta(ge=1, le=MAX_CALL_TIMEOUT_MINUTES)] = 60


class BranchField(enum.StrEnum):
    LEAD_STATUS = "lead.status"
    LEAD_TAGS = "lead.tags"
    LEAD_SOURCE = "lead.source"
    LEAD_COURSE_INTEREST = "lead.course_interest"
    LEAD_ASSIGNED = "lead.assigned"
    EMAIL_STATUS = "email.status"
    WHATSAPP_STATUS = "whatsapp.status"
    CALL_OUTCOME = "call.outcome"
    DAYS_SINCE_ENROLLED = "days_since_enrolled"


class ConditionOp(enum.StrEnum):
    EQ = "eq"
    NE = "ne"
    IN = "in"
    NOT_IN = "not_in"
    CONTAINS = "contains"
    GT = "gt"
    LT = "lt"
    EXISTS = "exists"


class Condition(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    field: BranchField
    op: ConditionOp
    value: ConditionValue = None

    def problem(self) -> str | None:
        """Why the value does not fit the operator (None when it does)."""
        value: Any = self.value
        if self.op is ConditionOp.EXISTS:
            return None if value is None or isinstance(value, bool) else "exists takes true/false"
        if self.op in (ConditionOp.IN, ConditionOp.NOT_IN):
            return None if isinstance(value, list) else f"{self.op} takes a list"
        if self.op in (ConditionOp.GT, ConditionOp.LT):
            number = isinstance(value, int | float) and not isinstance(value, bool)
            return None if number else f"{self.op} takes a number"
        if value is None or isinstance(value, list):
            return f"{self.op} takes one value"
        return None


class BranchMode(enum.StrEnum):
    ALL = "all"
    ANY = "any"


class BranchData(_Data, frozen=True, kw_only=True):
    mode: BranchMode = BranchMode.ALL
    conditions: Annotated[list[Condition], msgspec.Meta(min_length=1, max_length=MAX_CONDITIONS)]


class UpdateLeadData(_Data, frozen=True, kw_only=True):
    add_tags: Tags = []
    remove_tags: Tags = []
    set_status: LeadStatusName | None = None
