"""What the mail part needs: its repositories (typed view of the unit of work) and an address
grammar."""

from __future__ import annotations

import uuid
from typing import Protocol

from mas.core.comms.mail.model import EmailTemplate, SendLogFilter, SentEmail, TemplateCategory
from mas.core.platform.paging import Page, PageRequest
from mas.core.platform.ports.uow import UnitOfWork


class AddressSyntax(Protocol):
    """A full check of an address's syntax (email-validator in a running service)."""

    def problem(self, address: str) -> str | None:
        """Why ``address`` is not an e-mail address, or None when it is one."""
        ...


class EmailTemplateRepository(Protocol):
    async def add(self, template: EmailTemplate) -> None:
        """Insert; ``DuplicateKey`` when a live template has the key."""
        ...

    async def get(self, template_id: uuid.UUID) -> EmailTemplate | None:
        """A live (not deleted) template."""
        ...

    async def by_key(self, key: str) -> EmailTemplate | None:
        """The live template with ``key``."""
        ...

    async def save(self, template: EmailTemplate) -> None:
        """Write every field; ``DuplicateKey`` when the new key is another live template's."""
        ...

    async def page(
        self, everything: bool, pools: frozenset[uuid.UUID], req: PageRequest
    ) -> Page[EmailTemplate]:
        """Live templates by key: all of them, else GLOBAL ones and those of ``pools``."""
        ...

    async def page_of_category(
        self, category: TemplateCategory, created_by: uuid.UUID | None, req: PageRequest
    ) -> Page[EmailTemplate]:
        """Live templates of ``category`` by key; only those ``created_by`` wrote, if given."""
        ...


class SendLogRepository(Protocol):
    async def page(self, flt: SendLogFilter, req: PageRequest) -> Page[SentEmail]:
        """Mail rows newest first."""
        ...

    async def by_key(self, key: str) -> SentEmail | None: ...


class MailUnitOfWork(UnitOfWork, Protocol):
    email_templates: EmailTemplateRepository
    send_log: SendLogRepository
