"""The production topology under faults, the long run: two `mas serve`, two `mas worker`, two
`mas scheduler` on a scratch PostgreSQL database and NATS (MAS_TEST_NATS_URL), a steady mixed
load, and kill -9 of a worker, an API process and the scheduler holding the lease, each
restarted at once (``tests/nats/topology.py``, the same run as tests/nats/test_topology_faults.py
with more time between the faults). Prints the report as JSON: requests, the errors clients
saw, the recovery time of each role, and the violations (none expected).

    .venv/bin/python benchmarks/topology_faults.py [--load-s 60] [--gap-s 15]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.nats.topology import Plan, run_topology  # noqa: E402

from benchmarks._support import NATS_URL, scratch_database  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--load-s", type=float, default=60.0, help="the least load time")
    parser.add_argument("--gap-s", type=float, default=15.0, help="seconds between the faults")
    args = parser.parse_args()
    plan = Plan(
        kill_worker_at_s=args.gap_s,
        kill_api_at_s=2 * args.gap_s,
        kill_scheduler_at_s=3 * args.gap_s,
        min_load_s=args.load_s,
        after_recovery_s=10.0,
        max_load_s=args.load_s + 4 * args.gap_s + 60,
        drain_timeout_s=60.0,
    )
    with scratch_database() as url, tempfile.TemporaryDirectory() as tmp:
        report = asyncio.run(run_topology(url, NATS_URL, Path(tmp), plan))
    logs = report.pop("logs", "")
    print(json.dumps({"plan": plan.__dict__, **report}, indent=2))
    if report["violations"]:
        print(logs, file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
