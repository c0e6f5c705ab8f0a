"""One NATS connection per process, built from settings, shared by the cache, bus and broker.

The first connect is bounded by ``timeout_s`` so a process fails at start with a readable error
instead of retrying for minutes; once connected, the client reconnects forever (NATS restarts
and rolling upgrades must not kill workers).
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import nats.errors
from nats.aio.client import Client

from mas.core.platform.errors import ExternalUnavailable
from mas.settings import Settings

log = logging.getLogger("mas.nats")


class NatsUnavailable(ExternalUnavailable):
    """NATS could not be reached or refused the connection."""


async def connect(settings: Settings, *, timeout_s: float = 5.0, name: str = "mas") -> Client:
    """Connect with the URL, credentials and TLS from ``settings``; raise ``NatsUnavailable``."""
    url = settings.nats_url
    shown = redact(url)
    _check_creds(settings.nats_creds)

    nc = Client()
    last_error: list[BaseException] = []

    async def on_error(exc: Exception) -> None:
        last_error[:] = [exc]
        log.warning("nats.error", extra={"url": shown, "error": repr(exc)})

    async def on_disconnected() -> None:
        if nc.is_closed:  # our own close(), not a lost connection
            log.info("nats.closed", extra={"url": shown})
        else:
            log.warning("nats.disconnected", extra={"url": shown})

    async def on_reconnected() -> None:
        log.info("nats.reconnected", extra={"url": shown})

    try:
        await asyncio.wait_for(
            nc.connect(
                servers=[url],
                name=name,
                connect_timeout=max(1, round(timeout_s)),
                reconnect_time_wait=1,
                max_reconnect_attempts=-1,
                error_cb=on_error,
                disconnected_cb=on_disconnected,
                reconnected_cb=on_reconnected,
                user_credentials=settings.nats_creds or None,
                user=settings.nats_user or None,
                password=settings.nats_password or None,
                token=settings.nats_token or None,
                tls=ssl.create_default_context() if settings.nats_tls else None,
            ),
            timeout=timeout_s,
        )
    except (TimeoutError, OSError, nats.errors.Error) as exc:
        await nc.close()
        reason = repr(last_error[0]) if last_error else repr(exc)
        log.error("nats.connect_failed", extra={"url": shown, "error": reason})
        raise NatsUnavailable(
            f"cannot connect to NATS at {shown} within {timeout_s:g} s: {reason}"
        ) from exc
    log.info("nats.connected", extra={"url": shown})
    return nc


def _check_creds(path: str) -> None:
    # One stat at start-up; not worth a thread.
    if path and not Path(path).is_file():
        raise NatsUnavailable(f"NATS credentials file {path} does not exist")


def redact(url: str) -> str:
    """The URL without its password or token, for logs and error messages."""
    parts = urlsplit(url)
    if not parts.username and not parts.password:
        return url
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    user = parts.username if parts.password else "***"
    return urlunsplit(parts._replace(netloc=f"{user}:***@{host}"))
