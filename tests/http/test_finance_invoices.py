"""GST invoices and masters through the HTTP API (payments-finance.md §5, §8, §9 checks 1, 4, 5,
16): what FINANCE sees at each step, the refusals a client must handle, and the payer's PDF."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from mas.core.finance.invoicing.gstin import check_character
from mas.core.identity.model import AuthMethod, User
from mas.core.identity.policy import Platform, Role
from tests.conftest import make_settings, open_container
from tests.finance_invoicing_support import add_payment
from tests.http.conftest import Auth, add_user, http_client
from tests.support import eventually

SUPPLIER = "29AAGCB7383J1Z4"
NUMBER = re.compile(r"^MAS/[0-9]{2}-[0-9]{2}/000001$")


def gstin_for(state: str) -> str:
    base = f"{state}AAGCB7383J1Z"
    return base + check_character(base)


@pytest.fixture
async def sqlite_container(sqlite_url: str, tmp_path: Path) -> AsyncIterator[Any]:
    """The shared HTTP fixtures' container, with a supplier GSTIN: invoicing is configured."""
    c = await open_container(make_settings(sqlite_url, tmp_path, supplier_gstin=SUPPLIER))
    yield c
    await c.close()


def edit_body(**over: Any) -> dict[str, Any]:
    body = {
        "customer_name": "Asha Rao",
        "customer_email": "asha@example.com",
        "billing_address": "12 MG Road, Pune",
        "customer_gstin": gstin_for("27"),
        "customer_state_code": "27",
    }
    body.update(over)
    return body


async def test_draft_edit_issue_pdf_mail_cancel(
    client: AsyncTestClient[Any], auth: Auth, sqlite_container: Any
) -> None:
    payer = await add_user(sqlite_container, Role.USER)
    paid = await add_payment(sqlite_container, user_id=payer.id)
    finance = auth(Role.FINANCE)

    drafted = await client.post(f"/api/finance/payments/{paid.id}/invoice", headers=finance)
    assert drafted.status_code == 201, drafted.text
    draft = drafted.json()
    # Prefilled: no customer state yet, so intra-state in the supplier's Karnataka (check 1).
    assert (draft["status"], draft["tax_regime"]) == ("DRAFT", "INTRA_SGST")
    assert (draft["cgst_paise"], draft["sgst_paise"], draft["taxable_value_paise"]) == (
        2669,
        2670,
        29661,
    )
    again = await client.post(f"/api/finance/payments/{paid.id}/invoice", headers=finance)
    assert (again.status_code, again.json()["code"]) == (409, "invoice_exists")

    url = f"/api/finance/invoices/{draft['id']}"
    wrong = await client.put(url, json=edit_body(customer_gstin=gstin_for("29")), headers=finance)
    assert wrong.status_code == 422
    assert {e["field"] for e in wrong.json()["errors"]} == {"customer_gstin"}
    junk = await client.put(url, json=edit_body(customer_email="asha@localhost"), headers=finance)
    assert (junk.status_code, junk.json()["code"]) == (422, "invalid_email")
    assert (await client.get(url, headers=finance)).json() == draft  # unchanged

    edited = await client.put(url, json=edit_body(), headers=finance)
    assert edited.status_code == 200, edited.text
    # Maharashtra: inter-state, all IGST (check 2).
    assert (edited.json()["tax_regime"], edited.json()["igst_paise"]) == ("INTER_IGST", 5339)

    early = await client.get(f"{url}/pdf", headers=finance)
    assert (early.status_code, early.json()["code"]) == (409, "pdf_not_ready")

    issued = await client.post(f"{url}/issue", headers=finance)
    assert issued.status_code == 200, issued.text
    assert NUMBER.match(issued.json()["invoice_number"])
    frozen = await client.put(url, json=edit_body(customer_name="Someone Else"), headers=finance)
    assert (frozen.status_code, frozen.json()["code"]) == (409, "invoice_not_draft")
    trail = await client.get(
        "/api/finance/audit", params={"entityId": draft["id"]}, headers=finance
    )
    assert "UPDATED" in [row["action"] for row in trail.json()["items"]]
    assert [r["action"] for r in trail.json()["items"]].count("UPDATED") == 1

    async def pdf_ready() -> Any:
        answer = await client.get(f"{url}/pdf", headers=finance)
        return answer if answer.status_code == 200 else None

    link = (await eventually(pdf_ready, what="the PDF rendered")).json()
    assert link["invoice_number"] == issued.json()["invoice_number"] and link["url"]
    own = await client.get(f"/api/invoices/{draft['id']}/pdf", headers=auth(user=payer))
    assert own.status_code == 200, own.text
    foreign = await client.get(f"/api/invoices/{draft['id']}/pdf", headers=auth(Role.USER))
    assert foreign.status_code == 404

    resent = await client.post(f"{url}/email", headers=finance)
    assert resent.status_code == 200 and resent.json()["emailed_at"] is not None

    assert (await client.post(f"{url}/void", headers=finance)).status_code == 409
    bad = await client.post(f"{url}/cancel", json={"reason": ""}, headers=finance)
    assert bad.status_code == 422
    cancelled = await client.post(f"{url}/cancel", json={"reason": "billed twice"}, headers=finance)
    assert cancelled.status_code == 200
    assert (cancelled.json()["status"], cancelled.json()["invoice_number"]) == (
        "CANCELLED",
        issued.json()["invoice_number"],
    )
    listed = await client.get(
        "/api/finance/invoices", params={"status": "CANCELLED"}, headers=auth(Role.ADMIN)
    )
    assert [i["id"] for i in listed.json()["items"]] == [draft["id"]]


async def test_a_voided_draft_uses_no_number(
    client: AsyncTestClient[Any], auth: Auth, sqlite_container: Any
) -> None:
    finance = auth(Role.FINANCE)
    ids = []
    for _ in range(2):
        paid = await add_payment(sqlite_container)
        ids.append(
            (await client.post(f"/api/finance/payments/{paid.id}/invoice", headers=finance)).json()[
                "id"
            ]
        )
    voided = await client.post(f"/api/finance/invoices/{ids[0]}/void", headers=finance)
    assert (voided.status_code, voided.json()["status"]) == (200, "VOID")
    issued = await client.post(f"/api/finance/invoices/{ids[1]}/issue", headers=finance)
    assert NUMBER.match(issued.json()["invoice_number"])
    refused = await client.post(f"/api/finance/invoices/{ids[0]}/issue", headers=finance)
    assert (refused.status_code, refused.json()["code"]) == (409, "illegal_transition")


async def test_gst_masters(client: AsyncTestClient[Any], auth: Auth) -> None:
    finance = auth(Role.FINANCE)
    rates = (await client.get("/api/finance/gst/hsn-sac", headers=finance)).json()["items"]
    assert [(r["code"], r["gst_rate_bp"]) for r in rates] == [("999293", 1800)]
    body = {
        "code": "999293",
        "description": "x",
        "gst_rate_bp": 500,
        "effective_from": "2026-01-01",
    }
    overlap = await client.post("/api/finance/gst/hsn-sac", json=body, headers=finance)
    assert (overlap.status_code, overlap.json()["code"]) == (409, "overlapping_period")
    odd = await client.post(
        "/api/finance/gst/hsn-sac",
        json={**body, "code": "998431", "gst_rate_bp": 1000},
        headers=finance,
    )
    assert (odd.status_code, odd.json()["code"]) == (422, "rate_not_allowed")
    closed = await client.put(
        "/api/finance/gst/hsn-sac",
        json={"id": rates[0]["id"], "effective_to": "2025-12-31"},
        headers=finance,
    )
    assert (closed.status_code, closed.json()["effective_to"]) == (200, "2025-12-31")
    added = await client.post("/api/finance/gst/hsn-sac", json=body, headers=finance)
    assert added.status_code == 201
    states = (
        await client.get("/api/finance/gst/state-codes", params={"page_size": 100}, headers=finance)
    ).json()["items"]
    assert {s["code"]: s["uses_utgst"] for s in states}["04"] is True
    flagged = await client.put(
        "/api/finance/gst/state-codes/07", json={"name": "NCT of Delhi"}, headers=finance
    )
    assert flagged.json() == {
        "code": "07",
        "name": "NCT of Delhi",
        "is_union_territory": True,
        "uses_utgst": False,
    }
    missing = await client.put(
        "/api/finance/gst/state-codes/99", json={"uses_utgst": True}, headers=finance
    )
    assert missing.status_code == 404


@pytest.mark.parametrize(
    "role", [r for r in Role if r not in (Role.FINANCE, Role.ADMIN, Role.SUPERADMIN)]
)
async def test_only_finance_and_admins_reach_the_invoice_routes(
    client: AsyncTestClient[Any], auth: Auth, role: Role
) -> None:
    for method, path in [
        ("GET", "/api/finance/invoices"),
        ("GET", "/api/finance/gst/hsn-sac"),
        ("GET", "/api/finance/gst/state-codes"),
        ("POST", "/api/finance/payments/0190a000-0000-7000-8000-000000000001/invoice"),
    ]:
        answer = await client.request(method, path, headers=auth(role))
        assert answer.status_code == 403, (role, method, path)


async def test_without_a_supplier_gstin_drafting_is_503(
    sqlite_url: str, tmp_path: Path, accounts: dict[Role, User]
) -> None:
    """The same database, a server without ``MAS_SUPPLIER_GSTIN``."""
    bare = await open_container(make_settings(sqlite_url, tmp_path / "bare"))
    try:
        paid = await add_payment(bare)
        token = bare.identity.issuer.access_token(
            accounts[Role.FINANCE], Platform.MY_ANALYTICS_SCHOOL, AuthMethod.PASSWORD, None
        )
        headers = {
            "Authorization": f"Bearer {token}",
            "X-Platform": Platform.MY_ANALYTICS_SCHOOL.value,
        }
        async with http_client(bare, raise_server_exceptions=True) as client:
            answer = await client.post(f"/api/finance/payments/{paid.id}/invoice", headers=headers)
        assert (answer.status_code, answer.json()["code"]) == (503, "integration_not_configured")
    finally:
        await bare.close()
