"""Requests/s and p99 of public mentor discovery: ``GET /api/mentors/paginated?limit=9&
sortBy=rating`` over 5,000 listed mentors on PostgreSQL, with ``GET /health`` measured in the
same run as the reference (the ratio says what the route costs beyond the framework).

One `mas serve` process (granian, 1 worker) on loopback; the load comes from a separate process
(20,000 requests over 64 keep-alive connections by default). Before the load, the answer is
checked: 9 mentors, best rated first, the total 5,000. Prints one JSON object.

    .venv/bin/python benchmarks/mentor_discovery.py [--mentors N] [--requests N] [--connections C]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import urllib.request
import uuid
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks._support import free_port, load, scratch_database, start_mas, stop, wait_http  # noqa: E402

PATH = "/api/mentors/paginated?limit=9&sortBy=rating"


async def seed_mentors(url: str, count: int) -> None:
    """``count`` listed EXPERT mentors with profiles and statistics (a third unrated), written
    as the profile write and the statistics book would leave them; then ANALYZE."""
    from sqlalchemy import insert, text
    from sqlalchemy.ext.asyncio import create_async_engine

    from mas.adapters.db.identity.tables import UserRow
    from mas.adapters.db.mentorship.mentors_tables import MentorRow, mentor_stats
    from mas.core.platform.ids import uuid7

    now = datetime.now(UTC)
    users, profiles, stats = [], [], []
    for i in range(count):
        user_id = uuid7()
        users.append(
            {
                "id": user_id,
                "email": f"mentor-{i}-{uuid.uuid4().hex[:6]}@example.com",
                "full_name": f"Mentor {i:05d}",
                "phone": f"+9199{i:08d}",
                "role": "EXPERT",
                "signup_platform": "my-analytics-school",
                "created_at": now,
                "updated_at": now,
            }
        )
        profiles.append(
            {
                "id": uuid7(),
                "user_id": user_id,
                "company": f"Company {i % 40}",
                "role": "Senior Engineer",
                "institute": f"Institute {i % 12}",
                "description": "Mentors on data careers, interviews and portfolio projects.",
                "category": f"Category {i % 8}",
                "sub_category": "General",
                "expertise": ["SQL", "Python", f"Tag {i % 30}"],
                "experience_years": i % 25,
                "image": f"https://cdn.example.org/mentors/{i}.png",
                "is_listed": True,
                "created_at": now,
                "updated_at": now,
            }
        )
        ratings = (i % 7) if i % 3 else 0
        total = sum(1.0 + ((i + k) % 9) / 2 for k in range(ratings))
        average = total / ratings if ratings else None
        stats.append(
            {
                "mentor_id": user_id,
                "completed_meets": i % 17,
                "rating_sum": total,
                "rating_count": ratings,
                "avg_rating": average,
                "rating_order": average or 0.0,
                "open_future_slots": i % 11,
                "created_at": now,
                "updated_at": now,
            }
        )
    engine = create_async_engine(url)
    try:
        async with engine.begin() as conn:
            await conn.execute(insert(UserRow), users)
            await conn.execute(insert(MentorRow), profiles)
            await conn.execute(insert(mentor_stats), stats)
        async with engine.connect() as conn:
            await conn.execute(text("ANALYZE users, mentors, mentor_stats"))
            await conn.commit()
    finally:
        await engine.dispose()


def check_answer(port: int, mentors: int) -> None:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}{PATH}", headers={"X-Platform": "my-analytics-school"}
    )
    with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310 (loopback)
        page = json.loads(answer.read())
    ratings = [item["avg_rating"] for item in page["items"]]
    assert len(ratings) == 9 and page["total"] == mentors, page
    assert ratings == sorted(ratings, reverse=True), ratings


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mentors", type=int, default=5_000)
    parser.add_argument("--requests", type=int, default=20_000)
    parser.add_argument("--connections", type=int, default=64)
    args = parser.parse_args()
    with scratch_database() as url, tempfile.TemporaryDirectory() as tmp:
        asyncio.run(seed_mentors(url, args.mentors))
        port = free_port()
        env = {
            "MAS_DATABASE_URL": url,
            "MAS_HTTP_PORT": str(port),
            "MAS_JWT_SECRET": "bench-secret-" + "x" * 40,
            "MAS_STORAGE_DIR": tmp,
            "MAS_DB_POOL_MIN": "10",
            "MAS_DB_POOL_MAX": "20",
        }
        server = start_mas(["serve"], env, Path(tmp) / "serve.log")
        headers = {"X-Platform": "my-analytics-school"}
        try:
            wait_http(port)
            check_answer(port, args.mentors)
            load(port, "/health", {}, 2_000, args.connections)  # warm up
            health = load(port, "/health", {}, args.requests, args.connections)
            load(port, PATH, headers, 2_000, args.connections)
            discovery = load(port, PATH, headers, args.requests, args.connections)
        finally:
            stop(server)
    print(
        json.dumps(
            {
                "server": "mas serve (granian, 1 worker process), PostgreSQL",
                "mentors": args.mentors,
                "health": health,
                "discovery_limit_9_sort_rating": discovery,
                "discovery_to_health_ratio": round(
                    discovery["requests_per_s"] / health["requests_per_s"], 2
                ),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()
