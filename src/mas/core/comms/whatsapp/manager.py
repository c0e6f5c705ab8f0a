"""The admin's WhatsApp Manager: the template mirror and its hourly sync, the business account,
the failures portal's list, and the encrypted fallback credentials.

Templates are managed at the provider and mirrored here (unique by provider, name, language).
The sync upserts what the provider lists and marks DISABLED what it no longer has, which makes
the writer refuse it. AiSensy has no template API (``ProviderUnsupported``): the sync skips it,
and a template created here is registered in the mirror as APPROVED (its campaign is approved
in AiSensy's dashboard, where AiSensy templates live).

Credentials are write-only: ``put_credentials`` seals the JSON with the ``SecretBox`` (AES-GCM,
key version stored beside it) and answers which fields were stored, never their values.
"""

from __future__ import annotations

import logging
import re
import uuid
from datetime import datetime
from typing import Annotated, Literal

import msgspec

from mas.core.comms.ports.whatsapp import (
    Provider,
    ProviderRejected,
    ProviderTemplate,
    ProviderUnsupported,
    TemplateButton,
    TemplateCategory,
    TemplateSpec,
    TemplateStatus,
    WhatsAppProvider,
)
from mas.core.comms.whatsapp.errors import TemplateExists, template_not_found
from mas.core.comms.whatsapp.model import (
    Account,
    Language,
    Message,
    MessageFilter,
    Params,
    Phone,
    StoredCredential,
    Template,
    TemplateName,
)
from mas.core.comms.whatsapp.ports import AccountReader, ProviderSource, WhatsAppUnitOfWork
from mas.core.comms.whatsapp.writer import WhatsAppMessageWriter
from mas.core.identity.policy import Caller
from mas.core.platform.errors import NotConfigured
from mas.core.platform.ids import uuid7
from mas.core.platform.paging import Page, PageRequest
from mas.core.platform.ports.clock import Clock
from mas.core.platform.ports.secrets import SecretBox
from mas.core.platform.ports.uow import UnitOfWorkFactory

log = logging.getLogger("mas.comms")

META_FALLBACK = "meta_fallback"
_PARAM = re.compile(r"\{\{\s*(\d+)\s*\}\}")
Body = Annotated[str, msgspec.Meta(min_length=1, max_length=1024)]
Short = Annotated[str, msgspec.Meta(min_length=1, max_length=60)]
Secret = Annotated[str, msgspec.Meta(min_length=1, max_length=1024)]
IdText = Annotated[str, msgspec.Meta(min_length=1, max_length=64, pattern=r"^[0-9A-Za-z_-]+$")]


class ButtonDraft(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    kind: Literal["QUICK_REPLY", "URL", "PHONE_NUMBER"]
    text: Annotated[str, msgspec.Meta(min_length=1, max_length=25)]
    url: Annotated[str, msgspec.Meta(max_length=2000)] | None = None
    phone_number: Phone | None = None


class TemplateDraft(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A template to create at the provider (``body`` uses ``{{1}}``, ``{{2}}``…)."""

    name: TemplateName
    language: Language
    category: TemplateCategory
    body: Body
    header: Short | None = None
    footer: Short | None = None
    buttons: Annotated[list[ButtonDraft], msgspec.Meta(max_length=10)] = []
    examples: Params = []


class TemplateChanges(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    language: Language
    category: TemplateCategory
    body: Body
    header: Short | None = None
    footer: Short | None = None
    buttons: Annotated[list[ButtonDraft], msgspec.Meta(max_length=10)] = []
    examples: Params = []


class TemplatePreview(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Send the template to a test number."""

    to: Phone
    language: Language
    params: Params = []


class MetaCredentials(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    access_token: Secret
    phone_number_id: IdText
    waba_id: IdText
    app_secret: Secret | None = None
    verify_token: Secret | None = None


class CredentialReceipt(msgspec.Struct, frozen=True, kw_only=True):
    """What was stored; never the values."""

    provider: Provider
    name: str
    key_version: int
    fields: list[str]
    updated_by: uuid.UUID | None
    updated_at: str


class SyncResult(msgspec.Struct, frozen=True, kw_only=True):
    provider: Provider
    skipped: str | None = None
    upserted: int = 0
    disabled: int = 0


class Manager:
    def __init__(
        self,
        uow: UnitOfWorkFactory[WhatsAppUnitOfWork],
        clock: Clock,
        source: ProviderSource,
        writer: WhatsAppMessageWriter,
        box: SecretBox | None,
    ) -> None:
        self._uow = uow
        self._clock = clock
        self._source = source
        self._writer = writer
        self._box = box

    async def _provider(self) -> WhatsAppProvider:
        provider = await self._source.current()
        if provider is None:
            raise NotConfigured("the WhatsApp provider")
        return provider

    # --- account ------------------------------------------------------------------------------

    async def account(self) -> Account:
        provider = await self._provider()
        if not isinstance(provider, AccountReader):
            raise ProviderUnsupported(provider.name, "account", "it has no account API")
        return await provider.account()

    # --- templates ----------------------------------------------------------------------------

    async def templates(self, req: PageRequest) -> Page[Template]:
        async with self._uow() as uow:
            return await uow.whatsapp_templates.page(self._source.name, req)

    async def create_template(self, draft: TemplateDraft) -> Template:
        async with self._uow() as uow:
            if await uow.whatsapp_templates.get(self._source.name, draft.name, draft.language):
                raise TemplateExists(f"template {draft.name} ({draft.language}) exists")
        return await self._push(_spec(draft.name, draft))

    async def update_template(self, name: str, changes: TemplateChanges) -> Template:
        async with self._uow() as uow:
            if await uow.whatsapp_templates.get(self._source.name, name, changes.language) is None:
                raise template_not_found(name)
        return await self._push(_spec(name, changes))

    async def delete_template(self, name: str) -> list[Template]:
        async with self._uow() as uow:
            named = await uow.whatsapp_templates.named(self._source.name, name)
        if not named:
            raise template_not_found(name)
        provider = await self._provider()
        try:
            await provider.delete_template(name)
        except ProviderUnsupported:
            pass  # AiSensy: the template lives in its dashboard; the mirror forgets it
        except ProviderRejected:
            # Gone at the provider already (deleted in its console): the mirror catches up.
            if any(t.name == name for t in await provider.list_templates()):
                raise
        now = self._clock.now()
        async with self._uow() as uow:
            for template in named:
                template.provider_status = "DISABLED"
                template.synced_at = now
                await uow.whatsapp_templates.upsert(template)
            await uow.commit()
        return named

    async def preview(self, caller: Caller, name: str, data: TemplatePreview) -> Message:
        async with self._uow() as uow:
            message_id = await self._writer.whatsapp(
                uow,
                to=data.to,
                template=name,
                language=data.language,
                params=list(data.params),
                audience="SYSTEM",
                ref=None,
                key=f"preview:{uuid7()}",
                sent_by=caller.user_id,
            )
            message = await uow.whatsapp_messages.get(message_id)
            await uow.commit()
        assert message is not None
        return message

    async def _push(self, spec: TemplateSpec) -> Template:
        provider = await self._provider()
        try:
            held = await provider.upsert_template(spec)
            status: TemplateStatus = held.status
        except ProviderUnsupported:
            held = None
            status = "APPROVED"  # registered: AiSensy approves campaigns in its dashboard
        template = Template(
            id=uuid7(),
            provider=self._source.name,
            name=spec.name,
            language=spec.language,
            category=spec.category,
            body=spec.body,
            header=spec.header,
            footer=spec.footer,
            buttons=list(spec.buttons),
            param_count=held.param_count if held is not None else _param_count(spec.body),
            provider_status=status,
            synced_at=self._clock.now(),
        )
        async with self._uow() as uow:
            await uow.whatsapp_templates.upsert(template)
            await uow.commit()
            stored = await uow.whatsapp_templates.get(template.provider, spec.name, spec.language)
        return stored or template

    async def sync(self) -> SyncResult:
        """Mirror the provider's templates; the ones it no longer has become DISABLED."""
        name = self._source.name
        provider = await self._source.current()
        if provider is None:
            return SyncResult(provider=name, skipped="not configured")
        try:
            listed = await provider.list_templates()
        except ProviderUnsupported as exc:
            return SyncResult(provider=name, skipped=exc.detail)
        now = self._clock.now()
        seen = {(t.name, t.language) for t in listed}
        disabled = 0
        async with self._uow() as uow:
            for held in listed:
                await uow.whatsapp_templates.upsert(_mirror(name, held, now))
            for template in await uow.whatsapp_templates.all(name):
                gone = (template.name, template.language) not in seen
                if gone and template.provider_status != "DISABLED":
                    template.provider_status = "DISABLED"
                    template.synced_at = now
                    await uow.whatsapp_templates.upsert(template)
                    disabled += 1
            await uow.commit()
        log.info("whatsapp.template_sync", extra={"upserted": len(listed), "disabled": disabled})
        return SyncResult(provider=name, upserted=len(listed), disabled=disabled)

    # --- messages and failures ----------------------------------------------------------------

    async def messages(self, flt: MessageFilter, req: PageRequest) -> Page[Message]:
        async with self._uow() as uow:
            return await uow.whatsapp_messages.page(flt, req)

    # --- credentials --------------------------------------------------------------------------

    async def put_credentials(self, caller: Caller, data: MetaCredentials) -> CredentialReceipt:
        if self._box is None:
            raise NotConfigured("the encryption key (MAS_ENCRYPTION_KEY)")
        plain = {k: v for k, v in msgspec.to_builtins(data).items() if v is not None}
        ciphertext, version = self._box.seal(msgspec.json.encode(plain))
        now = self._clock.now()
        credential = StoredCredential(
            id=uuid7(),
            provider="META",
            name=META_FALLBACK,
            ciphertext=ciphertext,
            key_version=version,
            updated_by=caller.user_id,
            updated_at=now,
        )
        async with self._uow() as uow:
            await uow.provider_credentials.put(credential)
            await uow.commit()
        self._source.forget()
        return CredentialReceipt(
            provider="META",
            name=META_FALLBACK,
            key_version=version,
            fields=sorted(plain),
            updated_by=caller.user_id,
            updated_at=now.isoformat(),
        )


def _spec(name: str, draft: TemplateDraft | TemplateChanges) -> TemplateSpec:
    return TemplateSpec(
        name=name,
        language=draft.language,
        category=draft.category,
        body=draft.body,
        header=draft.header,
        footer=draft.footer,
        buttons=[
            TemplateButton(kind=b.kind, text=b.text, url=b.url, phone_number=b.phone_number)
            for b in draft.buttons
        ],
        examples=list(draft.examples),
    )


def _mirror(provider: Provider, held: ProviderTemplate, now: datetime) -> Template:
    return Template(
        id=uuid7(),
        provider=provider,
        name=held.name,
        language=held.language,
        category=held.category,
        body=held.body,
        header=held.header,
        footer=held.footer,
        buttons=list(held.buttons),
        param_count=held.param_count,
        provider_status=held.status,
        rejection_reason=held.rejection_reason,
        synced_at=now,
    )


def _param_count(body: str) -> int:
    return len(set(_PARAM.findall(body)))
