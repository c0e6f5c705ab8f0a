"""Meeting holds per second through the purse on PostgreSQL, against plain one-row INSERTs.

On a scratch database (created and dropped; admin URL from ``MAS_TEST_PG_URL``): --students
students (one per client by default) get a large wallet. Then --clients concurrent clients
each book --per-client meetings on distinct slots, every hold in its own unit of work
(``purse.hold_for_meeting`` + commit: the wallet row lock, the key check, the grant read, the
guarded wallet update, the ledger insert). Afterwards the ledger invariant is checked
(``accounts.check``: every wallet and grant equals the replay of its ledger) and the balances
are compared with the holds made. For reference, the same run then has as many clients insert
the same number of rows into a copy of the ledger table (its indexes and unique key
included), one row per transaction,
through the same engine. Prints one JSON object; exits 1 if the invariant does not hold.

    .venv/bin/python benchmarks/token_holds.py [--clients 64] [--per-client 100]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._support import scratch_database  # noqa: E402

STARTING_TOKENS = 1_000_000


async def seed(c: Any, students: int) -> list[uuid.UUID]:
    from mas.core.identity.model import User
    from mas.core.identity.policy import Role
    from mas.core.platform.ids import uuid7
    from mas.core.tokens.wallet.purse import TokenKind, UsageType

    ids = []
    for n in range(students):
        user = User(
            id=uuid7(), email=f"bench-{n}@example.com", role=Role.USER, created_at=c.clock.now()
        )
        async with c.uow() as uow:
            await uow.users.add(user)
            await c.tokens.wallet.purse.credit(
                uow,
                user_id=user.id,
                kind=TokenKind.MENTOR,
                tokens=STARTING_TOKENS,
                usage_type=UsageType.PURCHASE,
                key=f"seed:{user.id}",
            )
            await uow.commit()
        ids.append(user.id)
    return ids


async def holds(
    c: Any, students: list[uuid.UUID], clients: int, per_client: int
) -> tuple[float, float]:
    from mas.core.platform.ids import uuid7

    async def client(n: int) -> None:
        student = students[n % len(students)]
        for _ in range(per_client):
            async with c.uow() as uow:
                await c.tokens.wallet.purse.hold_for_meeting(uow, student, uuid7())
                await uow.commit()

    started, cpu = time.perf_counter(), time.process_time()
    await asyncio.gather(*(client(n) for n in range(clients)))
    return time.perf_counter() - started, time.process_time() - cpu


async def plain_inserts(c: Any, clients: int, per_client: int) -> tuple[float, float]:
    from sqlalchemy import text

    async with c.engine.begin() as conn:
        await conn.execute(text("CREATE TABLE bench_inserts (LIKE token_usage INCLUDING ALL)"))
    row = text(
        "INSERT INTO bench_inserts (id, user_id, usage_type, token_kind, direction, tokens_used,"
        " source, balance_before, balance_after, idempotency_key, created_at) VALUES (:id,"
        " :user_id, 'meeting_booking', 'MENTOR', 'DEBIT', 1, 'WALLET', 1, 0, :key, now())"
    )

    async def client() -> None:
        for _ in range(per_client):
            async with c.sessions() as session:
                key = uuid.uuid4()
                await session.execute(row, {"id": key, "user_id": key, "key": f"k:{key}"})
                await session.commit()

    started, cpu = time.perf_counter(), time.process_time()
    await asyncio.gather(*(client() for _ in range(clients)))
    return time.perf_counter() - started, time.process_time() - cpu


async def run(url: str, clients: int, per_client: int, students: int) -> dict[str, Any]:
    from mas.bootstrap import build_container
    from mas.settings import load_settings

    folder = Path(tempfile.mkdtemp(prefix="mas-bench-"))
    settings = load_settings(
        environ={},
        overrides={
            "env": "test",
            "database_url": url,
            "storage_dir": str(folder / "storage"),
            "log_level": "WARNING",
            "jwt_secret": "bench-only-jwt-secret-0123456789abcdef",
            "db_pool_min": clients,
            "db_pool_max": clients,
        },
    )
    c = await build_container(settings, inline_tasks=True)
    try:
        ids = await seed(c, students)
        await holds(c, ids, clients, max(1, per_client // 10))  # warm the pool and the caches
        before = {i: (await c.tokens.wallet.accounts.balance(i)).mentor.total for i in ids}
        seconds, cpu = await holds(c, ids, clients, per_client)
        after = {i: (await c.tokens.wallet.accounts.balance(i)).mentor.total for i in ids}
        report = await c.tokens.wallet.accounts.check()
        insert_seconds, insert_cpu = await plain_inserts(c, clients, per_client)
    finally:
        await c.close()
    total = clients * per_client
    spent = sum(before[i] - after[i] for i in ids)
    return {
        "clients": clients,
        "students": students,
        "holds": total,
        "seconds": round(seconds, 3),
        "holds_per_s": round(total / seconds, 1),
        "client_cpu_ms_per_hold": round(cpu / total * 1000, 3),
        "goal_holds_per_s": 1000,
        "plain_insert_seconds": round(insert_seconds, 3),
        "plain_inserts_per_s": round(total / insert_seconds, 1),
        "client_cpu_ms_per_insert": round(insert_cpu / total * 1000, 3),
        "ratio_to_plain_insert": round((total / seconds) / (total / insert_seconds), 3),
        "tokens_spent": spent,
        "wallets_checked": report.users_checked,
        "ledger_drifts": len(report.drifts),
        "invariant_holds": spent == total and not report.drifts,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=64)
    parser.add_argument("--per-client", type=int, default=100)
    parser.add_argument("--students", type=int, default=0, help="default: one per client")
    args = parser.parse_args()
    with scratch_database() as url:
        result = asyncio.run(run(url, args.clients, args.per_client, args.students or args.clients))
    print(json.dumps(result, indent=2))
    if not result["invariant_holds"]:
        sys.exit(1)


if __name__ == "__main__":
    main()
