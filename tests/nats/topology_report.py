"""The report of a topology fault run (``tests/nats/topology.py``): each accepted request
checked against the database, the task effects and body runs counted by key, the cron seconds
checked for gaps and repeats, the dead letters, the errors placed against the kill windows, and
the recovery time of each role."""

from __future__ import annotations

import asyncio
import hashlib
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from tests.nats.topology_load import Run, Sent, World


async def sql(database_url: str, query: str, **params: Any) -> list[Any]:
    from sqlalchemy import text
    from sqlalchemy.ext.asyncio import create_async_engine

    engine = create_async_engine(database_url)
    try:
        async with engine.connect() as conn:
            return list((await conn.execute(text(query), params)).all())
    finally:
        await engine.dispose()


async def lease_holder_pid(database_url: str) -> int | None:
    rows = await sql(
        database_url,
        "SELECT holder FROM leases WHERE name = 'scheduler' AND expires_at > :now",
        now=datetime.now(UTC),
    )
    return int(rows[0][0].split(":")[1]) if rows else None


async def http_ok(port: int) -> bool:
    try:
        async with httpx.AsyncClient(timeout=2) as client:
            response = await client.get(f"http://127.0.0.1:{port}/health")
    except httpx.HTTPError:
        return False
    return response.status_code == 200


async def wait(check: Callable[[], Awaitable[Any]], timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = await check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout:g} s waiting for {what}")
        await asyncio.sleep(0.1)


def runs_by_pid(effects: Path) -> list[tuple[str, int, float]]:
    runs = Path(f"{effects}.runs")
    if not runs.exists():
        return []
    found = []
    for line in runs.read_text().splitlines():
        key, pid, at = line.split(" ")
        found.append((key, int(pid), float(at)))
    return found


def effect_keys(effects: Path) -> Counter[str]:
    lines = effects.read_text().splitlines() if effects.exists() else []
    return Counter(line.split(" ", 1)[0] for line in lines)


class Findings:
    """What the checks counted (``effects``) and what they found wrong (``violations``)."""

    def __init__(self, run: Run, database_url: str) -> None:
        self.run = run
        self.db = database_url
        self.effects: dict[str, int] = {}
        self.violations: list[str] = []
        self.by_kind: dict[str, list[Sent]] = defaultdict(list)
        for record in run.sent:
            self.by_kind[record.kind].append(record)

    def accepted(self, kind: str) -> list[Any]:
        return [record.value for record in self.by_kind[kind] if record.accepted]

    def wrong(self, message: str) -> None:
        self.violations.append(message)


async def check_requests(found: Findings) -> None:
    """Each accepted sign-in has its session, each lead its row, each import its leads."""
    digests = {hashlib.sha256(token.encode()).hexdigest() for token in found.accepted("sign_in")}
    query = "SELECT token_hash FROM refresh_tokens WHERE token_hash = ANY(:d)"
    sessions = {row[0] for row in await sql(found.db, query, d=list(digests))}
    if len(sessions) != len(digests):
        found.wrong(f"{len(digests) - len(sessions)} accepted sign-ins have no session")
    lead_ids = {uuid.UUID(value) for value in found.accepted("lead")}
    query = "SELECT id FROM raw_leads WHERE id = ANY(:i)"
    leads = {row[0] for row in await sql(found.db, query, i=list(lead_ids))}
    if len(leads) != len(lead_ids):
        found.wrong(f"{len(lead_ids) - len(leads)} accepted lead creations missing")
    imported = 0
    for batch_id, phones in found.accepted("import_commit"):
        query = "SELECT status, created_count FROM lead_import_batches WHERE id = :b"
        batch = await sql(found.db, query, b=uuid.UUID(batch_id))
        query = "SELECT count(*) FROM raw_leads WHERE phone_e164 = ANY(:p)"
        count = int((await sql(found.db, query, p=[f"+91{p}" for p in phones]))[0][0])
        imported += count
        if not batch or batch[0][0] != "COMPLETED" or count != len(phones):
            found.wrong(f"import {batch_id}: {batch} with {count}/{len(phones)} leads")
    found.effects.update(
        sessions=len(sessions),
        leads=len(leads),
        imports=len(found.accepted("import_commit")),
        imported_leads=imported,
    )


async def check_tasks(found: Findings, effects: Path) -> None:
    """Every accepted task has its effect once; a body ran twice only when its earlier run was
    on a killed process (redelivered; the idempotent effect still written once)."""
    keys = found.accepted("job")
    written = effect_keys(effects)
    missing = [key for key in keys if written[key] == 0]
    if missing:
        found.wrong(f"{len(missing)} accepted tasks without their effect: {missing[:5]}")
    doubled = [key for key, count in written.items() if count > 1]
    if doubled:
        found.wrong(f"tasks whose effect was written twice: {doubled[:5]}")
    killed_pids = {kill.pid for kill in found.run.kills.values()}
    runs: dict[str, list[int]] = defaultdict(list)
    for key, pid, _ in runs_by_pid(effects):
        runs[key].append(pid)
    reran = {key: pids for key, pids in runs.items() if len(pids) > 1}
    by_live = {key: pids for key, pids in reran.items() if not set(pids[:-1]) <= killed_pids}
    if by_live:
        found.wrong(f"task bodies run twice by live workers: {list(by_live.items())[:5]}")
    query = "SELECT status, count(*) FROM job_runs WHERE task = 'probe.effect' GROUP BY 1"
    statuses = {status: int(count) for status, count in await sql(found.db, query)}
    if statuses.get("succeeded", 0) != len(keys):
        found.wrong(f"task runs: {statuses} for {len(keys)} accepted")
    found.effects.update(task_effects=len(written), task_bodies_rerun_after_a_kill=len(reran))


async def check_crons(found: Findings) -> None:
    """Every second from the first tick to the last has one run, and it succeeded."""
    query = "SELECT idempotency_key, status FROM job_runs WHERE task = 'probe.tick'"
    rows = await sql(found.db, query)
    live = Counter(key for key, status in rows if status != "skipped")
    ticks = sorted(_tick(key) for key in live)
    span = round(ticks[-1] - ticks[0]) + 1 if ticks else 0
    if len(ticks) != span:
        found.wrong(f"cron ticks lost: {span - len(ticks)} of {span} seconds missing")
    if any(count > 1 for count in live.values()):
        found.wrong("a cron tick ran twice")
    unfinished = Counter(status for _, status in rows if status not in ("succeeded", "skipped"))
    if unfinished:
        found.wrong(f"cron runs not succeeded: {dict(unfinished)}")
    offered_again = [key for key, status in rows if status == "skipped"]
    leader = found.run.kills.get("scheduler")
    for key in offered_again:
        # A leader killed between enqueueing a tick and recording its watermark leaves that
        # tick to be offered again (the ledger skips it): only right at the kill.
        if leader is None or not leader.at - 1.5 <= _tick(key) <= leader.at + 0.5:
            found.wrong(f"cron tick offered twice away from the leader's kill: {key}")
    found.effects.update(cron_ticks=len(ticks), cron_ticks_offered_again=len(offered_again))


def _tick(key: str) -> float:
    return datetime.fromisoformat(key.removeprefix("cron:probe.tick:")).timestamp()


async def check_dead_letters(found: Findings) -> None:
    dead_runs = await sql(found.db, "SELECT task, last_error FROM job_runs WHERE status = 'dead'")
    query = "SELECT count(*) FROM outbox_messages WHERE status = 'DEAD'"
    dead_messages = int((await sql(found.db, query))[0][0])
    if dead_runs or dead_messages:
        found.wrong(f"dead letters: runs {dead_runs[:3]}, messages {dead_messages}")


def check_stream(found: Findings) -> None:
    """The user's stream, held on the API that stayed up, got every event once."""
    run = found.run
    lost = set(run.events_published) - set(run.events_received)
    repeated = [event for event, n in Counter(run.events_received).items() if n > 1]
    if lost or repeated:
        found.wrong(f"stream: {len(lost)} events lost, {len(repeated)} repeated")
    found.effects.update(
        events_published=len(run.events_published), events_received=len(run.events_received)
    )


def check_client_errors(found: Findings, kill_window_s: float) -> list[Sent]:
    """Errors only for requests inside the killed API process when it died; the errors."""
    run = found.run
    api_kill = run.kills.get("api")
    errors = [record for record in run.sent if record.error is not None]
    outside = [
        record
        for record in errors
        if api_kill is None
        or record.port != api_kill.port
        or record.started > api_kill.at + 0.05
        or record.ended > api_kill.at + kill_window_s
    ]
    if outside:
        shown = [(r.kind, round(r.started - run.started, 2), r.error) for r in outside[:5]]
        found.wrong(f"{len(outside)} client errors outside the kill windows: {shown}")
    return errors


def check_recovery(found: Findings) -> dict[str, float]:
    recovery = {}
    for role in ("worker", "api", "scheduler"):
        kill = found.run.kills.get(role)
        if kill is None:
            found.wrong(f"the {role} was never killed")
        elif kill.recovered_at is None:
            found.wrong(f"the {role} never recovered")
        else:
            recovery[role] = round(kill.recovered_at - kill.at, 2)
    return recovery


async def report(world: World, run: Run, kill_window_s: float) -> dict[str, Any]:
    found = Findings(run, world.database_url)
    await check_requests(found)
    await check_tasks(found, world.effects)
    await check_crons(found)
    await check_dead_letters(found)
    check_stream(found)
    errors = check_client_errors(found, kill_window_s)
    recovery = check_recovery(found)

    def relative(at: float | None) -> float | None:
        return None if at is None else round(at - run.started, 2)

    return {
        "load_s": relative(max((r.ended for r in run.sent), default=run.started)),
        "requests": {
            kind: {
                "sent": len(records),
                "accepted": sum(r.accepted for r in records),
                "errors": sum(r.error is not None for r in records),
            }
            for kind, records in sorted(found.by_kind.items())
        },
        "rerouted_refused_connections": run.rerouted,
        "client_errors": [
            {
                "kind": r.kind,
                "port": r.port,
                "started_s": relative(r.started),
                "ended_s": relative(r.ended),
                "error": (r.error or "")[:120],
            }
            for r in errors
        ],
        "kills": {
            role: {
                **asdict(kill),
                "at": relative(kill.at),
                "recovered_at": relative(kill.recovered_at),
            }
            for role, kill in run.kills.items()
        },
        "recovery_s": recovery,
        "effects": found.effects,
        "violations": found.violations,
    }
