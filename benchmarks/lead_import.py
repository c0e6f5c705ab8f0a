"""`mas leads import` end to end on PostgreSQL, against a plain COPY of the same file.

On a scratch database: a sales head and existing leads (a tenth of them lost, to be reopened)
are seeded; a CSV of --rows rows is generated (10 % phones of existing leads in other
spellings, 5 % repeats of earlier rows of the file, 1 % bad rows, the rest new); then
`mas leads import FILE --pool HEAD --json` runs as a subprocess (timed end to end, process start
included), and the same file is loaded with a plain COPY into a scratch table in the same run.
Prints one JSON object: seconds, rows/s, the ratio to COPY, the import's own summary and the
import process's peak RSS and CPU seconds (getrusage of the children). Asserts nothing.

    .venv/bin/python benchmarks/lead_import.py [--rows 100000] [--keep-file]
        [--shape mix|alternates|shared-emails] [--empty]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._support import REPO, scratch_database  # noqa: E402

HEADER = "Full Name,Mobile,Email,City,State,Course\n"
ALT_HEADER = "Full Name,Mobile,Alternate Mobile,Email,City\n"
CITIES = ["Pune", "Delhi", "Mumbai", "Bengaluru", "Chennai", "Jaipur", "Lucknow", "Kochi"]
COURSES = ["drone-tech", "space-tech", "data-science", "ai-ml", ""]


def phone(n: int) -> str:
    """A valid Indian mobile number (9xxxxxxxxx) for ``n`` < 10**9."""
    return f"9{n:09d}"


def spelled(number: str, rng: random.Random) -> str:
    """The same number as people type it."""
    return rng.choice(
        [number, f"0{number}", f"+91 {number[:5]} {number[5:]}", f"{number[:5]}-{number[5:]}"]
    )


def write_csv(path: Path, rows: int, existing: int, seed: int = 7) -> dict[str, int]:
    """Stream ``rows`` rows to ``path``; returns how many of each kind were written."""
    rng = random.Random(seed)
    kinds = {"new": 0, "existing": 0, "in_file": 0, "bad": 0}
    fresh_base = 10**8  # existing leads use numbers below this
    written: list[int] = []  # numbers of new rows, for repeats later in the file
    with path.open("w", encoding="utf-8", newline="") as out:
        out.write(HEADER)
        for i in range(rows):
            roll = rng.random()
            city = rng.choice(CITIES)
            course = rng.choice(COURSES)
            if roll < 0.01:
                kinds["bad"] += 1
                if rng.random() < 0.5:
                    out.write(f"Nobody {i},,,{city},MH,{course}\n")
                else:
                    out.write(f"Typo {i},,not-an-email,{city},MH,{course}\n")
            elif roll < 0.11 and existing:
                kinds["existing"] += 1
                n = rng.randrange(existing)
                out.write(f"Returning {n},{spelled(phone(n), rng)},,{city},MH,{course}\n")
            elif roll < 0.16 and written:
                kinds["in_file"] += 1
                n = rng.choice(written)
                out.write(f"Again {i},{spelled(phone(n), rng)},,{city},KA,{course}\n")
            else:
                kinds["new"] += 1
                n = fresh_base + i
                written.append(n)
                email = f"lead{i}@example.com"
                out.write(f"Lead {i},{spelled(phone(n), rng)},{email},{city},KA,{course}\n")
    return kinds


def write_shape(path: Path, rows: int, shape: str, seed: int = 3) -> None:
    """Files that stress the split and the plans rather than the mix of outcomes.

    ``alternates``: 35 % of rows give a second number (an earlier row's, a later row's or a new
    one). ``shared-emails``: 30 % of rows give one of five placeholder emails (each such group
    of people with different numbers is one lead by the email rule)."""
    rng = random.Random(seed)
    base = 10**8
    with path.open("w", encoding="utf-8", newline="") as out:
        out.write(ALT_HEADER)
        for i in range(rows):
            alt, email, roll = "", f"lead{i}@example.com", rng.random()
            if shape == "alternates":
                if roll < 0.15 and i:
                    alt = phone(base + rng.randrange(max(i - 50, 0), i))
                elif roll < 0.30:
                    alt = phone(base + rows + i)
                elif roll < 0.35:
                    alt = phone(base + min(i + rng.randrange(1, 50), rows - 1))
            elif roll < 0.30:
                email = f"na{rng.randrange(5)}@example.com"
            out.write(f"Lead {i},{phone(base + i)},{alt},{email},Pune\n")


def write_seed(path: Path, existing: int) -> None:
    with path.open("w", encoding="utf-8") as out:
        out.write(HEADER)
        for n in range(existing):
            out.write(f"Existing {n},{phone(n)},existing{n}@example.com,,,\n")


def mas(args: list[str], env: dict[str, str]) -> tuple[dict[str, Any], float]:
    """Run ``mas`` with ``args``: (its JSON output, wall seconds)."""
    started = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "mas", *args],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO), "MAS_LOG_LEVEL": "WARNING", **env},
        capture_output=True,
    )
    seconds = time.perf_counter() - started
    if proc.returncode != 0:
        raise RuntimeError(f"mas {' '.join(args)} exited {proc.returncode}: {proc.stderr!r}")
    return json.loads(proc.stdout), seconds


async def plain_copy(url: str, path: Path) -> float:
    """Seconds to COPY the file into a scratch table with the file's columns (no indexes)."""
    import asyncpg

    conn = await asyncpg.connect(url.replace("postgresql+asyncpg", "postgresql"))
    try:
        with path.open(encoding="utf-8") as head:
            width = len(head.readline().split(","))
        columns = ", ".join(f"c{n} text" for n in range(width))
        await conn.execute(f"CREATE TABLE copy_scratch ({columns})")
        started = time.perf_counter()
        await conn.copy_to_table(
            "copy_scratch", source=str(path), format="csv", header=True, encoding="utf-8"
        )
        return time.perf_counter() - started
    finally:
        await conn.close()


async def counts(url: str) -> dict[str, int]:
    from sqlalchemy import text
    from sqlalchemy.ext.asyncio import create_async_engine

    engine = create_async_engine(url)
    found = {}
    async with engine.connect() as conn:
        for table in ("raw_leads", "lead_intakes", "lead_activities", "lead_import_rows"):
            found[table] = (await conn.execute(text(f"SELECT count(*) FROM {table}"))).scalar_one()
    await engine.dispose()
    return found


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--keep-file", action="store_true")
    parser.add_argument(
        "--shape",
        choices=["mix", "alternates", "shared-emails"],
        default="mix",
        help="mix: the default file; the others stress the split and the plans",
    )
    parser.add_argument(
        "--empty", action="store_true", help="import into an empty database (no seeded leads)"
    )
    args = parser.parse_args()
    existing = 0 if args.empty else max(args.rows // 10, 1)
    folder = Path(tempfile.mkdtemp(prefix="mas-lead-import-"))
    data, seed_file = folder / "leads.csv", folder / "seed.csv"
    generated = time.perf_counter()
    kinds: dict[str, int] = {}
    if args.shape == "mix":
        kinds = write_csv(data, args.rows, existing)
    else:
        write_shape(data, args.rows, args.shape)
    write_seed(seed_file, existing)
    generated = time.perf_counter() - generated
    head = f"bench-head-{uuid.uuid4().hex[:6]}@example.com"
    with scratch_database() as url:
        env = {"MAS_DATABASE_URL": url, "MAS_STORAGE_DIR": str(folder / "storage")}
        mas(
            [
                "users",
                "create",
                "--email",
                head,
                "--role",
                "SALES_HEAD",
                "--name",
                "Bench head",
                "--password",
                "bench password 12345",
                "--json",
            ],
            env,
        )
        if existing:
            mas(["leads", "import", str(seed_file), "--pool", head, "--json"], env)
            asyncio.run(seed_lost(url, existing // 10))
        mapping = [] if args.shape == "mix" else ["--map", "Alternate Mobile=phone_alt"]
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        summary, seconds = mas(
            ["leads", "import", str(data), "--pool", head, *mapping, "--json"], env
        )
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        # CPU of the import process alone: steadier than wall time on a shared machine.
        cpu_s = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        # The largest child's peak: the import (the seeding import is a tenth of its size).
        rss_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        copy_s = asyncio.run(plain_copy(url, data))
        tables = asyncio.run(counts(url))
    result = {
        "benchmark": "lead_import",
        "database": "postgresql",
        "rows": args.rows,
        "file_mb": round(data.stat().st_size / 1e6, 2),
        "shape": args.shape,
        "file_mix": kinds,
        "existing_leads": existing,
        "import_seconds": round(seconds, 3),
        "import_rows_per_s": round(args.rows / seconds, 1),
        "in_process_seconds": summary["seconds"],
        "import_cpu_seconds": round(cpu_s, 2),
        "copy_seconds": round(copy_s, 3),
        "copy_rows_per_s": round(args.rows / copy_s, 1),
        "ratio_to_copy": round(seconds / copy_s, 1),
        "peak_rss_mb": round(rss_kb / 1024, 1),
        "summary": {k: summary[k] for k in ("created", "merged", "rejected", "rejected_by_reason")},
        "tables": tables,
        "generate_seconds": round(generated, 2),
        "cpus": os.cpu_count(),
        "load_avg_1m": round(os.getloadavg()[0], 2),
    }
    print(json.dumps(result, indent=2))
    if not args.keep_file:
        shutil.rmtree(folder, ignore_errors=True)


async def seed_lost(url: str, lost: int) -> None:
    from sqlalchemy import text
    from sqlalchemy.ext.asyncio import create_async_engine

    engine = create_async_engine(url)
    async with engine.begin() as conn:
        await conn.execute(
            text(
                "UPDATE raw_leads SET status = 'NOT_INTERESTED', lost_reason = 'bench' "
                "WHERE id IN (SELECT id FROM raw_leads ORDER BY phone_e164 LIMIT :n)"
            ),
            {"n": lost},
        )
        await conn.execute(text("ANALYZE"))
    await engine.dispose()


if __name__ == "__main__":
    main()
