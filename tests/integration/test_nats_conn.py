"""Connecting to NATS fails fast and says why, without leaking the password."""

from __future__ import annotations

import socket
import time
from pathlib import Path

import pytest

from mas.adapters.nats_conn import NatsUnavailable, connect, redact
from mas.settings import Settings


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_an_unreachable_server_fails_within_the_timeout() -> None:
    url = f"nats://app:hunter2@127.0.0.1:{closed_port()}"
    started = time.monotonic()
    with pytest.raises(NatsUnavailable) as caught:
        await connect(Settings(nats_url=url), timeout_s=0.5)
    assert time.monotonic() - started < 3
    message = str(caught.value)
    assert "cannot connect to NATS at nats://app:***@127.0.0.1" in message
    assert "hunter2" not in message
    assert caught.value.code == "external_unavailable"


async def test_a_missing_credentials_file_is_named(tmp_path: Path) -> None:
    creds = tmp_path / "absent.creds"
    with pytest.raises(NatsUnavailable, match="absent.creds"):
        await connect(Settings(nats_creds=str(creds)), timeout_s=0.5)


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("nats://127.0.0.1:4222", "nats://127.0.0.1:4222"),
        ("nats://user:pw@nats.internal:4222", "nats://user:***@nats.internal:4222"),
        ("tls://s3cr3t-token@nats.internal", "tls://***:***@nats.internal"),
    ],
)
def test_redact_hides_secrets(url: str, shown: str) -> None:
    assert redact(url) == shown
