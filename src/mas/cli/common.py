"""Shared CLI plumbing: settings, the container, async entry, output as tables or JSON."""

from __future__ import annotations

import asyncio
import functools
import json
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar

import msgspec
import typer

from mas.core.platform.errors import DomainError
from mas.settings import Settings, SettingsError, load_settings

if TYPE_CHECKING:
    from rich.console import Console


class _LazyConsole:
    """A rich ``Console`` made on first use. Every command imports this module, ``mas serve``
    too, and most print nothing through it: rich costs ~50 ms of their start-up."""

    def __init__(self, *, stderr: bool = False) -> None:
        self._stderr = stderr
        self._console: Console | None = None

    def rich(self) -> Console:
        """The console itself (for what takes one: a ``Progress``)."""
        if self._console is None:
            from rich.console import Console

            self._console = Console(stderr=self._stderr)
        return self._console

    def __getattr__(self, name: str) -> Any:
        return getattr(self.rich(), name)


console = _LazyConsole()
err = _LazyConsole(stderr=True)

P = ParamSpec("P")
R = TypeVar("R")


def settings_or_exit() -> Settings:
    try:
        return load_settings()
    except SettingsError as exc:
        err.print(f"[red]error:[/] {exc}")
        raise typer.Exit(2) from None


def run(fn: Callable[P, Awaitable[R]]) -> Callable[P, R]:
    """Run an async command; a domain error prints its message and exits 1."""

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return asyncio.run(fn(*args, **kwargs))  # type: ignore[arg-type]
        except DomainError as exc:
            err.print(f"[red]error:[/] {exc.detail} ({exc.code})")
            raise typer.Exit(1) from None

    return wrapper


@asynccontextmanager
async def container(inline_tasks: bool = True) -> AsyncIterator[Any]:
    """A container for one command. With the in-memory broker, tasks it sends run inline."""
    from mas.bootstrap import build_container
    from mas.jobs.runner import register_all

    settings = settings_or_exit()
    c = await build_container(settings, inline_tasks=inline_tasks)
    register_all(c.broker, c)
    await c.start_broker()
    try:
        yield c
    finally:
        await c.close()


def to_builtins(value: Any) -> Any:
    return msgspec.to_builtins(value, enc_hook=str)


def print_json(value: Any) -> None:
    sys.stdout.write(json.dumps(to_builtins(value), indent=2, default=str) + "\n")


def print_table(title: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    from rich.table import Table

    table = Table(title=title)
    for column in columns:
        table.add_column(column)
    for row in rows:
        table.add_row(*["" if cell is None else str(cell) for cell in row])
    console.print(table)
