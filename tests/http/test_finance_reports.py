"""Finance reports, exports and the team through the whole app (payments-finance.md §5, §8,
§9 checks 10, 13 and 14): every route refuses every role but FINANCE and the administrators
(team writes: administrators only), bad months and periods are 422, an export is READY behind
a 202, seen by its requester and admins only, never echoes its password and is 410 once
expired."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import update

from mas.adapters.db.finance.exports_tables import finance_exports
from mas.core.identity.model import User
from mas.core.identity.policy import Role
from tests.finance_reports_world import seed
from tests.http.conftest import Auth, add_user

FINANCE_READERS = {Role.FINANCE, Role.ADMIN, Role.SUPERADMIN}
ADMINS = {Role.ADMIN, Role.SUPERADMIN}
PASSWORD = "quarterly close 2026"
EXPORT = {"kind": "PAYMENTS", "from": "2026-03-01", "to": "2026-03-31", "password": PASSWORD}
SOME_ID = "01a243d6-92e4-7fce-8d68-328139117449"
ROUTES: list[tuple[str, str, set[Role]]] = [
    ("GET", "/api/finance/reports/gstr1?month=2026-03", FINANCE_READERS),
    ("GET", "/api/finance/reports/revenue?from=2026-03-01&to=2026-03-31", FINANCE_READERS),
    ("GET", "/api/finance/dashboard", FINANCE_READERS),
    ("GET", "/api/finance/exports", FINANCE_READERS),
    ("POST", "/api/finance/exports", FINANCE_READERS),
    ("GET", f"/api/finance/exports/{SOME_ID}", FINANCE_READERS),
    ("GET", "/api/finance/team", FINANCE_READERS),
    ("POST", "/api/finance/team", ADMINS),
    ("DELETE", f"/api/finance/team/{SOME_ID}", ADMINS),
]


@pytest.fixture
async def books(sqlite_container: Any) -> Any:
    await seed(sqlite_container)
    return sqlite_container


async def call(
    client: AsyncTestClient[Any], method: str, url: str, headers: dict[str, str], body: Any = None
) -> Any:
    if method == "POST":
        return await client.post(url, headers=headers, json=body if body is not None else {})
    return await client.request(method, url, headers=headers)


@pytest.mark.parametrize(("method", "url", "admitted"), ROUTES)
async def test_only_finance_and_admins_pass(
    client: AsyncTestClient[Any], auth: Auth, method: str, url: str, admitted: set[Role]
) -> None:
    anonymous = await call(client, method, url, {"X-Platform": "my-analytics-school"})
    assert anonymous.status_code == 401
    for role in Role:
        answer = await call(client, method, url, auth(role))
        if role in admitted:
            assert answer.status_code not in (401, 403), (role, answer.text)
        else:
            assert answer.status_code == 403, (role, answer.text)


async def test_gstr1_of_a_month(client: AsyncTestClient[Any], auth: Auth, books: Any) -> None:
    answer = await client.get(
        "/api/finance/reports/gstr1?month=2026-03", headers=auth(Role.FINANCE)
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["totals"]["total_paise"] == 82980
    assert [b["invoice_number"] for b in body["b2b"]] == ["MAS/25-26/000010"]
    assert len(body["b2cs"]) == 3


@pytest.mark.parametrize("month", ["2026-13", "2026-3", "26-03", "2026-03-01", "1999-12"])
async def test_a_bad_month_is_422(client: AsyncTestClient[Any], auth: Auth, month: str) -> None:
    answer = await client.get(f"/api/finance/reports/gstr1?month={month}", headers=auth())
    assert answer.status_code == 422, answer.text


async def test_revenue_and_its_bad_ranges(
    client: AsyncTestClient[Any], auth: Auth, books: Any
) -> None:
    url = "/api/finance/reports/revenue?from=2026-03-01&to=2026-03-31&groupBy=source"
    answer = await client.get(url, headers=auth(Role.FINANCE))
    assert answer.status_code == 200, answer.text
    assert answer.json()["totals"] | {"key": ""} == {
        "key": "", "payments": 2, "gross_paise": 46800, "refunds_paise": 11800,
        "tax_paise": 5339, "net_paise": 29661,
    }  # fmt: skip
    for query in ("from=2026-03-31&to=2026-03-01", "from=2025-01-01&to=2026-03-01"):
        refused = await client.get(f"/api/finance/reports/revenue?{query}", headers=auth())
        assert (refused.status_code, refused.json()["code"]) == (422, "bad_range")
    dashboard = await client.get("/api/finance/dashboard", headers=auth(Role.FINANCE))
    assert dashboard.status_code == 200 and dashboard.json()["draft_invoices"] == 1


async def test_an_export_behind_a_202_for_its_requester_and_admins(
    client: AsyncTestClient[Any], auth: Auth, books: Any, accounts: dict[Role, User]
) -> None:
    short = await client.post(
        "/api/finance/exports", headers=auth(Role.FINANCE), json={**EXPORT, "password": "short pw"}
    )
    assert short.status_code == 422 and "short pw" not in short.text
    made = await client.post("/api/finance/exports", headers=auth(Role.FINANCE), json=EXPORT)
    assert made.status_code == 202, made.text
    assert PASSWORD not in made.text and "password" not in made.text
    export_id = made.json()["id"]
    mine = await client.get(f"/api/finance/exports/{export_id}", headers=auth(Role.FINANCE))
    assert mine.status_code == 200, mine.text
    assert (mine.json()["status"], mine.json()["row_count"]) == ("READY", 3)
    assert mine.json()["download_url"]
    colleague = await add_user(books, Role.FINANCE)
    hidden = await client.get(f"/api/finance/exports/{export_id}", headers=auth(user=colleague))
    assert hidden.status_code == 404
    admin = await client.get(f"/api/finance/exports/{export_id}", headers=auth(Role.ADMIN))
    assert admin.status_code == 200 and admin.json()["download_count"] == 2
    listed = await client.get("/api/finance/exports", headers=auth(user=colleague))
    assert listed.json()["total"] == 0

    async with books.uow() as uow:
        await uow.session.execute(
            update(finance_exports)
            .where(finance_exports.c.id == uuid.UUID(export_id))
            .values(expires_at=books.clock.now() - timedelta(seconds=1))
        )
        await uow.commit()
    gone = await client.get(f"/api/finance/exports/{export_id}", headers=auth(Role.FINANCE))
    assert (gone.status_code, gone.json()["code"]) == (410, "export_expired")


async def test_an_export_period_is_checked(client: AsyncTestClient[Any], auth: Auth) -> None:
    backwards = {**EXPORT, "from": "2026-04-01"}
    answer = await client.post("/api/finance/exports", headers=auth(Role.FINANCE), json=backwards)
    assert (answer.status_code, answer.json()["code"]) == (422, "bad_range")
    unknown = await client.post(
        "/api/finance/exports", headers=auth(Role.FINANCE), json={**EXPORT, "kind": "SALARIES"}
    )
    assert unknown.status_code == 422


async def test_admins_manage_the_finance_team(
    client: AsyncTestClient[Any], auth: Auth, accounts: dict[Role, User]
) -> None:
    body = {"email": "ledger@example.com", "full_name": "Ledger Keeper"}
    added = await client.post("/api/finance/team", headers=auth(Role.ADMIN), json=body)
    assert added.status_code == 201, added.text
    member = added.json()
    assert (member["role"], member["email"]) == ("FINANCE", "ledger@example.com")
    again = await client.post("/api/finance/team", headers=auth(Role.ADMIN), json=body)
    assert (again.status_code, again.json()["code"]) == (409, "email_taken")
    team = await client.get("/api/finance/team", headers=auth(Role.FINANCE))
    emails = {m["email"] for m in team.json()["items"]}
    assert {"ledger@example.com", accounts[Role.FINANCE].email} <= emails
    removed = await client.delete(f"/api/finance/team/{member['id']}", headers=auth(Role.ADMIN))
    assert (removed.status_code, removed.json()["role"]) == (200, "USER")
    twice = await client.delete(f"/api/finance/team/{member['id']}", headers=auth(Role.ADMIN))
    assert twice.status_code == 404
    student = accounts[Role.USER].id
    not_finance = await client.delete(f"/api/finance/team/{student}", headers=auth(Role.ADMIN))
    assert not_finance.status_code == 404
    team = await client.get("/api/finance/team", headers=auth(Role.ADMIN))
    assert "ledger@example.com" not in {m["email"] for m in team.json()["items"]}
