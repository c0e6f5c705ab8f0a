"""Mr. Hire's email templates (``/api/mr-hire/workflow/email-templates``, workflow.md §7): the
editable database templates of category ``HIRE``.

Who may do what (workflow.md §2: "any authenticated user, CRUD on own rules/templates"):

* Every signed-in user reads and writes the HIRE templates they created (``created_by``); one
  recruiter's templates are a 404 to another, as if they did not exist.
* ADMIN (and SUPERADMIN) read and write every HIRE template.

A recruiter's template is not shared with a team: Mr. Hire has no team model here, and a shared
pool would let one recruiter change the mail another's rules send. Keys stay unique among all
live templates of every category (a send names a template by key, ``Messenger.email``), so a
key another recruiter already uses is a 409 ``template_key_taken`` too.

Such a template is stored ``POOL`` with no sales head: the sales routes
(``/api/sales/email-templates``) show it to administrators only. A template of another category
is never reached through these routes (404).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence

import msgspec

from mas.core.comms.mail.model import (
    BodyHtml,
    BodyText,
    EmailTemplate,
    Key,
    Name,
    OwnerScope,
    Subject,
    TemplateCategory,
    Variables,
)
from mas.core.comms.mail.ports import MailUnitOfWork
from mas.core.comms.mail.templates import check_template, key_taken
from mas.core.comms.ports.templates import TemplateEngine
from mas.core.identity.policy import Caller
from mas.core.platform.errors import NotFound
from mas.core.platform.ids import uuid7
from mas.core.platform.paging import Page, PageRequest
from mas.core.platform.ports.clock import Clock
from mas.core.platform.ports.uow import DuplicateKey, UnitOfWorkFactory


class HireTemplate(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """A HIRE template as written: POST creates it, PUT replaces every field of it."""

    key: Key
    name: Name
    subject: Subject
    body_html: BodyHtml
    body_text: BodyText | None = None
    """None: the text part is derived from the HTML when a mail is rendered."""
    variables: Variables = msgspec.field(default_factory=list)
    is_active: bool = True


class HireTemplates:
    def __init__(
        self, *, uow: UnitOfWorkFactory[MailUnitOfWork], clock: Clock, engine: TemplateEngine
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._engine = engine

    async def page(self, caller: Caller, req: PageRequest) -> Page[EmailTemplate]:
        """The caller's HIRE templates by key (an administrator's: all of them)."""
        async with self._uow() as uow:
            return await uow.email_templates.page_of_category(
                TemplateCategory.HIRE, _owner_filter(caller), req
            )

    async def get(self, caller: Caller, template_id: uuid.UUID) -> EmailTemplate:
        async with self._uow() as uow:
            return await _own(uow, caller, template_id)

    async def create(self, caller: Caller, data: HireTemplate) -> EmailTemplate:
        now = self._clock.now()
        template = EmailTemplate(
            id=uuid7(),
            key=data.key,
            name=data.name,
            subject=data.subject,
            body_html=data.body_html,
            body_text=data.body_text,
            variables=sorted(set(data.variables)),
            category=TemplateCategory.HIRE,
            owner_scope=OwnerScope.POOL,
            sales_head_id=None,
            is_active=data.is_active,
            created_by=caller.user_id,
            updated_by=caller.user_id,
            created_at=now,
            updated_at=now,
        )
        check_template(self._engine, template)
        async with self._uow() as uow:
            try:
                await uow.email_templates.add(template)
            except DuplicateKey:
                raise key_taken(template.key) from None
            await uow.commit()
        return template

    async def replace(
        self, caller: Caller, template_id: uuid.UUID, data: HireTemplate
    ) -> EmailTemplate:
        async with self._uow() as uow:
            template = msgspec.structs.replace(
                await _own(uow, caller, template_id),
                key=data.key,
                name=data.name,
                subject=data.subject,
                body_html=data.body_html,
                body_text=data.body_text,
                variables=sorted(set(data.variables)),
                is_active=data.is_active,
                updated_by=caller.user_id,
                updated_at=self._clock.now(),
            )
            check_template(self._engine, template)
            try:
                await uow.email_templates.save(template)
            except DuplicateKey:
                raise key_taken(template.key) from None
            await uow.commit()
        return template

    async def delete(self, caller: Caller, template_id: uuid.UUID) -> None:
        """Soft delete: the key is free again; rules naming the template keep its id (their
        email action then fails when Mr. Hire runs it, and a save of the rule is refused)."""
        async with self._uow() as uow:
            template = await _own(uow, caller, template_id)
            now = self._clock.now()
            await uow.email_templates.save(
                msgspec.structs.replace(
                    template, deleted_at=now, updated_at=now, updated_by=caller.user_id
                )
            )
            await uow.commit()

    async def usable(self, caller: Caller, template_ids: Sequence[uuid.UUID]) -> set[uuid.UUID]:
        """Which of ``template_ids`` are live HIRE templates ``caller`` may use (their own; an
        administrator's: any). Inactive ones count: they exist, they only send nothing."""
        found: set[uuid.UUID] = set()
        async with self._uow() as uow:
            for template_id in dict.fromkeys(template_ids):
                template = await uow.email_templates.get(template_id)
                if template is not None and _owned_by(caller, template):
                    found.add(template_id)
        return found


def _owner_filter(caller: Caller) -> uuid.UUID | None:
    return None if caller.is_admin else caller.user_id


def _owned_by(caller: Caller, template: EmailTemplate) -> bool:
    if template.category is not TemplateCategory.HIRE:
        return False
    return caller.is_admin or template.created_by == caller.user_id


async def _own(uow: MailUnitOfWork, caller: Caller, template_id: uuid.UUID) -> EmailTemplate:
    template = await uow.email_templates.get(template_id)
    if template is None or not _owned_by(caller, template):
        raise NotFound(f"no Mr. Hire email template {template_id}", code="template_not_found")
    return template
