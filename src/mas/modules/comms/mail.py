"""The communications manifest's mail part: its tables, repositories, controllers and how
its services are built from the container."""

from __future__ import annotations

from typing import Any

from mas.adapters.comms.templates import JinjaTemplateEngine
from mas.adapters.db.comms.mail import SqlEmailTemplateRepository, SqlSendLog
from mas.adapters.identity.emails import EmailValidatorSyntax
from mas.core.comms.mail import MailPorts, MailServices, build_mail
from mas.core.comms.mail.writer import MailWriter
from mas.modules.container import Container

TABLES: list[str] = ["mas.adapters.db.comms.mail_tables"]
REPOSITORIES: dict[str, Any] = {
    "email_templates": SqlEmailTemplateRepository,
    "send_log": SqlSendLog,
}
CONTROLLERS: list[str] = [
    "mas.http.comms.mail:EmailTemplateController",
    "mas.http.comms.mail:SendLogController",
    "mas.http.comms.mail:LeadEmailController",
    "mas.http.comms.hire_templates:HireEmailTemplateController",
]


def build(c: Container) -> MailServices:
    from mas.modules.comms import CrmLeads

    return build_mail(
        MailPorts(
            uow=c.uow,
            clock=c.clock,
            engine=JinjaTemplateEngine(),
            messenger=c.messenger,
            leads=CrmLeads(c),
        )
    )


def writer(c: Container) -> MailWriter:
    """This part's side of the messenger (built before any domain; platform fields only)."""
    return MailWriter(
        clock=c.clock,
        templates=c.mail_templates,
        engine=JinjaTemplateEngine(),
        addresses=EmailValidatorSyntax(),
    )
