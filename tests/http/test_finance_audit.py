"""The GST audit trail over HTTP: FINANCE and ADMIN read it newest first, filtered by entity."""

from __future__ import annotations

from typing import Any

from litestar.testing import AsyncTestClient

from mas.core.identity.model import User
from mas.core.identity.policy import Role
from tests.http.conftest import Auth
from tests.integration.test_finance_audit import append

Client = AsyncTestClient[Any]


async def test_finance_reads_the_trail(
    client: Client, auth: Auth, accounts: dict[Role, User], sqlite_container: Any
) -> None:
    for n in (1, 2, 3):
        await append(sqlite_container, n)
    answer = await client.get("/api/finance/audit?page_size=2", headers=auth(Role.FINANCE))
    assert answer.status_code == 200, answer.text
    page = answer.json()
    assert (page["total"], [r["seq"] for r in page["items"]]) == (3, [3, 2])
    one = await client.get("/api/finance/audit?entityType=INVOICE&entityId=inv-1", headers=auth())
    assert [r["entity_id"] for r in one.json()["items"]] == ["inv-1"]
    bad = await client.get("/api/finance/audit?entityType=NOPE", headers=auth(Role.FINANCE))
    assert bad.status_code == 400 or bad.status_code == 422
    refused = await client.get("/api/finance/audit", headers=auth(Role.SALES))
    assert refused.status_code == 403
