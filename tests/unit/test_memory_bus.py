"""InProcessBus: NATS subject semantics and isolation between handlers, without a server."""

from __future__ import annotations

import logging
import uuid
from typing import Any

import pytest

from mas.adapters.bus.memory import InProcessBus, subject_matches


@pytest.mark.parametrize(
    ("pattern", "subject", "expected"),
    [
        ("mas.crm.lead_created", "mas.crm.lead_created", True),
        ("mas.crm.lead_created", "mas.crm.lead_merged", False),
        ("mas.crm.*", "mas.crm.lead_created", True),
        ("mas.crm.*", "mas.crm", False),
        ("mas.crm.*", "mas.crm.lead.created", False),
        ("mas.*.lead_created", "mas.hire.lead_created", True),
        ("mas.>", "mas.crm.lead_created", True),
        ("mas.>", "mas.crm", True),
        ("mas.>", "mas", False),
        ("mas.crm.>", "mas.crmx.a", False),
        ("*.*", "a.b", True),
        ("*", "a.b", False),
        (">", "a.b.c", True),
        ("mas.crm", "mas.crm.lead_created", False),
    ],
)
def test_subject_matching_follows_nats(pattern: str, subject: str, expected: bool) -> None:
    assert subject_matches(pattern, subject) is expected


class Recorder:
    def __init__(self) -> None:
        self.seen: list[tuple[str, dict[str, Any]]] = []

    async def __call__(self, subject: str, payload: dict[str, Any]) -> None:
        self.seen.append((subject, payload))


async def test_matching_handlers_receive_the_event() -> None:
    bus = InProcessBus()
    crm, everything, hire = Recorder(), Recorder(), Recorder()
    await bus.subscribe("mas.crm.*", crm)
    await bus.subscribe("mas.>", everything)
    await bus.subscribe("mas.hire.>", hire)
    await bus.publish("mas.crm.lead_created", {"lead_id": "L1"})
    assert crm.seen == [("mas.crm.lead_created", {"lead_id": "L1"})]
    assert everything.seen == crm.seen
    assert hire.seen == []


async def test_a_failing_handler_is_logged_and_the_others_still_run(
    caplog: pytest.LogCaptureFixture,
) -> None:
    bus = InProcessBus()
    before, after = Recorder(), Recorder()

    async def broken(subject: str, payload: dict[str, Any]) -> None:
        raise RuntimeError("boom")

    await bus.subscribe("mas.>", before)
    await bus.subscribe("mas.>", broken)
    await bus.subscribe("mas.>", after)
    with caplog.at_level(logging.ERROR, logger="mas.events"):
        await bus.publish("mas.tokens.credited", {"amount": 5})
    assert len(before.seen) == 1
    assert len(after.seen) == 1
    [record] = [r for r in caplog.records if r.name == "mas.events"]
    assert record.getMessage() == "events.handler_failed"
    assert record.subject == "mas.tokens.credited"  # type: ignore[attr-defined]
    assert record.exc_info is not None and "boom" in str(record.exc_info[1])


async def test_handlers_get_json_types_and_their_own_copy() -> None:
    bus = InProcessBus()
    lead_id = uuid.uuid4()
    seen: list[dict[str, Any]] = []

    async def mutating(subject: str, payload: dict[str, Any]) -> None:
        payload["tags"].append("changed")
        seen.append(payload)

    async def reading(subject: str, payload: dict[str, Any]) -> None:
        seen.append(payload)

    await bus.subscribe("mas.crm.*", mutating)
    await bus.subscribe("mas.crm.*", reading)
    original = {"lead_id": lead_id, "tags": ["new"]}
    await bus.publish("mas.crm.lead_created", original)
    assert seen[0]["lead_id"] == str(lead_id)  # as NATS would deliver it
    assert seen[1]["tags"] == ["new"]
    assert original["tags"] == ["new"]


async def test_unserialisable_payload_fails_at_publish() -> None:
    bus = InProcessBus()
    with pytest.raises(TypeError):
        await bus.publish("mas.crm.lead_created", {"bad": object()})


@pytest.mark.parametrize("pattern", ["mas.>.crm", "mas..crm", "", "mas."])
async def test_invalid_patterns_are_refused(pattern: str) -> None:
    with pytest.raises(ValueError):
        await InProcessBus().subscribe(pattern, Recorder())


@pytest.mark.parametrize("subject", ["mas.crm.*", "mas.>", "mas..x"])
async def test_publishing_on_a_wildcard_is_refused(subject: str) -> None:
    with pytest.raises(ValueError):
        await InProcessBus().publish(subject, {})


async def test_close_drops_subscribers() -> None:
    bus = InProcessBus()
    recorder = Recorder()
    await bus.subscribe("mas.>", recorder)
    await bus.close()
    await bus.publish("mas.crm.lead_created", {})
    assert recorder.seen == []
