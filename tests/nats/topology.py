"""The production topology on one machine, under faults: real processes, PostgreSQL, NATS.

Two ``mas serve``, two ``mas worker`` and two ``mas scheduler`` processes share a scratch
database and a stream, KV prefix and subject of their own. This process drives a steady mixed
load through a client-side balancer that does what the proxy of ``deploy/Caddyfile`` does
(round-robin; a refused connection is tried on the other API, since the request never reached
a server): sign-ins, lead creations, small CSV imports, tasks with a countable effect
(``tests.nats.topology_tasks``), and events to a user's stream held open on one API. While it
runs it kills -9 (the whole process group, as a container dies) a worker, an API process and
the scheduler holding the lease, and restarts each at once.

``run_topology`` returns the report: requests, the errors clients saw and when, how long each
role took to recover, and ``violations`` (an accepted request whose effect is missing, a task
body run twice outside the redelivery of the killed worker's runs, a cron tick lost or run
twice, a dead letter, an error outside a kill window). The fault test asserts it has none;
``benchmarks/topology_faults.py`` prints it for a longer run.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tests.nats.topology_load import (
    Balancer,
    Kill,
    Run,
    World,
    add_lead,
    enqueue,
    event_stream,
    every,
    import_csv,
    make_world,
    publish,
    sign_in,
)
from tests.nats.topology_report import (
    http_ok,
    lease_holder_pid,
    report,
    runs_by_pid,
    sql,
    wait,
)

REPO = Path(__file__).resolve().parents[2]
TASKS = "tests.nats.topology_tasks"
SECRET = "topology-test-jwt-secret-0123456789abcdef"


@dataclass(frozen=True)
class Plan:
    """When the faults come and how hard the load pushes (seconds from the start of the load)."""

    kill_worker_at_s: float = 4.0
    kill_api_at_s: float = 8.0
    kill_scheduler_at_s: float = 12.0
    min_load_s: float = 20.0
    after_recovery_s: float = 3.0
    max_load_s: float = 60.0
    lead_every_s: float = 0.25
    login_every_s: float = 1.5
    import_every_s: float = 5.0
    import_rows: int = 25
    job_every_s: float = 0.1
    job_sleep_s: float = 0.3
    event_every_s: float = 0.25
    scheduler_lease_s: float = 3.0
    drain_timeout_s: float = 30.0
    kill_window_s: float = 1.0
    """An error counts as in flight at a kill when the request started before the kill and
    ended (with its error) within this long after it."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def stack_environment(
    database_url: str, nats_url: str, storage_dir: Path, plan: Plan
) -> dict[str, str]:
    """Settings every process of the topology shares (and this process's producer)."""
    from mas import modules

    tag = uuid.uuid4().hex[:10]
    # Only the test's own cron: the domains' minute crons would add work nobody counts.
    crons = {name: "off" for name in modules.crons()} | {"probe.tick": "* * * * * *"}
    return {
        "MAS_ENV": "test",
        "MAS_JWT_SECRET": SECRET,
        "MAS_DATABASE_URL": database_url,
        "MAS_BROKER": "nats",
        "MAS_EVENT_BUS": "nats",
        "MAS_CACHE": "nats",
        "MAS_NATS_URL": nats_url,
        "MAS_NATS_STREAM": f"MAS_TOPO_{tag}",
        "MAS_NATS_SUBJECT": f"mas.topo.{tag}",
        "MAS_NATS_KV_PREFIX": f"mastopo_{tag}",
        "MAS_NATS_ACK_WAIT_S": "2",
        "MAS_RELEASE_INTERVAL_S": "0.2",
        "MAS_SCHEDULER_LEASE_S": str(plan.scheduler_lease_s),
        "MAS_WORKER_CONCURRENCY": "16",
        "MAS_DB_POOL_MIN": "1",
        "MAS_DB_POOL_MAX": "8",
        "MAS_STORAGE_DIR": str(storage_dir),
        "MAS_LOG_JSON": "false",
        "MAS_LOG_LEVEL": "INFO",
        "MAS_CRON_OVERRIDES": json.dumps(crons),
    }


class Topology:
    """The six processes, each the leader of its own process group (granian forks workers)."""

    ROLES = {
        "api-a": "api",
        "api-b": "api",
        "worker-a": "worker",
        "worker-b": "worker",
        "scheduler-a": "scheduler",
        "scheduler-b": "scheduler",
    }

    def __init__(self, env: dict[str, str], logs: Path) -> None:
        self.env = {**os.environ, **env, "PYTHONPATH": str(REPO)}
        self.logs = logs
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        self.args: dict[str, list[str]] = {}
        self.ports: dict[str, int] = {}

    def start(self, name: str, *args: str) -> subprocess.Popen[bytes]:
        with (self.logs / f"{name}.log").open("ab") as log:
            proc = subprocess.Popen(
                [sys.executable, "-m", "mas", *args],
                cwd=REPO,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.procs[name] = proc
        self.args[name] = list(args)
        return proc

    def start_all(self) -> None:
        for name, role in self.ROLES.items():
            if role == "api":
                self.ports[name] = free_port()
                self.start(name, "serve", "--port", str(self.ports[name]))
            else:
                self.start(name, role, "--import", TASKS)

    def kill(self, name: str) -> float:
        """SIGKILL to the process and everything it forked; the time it happened."""
        proc = self.procs[name]
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        at = time.time()
        proc.wait()
        return at

    def restart(self, name: str) -> subprocess.Popen[bytes]:
        return self.start(name, *self.args[name])

    def close(self) -> None:
        """Stop every process group: SIGTERM, then SIGKILL for what is still there."""
        for proc in self.procs.values():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + 10
        for proc in self.procs.values():
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                pass
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()

    def log_tail(self, chars: int = 1500) -> str:
        parts = []
        for name in self.procs:
            text = (self.logs / f"{name}.log").read_text(errors="replace")
            parts.append(f"--- {name}\n{text[-chars:]}")
        return "\n".join(parts)


# --- the faults ----------------------------------------------------------------------------


async def _faults(topology: Topology, world: World, run: Run, plan: Plan) -> None:
    """Kill a worker, an API and the lease holder, each at its time; restart each at once;
    note when each role recovered. The three run side by side (a slow restart delays no other
    fault)."""

    async def at(offset_s: float) -> None:
        await asyncio.sleep(max(0.0, run.started + offset_s - time.time()))

    async def worker() -> None:
        await at(plan.kill_worker_at_s)
        kill = Kill("worker", "worker-a", topology.procs["worker-a"].pid, topology.kill("worker-a"))
        run.kills["worker"] = kill
        restarted = topology.restart("worker-a").pid

        async def restarted_worker_ran() -> float | None:
            times = [at for _, pid, at in runs_by_pid(world.effects) if pid == restarted]
            return min(times) if times else None

        kill.recovered_at = await wait(restarted_worker_ran, 60, "the restarted worker's run")

    async def api() -> None:
        await at(plan.kill_api_at_s)
        port = topology.ports["api-a"]
        kill = Kill("api", "api-a", topology.procs["api-a"].pid, topology.kill("api-a"), port)
        run.kills["api"] = kill
        topology.restart("api-a")
        await wait(lambda: http_ok(port), 60, "the restarted API's /health")
        kill.recovered_at = time.time()

    async def scheduler() -> None:
        await at(plan.kill_scheduler_at_s)
        pid = await wait(lambda: lease_holder_pid(world.database_url), 20, "a scheduler lease")
        name = next(n for n, p in topology.procs.items() if p.pid == pid)
        kill = Kill("scheduler", name, pid, topology.kill(name))
        run.kills["scheduler"] = kill
        topology.restart(name)

        async def fired_after_kill() -> float | None:
            rows = await sql(
                world.database_url,
                "SELECT min(enqueued_at) FROM job_runs "
                "WHERE task = 'probe.tick' AND enqueued_at > :at",
                at=datetime.fromtimestamp(kill.at, UTC),
            )
            first = rows[0][0]
            return first.timestamp() if first is not None else None

        kill.recovered_at = await wait(fired_after_kill, 60, "a cron tick after the leader died")

    await asyncio.gather(worker(), api(), scheduler())


# --- the run and its report -----------------------------------------------------------------


async def drive(topology: Topology, world: World, plan: Plan) -> Run:
    """Start the load, inflict the faults, stop the load once every role has recovered."""
    run = Run()
    ports = [topology.ports["api-a"], topology.ports["api-b"]]
    balancer = Balancer(ports, run)
    stop = asyncio.Event()
    try:
        async with event_stream(world, topology.ports["api-b"], run):
            run.started = time.time()
            load = [
                asyncio.create_task(every(plan.login_every_s, stop, sign_in(world, balancer))),
                asyncio.create_task(every(plan.lead_every_s, stop, add_lead(world, balancer))),
                asyncio.create_task(
                    every(plan.import_every_s, stop, import_csv(world, balancer, plan.import_rows))
                ),
                asyncio.create_task(
                    every(plan.job_every_s, stop, enqueue(world, run, plan.job_sleep_s))
                ),
                asyncio.create_task(every(plan.event_every_s, stop, publish(world, run))),
            ]
            try:
                await asyncio.wait_for(_faults(topology, world, run, plan), plan.max_load_s)
                end = max(run.started + plan.min_load_s, time.time() + plan.after_recovery_s)
                await asyncio.sleep(max(0.0, end - time.time()))
            finally:
                stop.set()
                await asyncio.gather(*load)
            # Events published last are still on their way to the stream.
            await wait(
                lambda: asyncio.sleep(
                    0, set(run.events_published) <= set(run.events_received) or None
                ),
                5,
                "the last events on the stream",
            )
    except TimeoutError:
        pass  # what is missing is a violation in the report
    finally:
        await balancer.close()
    return run


async def drain(world: World, run: Run, timeout_s: float) -> None:
    """Wait until the work the load left behind is done (tasks, imports, cron runs)."""

    async def settled() -> bool:
        open_runs = await sql(
            world.database_url,
            "SELECT count(*) FROM job_runs WHERE status NOT IN ('succeeded', 'dead', 'skipped')",
        )
        open_imports = await sql(
            world.database_url,
            "SELECT count(*) FROM lead_import_batches WHERE status IN ('QUEUED', 'RUNNING')",
        )
        return int(open_runs[0][0]) == 0 and int(open_imports[0][0]) == 0

    with contextlib.suppress(TimeoutError):
        await wait(settled, timeout_s, "the queued work to finish")


async def run_topology(
    database_url: str, nats_url: str, workdir: Path, plan: Plan | None = None
) -> dict[str, Any]:
    """Start the six processes on ``database_url`` (migrated, empty), run the plan, stop them,
    drop the run's stream and KV buckets; the report."""
    from mas.settings import load_settings
    from tests.conftest import open_container
    from tests.nats.topology_tasks import MODULE

    plan = plan or Plan()
    env = stack_environment(database_url, nats_url, workdir / "storage", plan)
    topology = Topology(env, workdir)
    c = await open_container(load_settings(environ=env), inline_tasks=False, extra=(MODULE,))
    try:
        world = await make_world(c, database_url, workdir / "effects.txt")
        started = time.monotonic()
        topology.start_all()
        for name, port in topology.ports.items():
            await wait(lambda port=port: http_ok(port), 90, f"{name} to answer /health")
        await wait(lambda: lease_holder_pid(database_url), 60, "a scheduler to lead")
        startup_s = time.monotonic() - started
        run = await drive(topology, world, plan)
        await drain(world, run, plan.drain_timeout_s)
        result = await report(world, run, plan.kill_window_s)
        result["startup_s"] = round(startup_s, 1)
        if result["violations"]:
            result["logs"] = topology.log_tail()
        return result
    finally:
        topology.close()
        await c.close()
        await _drop_nats(nats_url, env)


async def _drop_nats(nats_url: str, env: dict[str, str]) -> None:
    import nats
    from tests.nats.nats_test_support import delete_buckets

    nc = await nats.connect(nats_url)
    try:
        js = nc.jetstream()
        with contextlib.suppress(Exception):
            await js.delete_stream(env["MAS_NATS_STREAM"])
        await delete_buckets(js, env["MAS_NATS_KV_PREFIX"])
    finally:
        await nc.close()
