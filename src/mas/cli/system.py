"""``mas config``: what this process would use, never a secret."""

from __future__ import annotations

import asyncio

import typer

from mas.cli.common import console, err, print_json, print_table, settings_or_exit
from mas.settings import SettingsError, check_startup

config_app = typer.Typer(help="Configuration.", no_args_is_help=True)


@config_app.command()
def check(json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Show the active adapters and settings (secrets shown only as set / not set)."""
    from mas.bootstrap import build_container

    settings = settings_or_exit()

    async def adapters() -> dict[str, str]:
        c = await build_container(settings)
        try:
            return c.adapters()
        finally:
            await c.close()

    try:
        active = asyncio.run(adapters())
    except OSError as exc:
        err.print(f"[red]error:[/] cannot build the adapters: {exc}")
        raise typer.Exit(1) from None
    problems = settings.problems()
    if json:
        print_json({"adapters": active, "settings": settings.public_view(), "problems": problems})
    else:
        print_table("adapters", ["port", "implementation"], sorted(active.items()))
        print_table("settings", ["key", "value"], sorted(settings.public_view().items()))
    try:
        check_startup(settings)
    except SettingsError as exc:
        err.print(f"[red]{exc}[/]")
        raise typer.Exit(1) from None
    if not json:
        console.print("[green]configuration is usable[/]")
