"""The finance manifest's audit part: the hash-chained GST audit log, its route and how its
services are built (the other parts take ``trail`` to append in their own transactions)."""

from __future__ import annotations

from typing import Any

from mas.adapters.db.finance.audit import SqlAuditLogRepository
from mas.core.finance.audit import AuditPorts, AuditServices, build_audit
from mas.modules.container import Container

TABLES: list[str] = ["mas.adapters.db.finance.audit_tables"]
REPOSITORIES: dict[str, Any] = {"gst_audit_log": SqlAuditLogRepository}
CONTROLLERS: list[str] = ["mas.http.finance.audit:AuditController"]
MAIL_TEMPLATES: dict[str, Any] = {}


def build(c: Container) -> AuditServices:
    return build_audit(AuditPorts(uow=c.uow, clock=c.clock))
