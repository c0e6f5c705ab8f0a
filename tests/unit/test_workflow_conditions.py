"""The branch interpreter, the placeholders and the send window (workflow.md §4, §6, check 13)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import msgspec
import pytest

from mas.core.workflow.definitions.conditions import evaluate, holds
from mas.core.workflow.definitions.nodes import BranchData, Condition
from mas.core.workflow.definitions.placeholders import PLACEHOLDERS, names, render, unknown
from mas.core.workflow.definitions.window import SendWindow, next_open, next_time_of_day

FACTS: dict[str, Any] = {
    "lead.status": "INTERESTED",
    "lead.tags": ["hot", "mba"],
    "lead.source": "CAMPAIGN",
    "lead.course_interest": "Data Science PG",
    "lead.assigned": True,
    "email.status": "DELIVERED",
    "call.outcome": "INTERESTED",
    "days_since_enrolled": 3,
}


def cond(field: str, op: str, value: Any = None) -> Condition:
    return msgspec.convert({"field": field, "op": op, "value": value}, Condition)


CONDITIONS = [
    ("lead.status", "eq", "INTERESTED", True),
    ("lead.status", "eq", "NEW", False),
    ("lead.status", "ne", "NEW", True),
    ("lead.status", "in", ["NEW", "INTERESTED"], True),
    ("lead.status", "not_in", ["NEW", "INTERESTED"], False),
    ("lead.tags", "contains", "hot", True),
    ("lead.tags", "contains", "cold", False),
    ("lead.tags", "eq", "mba", True),
    ("lead.tags", "in", ["cold", "mba"], True),
    ("lead.tags", "not_in", ["cold", "warm"], True),
    ("lead.course_interest", "contains", "Data", True),
    ("lead.assigned", "eq", True, True),
    ("lead.assigned", "eq", 1, False),
    ("days_since_enrolled", "gt", 2, True),
    ("days_since_enrolled", "gt", 3, False),
    ("days_since_enrolled", "lt", 3.5, True),
    ("lead.status", "gt", 1, False),
    ("call.outcome", "exists", None, True),
    ("call.outcome", "exists", False, False),
    ("whatsapp.status", "exists", None, False),
    ("whatsapp.status", "exists", False, True),
    ("whatsapp.status", "eq", "READ", False),
    ("whatsapp.status", "ne", "READ", True),
    ("whatsapp.status", "not_in", ["READ"], True),
    ("whatsapp.status", "in", ["READ"], False),
    ("whatsapp.status", "contains", "R", False),
]


@pytest.mark.parametrize(("field", "op", "value", "expected"), CONDITIONS)
def test_condition(field: str, op: str, value: Any, expected: bool) -> None:
    assert holds(cond(field, op, value), FACTS) is expected


def test_modes_all_and_any() -> None:
    yes, no = cond("lead.status", "eq", "INTERESTED"), cond("lead.source", "eq", "CSV")
    assert evaluate(BranchData(conditions=[yes, no]), FACTS) is False
    assert evaluate(BranchData(conditions=[yes, yes]), FACTS) is True
    both = msgspec.convert(
        {"mode": "any", "conditions": [{"field": "lead.source", "op": "eq", "value": "CSV"}]},
        BranchData,
    )
    assert evaluate(both, FACTS) is False
    assert evaluate(msgspec.structs.replace(both, conditions=[no, yes]), FACTS) is True


def test_a_branch_needs_a_condition_and_knows_its_fields() -> None:
    with pytest.raises(msgspec.ValidationError):
        msgspec.convert({"conditions": []}, BranchData)
    with pytest.raises(msgspec.ValidationError):
        cond("__import__('os')", "eq", 1)
    with pytest.raises(msgspec.ValidationError):
        cond("lead.status", "matches", ".*")


@pytest.mark.parametrize(
    ("op", "value", "problem"),
    [
        ("exists", "x", True),
        ("in", "x", True),
        ("gt", "3", True),
        ("gt", True, True),
        ("eq", None, True),
        ("eq", ["a"], True),
        ("eq", "a", False),
        ("lt", 2, False),
        ("not_in", [], False),
        ("exists", None, False),
    ],
)
def test_a_value_fits_its_operator(op: str, value: Any, problem: bool) -> None:
    assert (cond("lead.status", op, value).problem() is not None) is problem


def test_placeholders() -> None:
    assert PLACEHOLDERS == {
        "lead.name",
        "lead.first_name",
        "lead.course_interest",
        "owner.name",
        "owner.phone",
    }
    text = "Hi {{lead.first_name}}, {{ owner.name }} here: {{owner.phone}}. {{lead.nmae}}"
    assert names(text) == ["lead.first_name", "owner.name", "owner.phone", "lead.nmae"]
    assert unknown(text) == ["lead.nmae"]
    values = {"lead.first_name": "Asha", "owner.name": "Ravi"}
    assert render(text, values) == "Hi Asha, Ravi here: . {{lead.nmae}}"
    assert render("{{lead.name}}", {"lead.name": "{{owner.name}}"}) == "{{owner.name}}"


IST = ZoneInfo("Asia/Kolkata")


def ist(hour: int, minute: int = 0, day: int = 5) -> datetime:
    return datetime(2026, 12, day, hour, minute, tzinfo=IST)


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (ist(23, 30), ist(9, 0, day=6)),  # acceptance check 13
        (ist(12, 0), None),
        (ist(9, 0), None),
        (ist(20, 59), None),
        (ist(21, 0), ist(9, 0, day=6)),
        (ist(7, 15), ist(9, 0)),
        (ist(0, 5), ist(9, 0)),
    ],
)
def test_default_window_is_9_to_21_ist(now: datetime, expected: datetime | None) -> None:
    opens = next_open(SendWindow(), now.astimezone(UTC))
    assert opens == expected
    assert opens is None or opens.tzinfo is UTC


@pytest.mark.parametrize(
    ("now", "expected"),
    [(ist(23, 0), None), (ist(1, 59), None), (ist(2, 0), ist(20, 0)), (ist(19, 0), ist(20, 0))],
)
def test_a_window_across_midnight(now: datetime, expected: datetime | None) -> None:
    window = SendWindow(start="20:00", end="02:00", tz="Asia/Kolkata")
    assert next_open(window, now) == expected


def test_a_window_in_another_zone_and_bad_windows() -> None:
    window = msgspec.convert({"start": "08:00", "end": "17:00", "tz": "Europe/London"}, SendWindow)
    assert next_open(window, datetime(2026, 7, 1, 6, 30, tzinfo=UTC)) == datetime(
        2026, 7, 1, 7, 0, tzinfo=UTC
    )  # 08:00 BST
    assert window.problem() is None and SendWindow().problem() is None
    assert "Mars/Olympus" in (SendWindow(tz="Mars/Olympus").problem() or "")
    assert SendWindow(tz="../../etc/passwd").problem() is not None
    assert SendWindow(start="10:00", end="10:00").problem() is not None
    with pytest.raises(msgspec.ValidationError):
        msgspec.convert({"start": "9:00"}, SendWindow)
    with pytest.raises(ValueError, match="aware"):
        next_open(SendWindow(), datetime(2026, 1, 1, 12))


def test_wait_until_a_time_of_day() -> None:
    assert next_time_of_day("10:30", "Asia/Kolkata", ist(9, 0)) == ist(10, 30)
    assert next_time_of_day("10:30", "Asia/Kolkata", ist(10, 30)) == ist(10, 30, day=6)
    assert next_time_of_day("10:30", "Asia/Kolkata", ist(23, 0)) == ist(10, 30, day=6)
