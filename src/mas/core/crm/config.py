"""SystemConfig: operator-tunable values stored in ``system_config`` with defaults in code.

Only keys declared in ``KEYS`` can be read or written, each with its own check; a key with no
row answers its default. The table is shared with other domains; their keys join ``KEYS`` as
they arrive.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import msgspec

from mas.core.crm.ports.uow import CrmUnitOfWork
from mas.core.identity.policy import Caller
from mas.core.platform.errors import FieldError, NotFound, ValidationFailed
from mas.core.platform.ports.clock import Clock
from mas.core.platform.ports.uow import UnitOfWorkFactory

BULK_ASSIGN_THRESHOLD = "crm.bulk_assign_threshold"


def _positive_int(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 1_000_000:
        raise ValidationFailed(
            "a whole number from 1 to 1 000 000",
            errors=[FieldError("value", "a whole number from 1 to 1 000 000")],
        )
    return value


@dataclass(frozen=True)
class ConfigKey:
    default: Any
    check: Callable[[Any], Any]
    description: str


KEYS: dict[str, ConfigKey] = {
    BULK_ASSIGN_THRESHOLD: ConfigKey(
        25,
        _positive_int,
        "A sales head's bulk assignment above this many leads waits for ADMIN approval "
        "(a profile may override it).",
    ),
}


class ConfigValue(msgspec.Struct, frozen=True, kw_only=True):
    key: str
    value: Any
    default: Any
    is_default: bool
    description: str
    updated_at: datetime | None = None
    updated_by: uuid.UUID | None = None


def _key(key: str) -> ConfigKey:
    spec = KEYS.get(key)
    if spec is None:
        raise NotFound(
            f"no config key '{key}'; known: {', '.join(sorted(KEYS))}", code="unknown_config_key"
        )
    return spec


async def read(uow: CrmUnitOfWork, key: str) -> Any:
    """The value of ``key`` inside an open unit of work (its default when no row is stored)."""
    spec = _key(key)
    stored = await uow.system_config.get(key)
    if stored is None:
        return spec.default
    try:
        return spec.check(stored.value)
    except ValidationFailed:
        return spec.default  # a hand-edited bad row must not stop assignment


class SystemConfig:
    def __init__(self, uow: UnitOfWorkFactory[CrmUnitOfWork], clock: Clock) -> None:
        self._uow = uow
        self._clock = clock

    async def get(self, key: str) -> ConfigValue:
        spec = _key(key)
        async with self._uow() as uow:
            stored = await uow.system_config.get(key)
        if stored is None:
            return ConfigValue(
                key=key,
                value=spec.default,
                default=spec.default,
                is_default=True,
                description=spec.description,
            )
        return ConfigValue(
            key=key,
            value=stored.value,
            default=spec.default,
            is_default=False,
            description=spec.description,
            updated_at=stored.updated_at,
            updated_by=stored.updated_by,
        )

    async def set(self, actor: Caller, key: str, value: Any) -> ConfigValue:
        checked = _key(key).check(value)
        async with self._uow() as uow:
            await uow.system_config.put(key, checked, actor.user_id, self._clock.now())
            await uow.commit()
        return await self.get(key)
