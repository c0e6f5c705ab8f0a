"""Helpers the test suites share.

``eventually`` waits for a condition instead of sleeping a fixed time: the common case returns
as soon as the condition holds, and a slow machine gets up to ``timeout`` before the test fails
with what it was waiting for. Sleep a fixed time only to show that something does *not* happen.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable
from typing import Any


async def eventually(
    check: Callable[[], Any | Awaitable[Any]],
    timeout: float = 5.0,
    interval: float = 0.005,
    what: str = "",
) -> Any:
    """Poll ``check`` (sync or async) until it returns something truthy; return that value."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        value = check()
        if inspect.isawaitable(value):
            value = await value
        if value:
            return value
        if loop.time() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what or check}")
        await asyncio.sleep(interval)
