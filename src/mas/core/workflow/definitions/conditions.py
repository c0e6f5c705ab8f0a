"""The branch interpreter (workflow.md §4): a branch's conditions over the facts the engine
gathered about one enrollment. A small table of operators, no ``eval``.

A missing fact (no email sent yet, no call outcome) is *absent*: ``exists`` is false, ``ne``
and ``not_in`` hold, every other operator fails. A list fact (``lead.tags``) matches ``eq`` when
it holds the value, ``in`` when it holds any of the values, ``contains`` when it holds the
value; a text fact ``contains`` a substring.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from mas.core.workflow.definitions.nodes import BranchData, BranchMode, Condition, ConditionOp


def evaluate(data: BranchData, facts: Mapping[str, Any]) -> bool:
    """Whether the branch takes its ``yes`` edge."""
    results = (holds(condition, facts) for condition in data.conditions)
    return all(results) if data.mode is BranchMode.ALL else any(results)


def holds(condition: Condition, facts: Mapping[str, Any]) -> bool:
    fact = facts.get(condition.field.value)
    if condition.op is ConditionOp.EXISTS:
        wanted = True if condition.value is None else bool(condition.value)
        return (fact is not None) is wanted
    if fact is None:
        return condition.op in (ConditionOp.NE, ConditionOp.NOT_IN)
    return _OPS[condition.op](fact, condition.value)


def _eq(fact: Any, value: Any) -> bool:
    if isinstance(fact, list | tuple | set | frozenset):
        return value in fact
    return _same(fact, value)


def _same(fact: Any, value: Any) -> bool:
    # A bool is an int in Python; ``lead.assigned eq 1`` must not hold.
    if isinstance(fact, bool) != isinstance(value, bool):
        return False
    return bool(fact == value)


def _in(fact: Any, value: Any) -> bool:
    if not isinstance(value, list):
        return False
    if isinstance(fact, list | tuple | set | frozenset):
        return any(_eq(value, item) for item in fact)
    return any(_same(fact, item) for item in value)


def _contains(fact: Any, value: Any) -> bool:
    if isinstance(fact, list | tuple | set | frozenset):
        return value in fact
    if isinstance(fact, str) and isinstance(value, str):
        return value in fact
    return False


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _compare(fact: Any, value: Any, greater: bool) -> bool:
    left, right = _number(fact), _number(value)
    if left is None or right is None:
        return False
    return left > right if greater else left < right


_OPS: dict[ConditionOp, Callable[[Any, Any], bool]] = {
    ConditionOp.EQ: _eq,
    ConditionOp.NE: lambda fact, value: not _eq(fact, value),
    ConditionOp.IN: _in,
    ConditionOp.NOT_IN: lambda fact, value: not _in(fact, value),
    ConditionOp.CONTAINS: _contains,
    ConditionOp.GT: lambda fact, value: _compare(fact, value, greater=True),
    ConditionOp.LT: lambda fact, value: _compare(fact, value, greater=False),
}
