"""The publish-time checks that need more than the graph: every template a send node names
must exist (an active email template, or a system mail of the code) and every WhatsApp
template must be APPROVED (workflow.md §4). The offline report (``mas workflows validate``)
cannot reach the catalogue and says it skipped them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from mas.core.workflow.definitions.graph import (
    GraphIssue,
    IssueCode,
    Node,
    SendEmailNode,
    SendWhatsappNode,
    parse_graph,
    parsed_nodes,
)
from mas.core.workflow.definitions.model import ValidationReport
from mas.core.workflow.definitions.ports import TemplateCatalog

SKIPPED_OFFLINE = ["email templates exist and are active", "WhatsApp templates are APPROVED"]


async def template_issues(nodes: Iterable[Node], catalog: TemplateCatalog) -> list[GraphIssue]:
    issues: list[GraphIssue] = []
    emails: dict[str, bool] = {}
    whatsapps: dict[tuple[str, str], bool] = {}
    for node in nodes:
        if isinstance(node, SendEmailNode):
            key = node.data.template_key
            if key not in emails:
                emails[key] = await catalog.email_template_active(key)
            if not emails[key]:
                issues.append(
                    GraphIssue(
                        node_id=node.id,
                        code=IssueCode.EMAIL_TEMPLATE_MISSING.value,
                        message=f"no active email template {key!r}",
                    )
                )
        elif isinstance(node, SendWhatsappNode):
            named = (node.data.template_name, node.data.language)
            if named not in whatsapps:
                whatsapps[named] = await catalog.whatsapp_template_approved(*named)
            if not whatsapps[named]:
                issues.append(
                    GraphIssue(
                        node_id=node.id,
                        code=IssueCode.WHATSAPP_TEMPLATE_NOT_APPROVED.value,
                        message=f"WhatsApp template {named[0]!r} ({named[1]}) is not APPROVED",
                    )
                )
    return issues


async def full_report(raw: Mapping[str, Any], catalog: TemplateCatalog) -> ValidationReport:
    """Every structural issue of the graph and every template issue of its nodes."""
    _, issues = parse_graph(raw)
    issues = issues + await template_issues(parsed_nodes(raw), catalog)
    return ValidationReport(valid=not issues, issues=issues)


def offline_report(document: Mapping[str, Any]) -> ValidationReport:
    """A React Flow graph, or a whole workflow document holding one in ``draft_graph``,
    checked by the structural rules only (the template catalogue is not reachable). The
    output of ``mas workflows show --json`` is read too."""
    raw: Any = document
    if isinstance(raw, Mapping) and isinstance(raw.get("workflow"), Mapping):
        raw = raw["workflow"]  # what ``mas workflows show --json`` prints
    if isinstance(raw, Mapping) and "draft_graph" in raw:
        raw = raw["draft_graph"]
    _, issues = parse_graph(raw)
    return ValidationReport(valid=not issues, issues=issues, skipped_checks=SKIPPED_OFFLINE)
