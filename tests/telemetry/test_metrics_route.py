"""``GET /metrics``: every family the operator reads, the scraper's token, and a scrape that
survives a database that does not answer."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy.ext.asyncio import create_async_engine

from mas.adapters.telemetry.exposition import scrape
from mas.core.identity.model import AuthMethod
from mas.core.identity.policy import Platform, Role
from mas.core.platform.tasking import PermanentFailure
from tests.conftest import make_settings, open_container
from tests.http.conftest import add_user, http_client
from tests.taskprobe import probe, probe_module

TOKEN = "scrape-me-" + "x" * 24


@probe("metrics.doomed", attempts=1, timeout_s=5)
async def doomed(_: Any, __: Any) -> None:
    raise PermanentFailure("never works")


TASKS_MODULE = probe_module("metrics", doomed)


def samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return found


def value(text: str, name: str, **labels: str) -> float:
    return samples(text).get((name, frozenset(labels.items())), 0.0)


@pytest.fixture
async def metered(sqlite_url: str, tmp_path: Path) -> Any:
    c = await open_container(
        make_settings(sqlite_url, tmp_path, metrics_token=TOKEN), extra=(TASKS_MODULE,)
    )
    yield c
    await c.close()


SCRAPER = {"Authorization": f"Bearer {TOKEN}"}


async def test_metrics_exposes_every_family(metered: Any) -> None:
    admin = await add_user(metered, Role.ADMIN)
    token = metered.identity.issuer.access_token(
        admin, Platform.MY_ANALYTICS_SCHOOL, AuthMethod.PASSWORD, None
    )
    headers = {"Authorization": f"Bearer {token}"}
    async with http_client(metered) as client:
        before = (await client.get("/metrics", headers=SCRAPER)).text
        for _ in range(3):
            assert (await client.get("/health")).status_code == 200
        assert (await client.get(f"/api/crm/leads/{uuid.uuid4()}/nowhere")).status_code == 404
        for _ in range(2):  # the account snapshot: a miss, then a hit
            assert (await client.get("/api/admin/admins", headers=headers)).status_code == 200
        queued = await client.post(
            "/api/admin/jobs", json={"task": "platform.noop", "args": {}}, headers=headers
        )
        assert queued.status_code == 202, queued.text
        doomed_run = await client.post(
            "/api/admin/jobs", json={"task": "metrics.doomed", "args": {}}, headers=headers
        )
        assert doomed_run.status_code == 202, doomed_run.text
        response = await client.get("/metrics", headers=SCRAPER)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=0.0.4")
    after = response.text

    def delta(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    # requests by route template (never the raw path), method and status; the latency histogram
    assert delta("mas_http_requests_total", route="/health", method="GET", status="200") == 3
    assert delta("mas_http_requests_total", route="unmatched", method="GET", status="404") == 1
    assert not any("nowhere" in line for line in after.splitlines() if "route=" in line)
    assert delta("mas_http_request_duration_seconds_count", route="/health", method="GET") == 3
    assert (
        value(
            after,
            "mas_http_request_duration_seconds_bucket",
            route="/health",
            method="GET",
            le="+Inf",
        )
        >= 3
    )
    # job runs by task and status, queue lag
    assert delta("mas_job_runs_total", task="platform.noop", status="succeeded") == 1
    assert delta("mas_job_runs_total", task="metrics.doomed", status="dead") == 1
    assert delta("mas_job_queue_lag_seconds_count", task="platform.noop") == 1
    # facts from the database: dead letters, queue depth, outbox backlog
    assert value(after, "mas_job_dead_letters") == 1
    assert ("mas_job_queue_depth", frozenset({("status", "queued")})) in samples(after)
    assert ("mas_outbox_backlog", frozenset({("status", "pending")})) in samples(after)
    assert value(after, "mas_fact_up", fact="outbox_messages") == 1
    # the pool and the caches
    assert value(after, "mas_db_pool_size") >= 1
    assert ("mas_db_pool_checked_out", frozenset()) in samples(after)
    assert ("mas_db_pool_overflow", frozenset()) in samples(after)
    assert delta("mas_cache_misses_total", cache="auth:user") >= 1
    assert delta("mas_cache_hits_total", cache="auth:user") >= 1


async def test_a_scrape_needs_the_token(metered: Any) -> None:
    async with http_client(metered) as client:
        missing = await client.get("/metrics")
        wrong = await client.get("/metrics", headers={"Authorization": "Bearer nope"})
        basic = await client.get("/metrics", headers={"Authorization": f"Basic {TOKEN}"})
    for refused in (missing, wrong, basic):
        assert refused.status_code == 401
        assert refused.headers["content-type"].startswith("application/problem+json")
        assert refused.json()["code"] == "metrics_token_refused"
        assert "mas_http_requests_total" not in refused.text


async def test_without_a_token_metrics_are_off(sqlite_container: Any) -> None:
    async with http_client(sqlite_container) as client:
        response = await client.get("/metrics", headers={"Authorization": "Bearer "})
    assert response.status_code == 404
    assert response.json()["code"] == "metrics_off"


def test_the_document_names_the_credential_and_the_refusals() -> None:
    from tests.http.conftest import described_app

    document = described_app().openapi_schema.to_schema()
    operation = document["paths"]["/metrics"]["get"]
    assert operation["security"] == [{"metricsToken": []}]
    assert sorted(operation["x-rules"]) == ["metrics_off", "metrics_token_refused"]
    assert {"401", "404"} <= set(operation["responses"])
    assert document["components"]["securitySchemes"]["metricsToken"]["scheme"] == "bearer"


async def test_a_fact_that_fails_is_reported_not_a_500() -> None:
    # Nothing listens on port 1: each fact's query fails at once.
    engine = create_async_engine("postgresql+asyncpg://nobody@127.0.0.1:1/none")
    try:
        body = (await scrape(engine, fact_timeout_s=2.0)).decode()
    finally:
        await engine.dispose()
    assert value(body, "mas_fact_up", fact="outbox_messages") == 0
    assert value(body, "mas_fact_up", fact="job_runs") == 0
    assert "# mas_fact_up{fact='job_runs'} 0:" in body
    assert "mas_job_dead_letters" not in body  # not guessed
    assert "# TYPE mas_http_requests_total counter" in body  # the rest still answers
