"""Tasks that tests declare for themselves: a handler per task, gathered in a test ``Module``.

A test file sets ``TASKS_MODULE = probe_module("name", handler, ...)``; the ``container``
fixture (and ``mas worker --import <module>``) adds it to the domains' manifests.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import msgspec

from mas.core.platform.tasking import Handler, NoArgs, Task, TaskPolicy
from mas.modules.base import Module


def probe(
    name: str, message: type[msgspec.Struct] = NoArgs, **policy: Any
) -> Callable[[Callable[[Any, Any], Awaitable[None]]], Handler[Any, Any]]:
    """``@probe("test.x", Args, attempts=2, timeout_s=5)`` over ``async def f(services, msg)``."""

    def declare(run: Callable[[Any, Any], Awaitable[None]]) -> Handler[Any, Any]:
        return Handler(Task(name, message, TaskPolicy(**policy)), run)

    return declare


def probe_module(name: str, *handlers: Handler[Any, Any]) -> Module[None]:
    return Module(name=name, services=type(None), build=lambda c: None, handlers=handlers)
