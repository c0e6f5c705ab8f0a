"""The WhatsApp part's services, built once per process from its ports."""

from __future__ import annotations

from dataclasses import dataclass

from mas.core.comms.ports.leads import LeadDirectory
from mas.core.comms.whatsapp.inbox import Inbox
from mas.core.comms.whatsapp.leads import LeadWhatsApp
from mas.core.comms.whatsapp.manager import Manager
from mas.core.comms.whatsapp.ports import ProviderSource, StatusWriter, WhatsAppUnitOfWork
from mas.core.comms.whatsapp.reminders import ReminderService
from mas.core.comms.whatsapp.retention import Retention
from mas.core.comms.whatsapp.senders import Senders
from mas.core.comms.whatsapp.sending import SendService
from mas.core.comms.whatsapp.writer import WhatsAppMessageWriter
from mas.core.platform.ports.clock import Clock
from mas.core.platform.ports.secrets import SecretBox
from mas.core.platform.ports.tasks import Enqueuer
from mas.core.platform.ports.uow import UnitOfWorkFactory


@dataclass(frozen=True)
class WhatsAppPorts:
    uow: UnitOfWorkFactory[WhatsAppUnitOfWork]
    clock: Clock
    jobs: Enqueuer
    source: ProviderSource
    writer: WhatsAppMessageWriter
    leads: LeadDirectory
    box: SecretBox | None
    statuses: StatusWriter


@dataclass(frozen=True)
class WhatsAppServices:
    source: ProviderSource
    writer: WhatsAppMessageWriter
    sending: SendService
    inbox: Inbox
    manager: Manager
    senders: Senders
    leads: LeadWhatsApp
    reminders: ReminderService
    retention: Retention


def build_whatsapp(ports: WhatsAppPorts) -> WhatsAppServices:
    uow, clock, source, writer = ports.uow, ports.clock, ports.source, ports.writer
    return WhatsAppServices(
        source=source,
        writer=writer,
        sending=SendService(uow, clock, ports.jobs, source, writer),
        inbox=Inbox(uow, clock, source, ports.statuses),
        manager=Manager(uow, clock, source, writer, ports.box),
        senders=Senders(uow, clock, source, writer),
        leads=LeadWhatsApp(uow, ports.leads, writer),
        reminders=ReminderService(uow, clock, ports.jobs, writer),
        retention=Retention(uow, clock),
    )
