"""Vendor API keys: ``vk_live_<prefix>.<secret>``, stored as the prefix and a hash of the secret."""

from __future__ import annotations

import uuid

import msgspec

from mas.core.identity.model import AuditEvent, AuditKind, VendorKey
from mas.core.identity.policy import Caller
from mas.core.identity.ports import IdentityUnitOfWork, Secrets
from mas.core.identity.secrets import same
from mas.core.platform.errors import (
    Conflict,
    FieldError,
    Forbidden,
    NotFound,
    Unauthorized,
    ValidationFailed,
)
from mas.core.platform.ids import uuid7
from mas.core.platform.ports.clock import Clock
from mas.core.platform.ports.uow import UnitOfWorkFactory

KEY_PREFIX = "vk_live_"


class IssuedKey(msgspec.Struct, frozen=True):
    key: VendorKey
    api_key: str  # shown once


class VendorCaller(msgspec.Struct, frozen=True):
    key_id: uuid.UUID
    vendor_name: str
    scopes: frozenset[str]


class VendorKeys:
    """``scopes``: what a key may be granted, as the domains with vendor routes declare it."""

    def __init__(
        self,
        uow: UnitOfWorkFactory[IdentityUnitOfWork],
        secrets: Secrets,
        clock: Clock,
        scopes: frozenset[str],
    ) -> None:
        self._uow = uow
        self._secrets = secrets
        self._clock = clock
        self.scopes = scopes

    async def create(self, actor: Caller, vendor_name: str, scopes: list[str]) -> IssuedKey:
        unknown = sorted(set(scopes) - self.scopes)
        if unknown or not scopes:
            raise ValidationFailed(
                "unknown or missing scopes",
                errors=[FieldError("scopes", f"choose from {', '.join(sorted(self.scopes))}")],
            )
        prefix = self._secrets.random_token(9)[:12].replace("-", "x").replace("_", "y")
        secret = self._secrets.random_token(32)
        now = self._clock.now()
        key = VendorKey(
            id=uuid7(),
            vendor_name=vendor_name.strip(),
            key_prefix=prefix,
            secret_hash=self._secrets.digest(secret),
            scopes=sorted(set(scopes)),
            created_at=now,
            created_by=actor.user_id,
        )
        async with self._uow() as uow:
            await uow.vendor_keys.add(key)
            await uow.audit.append(
                AuditEvent(
                    id=uuid7(),
                    event=AuditKind.VENDOR_KEY_CREATED,
                    created_at=now,
                    actor_id=actor.user_id,
                    detail={"key_id": str(key.id), "vendor": key.vendor_name},
                )
            )
            await uow.commit()
        return IssuedKey(key, f"{KEY_PREFIX}{prefix}.{secret}")

    async def all(self) -> list[VendorKey]:
        async with self._uow() as uow:
            return await uow.vendor_keys.all()

    async def revoke(self, actor: Caller, key_id: uuid.UUID) -> VendorKey:
        async with self._uow() as uow:
            key = await uow.vendor_keys.get(key_id)
            if key is None:
                raise NotFound("no such vendor key", code="vendor_key_not_found")
            if key.revoked_at is not None:
                raise Conflict("this key is already revoked", code="already_revoked")
            key.revoked_at = self._clock.now()
            await uow.vendor_keys.save(key)
            await uow.audit.append(
                AuditEvent(
                    id=uuid7(),
                    event=AuditKind.VENDOR_KEY_REVOKED,
                    created_at=key.revoked_at,
                    actor_id=actor.user_id,
                    detail={"key_id": str(key.id)},
                )
            )
            await uow.commit()
        return key

    async def authenticate(self, raw: str, scope: str | None = None) -> VendorCaller:
        raw = raw.strip()
        if raw.lower().startswith("bearer "):
            raw = raw[7:].strip()
        body = raw[len(KEY_PREFIX) :] if raw.startswith(KEY_PREFIX) else ""
        prefix, dot, secret = body.partition(".")
        if not prefix or not dot or not secret:
            raise Unauthorized(
                "send a vendor key as 'X-API-Key: vk_live_…'", code="invalid_api_key"
            )
        async with self._uow() as uow:
            key = await uow.vendor_keys.by_prefix(prefix)
            if key is None or not same(key.secret_hash, self._secrets.digest(secret)):
                raise Unauthorized("this API key is not valid", code="invalid_api_key")
            if key.revoked_at is not None:
                raise Unauthorized("this API key was revoked", code="api_key_revoked")
            if scope is not None and scope not in key.scopes:
                raise Forbidden(f"this key lacks the scope '{scope}'", code="scope_missing")
            key.last_used_at = self._clock.now()
            key.use_count += 1
            await uow.vendor_keys.save(key)
            await uow.commit()
        return VendorCaller(key.id, key.vendor_name, frozenset(key.scopes))
