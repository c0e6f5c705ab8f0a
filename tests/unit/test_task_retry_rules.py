"""Whether a failed run is retried is decided by the exception's type, once."""

from __future__ import annotations

import uuid
from types import SimpleNamespace
from typing import Any

import pytest

from mas.core.crm.handlers import import_batch
from mas.core.crm.import_engine import ImportBusy
from mas.core.crm.tasks import BatchRef
from mas.core.platform.errors import (
    Conflict,
    ExternalUnavailable,
    NotConfigured,
    NotFound,
    ValidationFailed,
)
from mas.core.platform.tasking import PermanentFailure, is_permanent


@pytest.mark.parametrize(
    ("exc", "permanent"),
    [
        (PermanentFailure("no"), True),
        (NotFound("gone"), True),
        (ValidationFailed("bad"), True),
        (Conflict("taken"), True),
        (ExternalUnavailable("down"), False),
        (NotConfigured("smtp"), False),
        (ImportBusy("busy"), False),
        (RuntimeError("database hiccup"), False),
        (OSError("connection reset"), False),
    ],
)
def test_the_retry_rule(exc: BaseException, permanent: bool) -> None:
    assert is_permanent(exc) is permanent


class Imports:
    def __init__(self, error: Exception) -> None:
        self.error = error
        self.failed: list[tuple[uuid.UUID, str]] = []

    async def run(self, batch_id: uuid.UUID) -> None:
        raise self.error

    async def mark_failed(self, batch_id: uuid.UUID, reason: str) -> None:
        self.failed.append((batch_id, reason))


def services(error: Exception) -> Any:
    return SimpleNamespace(imports=Imports(error))


async def test_a_busy_import_is_left_to_the_retry() -> None:
    crm = services(ImportBusy("leads kept changing"))
    with pytest.raises(ImportBusy):
        await import_batch(crm, BatchRef(uuid.uuid4()))
    assert crm.imports.failed == [], "a retry may still finish it"


async def test_a_refused_import_fails_the_batch_with_the_reason() -> None:
    batch = uuid.uuid4()
    crm = services(ValidationFailed("no phone column mapped", code="mapping_invalid"))
    with pytest.raises(PermanentFailure, match="mapping_invalid"):
        await import_batch(crm, BatchRef(batch))
    assert crm.imports.failed == [(batch, "mapping_invalid: no phone column mapped")]
