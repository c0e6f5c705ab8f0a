"""Mr. Hire's workflow rules (workflow.md §3 ``workflow_rules``): "when <event> and
<conditions>, do <actions>", stored and validated here, run by the Mr. Hire domain.

``actions`` is a tagged union on ``type``: ``{"type": "email", "template_id": …}`` (a HIRE email
template of communications the rule's owner may use) and ``{"type": "move_stage", "to": …}``.
``conditions`` are ``{field, op, value}`` over the event's facts (a dotted name such as
``application.source``); what the facts are is the Mr. Hire domain's, so only the grammar and
the bounds are checked here: ``in``/``not_in`` take a list, ``exists`` takes no value (or a
bool), the rest a single value.
"""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Annotated, Literal

import msgspec

from mas.core.platform.bounds import schema_extra


class RuleEvent(enum.StrEnum):
    APPLICATION_RECEIVED = "APPLICATION_RECEIVED"
    STAGE_CHANGED = "STAGE_CHANGED"
    INTERVIEW_SCHEDULED = "INTERVIEW_SCHEDULED"
    OFFER_SENT = "OFFER_SENT"


MAX_CONDITIONS = 20
MAX_ACTIONS = 10
MAX_LIST = 50
MAX_TEXT = 200
MAX_NUMBER = 10**12

Name = Annotated[str, msgspec.Meta(min_length=1, max_length=150, pattern=r"\S")]
FIELD_PATTERN = r"^[a-z][a-z0-9_]{0,39}(\.[a-z][a-z0-9_]{0,39}){0,3}$"
Field = Annotated[
    str,
    msgspec.Meta(
        min_length=1,
        max_length=100,
        pattern=FIELD_PATTERN,
        description="a fact of the event, dotted: application.source",
    ),
]
STAGE_PATTERN = r"^[A-Z][A-Z0-9_]{0,39}$"
Stage = Annotated[
    str,
    msgspec.Meta(
        min_length=1,
        max_length=40,
        pattern=STAGE_PATTERN,
        description="a stage of the hiring pipeline: SCREENING, INTERVIEW, OFFER",
    ),
]
Text = Annotated[str, msgspec.Meta(max_length=MAX_TEXT)]
Number = Annotated[int, msgspec.Meta(ge=-MAX_NUMBER, le=MAX_NUMBER)]
Decimal = Annotated[float, msgspec.Meta(ge=-MAX_NUMBER, le=MAX_NUMBER)]
TextList = Annotated[
    list[Text],
    msgspec.Meta(
        max_length=MAX_LIST,
        extra_json_schema=schema_extra(items={"type": "string", "maxLength": MAX_TEXT}),
    ),
]
Op = Literal["eq", "ne", "in", "not_in", "contains", "gt", "lt", "exists"]
LIST_OPS = frozenset({"in", "not_in"})


class Condition(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    field: Field
    op: Op
    value: Text | Number | Decimal | bool | TextList | None = None


class EmailAction(
    msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True, tag="email"
):
    """Send a HIRE email template (communications) to the candidate."""

    template_id: uuid.UUID


class MoveStageAction(
    msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True, tag="move_stage"
):
    """Move the application to another stage of the pipeline."""

    to: Stage


Action = EmailAction | MoveStageAction
Conditions = Annotated[list[Condition], msgspec.Meta(max_length=MAX_CONDITIONS)]
Actions = Annotated[list[Action], msgspec.Meta(min_length=1, max_length=MAX_ACTIONS)]


class RuleInput(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A rule as written: POST creates it, PUT replaces every field of it."""

    name: Name
    event: RuleEvent
    actions: Actions
    conditions: Conditions = msgspec.field(default_factory=list)
    is_active: bool = True


class HireRule(msgspec.Struct, frozen=True, kw_only=True):
    id: uuid.UUID
    owner_id: uuid.UUID
    name: str
    event: RuleEvent
    conditions: list[Condition]
    actions: list[Action]
    is_active: bool
    created_at: datetime
    updated_at: datetime
    deleted_at: datetime | None = None


class RuleFilter(msgspec.Struct, frozen=True, kw_only=True):
    event: RuleEvent | None = None
    is_active: bool | None = None
