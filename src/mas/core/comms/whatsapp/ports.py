"""What the WhatsApp part needs: its repositories (one unit of work) and the provider source."""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import datetime
from typing import Protocol, runtime_checkable

from mas.core.comms.ports.whatsapp import Provider, WhatsAppEvent, WhatsAppProvider
from mas.core.comms.whatsapp.model import (
    Account,
    Conversation,
    Message,
    MessageFilter,
    Reminder,
    ReminderKind,
    SenderConfig,
    SenderStatus,
    StatusUpdate,
    StoredCredential,
    Template,
    WebhookDelivery,
)
from mas.core.platform.paging import Page, PageRequest
from mas.core.platform.ports.uow import UnitOfWork


class MessageRepository(Protocol):
    async def add(self, message: Message) -> None:
        """Insert; ``DuplicateKey`` on a used idempotency key or (provider, provider id)."""
        ...

    async def get(self, message_id: uuid.UUID) -> Message | None: ...

    async def by_key(self, key: str) -> Message | None: ...

    async def inbound(self, provider: str, provider_message_id: str) -> Message | None: ...

    async def save(self, message: Message) -> None: ...

    async def advance(
        self,
        provider: str,
        provider_message_id: str,
        status: str,
        at: datetime,
        error_code: str | None,
        error_message: str | None,
    ) -> bool:
        """Move the outbound message to ``status`` if it may (``model.advances``), in one
        conditional statement; False when it is unknown or the callback is late."""
        ...

    async def last_inbound_at(self, peer_phone: str) -> datetime | None: ...

    async def last_outbound_to(self, peer_phone: str) -> Message | None: ...

    async def page(self, flt: MessageFilter, req: PageRequest) -> Page[Message]: ...

    async def conversations(
        self, sender_config_id: uuid.UUID, req: PageRequest
    ) -> Page[Conversation]: ...

    async def has_live_retry(self, message_id: uuid.UUID) -> bool:
        """Whether a retry of the message exists that did not fail."""
        ...

    async def waiting_for_provider(self, before: datetime, limit: int) -> list[Message]:
        """QUEUED outbound rows found without a provider (``not_configured``) before
        ``before``, oldest first."""
        ...

    async def drop_payloads(self, before: datetime) -> int:
        """Forget ``request_payload`` of finished messages created before ``before``."""
        ...


class TemplateRepository(Protocol):
    async def get(self, provider: str, name: str, language: str) -> Template | None: ...

    async def named(self, provider: str, name: str) -> list[Template]: ...

    async def all(self, provider: str) -> list[Template]: ...

    async def page(self, provider: str, req: PageRequest) -> Page[Template]: ...

    async def upsert(self, template: Template) -> None:
        """Insert or replace by (provider, name, language)."""
        ...


class SenderRepository(Protocol):
    async def add(self, config: SenderConfig) -> None:
        """``DuplicateKey`` when the owner has a config already."""
        ...

    async def get(self, config_id: uuid.UUID) -> SenderConfig | None: ...

    async def of_owner(self, owner_user_id: uuid.UUID) -> SenderConfig | None: ...

    async def save(self, config: SenderConfig) -> None: ...

    async def page(self, status: SenderStatus | None, req: PageRequest) -> Page[SenderConfig]: ...


class ReminderRepository(Protocol):
    async def add(self, reminder: Reminder) -> None:
        """``DuplicateKey`` on the same (kind, ref_id, send_at)."""
        ...

    async def find(self, kind: str, ref_id: uuid.UUID, send_at: datetime) -> Reminder | None: ...

    async def get(self, reminder_id: uuid.UUID) -> Reminder | None: ...

    async def save(self, reminder: Reminder) -> None: ...

    async def cancel(self, kind: ReminderKind, ref_id: uuid.UUID) -> int:
        """SCHEDULED → CANCELLED for the ref's reminders; how many."""
        ...


class CredentialRepository(Protocol):
    async def get(self, provider: str, name: str) -> StoredCredential | None: ...

    async def put(self, credential: StoredCredential) -> None:
        """Insert or replace by (provider, name)."""
        ...


class WebhookRepository(Protocol):
    async def add(self, delivery: WebhookDelivery) -> None: ...

    async def drop_before(self, before: datetime) -> int: ...


class WhatsAppUnitOfWork(UnitOfWork, Protocol):
    whatsapp_messages: MessageRepository
    whatsapp_templates: TemplateRepository
    whatsapp_senders: SenderRepository
    whatsapp_reminders: ReminderRepository
    provider_credentials: CredentialRepository
    whatsapp_webhooks: WebhookRepository


class StatusWriter(Protocol):
    async def advance(self, update: StatusUpdate) -> bool:
        """Apply the callback if it moves the message forward (``model.advances``), committed
        before it returns; False when the message is unknown or the callback late. Concurrent
        callers may share one transaction (the webhook's hot path)."""
        ...


class WebhookVerifier(Protocol):
    def verify_and_parse(self, headers: Mapping[str, str], body: bytes) -> list[WhatsAppEvent]: ...


@runtime_checkable
class AccountReader(Protocol):
    async def account(self) -> Account: ...


class ProviderSource(Protocol):
    """Which provider sends now: chosen by the settings (``whatsapp_provider``), Meta's
    credentials from the settings or else from the encrypted ``provider_credentials`` row."""

    @property
    def name(self) -> Provider:
        """The provider the mirror and the message rows name (``META`` unless AiSensy)."""
        ...

    async def current(self) -> WhatsAppProvider | None:
        """The provider, or None when it is not configured (or its credentials do not open)."""
        ...

    async def verifier(self, provider: Provider) -> WebhookVerifier | None:
        """What checks that provider's webhooks; None when nothing can (→ 401)."""
        ...

    async def verify_subscription(self, query: Mapping[str, str]) -> str:
        """Meta's GET handshake: the challenge, or ``Forbidden`` (403)."""
        ...

    def forget(self) -> None:
        """Drop the cached provider (the credentials changed)."""
        ...
