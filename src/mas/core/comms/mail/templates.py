"""Editable email templates: list, create, read, edit, soft-delete, preview (§3, §6).

Who may do what:

* ADMIN (and SUPERADMIN): every template; creates GLOBAL ones and POOL ones for a named head.
* SALES_HEAD: reads GLOBAL templates and their own pool's; creates and edits their pool's.
  A GLOBAL template is read-only to them (403 ``global_template_admin_only``).
* SALES: reads GLOBAL templates only, and writes none (403 ``templates_read_only``). A
  salesperson's head is the CRM's team data, which communications cannot reach through its
  ports (``LeadDirectory`` answers for leads, not people); a lead's pool templates are still
  usable when mailing that lead (``LeadMail``).

A template outside what the caller reads is a 404, as if it did not exist. Variables are
checked at save: every ``{{ x }}`` of the subject and bodies must be declared (422
``template_invalid`` naming each problem, the engine refuses any other construct too).
"""

from __future__ import annotations

import uuid

import msgspec

from mas.core.comms.mail.model import (
    EmailTemplate,
    NewTemplate,
    OwnerScope,
    Preview,
    TemplateChanges,
)
from mas.core.comms.mail.ports import MailUnitOfWork
from mas.core.comms.mail.rendering import render
from mas.core.comms.ports.templates import TemplateEngine
from mas.core.identity.policy import Caller, Role
from mas.core.platform.errors import (
    Conflict,
    FieldError,
    Forbidden,
    NotFound,
    ValidationFailed,
)
from mas.core.platform.ids import uuid7
from mas.core.platform.paging import Page, PageRequest
from mas.core.platform.ports.clock import Clock
from mas.core.platform.ports.uow import DuplicateKey, UnitOfWorkFactory


class EmailTemplates:
    def __init__(
        self, *, uow: UnitOfWorkFactory[MailUnitOfWork], clock: Clock, engine: TemplateEngine
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._engine = engine

    async def page(self, caller: Caller, req: PageRequest) -> Page[EmailTemplate]:
        async with self._uow() as uow:
            return await uow.email_templates.page(caller.is_admin, _pools(caller), req)

    async def get(self, caller: Caller, template_id: uuid.UUID) -> EmailTemplate:
        async with self._uow() as uow:
            return await _readable(uow, caller, template_id)

    async def create(self, caller: Caller, new: NewTemplate) -> EmailTemplate:
        head = _owner_on_create(caller, new)
        now = self._clock.now()
        template = EmailTemplate(
            id=uuid7(),
            key=new.key,
            name=new.name,
            subject=new.subject,
            body_html=new.body_html,
            body_text=new.body_text,
            variables=sorted(set(new.variables)),
            category=new.category,
            owner_scope=new.owner_scope,
            sales_head_id=head,
            is_active=True,
            created_by=caller.user_id,
            updated_by=caller.user_id,
            created_at=now,
            updated_at=now,
        )
        self._check(template)
        async with self._uow() as uow:
            try:
                await uow.email_templates.add(template)
            except DuplicateKey:
                raise key_taken(template.key) from None
            await uow.commit()
        return template

    async def update(
        self, caller: Caller, template_id: uuid.UUID, changes: TemplateChanges
    ) -> EmailTemplate:
        async with self._uow() as uow:
            template = await _readable(uow, caller, template_id)
            _may_write(caller, template)
            given = {
                name: value
                for name, value in msgspec.structs.asdict(changes).items()
                if value is not msgspec.UNSET
            }
            if "variables" in given:
                given["variables"] = sorted(set(given["variables"]))
            template = msgspec.structs.replace(
                template, **given, updated_by=caller.user_id, updated_at=self._clock.now()
            )
            self._check(template)
            try:
                await uow.email_templates.save(template)
            except DuplicateKey:
                raise key_taken(template.key) from None
            await uow.commit()
        return template

    async def delete(self, caller: Caller, template_id: uuid.UUID) -> None:
        async with self._uow() as uow:
            template = await _readable(uow, caller, template_id)
            _may_write(caller, template)
            now = self._clock.now()
            template = msgspec.structs.replace(
                template, deleted_at=now, updated_at=now, updated_by=caller.user_id
            )
            await uow.email_templates.save(template)
            await uow.commit()

    async def preview(
        self, caller: Caller, template_id: uuid.UUID, data: dict[str, str]
    ) -> Preview:
        async with self._uow() as uow:
            template = await _readable(uow, caller, template_id)
        return render(self._engine, template, data)

    def _check(self, template: EmailTemplate) -> None:
        check_template(self._engine, template)


def check_template(engine: TemplateEngine, template: EmailTemplate) -> None:
    """422 ``template_invalid`` naming every undeclared variable or other construct."""
    declared = frozenset(template.variables)
    sources = {"subject": template.subject, "body_html": template.body_html}
    if template.body_text is not None:
        sources["body_text"] = template.body_text
    errors: list[FieldError] = []
    for field, source in sources.items():
        try:
            engine.check(source, declared, field=field)
        except ValidationFailed as refused:
            errors.extend(refused.errors)
    if errors:
        raise ValidationFailed(
            "The template cannot be saved as written", code="template_invalid", errors=errors
        )


def _pools(caller: Caller) -> frozenset[uuid.UUID]:
    return frozenset({caller.user_id}) if caller.role is Role.SALES_HEAD else frozenset()


def readable_by(caller: Caller, template: EmailTemplate) -> bool:
    if caller.is_admin or template.owner_scope is OwnerScope.GLOBAL:
        return True
    return template.sales_head_id in _pools(caller)


async def _readable(uow: MailUnitOfWork, caller: Caller, template_id: uuid.UUID) -> EmailTemplate:
    template = await uow.email_templates.get(template_id)
    if template is None or not readable_by(caller, template):
        raise NotFound(f"no email template {template_id}", code="template_not_found")
    return template


def _may_write(caller: Caller, template: EmailTemplate) -> None:
    if caller.is_admin:
        return
    if caller.role is not Role.SALES_HEAD:
        raise Forbidden(
            "salespeople read templates; their head edits them", code="templates_read_only"
        )
    if template.owner_scope is OwnerScope.GLOBAL:
        raise Forbidden(
            "only an administrator edits a GLOBAL template", code="global_template_admin_only"
        )


def _owner_on_create(caller: Caller, new: NewTemplate) -> uuid.UUID | None:
    if caller.is_admin:
        if new.owner_scope is OwnerScope.GLOBAL:
            if new.sales_head_id is not None:
                raise ValidationFailed(
                    "a GLOBAL template belongs to no pool",
                    code="global_template_has_no_pool",
                    errors=[FieldError("sales_head_id", "leave it out for a GLOBAL template")],
                )
            return None
        if new.sales_head_id is None:
            raise ValidationFailed(
                "name the sales head whose pool the template belongs to",
                code="pool_head_required",
                errors=[FieldError("sales_head_id", "required for a POOL template")],
            )
        return new.sales_head_id
    if caller.role is not Role.SALES_HEAD:
        raise Forbidden(
            "salespeople read templates; their head edits them", code="templates_read_only"
        )
    if new.owner_scope is OwnerScope.GLOBAL:
        raise Forbidden(
            "only an administrator creates a GLOBAL template", code="global_template_admin_only"
        )
    if new.sales_head_id not in (None, caller.user_id):
        raise Forbidden("a sales head writes templates of their own pool", code="not_your_pool")
    return caller.user_id


def key_taken(key: str) -> Conflict:
    return Conflict(f"another template has the key '{key}'", code="template_key_taken")
