"""The template catalogue a publish checks send nodes against: communications' editable email
templates and its WhatsApp template mirror, read in a short session of their own (the publish
holds the workflow's row; these are plain reads of other tables). A system mail of the code
(a manifest's ``mail_templates``) counts as an existing email template."""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from mas.adapters.db.comms.mail_tables import EmailTemplateRow
from mas.adapters.db.comms.whatsapp_tables import WhatsAppTemplateRow

EMAIL = EmailTemplateRow.__table__
WHATSAPP = WhatsAppTemplateRow.__table__
APPROVED = "APPROVED"


class SqlTemplateCatalog:
    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], code_templates: Collection[str]
    ) -> None:
        self._sessions = sessions
        self._code_templates = code_templates

    async def email_template_active(self, key: str) -> bool:
        if key in self._code_templates:
            return True
        statement = select(EMAIL.c.id).where(
            EMAIL.c.key == key, EMAIL.c.is_active.is_(True), EMAIL.c.deleted_at.is_(None)
        )
        async with self._sessions() as session:
            return (await session.execute(statement.limit(1))).first() is not None

    async def whatsapp_template_approved(self, name: str, language: str) -> bool:
        statement = select(WHATSAPP.c.id).where(
            WHATSAPP.c.name == name,
            WHATSAPP.c.language == language,
            WHATSAPP.c.provider_status == APPROVED,
        )
        async with self._sessions() as session:
            return (await session.execute(statement.limit(1))).first() is not None
