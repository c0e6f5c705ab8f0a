"""Meta WhatsApp status callbacks/s through the real app, per server process, on SQLite and
(when reachable) PostgreSQL; ``GET /health`` requests/s measured the same way as the reference.

One ``mas serve`` process (granian, 1 worker) with ``MAS_WHATSAPP_PROVIDER=meta``: every callback
is a ``POST /api/webhooks/whatsapp/meta`` with Meta's JSON shape and a real
``X-Hub-Signature-256`` that the server checks over the raw body, then one conditional UPDATE
(the callbacks in flight at the same moment share one transaction, ``BatchedStatusWriter``; each
is answered after that commit).
The seeded messages are SENT; per message the load sends ``delivered``, ``read`` and then a late
``delivered`` (the monotonic rule must ignore it: the de-duplication is in the loop), spread over
keep-alive connections from a separate process. Afterwards every message must be READ.
Prints one JSON object.

    .venv/bin/python benchmarks/whatsapp_webhook_ingest.py [--messages N] [--connections C]
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import json
import multiprocessing
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._support import (  # noqa: E402
    free_port,
    load,
    scratch_database,
    start_mas,
    stop,
    wait_http,
)

APP_SECRET = "bench-app-secret-0123456789"
PHONE = "919812345678"
STATUSES = ("delivered", "read", "delivered")  # the last is late: ignored


def callback(message_id: str, status: str, at: int) -> bytes:
    value = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "15550000000", "phone_number_id": "pn-1"},
        "statuses": [
            {"id": message_id, "status": status, "timestamp": str(at), "recipient_id": PHONE}
        ],
    }
    envelope = {
        "object": "whatsapp_business_account",
        "entry": [{"id": "waba-1", "changes": [{"field": "messages", "value": value}]}],
    }
    return json.dumps(envelope, separators=(",", ":")).encode()


def request(body: bytes) -> bytes:
    signature = hmac.new(APP_SECRET.encode(), body, hashlib.sha256).hexdigest()
    head = (
        "POST /api/webhooks/whatsapp/meta HTTP/1.1\r\nHost: bench\r\n"
        "Content-Type: application/json\r\n"
        f"X-Hub-Signature-256: sha256={signature}\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


async def seed(url: str, count: int, prefix: str) -> list[str]:
    """``count`` SENT outbound messages with provider ids."""
    from datetime import UTC, datetime

    from sqlalchemy import insert
    from sqlalchemy.ext.asyncio import create_async_engine

    from mas.adapters.db.comms.whatsapp_tables import WhatsAppMessageRow
    from mas.core.platform.ids import uuid7

    now = datetime.now(UTC)
    ids = [f"wamid.{prefix}-{n:07d}" for n in range(count)]
    rows = [
        {
            "id": uuid7(),
            "direction": "OUTBOUND",
            "audience": "SYSTEM",
            "peer_phone_e164": f"+{PHONE}",
            "kind": "TEMPLATE",
            "template_name": "welcome",
            "template_language": "en",
            "params": [],
            "provider": "META",
            "provider_message_id": provider_id,
            "status": "SENT",
            "status_at": now,
            "created_at": now,
            "updated_at": now,
        }
        for provider_id in ids
    ]
    engine = create_async_engine(url)
    async with engine.begin() as conn:
        for start in range(0, len(rows), 1000):
            await conn.execute(insert(WhatsAppMessageRow), rows[start : start + 1000])
    await engine.dispose()
    return ids


async def statuses(url: str) -> dict[str, int]:
    from sqlalchemy import func, select
    from sqlalchemy.ext.asyncio import create_async_engine

    from mas.adapters.db.comms.whatsapp_tables import WhatsAppMessageRow as Row

    engine = create_async_engine(url)
    async with engine.connect() as conn:
        found = await conn.execute(select(Row.status, func.count()).group_by(Row.status))
        counted = {status: int(n) for status, n in found}
    await engine.dispose()
    return counted


async def _post_all(
    port: int, requests: list[bytes], latencies: list[float], bad: list[int]
) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    for raw in requests:
        started = time.perf_counter()
        writer.write(raw)
        head = await reader.readuntil(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n"):
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":", 1)[1])
        if length:
            await reader.readexactly(length)
        latencies.append(time.perf_counter() - started)
        if int(head[9:12]) != 200:
            bad.append(int(head[9:12]))
    writer.close()


async def _callbacks(port: int, per_connection: list[list[bytes]]) -> dict[str, Any]:
    latencies: list[float] = []
    bad: list[int] = []
    started = time.perf_counter()
    await asyncio.gather(*(_post_all(port, chunk, latencies, bad) for chunk in per_connection))
    elapsed = time.perf_counter() - started
    latencies.sort()
    return {
        "callbacks": len(latencies),
        "connections": len(per_connection),
        "seconds": round(elapsed, 3),
        "callbacks_per_s": round(len(latencies) / elapsed, 1),
        "p50_ms": round(latencies[len(latencies) // 2] * 1000, 2),
        "p99_ms": round(latencies[int(len(latencies) * 0.99) - 1] * 1000, 2),
        "non_200": len(bad),
    }


def _in_child(port: int, per_connection: list[list[bytes]], out: Any) -> None:
    out.put(asyncio.run(_callbacks(port, per_connection)))


def post_callbacks(port: int, ids: list[str], connections: int) -> dict[str, Any]:
    """Each message's callbacks in order on one connection; messages spread over connections."""
    at = int(time.time())
    per_connection: list[list[bytes]] = [[] for _ in range(connections)]
    for n, message_id in enumerate(ids):
        for offset, status in enumerate(STATUSES):
            per_connection[n % connections].append(
                request(callback(message_id, status, at + offset))
            )
    queue: Any = multiprocessing.Queue()
    child = multiprocessing.Process(target=_in_child, args=(port, per_connection, queue))
    child.start()
    result = queue.get()
    child.join()
    return dict(result)


def run_on(url: str, tmp: str, messages: int, connections: int) -> dict[str, Any]:
    warm = asyncio.run(seed(url, 500, "warm"))
    ids = asyncio.run(seed(url, messages, "bench"))
    port = free_port()
    env = {
        "MAS_DATABASE_URL": url,
        "MAS_HTTP_PORT": str(port),
        "MAS_JWT_SECRET": "bench-secret-" + "x" * 40,
        "MAS_STORAGE_DIR": tmp,
        "MAS_WHATSAPP_PROVIDER": "meta",
        "MAS_WHATSAPP_META_TOKEN": "bench-token",
        "MAS_WHATSAPP_META_PHONE_NUMBER_ID": "pn-1",
        "MAS_WHATSAPP_META_WABA_ID": "waba-1",
        "MAS_WHATSAPP_META_APP_SECRET": APP_SECRET,
        "MAS_DB_POOL_MIN": "10",
        "MAS_DB_POOL_MAX": "20",
    }
    server = start_mas(["serve"], env, Path(tmp) / f"serve-{port}.log")
    try:
        wait_http(port)
        load(port, "/health", {}, 2_000, connections)  # warm up
        health = load(port, "/health", {}, 20_000, connections)
        post_callbacks(port, warm, connections)  # warm up
        ingest = post_callbacks(port, ids, connections)
    finally:
        stop(server)
    counted = asyncio.run(statuses(url))
    assert counted == {"READ": messages + len(warm)}, counted  # the late "delivered" ignored
    return {
        "callbacks": ingest,
        "health": health,
        "callbacks_to_health_ratio": round(ingest["callbacks_per_s"] / health["requests_per_s"], 3),
        "final_statuses": counted,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=5_000)
    parser.add_argument("--connections", type=int, default=32)
    args = parser.parse_args()
    results: dict[str, Any] = {
        "server": "mas serve (granian, 1 worker process); each callback checks the signature "
        "and runs one conditional UPDATE; concurrent callbacks share a commit",
        "per_message": list(STATUSES),
    }
    from mas.adapters.db import migrate

    with tempfile.TemporaryDirectory() as tmp:
        sqlite_url = f"sqlite+aiosqlite:///{tmp}/bench.db"
        migrate.upgrade(sqlite_url)
        results["sqlite"] = run_on(sqlite_url, tmp, args.messages, args.connections)
    try:
        with scratch_database() as pg_url, tempfile.TemporaryDirectory() as tmp:
            results["postgresql"] = run_on(pg_url, tmp, args.messages, args.connections)
    except OSError as exc:
        results["postgresql"] = f"skipped: {exc}"
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
