"""The finance manifest's audit part: its tables, repositories, controllers and how its
services are built from the container."""

from __future__ import annotations

from typing import Any

from mas.core.finance.audit import AuditPorts, AuditServices, build_audit
from mas.modules.container import Container

TABLES: list[str] = []
REPOSITORIES: dict[str, Any] = {}
CONTROLLERS: list[str] = []
MAIL_TEMPLATES: dict[str, Any] = {}


def build(c: Container) -> AuditServices:
    return build_audit(AuditPorts())
