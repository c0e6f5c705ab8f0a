"""The finance manifest's reports part: its tables, repositories, controllers and how its
services are built from the container."""

from __future__ import annotations

from typing import Any

from mas.core.finance.audit import AuditServices
from mas.core.finance.reports import ReportPorts, ReportServices, build_reports
from mas.modules.container import Container

TABLES: list[str] = []
REPOSITORIES: dict[str, Any] = {}
CONTROLLERS: list[str] = []
MAIL_TEMPLATES: dict[str, Any] = {}


def build(c: Container, audit: AuditServices) -> ReportServices:
    return build_reports(ReportPorts())
