"""``mas serve --workers 2``: a scrape, answered by either worker, counts every worker's
requests (prometheus_client's multi-process mode over ``MAS_METRICS_DIR``)."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
from pathlib import Path

import httpx
from benchmarks._support import free_port, wait_http
from prometheus_client.parser import text_string_to_metric_families

REPO = Path(__file__).resolve().parents[2]
TOKEN = "workers-" + "y" * 24
REQUESTS = 60


def health_count(text: str) -> float:
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            labels = sample.labels
            if (
                sample.name == "mas_http_requests_total"
                and labels.get("route") == "/health"
                and labels.get("status") == "200"
            ):
                return sample.value
    return 0.0


async def _send(port: int) -> list[int]:
    # A new connection per request, eight at a time, so both workers accept some.
    async def one() -> int:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
            return (await client.get("/health", headers={"Connection": "close"})).status_code

    statuses: list[int] = []
    for start in range(0, REQUESTS, 8):
        statuses += await asyncio.gather(*(one() for _ in range(min(8, REQUESTS - start))))
    return statuses


def test_a_scrape_sums_the_workers(sqlite_template: Path, tmp_path: Path) -> None:
    shutil.copyfile(sqlite_template, tmp_path / "mas.db")
    metrics_dir = tmp_path / "metrics"
    metrics_dir.mkdir()
    (metrics_dir / "counter_999999.db").write_bytes(b"left by an earlier run")
    port = free_port()
    env = {
        **os.environ,
        "PYTHONPATH": str(REPO),
        "MAS_ENV": "test",
        "MAS_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'mas.db'}",
        "MAS_STORAGE_DIR": str(tmp_path / "storage"),
        "MAS_METRICS_TOKEN": TOKEN,
        "MAS_METRICS_DIR": str(metrics_dir),
        "MAS_LOG_LEVEL": "WARNING",
    }
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    log = (tmp_path / "serve.log").open("wb")
    server = subprocess.Popen(
        [sys.executable, "-m", "mas", "serve", "--workers", "2", "--port", str(port)],
        cwd=tmp_path,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_http(port, timeout=90)
        # wait_http's own probes count too: read the count before sending.
        scraper = {"Authorization": f"Bearer {TOKEN}"}
        before = health_count(httpx.get(f"http://127.0.0.1:{port}/metrics", headers=scraper).text)
        statuses = asyncio.run(_send(port))
        assert statuses == [200] * REQUESTS
        scrapes = [
            httpx.get(
                f"http://127.0.0.1:{port}/metrics", headers={**scraper, "Connection": "close"}
            )
            for _ in range(4)
        ]
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()
    assert all(scrape.status_code == 200 for scrape in scrapes)
    # Every scrape, whichever worker answered it, sees all the requests.
    assert {health_count(scrape.text) - before for scrape in scrapes} == {REQUESTS}
    writers = {path.stem.rsplit("_", 1)[1] for path in metrics_dir.glob("counter_*.db")}
    assert "999999" not in writers  # the directory was emptied at start
    assert len(writers) >= 2, (
        f"only {writers} wrote counters: {(tmp_path / 'serve.log').read_text()}"
    )
