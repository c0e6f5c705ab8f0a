"""Every error is problem+json with a stable code and the request id; nothing leaks."""

from __future__ import annotations

from typing import Any

from litestar.testing import AsyncTestClient
from sqlalchemy.ext.asyncio import create_async_engine

from mas.core.identity.policy import Role
from tests.http.conftest import Auth

PROBLEM = "application/problem+json"


def assert_problem(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith(PROBLEM)
    body = response.json()
    assert body["status"] == status
    assert body["code"] == code
    assert body["title"] and body["detail"] and body["type"]
    assert body["request_id"] == response.headers["x-request-id"]
    return body


async def test_unknown_route_is_404(client: AsyncTestClient[Any]) -> None:
    body = assert_problem(await client.get("/api/nothing-here"), 404, "not_found")
    assert "/api/nothing-here" in body["detail"]


async def test_wrong_method_is_405(client: AsyncTestClient[Any]) -> None:
    assert_problem(await client.delete("/health"), 405, "method_not_allowed")


async def test_malformed_json_is_400(auth: Auth, client: AsyncTestClient[Any]) -> None:
    response = await client.post(
        "/api/admin/jobs",
        content=b'{"task": "platform.noop",',
        headers={**auth(Role.ADMIN), "content-type": "application/json"},
    )
    assert_problem(response, 400, "malformed_body")


async def test_invalid_field_is_422_naming_the_field(
    auth: Auth, client: AsyncTestClient[Any]
) -> None:
    response = await client.post(
        "/api/admin/jobs", json={"task": "platform.noop", "delay_s": -5}, headers=auth(Role.ADMIN)
    )
    body = assert_problem(response, 422, "validation_failed")
    assert any("delay_s" in error["field"] for error in body["errors"]), body


async def test_missing_field_is_422_naming_the_field(
    auth: Auth, client: AsyncTestClient[Any]
) -> None:
    response = await client.post("/api/admin/jobs", json={}, headers=auth(Role.ADMIN))
    body = assert_problem(response, 422, "validation_failed")
    assert any("task" in error["field"] for error in body["errors"]), body


async def test_bad_query_parameter_is_422(auth: Auth, client: AsyncTestClient[Any]) -> None:
    response = await client.get("/api/admin/jobs?page_size=1000", headers=auth(Role.ADMIN))
    body = assert_problem(response, 422, "validation_failed")
    assert any("page_size" in error["field"] for error in body["errors"]), body


async def test_domain_validation_names_the_field(auth: Auth, client: AsyncTestClient[Any]) -> None:
    response = await client.post(
        "/api/admin/jobs", json={"task": "no.such_task"}, headers=auth(Role.ADMIN)
    )
    body = assert_problem(response, 422, "validation_failed")
    assert body["errors"][0]["field"] == "task"


async def test_crash_is_500_without_stack_trace(
    auth: Auth, client: AsyncTestClient[Any], sqlite_container: Any
) -> None:
    async def explode(*_args: Any, **_kwargs: Any) -> None:
        raise RuntimeError("secret internal detail /srv/mas/db.py line 12")

    sqlite_container.jobs.page = explode
    response = await client.get("/api/admin/jobs", headers=auth(Role.ADMIN))
    body = assert_problem(response, 500, "internal_error")
    assert "secret internal detail" not in response.text
    assert "Traceback" not in response.text
    assert body["request_id"]


async def test_unknown_platform_is_400(client: AsyncTestClient[Any]) -> None:
    body = assert_problem(
        await client.get("/health", headers={"X-Platform": "foo"}), 400, "unknown_platform"
    )
    assert "mr-mentor" in body["detail"]


async def test_known_platform_and_absent_header_pass(client: AsyncTestClient[Any]) -> None:
    assert (await client.get("/health", headers={"X-Platform": "mr-mentor"})).status_code == 200
    assert (await client.get("/health")).status_code == 200


async def test_request_id_is_kept_or_made(client: AsyncTestClient[Any]) -> None:
    given = await client.get("/health", headers={"X-Request-ID": "client-trace-1234"})
    assert given.headers["x-request-id"] == "client-trace-1234"
    made = await client.get("/health", headers={"X-Request-ID": "bad id with spaces"})
    assert made.headers["x-request-id"] != "bad id with spaces"
    assert len(made.headers["x-request-id"]) == 32


async def test_ready_is_503_when_the_database_is_unreachable(
    client: AsyncTestClient[Any], sqlite_container: Any
) -> None:
    assert (await client.get("/ready")).status_code == 200
    healthy = sqlite_container.engine
    sqlite_container.engine = create_async_engine("postgresql+asyncpg://postgres@127.0.0.1:9/none")
    try:
        response = await client.get("/ready")
    finally:
        await sqlite_container.engine.dispose()
        sqlite_container.engine = healthy
    assert response.status_code == 503
    assert response.json()["checks"]["database"].startswith("unreachable")
    assert (await client.get("/health")).status_code == 200


async def test_expired_and_forged_tokens_are_401(client: AsyncTestClient[Any]) -> None:
    from tests.http.conftest import make_token

    expired = make_token(Role.ADMIN, ttl_s=-10)
    response = await client.get("/api/admin/jobs", headers={"Authorization": f"Bearer {expired}"})
    assert_problem(response, 401, "token_expired")
    forged = make_token(Role.ADMIN, secret="not-the-server-secret-0123456789abcdef")
    response = await client.get("/api/admin/jobs", headers={"Authorization": f"Bearer {forged}"})
    assert_problem(response, 401, "invalid_token")


async def test_openapi_document_is_public(client: AsyncTestClient[Any]) -> None:
    response = await client.get("/schema/openapi.json")
    assert response.status_code == 200
    document = response.json()
    assert document["openapi"].startswith("3.1")
    for path, item in document["paths"].items():
        for method, operation in item.items():
            assert operation.get("summary"), f"{method.upper()} {path} has no summary"
    assert (await client.get("/schema")).status_code == 200


async def test_a_form_post_to_a_json_route_is_415(client: AsyncTestClient[Any]) -> None:
    response = await client.post(
        "/api/auth/login",
        content=b"email=a%40example.com&password=x",
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    body = assert_problem(response, 415, "unsupported_media_type")
    assert "application/json" in body["detail"]


async def test_a_nul_is_422_naming_the_field(auth: Auth, client: AsyncTestClient[Any]) -> None:
    response = await client.post(
        "/api/auth/login",
        content=b'{"email": "a\\u0000@example.com", "password": "x"}',
        headers={"content-type": "application/json"},
    )
    body = assert_problem(response, 422, "nul_character")
    assert [error["field"] for error in body["errors"]] == ["email"]
    response = await client.get("/api/admin/outbox?recipient=a%00b", headers=auth(Role.ADMIN))
    body = assert_problem(response, 422, "nul_character")
    assert [error["field"] for error in body["errors"]] == ["recipient"]


async def test_a_deep_body_is_400(client: AsyncTestClient[Any]) -> None:
    response = await client.post(
        "/api/auth/login",
        content=b"[" * 100_000 + b"]" * 100_000,
        headers={"content-type": "application/json"},
    )
    assert_problem(response, 400, "body_too_deep")


async def test_a_header_is_named_as_the_client_sent_it(
    auth: Auth, client: AsyncTestClient[Any]
) -> None:
    response = await client.post(
        "/api/sales/crm/leads",
        json={"name": "Asha", "phone": "9876543210"},
        headers={**auth(Role.ADMIN), "Idempotency-Key": "k" * 61},
    )
    body = assert_problem(response, 422, "validation_failed")
    assert "Idempotency-Key" in [error["field"] for error in body["errors"]], body
