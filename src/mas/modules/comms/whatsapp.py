"""The communications manifest's whatsapp part: its tables, repositories, controllers and how
its services are built from the container.

Provider selection (communications.md §5) is ``settings.whatsapp_provider``:

- ``meta``: Meta's Cloud API with the settings' credentials, or, when the settings lack the
  token, phone number id or WABA id, the encrypted ``provider_credentials`` row ``meta_fallback``
  (sealed with ``AesGcmSecretBox`` keyed by ``encryption_key``, else the installation's JWT
  secret). A row that does not open (a key rotated away) leaves the provider unconfigured and is
  logged as an error for an admin;
- ``aisensy``: AiSensy's campaign API (templates only; no template API);
- ``fake``: the in-process ``FakeWhatsApp`` (the embedded demo: nothing leaves the machine);
- ``none``: nothing is configured. Sends are still written: rows stay QUEUED with
  ``error_code="not_configured"`` (the sweeper sends them once a provider is configured); the
  manager's provider operations (account, template changes) answer 503 ``NotConfigured``;
  webhooks answer 401 (no secret to check them with).
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Mapping
from typing import Any

import msgspec

from mas.adapters.comms.whatsapp.aisensy import AiSensyProvider
from mas.adapters.comms.whatsapp.meta import MetaCloudProvider, verify_subscription
from mas.adapters.db.comms.whatsapp import (
    BatchedStatusWriter,
    SqlProviderCredentials,
    SqlWhatsAppMessages,
    SqlWhatsAppReminders,
    SqlWhatsAppSenders,
    SqlWhatsAppTemplates,
    SqlWhatsAppWebhooks,
)
from mas.adapters.fakes.comms import FakeWhatsApp
from mas.core.comms.ports.whatsapp import Provider, WhatsAppProvider
from mas.core.comms.whatsapp import WhatsAppPorts, WhatsAppServices, build_whatsapp
from mas.core.comms.whatsapp.manager import META_FALLBACK
from mas.core.comms.whatsapp.ports import WebhookVerifier
from mas.core.comms.whatsapp.quiet import QuietHours
from mas.core.comms.whatsapp.writer import WhatsAppMessageWriter
from mas.core.platform.errors import Forbidden
from mas.core.platform.ports.secrets import SecretBox, SecretUnreadable
from mas.modules.container import Container
from mas.settings import Settings

log = logging.getLogger("mas.comms")

TABLES: list[str] = ["mas.adapters.db.comms.whatsapp_tables"]
REPOSITORIES: dict[str, Any] = {
    "whatsapp_messages": SqlWhatsAppMessages,
    "whatsapp_templates": SqlWhatsAppTemplates,
    "whatsapp_senders": SqlWhatsAppSenders,
    "whatsapp_reminders": SqlWhatsAppReminders,
    "provider_credentials": SqlProviderCredentials,
    "whatsapp_webhooks": SqlWhatsAppWebhooks,
}
CONTROLLERS: list[str] = [
    "mas.http.comms.whatsapp:HrWhatsAppController",
    "mas.http.comms.whatsapp:LeadWhatsAppController",
    "mas.http.comms.whatsapp_admin:AdminWhatsAppController",
    "mas.http.comms.whatsapp_admin:WhatsAppManagerController",
    "mas.http.comms.whatsapp_admin:WhatsAppCredentialsController",
    "mas.http.comms.whatsapp_webhooks:WhatsAppWebhookController",
]
CREDENTIALS_TTL_S = 60.0
"""Another process's credential change is seen within this long."""
_GRAPH_VERSION = re.compile(r"^v\d+\.\d+$")


class _MetaFallback(msgspec.Struct, frozen=True, kw_only=True):
    access_token: str
    phone_number_id: str
    waba_id: str
    app_secret: str | None = None
    verify_token: str | None = None


def provider_name(settings: Settings) -> Provider:
    return "AISENSY" if settings.whatsapp_provider == "aisensy" else "META"


class SettingsProviderSource:
    """``ProviderSource`` from the settings, the fallback credentials row and a small cache."""

    def __init__(self, c: Container, box: SecretBox | None) -> None:
        self._c = c
        self._settings = c.settings
        self._box = box
        self._name = provider_name(c.settings)
        self._fake = FakeWhatsApp() if c.settings.whatsapp_provider == "fake" else None
        self._cached: MetaCloudProvider | AiSensyProvider | None = None
        self._fallback: _MetaFallback | None = None
        self._read_at = 0.0

    @property
    def name(self) -> Provider:
        return self._name

    def forget(self) -> None:
        self._read_at = 0.0
        self._cached = None
        self._fallback = None

    async def current(self) -> WhatsAppProvider | None:
        mode = self._settings.whatsapp_provider
        if mode == "fake":
            return self._fake
        if mode == "aisensy":
            if not self._settings.whatsapp_aisensy_api_key:
                return None
            if self._cached is None:
                self._cached = AiSensyProvider(
                    api_key=self._settings.whatsapp_aisensy_api_key,
                    webhook_secret=self._settings.whatsapp_aisensy_webhook_secret,
                    base_url=self._settings.whatsapp_aisensy_base_url,
                )
                self._c.closers.append(self._cached.aclose)
            return self._cached
        if mode == "meta":
            return await self._meta()
        return None

    async def _meta(self) -> MetaCloudProvider | None:
        s = self._settings
        from_settings = bool(
            s.whatsapp_meta_token and s.whatsapp_meta_phone_number_id and s.whatsapp_meta_waba_id
        )
        fresh = from_settings or time.monotonic() - self._read_at < CREDENTIALS_TTL_S
        if isinstance(self._cached, MetaCloudProvider) and fresh:
            return self._cached
        if from_settings:
            token, number, waba = (
                s.whatsapp_meta_token,
                s.whatsapp_meta_phone_number_id,
                s.whatsapp_meta_waba_id,
            )
            app_secret, verify_token = s.whatsapp_meta_app_secret, s.whatsapp_meta_verify_token
        else:
            fallback = await self._read_fallback()
            if fallback is None:
                return None
            token, number, waba = fallback.access_token, fallback.phone_number_id, fallback.waba_id
            app_secret = s.whatsapp_meta_app_secret or fallback.app_secret or ""
            verify_token = s.whatsapp_meta_verify_token or fallback.verify_token or ""
        base, version = _split_version(s.whatsapp_meta_base_url)
        provider = MetaCloudProvider(
            access_token=token,
            phone_number_id=number,
            waba_id=waba,
            app_secret=app_secret,
            verify_token=verify_token,
            base_url=base,
            **({"graph_version": version} if version else {}),
        )
        if self._cached is not None:
            await self._cached.aclose()
        else:
            self._c.closers.append(self._close)
        self._cached, self._read_at = provider, time.monotonic()
        return provider

    async def _close(self) -> None:
        if self._cached is not None:
            await self._cached.aclose()

    async def _read_fallback(self) -> _MetaFallback | None:
        if self._box is None:
            return None
        async with self._c.uow() as uow:
            stored = await uow.provider_credentials.get("META", META_FALLBACK)
        if stored is None:
            return None
        try:
            plain = self._box.open(stored.ciphertext, stored.key_version)
            self._fallback = msgspec.json.decode(plain, type=_MetaFallback)
        except (SecretUnreadable, msgspec.DecodeError) as exc:
            # §9: the provider is unconfigured (sends wait) and an admin must re-enter them.
            log.error("whatsapp.credentials_unreadable", extra={"error": str(exc)})
            return None
        return self._fallback

    async def verifier(self, provider: Provider) -> WebhookVerifier | None:
        if provider != self._name:
            return None
        current = await self.current()
        if current is None:
            return None
        if isinstance(current, MetaCloudProvider) and not (
            self._settings.whatsapp_meta_app_secret
            or (self._fallback is not None and self._fallback.app_secret)
        ):
            return None
        return current

    async def verify_subscription(self, query: Mapping[str, str]) -> str:
        token = self._settings.whatsapp_meta_verify_token
        if not token and self._settings.whatsapp_provider == "meta":
            await self.current()
            token = (self._fallback.verify_token or "") if self._fallback is not None else ""
        if not token:
            raise Forbidden("no verify token is configured", code="bad_verify_token")
        return verify_subscription(token, query)


def _split_version(url: str) -> tuple[str, str | None]:
    """``https://graph.facebook.com/v21.0`` → the base and ``v21.0``."""
    base, _, last = url.rstrip("/").rpartition("/")
    if base and _GRAPH_VERSION.match(last):
        return base, last
    return url.rstrip("/"), None


def writer(c: Container) -> WhatsAppMessageWriter:
    """This part's side of the messenger (built before any domain; platform fields only)."""
    s = c.settings
    quiet = QuietHours(zone=s.timezone, start=s.whatsapp_quiet_start, end=s.whatsapp_quiet_end)
    return WhatsAppMessageWriter(provider_name(s), c.clock, quiet)


def build(c: Container) -> WhatsAppServices:
    from mas.modules.comms import CrmLeads

    box = c.secret_box
    return build_whatsapp(
        WhatsAppPorts(
            uow=c.uow,
            clock=c.clock,
            jobs=c.jobs,
            source=SettingsProviderSource(c, box),
            writer=writer(c),
            leads=CrmLeads(c),
            box=box,
            statuses=BatchedStatusWriter(c.sessions),
        )
    )
