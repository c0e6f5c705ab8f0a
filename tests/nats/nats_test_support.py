"""Shared helpers for the tests that need a real NATS JetStream server.

A plain module (not a conftest): the test modules import it. The server is the one at
``MAS_TEST_NATS_URL`` (default nats://127.0.0.1:4222). When it cannot be reached the test is
skipped with the reason, except under ``CI=true`` where that is a failure.
"""

from __future__ import annotations

import json
import os
import uuid

import pytest
from nats.aio.client import Client
from nats.js import JetStreamContext

from mas.adapters.nats_conn import NatsUnavailable, connect
from mas.settings import Settings

NATS_URL = os.environ.get("MAS_TEST_NATS_URL", "nats://127.0.0.1:4222")
_unreachable: list[str] = []  # remembered so the next tests skip at once, not after a timeout


async def connect_or_skip() -> Client:
    if not _unreachable:
        try:
            return await connect(Settings(nats_url=NATS_URL), timeout_s=2.0, name="mas-tests")
        except NatsUnavailable as exc:
            _unreachable.append(
                f"NATS JetStream is not reachable at {NATS_URL} (set MAS_TEST_NATS_URL): {exc}"
            )
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(_unreachable[0])
    pytest.skip(_unreachable[0])


def unique_prefix() -> str:
    return f"mastest_{uuid.uuid4().hex[:12]}"


async def delete_buckets(js: JetStreamContext, prefix: str) -> None:
    """Remove every KV bucket whose name starts with ``prefix``."""
    reply = await js._api_request(
        "$JS.API.STREAM.NAMES", json.dumps({"subject": "$KV.*.>"}).encode()
    )
    for stream in reply.get("streams") or []:
        if stream.startswith(f"KV_{prefix}_"):
            await js.delete_stream(stream)
