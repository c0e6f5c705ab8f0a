"""Communications: the mail part (communications.md). Built by its manifest part,
``mas.modules.comms.mail``.

Exports the part's services (``MailServices``: the editable templates, the send log, mailing a
lead), what builds them (``MailPorts``, ``build_mail``) and its tasks (``HANDLERS``, ``CRONS``,
``SUBSCRIPTIONS``: none of its own; delivery is the platform's ``comms.send_email`` task on the
outbox, which is the send log). The messenger's side is ``writer.MailWriter``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from mas.core.comms.mail.hire_templates import HireTemplates
from mas.core.comms.mail.lead_mail import LeadMail
from mas.core.comms.mail.ports import MailUnitOfWork
from mas.core.comms.mail.send_log import SendLog
from mas.core.comms.mail.templates import EmailTemplates
from mas.core.comms.ports.leads import LeadDirectory
from mas.core.comms.ports.templates import TemplateEngine
from mas.core.platform.events import Subscription
from mas.core.platform.ports.clock import Clock
from mas.core.platform.ports.messenger import Messenger
from mas.core.platform.ports.uow import UnitOfWorkFactory
from mas.core.platform.tasking import Handler, Task


@dataclass(frozen=True)
class MailPorts:
    uow: UnitOfWorkFactory[MailUnitOfWork]
    clock: Clock
    engine: TemplateEngine
    messenger: Messenger
    leads: LeadDirectory


@dataclass(frozen=True)
class MailServices:
    templates: EmailTemplates
    hire_templates: HireTemplates
    """Mr. Hire's own templates (category HIRE)."""
    send_log: SendLog
    lead_mail: LeadMail


def build_mail(ports: MailPorts) -> MailServices:
    return MailServices(
        templates=EmailTemplates(uow=ports.uow, clock=ports.clock, engine=ports.engine),
        hire_templates=HireTemplates(uow=ports.uow, clock=ports.clock, engine=ports.engine),
        send_log=SendLog(uow=ports.uow, leads=ports.leads),
        lead_mail=LeadMail(uow=ports.uow, messenger=ports.messenger, leads=ports.leads),
    )


HANDLERS: Sequence[Handler[MailServices, Any]] = ()
CRONS: Mapping[Task[Any], str] = {}
SUBSCRIPTIONS: Sequence[Subscription[MailServices, Any]] = ()
