"""The container a task body receives, set once by the process that runs tasks."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mas.bootstrap import Container

_current: Container | None = None


def install(container: Container | None) -> None:
    global _current
    _current = container


def current() -> Container:
    if _current is None:
        raise RuntimeError("no container installed: start tasks through `mas worker` or the app")
    return _current
