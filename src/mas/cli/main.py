"""The ``mas`` command line. Exit codes: 0 ok, 1 domain failure, 2 usage or configuration error."""

from __future__ import annotations

import asyncio
import gc
import os
import sys

import typer

from mas import __version__
from mas.cli.common import err, settings_or_exit
from mas.modules import MODULES
from mas.modules.base import resolve
from mas.settings import Settings, SettingsError, check_startup

app = typer.Typer(
    name="mas",
    help="mas: the backend of the MAS edtech and recruitment suite.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
for _module in MODULES:
    for _group, _ref in _module.cli.items():
        app.add_typer(resolve(_ref), name=_group)


def _ready_to_serve() -> None:
    from mas.adapters.db.schema_check import SchemaBehind, ensure_at_head

    settings = settings_or_exit()
    try:
        check_startup(settings)
        # Made here, before the workers fork, so they never race to create it.
        _ = settings.effective_jwt_secret
    except SettingsError as exc:
        err.print(f"[red]error:[/] {exc}")
        raise typer.Exit(2) from None
    try:
        asyncio.run(ensure_at_head(settings.database_url))
    except SchemaBehind as exc:
        err.print(f"[red]error:[/] {exc}")
        raise typer.Exit(1) from None
    except OSError as exc:
        err.print(f"[red]error:[/] cannot reach the database: {exc}")
        raise typer.Exit(1) from None


def _serve(host: str | None, port: int | None, workers: int | None) -> None:
    from granian import Granian
    from granian.constants import Interfaces

    if host:
        os.environ["MAS_HTTP_HOST"] = host
    if port:
        os.environ["MAS_HTTP_PORT"] = str(port)
    if workers:
        # The workers read their settings from the environment: they must know they are
        # several (``Settings.effective_cache``), and the start-up check must see it too.
        os.environ["MAS_HTTP_WORKERS"] = str(workers)
    _ready_to_serve()
    settings = settings_or_exit()
    _metrics_dir(settings)
    # Build the app before granian forks its workers: they inherit the loaded modules and the
    # registered routes instead of importing and building everything again. The JWT library is
    # imported at the first token (a CLI command never needs it); every worker checks tokens
    # from its first request, so it is loaded here once, before the fork.
    import jwt  # noqa: F401

    import mas.http.app

    mas.http.app.prebuild()

    Granian(
        target="mas.http.app:asgi",
        factory=True,
        address=settings.http_host,
        port=settings.http_port,
        interface=Interfaces.ASGI,
        workers=settings.http_workers,
        workers_kill_timeout=settings.http_stop_timeout_s,
        log_access=False,
    ).serve()


def _metrics_dir(settings: Settings) -> None:
    """Several workers: one directory their samples go to, so any of them answers a scrape
    with the sum (prepared before the app, and so prometheus_client, is imported)."""
    from pathlib import Path

    from mas.adapters.telemetry import multiprocess

    if settings.http_workers <= 1 and not settings.metrics_dir:
        return
    folder = settings.metrics_dir or str(
        settings.var_dir / "metrics" / f"serve-{settings.http_port}"
    )
    multiprocess.prepare(Path(folder).resolve())


@app.command()
def serve(
    host: str = typer.Option(None, help="Bind address (MAS_HTTP_HOST, default 127.0.0.1)."),
    port: int = typer.Option(None, help="Port (MAS_HTTP_PORT, default 8000)."),
    workers: int = typer.Option(None, help="HTTP worker processes (MAS_HTTP_WORKERS)."),
) -> None:
    """Serve the HTTP API (refuses to start on a database behind the latest migration)."""
    _serve(host, port, workers)


@app.command()
def dev(
    host: str = typer.Option(None, help="Bind address."),
    port: int = typer.Option(None, help="Port."),
) -> None:
    """Serve, run tasks and fire crons in one process: for local use on the embedded default."""
    os.environ["MAS_RUN_SCHEDULER_IN_SERVER"] = "true"
    settings = settings_or_exit()
    if settings.broker != "memory":
        err.print("[yellow]note:[/] with MAS_BROKER=nats, start `mas worker` too")
    _serve(host, port, 1)


METRICS_PORT_HELP = "Serve GET /metrics on this port (MAS_METRICS_PORT; needs MAS_METRICS_TOKEN)."


def _metrics_port(port: int | None) -> None:
    if port:
        os.environ["MAS_METRICS_PORT"] = str(port)


@app.command()
def worker(
    concurrency: int = typer.Option(None, help="Tasks run at once (MAS_WORKER_CONCURRENCY)."),
    import_: list[str] = typer.Option(
        [], "--import", help="Extra module whose MODULE manifest declares tasks (repeatable)."
    ),
    metrics_port: int = typer.Option(None, help=METRICS_PORT_HELP),
) -> None:
    """Consume tasks from NATS JetStream (needs MAS_BROKER=nats)."""
    from mas.jobs.worker import run_worker

    _metrics_port(metrics_port)
    settings = settings_or_exit()
    if settings.broker == "memory":
        err.print(
            "[red]error:[/] MAS_BROKER=memory runs tasks inside the server process; "
            "use `mas dev`, or set MAS_BROKER=nats for separate workers"
        )
        raise typer.Exit(2)
    _check_prod(settings)
    asyncio.run(run_worker(settings, import_, concurrency or settings.worker_concurrency))


@app.command()
def scheduler(
    import_: list[str] = typer.Option(
        [], "--import", help="Extra module whose MODULE manifest declares tasks (repeatable)."
    ),
    metrics_port: int = typer.Option(None, help=METRICS_PORT_HELP),
) -> None:
    """Fire cron tasks. Several may run: only the lease holder fires, once per tick."""
    from mas.jobs.worker import run_scheduler

    _metrics_port(metrics_port)
    settings = settings_or_exit()
    _check_prod(settings)
    asyncio.run(run_scheduler(settings, import_))


@app.command()
def seed() -> None:
    """Load demo data (safe to run twice)."""
    from mas.cli.seed import run_seed

    run_seed()


@app.command()
def version() -> None:
    """Print the mas version."""
    typer.echo(__version__)


def _check_prod(settings: object) -> None:
    try:
        check_startup(settings)  # type: ignore[arg-type]
    except SettingsError as exc:
        err.print(f"[red]error:[/] {exc}")
        raise typer.Exit(2) from None


def _configure_logging() -> None:
    from mas.observability import configure_logging
    from mas.settings import load_settings

    try:
        settings = load_settings()
    except SettingsError:
        configure_logging()  # the command itself reports the bad setting
        return
    configure_logging(settings.log_level, settings.log_json)


def main() -> None:
    _configure_logging()
    # Started by ``mas.__main__.run`` with the cyclic collector off: what the imports loaded
    # stays for the life of the process, so it leaves the collector's view for good.
    gc.freeze()
    gc.enable()
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)
