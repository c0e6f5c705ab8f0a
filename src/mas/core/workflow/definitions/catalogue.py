"""The canvas's palette (``GET /api/admin/workflows/node-types``): each node type with what it
does, how many edges leave it, and the JSON Schema of its ``data`` (generated from the Struct
the graph decodes it into, so the palette and the validator cannot disagree)."""

from __future__ import annotations

from typing import Any

import msgspec

from mas.core.workflow.definitions.graph import NO, NODE_CLASSES, YES
from mas.core.workflow.definitions.nodes import (
    AiCallData,
    BranchData,
    EndData,
    SendEmailData,
    SendSmsData,
    SendWhatsappData,
    TriggerData,
    UpdateLeadData,
    WaitData,
)
from mas.core.workflow.definitions.placeholders import PLACEHOLDERS


class NodeType(msgspec.Struct, frozen=True, kw_only=True):
    type: str
    label: str
    description: str
    handles: list[str]
    """The handles its outgoing edges leave from: ``["yes", "no"]`` for a branch, ``[]`` for
    a node with at most one (unnamed) outgoing edge."""
    max_outgoing: int
    data_schema: dict[str, Any]


class NodeCatalogue(msgspec.Struct, frozen=True, kw_only=True):
    node_types: list[NodeType]
    placeholders: list[str]


_ABOUT: dict[str, tuple[str, str, type[Any]]] = {
    "trigger": ("Trigger", "Where every enrollment starts; exactly one per workflow", TriggerData),
    "wait": ("Wait", "Wait a delay (1 minute to 90 days) or until a time of day", WaitData),
    "send_email": ("Send email", "Send an email template to the lead", SendEmailData),
    "send_whatsapp": (
        "Send WhatsApp",
        "Send an APPROVED WhatsApp template to the lead",
        SendWhatsappData,
    ),
    "send_sms": ("Send SMS", "Send a text (up to 480 characters) to the lead", SendSmsData),
    "ai_call": ("AI call", "Place an AI call; optionally wait for its outcome", AiCallData),
    "branch": ("Branch", "Take the yes or the no edge by the lead's facts", BranchData),
    "update_lead": ("Update lead", "Add or remove tags, change the status", UpdateLeadData),
    "end": ("End", "Complete the enrollment", EndData),
}


def _schema(data_type: type[Any]) -> dict[str, Any]:
    schema: dict[str, Any] = msgspec.json.schema(data_type)
    return schema


def catalogue() -> NodeCatalogue:
    types = []
    for kind in NODE_CLASSES:
        label, description, data_type = _ABOUT[kind]
        branch = kind == "branch"
        types.append(
            NodeType(
                type=kind,
                label=label,
                description=description,
                handles=[YES, NO] if branch else [],
                max_outgoing=2 if branch else 1,
                data_schema=_schema(data_type),
            )
        )
    return NodeCatalogue(node_types=types, placeholders=sorted(PLACEHOLDERS))
