"""Who places the workflow engine's AI calls: a domain that provides ``ai_caller``, else the
fake when the settings ask for it, else a caller that refuses (the node fails visibly)."""

from __future__ import annotations

import uuid
from types import SimpleNamespace
from typing import Any

import pytest

from mas.adapters.fakes.platform import FakeAiCaller
from mas.core.platform.tasking import PermanentFailure, is_permanent
from mas.modules.workflow.runs import UnconfiguredAiCaller, ai_caller


def container(setting: str, provided: Any = None) -> Any:
    ports = {"ai_caller": provided} if provided is not None else {}
    return SimpleNamespace(ports=ports, settings=SimpleNamespace(ai_caller=setting))


async def test_without_a_caller_an_ai_call_fails_for_good() -> None:
    caller = ai_caller(container("none"))
    assert isinstance(caller, UnconfiguredAiCaller)
    with pytest.raises(PermanentFailure, match="not configured") as refused:
        await caller.place_call(
            lead_id=uuid.uuid4(),
            phone_e164="+919800000001",
            agent_ref="aarya",
            variables={},
            idempotency_key="wf:x:y:1",
        )
    assert is_permanent(refused.value)


def test_the_fake_only_when_asked_for() -> None:
    assert isinstance(ai_caller(container("fake")), FakeAiCaller)


def test_a_provided_caller_wins() -> None:
    real = object()
    assert ai_caller(container("none", provided=real)) is real
    assert ai_caller(container("fake", provided=real)) is real
