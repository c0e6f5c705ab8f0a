"""Lead imports and the vendor pull through HTTP (SQLite): the upload flow, its refusals as
problem+json (413, 400, 409, 422, 403, 404), and the vendor round trip."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from mas.core.crm.import_rules import MAX_UPLOAD_BYTES
from mas.core.crm.pages import SALES_HEAD_PAGES
from mas.core.identity.model import User
from mas.core.identity.policy import Role
from tests.http.conftest import Auth, add_user
from tests.integration.crm_fixtures import add_profile

PROBLEM = "application/problem+json"


@pytest.fixture
async def head(sqlite_container: Any, accounts: dict[Role, User]) -> User:
    """The SALES_HEAD account with every page and every flag of its CRM profile."""
    user = accounts[Role.SALES_HEAD]
    async with sqlite_container.uow() as uow:
        await uow.users.set_permissions(user.id, sorted(SALES_HEAD_PAGES), user.id)
        await uow.commit()
    await add_profile(sqlite_container, user.id)
    return user


def leads_csv(count: int, *, bad: int = 0) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["Student Name", "Mobile", "Mail ID"])
    for i in range(count):
        writer.writerow([f"Lead {i}", f"97{i:08d}", ""])
    for i in range(bad):
        writer.writerow([f"Nobody {i}", "", ""])
    return out.getvalue().encode()


async def upload(
    client: AsyncTestClient[Any], headers: dict[str, str], data: bytes, **fields: str
) -> Any:
    return await client.post(
        "/api/crm/imports",
        files={"file": ("leads.csv", data, "text/csv")},
        data=fields,
        headers=headers,
    )


async def test_upload_preview_map_commit_and_errors(
    client: AsyncTestClient[Any], auth: Auth, head: User
) -> None:
    headers = auth(Role.SALES_HEAD)
    response = await upload(client, headers, leads_csv(30, bad=2))
    assert response.status_code == 201, response.text
    batch = response.json()
    assert batch["status"] == "PREVIEWED" and batch["total_rows"] == 32
    assert batch["column_map"] == {"Student Name": "name", "Mobile": "phone"}
    assert len(batch["preview"]) == 20 and batch["target_sales_head_id"] == str(head.id)
    base = f"/api/crm/imports/{batch['id']}"

    bad_map = await client.put(
        f"{base}/mapping", json={"column_map": {"Mail ID": "salary"}}, headers=headers
    )
    assert bad_map.status_code == 422 and bad_map.headers["content-type"] == PROBLEM
    mapped = await client.put(
        f"{base}/mapping",
        json={"column_map": {"Student Name": "name", "Mobile": "phone", "Mail ID": "email"}},
        headers=headers,
    )
    assert mapped.status_code == 200 and mapped.json()["column_map"]["Mail ID"] == "email"

    committed = await client.post(f"{base}/commit", headers=headers)
    assert committed.status_code == 202, committed.text
    done = (await client.get(base, headers=headers)).json()
    assert done["status"] == "COMPLETED_WITH_ERRORS"
    assert (done["created_count"], done["rejected_count"], done["progress"]) == (30, 2, 1.0)
    late = await client.put(f"{base}/mapping", json={"column_map": {}}, headers=headers)
    assert late.status_code == 409 and late.json()["code"] == "illegal_transition"
    again = await client.post(f"{base}/commit", headers=headers)
    assert again.status_code == 409

    errors = await client.get(f"{base}/errors.csv", headers=headers)
    assert errors.status_code == 200 and errors.headers["content-type"].startswith("text/csv")
    lines = list(csv.reader(io.StringIO(errors.content.decode("utf-8-sig"))))
    assert [line[:3] for line in lines] == [
        ["row_no", "reasons", "Student Name"],
        ["31", "NO_CONTACT", "Nobody 0"],
        ["32", "NO_CONTACT", "Nobody 1"],
    ]


async def test_ten_megabytes_and_one_byte_is_413(
    client: AsyncTestClient[Any], auth: Auth, head: User
) -> None:
    line = b"Lead,9700000000,\n"
    body = b"Name,Mobile,Email\n" + line * (MAX_UPLOAD_BYTES // len(line) - 2)
    body += b"x" * (MAX_UPLOAD_BYTES + 1 - len(body))
    assert len(body) == MAX_UPLOAD_BYTES + 1
    response = await upload(client, auth(Role.SALES_HEAD), body)
    assert response.status_code == 413, response.text[:200]
    assert response.headers["content-type"] == PROBLEM
    assert response.json()["code"] == "payload_too_large"
    huge = await upload(client, auth(Role.SALES_HEAD), body + b"y" * 200_000)
    assert huge.status_code == 413 and huge.json()["code"] == "payload_too_large"


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00", "not_csv"),
        (b"Name,City\n\x81\x8d\x8f\x90\x9d\n", "bad_encoding"),
    ],
)
async def test_not_a_csv_file_is_400(
    client: AsyncTestClient[Any], auth: Auth, head: User, data: bytes, code: str
) -> None:
    response = await upload(client, auth(Role.SALES_HEAD), data)
    assert response.status_code == 400 and response.json()["code"] == code


async def test_the_same_file_twice_is_409_unless_forced(
    client: AsyncTestClient[Any], auth: Auth, head: User
) -> None:
    data = leads_csv(3)
    assert (await upload(client, auth(Role.SALES_HEAD), data)).status_code == 201
    second = await upload(client, auth(Role.SALES_HEAD), data)
    assert second.status_code == 409 and second.json()["code"] == "duplicate_file"
    forced = await upload(client, auth(Role.SALES_HEAD), data, force="true")
    assert forced.status_code == 201


async def test_pools_pages_and_visibility(
    client: AsyncTestClient[Any], auth: Auth, head: User, sqlite_container: Any
) -> None:
    other = await add_user(sqlite_container, Role.SALES_HEAD)
    elsewhere = await upload(
        client, auth(Role.SALES_HEAD), leads_csv(2), target_sales_head_id=str(other.id)
    )
    assert elsewhere.status_code == 403 and elsewhere.json()["code"] == "other_pool"
    unnamed = await upload(client, auth(Role.ADMIN), leads_csv(2))
    assert unnamed.status_code == 422
    by_admin = await upload(
        client, auth(Role.ADMIN), leads_csv(2), target_sales_head_id=str(other.id)
    )
    assert by_admin.status_code == 201
    batch_id = by_admin.json()["id"]
    hidden = await client.get(f"/api/crm/imports/{batch_id}", headers=auth(Role.SALES_HEAD))
    assert hidden.status_code == 404
    no_page = await client.get(f"/api/crm/imports/{batch_id}", headers=auth(user=other))
    assert no_page.status_code == 403 and no_page.json()["code"] == "page_forbidden"
    cancelled = await client.post(f"/api/crm/imports/{batch_id}/cancel", headers=auth(Role.ADMIN))
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "CANCELLED"
    no_errors = await client.get(f"/api/crm/imports/{batch_id}/errors.csv", headers=auth())
    assert no_errors.status_code == 404


async def test_vendor_push_assign_and_pull(
    client: AsyncTestClient[Any], auth: Auth, head: User, sqlite_container: Any
) -> None:
    created = await client.post(
        "/api/admin/vendor-keys",
        json={"vendor_name": "Shiksha", "scopes": ["leads:write"]},
        headers=auth(Role.ADMIN),
    )
    assert created.status_code == 201, created.text
    key_id, api_key = created.json()["key"]["id"], created.json()["api_key"]
    vendor = {"X-API-Key": api_key}
    leads = [
        {"external_id": "a1", "name": "Asha", "phone": "9876500001", "city": "Pune"},
        {"external_id": "a2", "name": "Asha", "phone": "098765 00001"},
        {"external_id": "a3", "name": "Nobody"},
    ]
    pushed = await client.post("/api/vendor/leads", json=leads, headers=vendor)
    assert pushed.status_code == 202, pushed.text
    assert pushed.json() == {"accepted": ["a1", "a2", "a3"], "duplicates": []}
    repeat = await client.post("/api/vendor/leads", json=leads[:1], headers=vendor)
    assert repeat.json() == {"accepted": [], "duplicates": ["a1"]}
    too_many = [{"external_id": f"x{i}", "name": "N"} for i in range(501)]
    assert (
        await client.post("/api/vendor/leads", json=too_many, headers=vendor)
    ).status_code == 422
    # The document says 1 to 500 items: an empty push is refused too, not a 202 of nothing.
    assert (await client.post("/api/vendor/leads", json=[], headers=vendor)).status_code == 422
    jwt_only = await client.post("/api/vendor/leads", json=leads, headers=auth(Role.ADMIN))
    assert jwt_only.status_code == 401

    pull = {"vendor_key_id": key_id}
    refused = await client.post(
        "/api/crm/leads/import-vendor", json=pull, headers=auth(Role.SALES_HEAD)
    )
    assert refused.status_code == 403 and refused.json()["code"] == "vendor_not_assigned"
    assigned = await client.put(
        f"/api/admin/vendor-keys/{key_id}/sales-head",
        json={"sales_head_id": str(head.id)},
        headers=auth(Role.ADMIN),
    )
    assert assigned.status_code == 200, assigned.text
    by_head = await client.put(
        f"/api/admin/vendor-keys/{key_id}/sales-head",
        json={"sales_head_id": str(head.id)},
        headers=auth(Role.SALES_HEAD),
    )
    assert by_head.status_code == 403
    pulled = await client.post(
        "/api/crm/leads/import-vendor", json=pull, headers=auth(Role.SALES_HEAD)
    )
    assert pulled.status_code == 202, pulled.text
    assert [item["vendor_key_id"] for item in pulled.json()] == [key_id]

    async with sqlite_container.engine.connect() as conn:
        from sqlalchemy import text

        statuses = (
            await conn.execute(
                text("SELECT external_id, status FROM vendor_leads ORDER BY external_id")
            )
        ).all()
    assert [tuple(s) for s in statuses] == [
        ("a1", "IMPORTED"),
        ("a2", "DUPLICATE"),
        ("a3", "REJECTED"),
    ]
