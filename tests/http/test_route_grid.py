"""The route grid, generated from the app's routes and the policy table.

Every route must name a policy (or be public); for each guarded route: anonymous → 401, every
role the policy refuses → 403, every role it admits gets past the guard. A write authenticated
by a cookie alone is 401. For every route a SALES_HEAD may use that names a page, on
``/api/crm`` and ``/api/sales/crm`` alike: a head without the page key → 403 ``page_forbidden``,
without the route's profile flag → 403 ``page_disabled``, with only that key and that flag →
past the guard and the service (so the two never ask for different flags).
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from litestar.enums import RequestEncodingType
from litestar.testing import AsyncTestClient

from mas.core.crm.assignment_model import PAGE_FLAGS
from mas.core.crm.pages import SALES_HEAD_PAGES, flag_of
from mas.core.identity.policy import Platform, Role
from mas.modules import roles_passing
from tests.http.conftest import Auth, described_app, http_client

GUARD_CODES = {401, 403}


def takes_body(handler: Any) -> bool:
    """A JSON body (a multipart upload answers a JSON body with 400: it is not a form)."""
    data = handler.parsed_fn_signature.parameters.get("data")
    media = getattr(getattr(data, "kwarg_definition", None), "media_type", RequestEncodingType.JSON)
    return data is not None and media == RequestEncodingType.JSON


BODY_ROUTES: set[tuple[str, str]] = set()
PAGES: dict[tuple[str, str], tuple[str, str | None]] = {}
"""(method, path) → (page, profile flag) of every route that names a page."""


def guarded_routes() -> list[tuple[str, str, str]]:
    app = described_app()
    found = []
    for route in app.routes:
        for handler in route.route_handlers:
            methods = sorted(getattr(handler, "http_methods", []) or [])
            for method in methods:
                if method in ("HEAD", "OPTIONS"):
                    continue
                if handler.opt.get("public") or handler.opt.get("vendor_scope"):
                    continue
                policy = handler.opt.get("policy")
                assert policy, f"{method} {route.path} has no policy: add opt={{'policy': ...}}"
                found.append((method, route.path, policy))
                if takes_body(handler):
                    BODY_ROUTES.add((method, route.path))
                if handler.opt.get("page"):
                    page = handler.opt["page"]
                    PAGES[(method, route.path)] = (page, flag_of(page, handler.opt.get("flag")))
    return found


@pytest.fixture(scope="module")
async def grid(
    sqlite_template: Any, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[tuple[AsyncTestClient[Any], Any]]:
    """One app and one account per role for the whole grid."""
    import shutil

    from mas.core.identity.model import AuthMethod
    from tests.conftest import make_settings, open_container
    from tests.http.conftest import add_user

    folder = tmp_path_factory.mktemp("grid")
    shutil.copyfile(sqlite_template, folder / "mas.db")
    c = await open_container(make_settings(f"sqlite+aiosqlite:///{folder / 'mas.db'}", folder))
    users = {role: await add_user(c, role) for role in Role}
    await open_every_page(c, users[Role.SALES_HEAD])

    async def headers(
        role: Role = Role.ADMIN, platform: Platform = Platform.MY_ANALYTICS_SCHOOL
    ) -> dict[str, str]:
        # Re-read the account: a grid request such as logout-all bumps its token version.
        current = await c.identity.accounts.get(users[role].id)
        token = c.identity.issuer.access_token(current, platform, AuthMethod.PASSWORD, None)
        return {"Authorization": f"Bearer {token}", "X-Platform": platform.value}

    async with http_client(c) as client:
        yield client, headers
    await c.close()


async def open_every_page(c: Any, head: Any) -> None:
    """The grid checks roles, not pages: its sales head has every page permission and a CRM
    profile with every flag on (a page switched off is a 403 of its own, tested elsewhere)."""
    from mas.core.crm.assignment_model import PAGE_FLAGS, SalesHeadProfile
    from mas.core.crm.pages import SALES_HEAD_PAGES

    now = c.clock.now()
    async with c.uow() as uow:
        await uow.users.set_permissions(head.id, sorted(SALES_HEAD_PAGES), head.id)
        if await uow.head_profiles.get(head.id) is None:
            await uow.head_profiles.add(
                SalesHeadProfile(
                    user_id=head.id,
                    display_name="Grid head",
                    created_at=now,
                    updated_at=now,
                    page_flags=dict.fromkeys(PAGE_FLAGS, True),
                )
            )
        await uow.commit()


def concrete(path: str) -> str:
    path = re.sub(r"\{[^}:]+:int\}", "1", path)
    return re.sub(r"\{[^}:]+:uuid\}", "0190f000-0000-7000-8000-000000000001", path)


ROUTES = guarded_routes()


def test_every_route_is_classified() -> None:
    assert ROUTES, "no guarded routes found"


@pytest.mark.parametrize(("method", "path", "policy"), ROUTES)
async def test_anonymous_is_401(grid: Any, method: str, path: str, policy: str) -> None:
    client, _ = grid
    response = await client.request(method, concrete(path), json={})
    assert response.status_code == 401, response.text


@pytest.mark.parametrize(("method", "path", "policy"), ROUTES)
async def test_roles_follow_the_policy(grid: Any, method: str, path: str, policy: str) -> None:
    client, auth = grid
    admitted = roles_passing(policy)
    for role in Role:
        response = await client.request(method, concrete(path), json={}, headers=await auth(role))
        if role in admitted:
            assert response.status_code not in GUARD_CODES, (role, response.text)
        else:
            assert response.status_code == 403, (role, response.text)
            assert response.json()["code"] == "role_forbidden"


async def test_mr_hire_needs_an_mr_hire_token(client: AsyncTestClient[Any], auth: Auth) -> None:
    headers = auth(Role.ADMIN, Platform.MY_ANALYTICS_SCHOOL)
    headers["X-Platform"] = Platform.MR_HIRE.value
    response = await client.get("/api/admin/jobs", headers=headers)
    assert response.status_code == 403
    assert response.json()["code"] == "platform_forbidden"
    assert (
        await client.get("/api/admin/jobs", headers=auth(Role.ADMIN, Platform.MR_HIRE))
    ).status_code == 200


ID_ROUTES = [(m, p, pol) for m, p, pol in ROUTES if ":uuid}" in p and (m, p) not in BODY_ROUTES]
BODY = [(m, p, pol) for m, p, pol in ROUTES if (m, p) in BODY_ROUTES]


def admitted_role(policy: str) -> Role:
    admitted = roles_passing(policy)
    return Role.ADMIN if Role.ADMIN in admitted else sorted(admitted)[0]


@pytest.mark.parametrize(("method", "path", "policy"), ID_ROUTES)
async def test_a_missing_resource_is_404(grid: Any, method: str, path: str, policy: str) -> None:
    client, auth = grid
    response = await client.request(
        method, concrete(path), headers=await auth(admitted_role(policy))
    )
    assert response.status_code == 404, response.text
    assert response.headers["content-type"].startswith("application/problem+json")


@pytest.mark.parametrize(("method", "path", "policy"), BODY)
async def test_a_bad_body_is_422_naming_the_field(
    grid: Any, method: str, path: str, policy: str
) -> None:
    client, auth = grid
    response = await client.request(
        method, concrete(path), json={"__bogus__": 1}, headers=await auth(admitted_role(policy))
    )
    assert response.status_code == 422, response.text
    fields = [error["field"] for error in response.json()["errors"]]
    assert fields and all(field != "body" for field in fields), fields


# --- cookies: reads only ------------------------------------------------------------------------

SAFE = {"GET", "HEAD", "OPTIONS"}
UNSAFE_ROUTES = [(m, p, pol) for m, p, pol in ROUTES if m not in SAFE]


async def cookie_of(auth: Any, role: Role) -> dict[str, str]:
    token = (await auth(role))["Authorization"].split()[1]
    return {"Cookie": f"token={token}", "X-Platform": Platform.MY_ANALYTICS_SCHOOL.value}


@pytest.mark.parametrize(("method", "path", "policy"), UNSAFE_ROUTES)
async def test_a_write_authenticated_by_a_cookie_alone_is_401(
    grid: Any, method: str, path: str, policy: str
) -> None:
    """A cross-site form POST carries the cookie but cannot set the Authorization header."""
    client, auth = grid
    response = await client.request(
        method, concrete(path), json={}, headers=await cookie_of(auth, admitted_role(policy))
    )
    assert response.status_code == 401, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["code"] == "cookie_auth_unsafe"


async def test_a_cookie_still_authenticates_reads(grid: Any) -> None:
    client, auth = grid
    for name in ("token", "authToken"):
        headers = await cookie_of(auth, Role.ADMIN)
        headers["Cookie"] = headers["Cookie"].replace("token=", f"{name}=", 1)
        response = await client.get("/api/crm/leads", headers=headers)
        assert response.status_code == 200, response.text


# --- pages and flags: one declaration, both route families -------------------------------------

HEAD_ROUTES = [
    (m, p, pol) for m, p, pol in ROUTES if Role.SALES_HEAD in roles_passing(pol) and (m, p) in PAGES
]
HeadHeaders = Callable[[frozenset[str], frozenset[str]], Awaitable[dict[str, str]]]


def test_every_crm_route_a_head_may_use_names_a_page() -> None:
    """No side door: a route family without pages would let a head past a removed page."""
    ungated = [
        (m, p)
        for m, p, pol in ROUTES
        if p.startswith(("/api/crm", "/api/sales/crm"))
        and Role.SALES_HEAD in roles_passing(pol)
        and (m, p) not in PAGES
    ]
    assert not ungated, ungated
    families = {p.split("/")[2] for _, p, _ in HEAD_ROUTES}
    assert families == {"crm", "sales"}, families


@pytest.fixture(scope="module")
async def head_with(grid: Any) -> HeadHeaders:
    """Headers of a sales head holding exactly these page keys and these profile flags (one
    account per combination, made on first use)."""
    from mas.core.crm.assignment_model import SalesHeadProfile
    from mas.core.identity.model import AuthMethod
    from tests.http.conftest import add_user

    client, _ = grid
    c = client.app.state.container
    made: dict[tuple[frozenset[str], frozenset[str]], Any] = {}

    async def headers(pages: frozenset[str], flags: frozenset[str]) -> dict[str, str]:
        if (pages, flags) not in made:
            head = await add_user(c, Role.SALES_HEAD)
            now = c.clock.now()
            async with c.uow() as uow:
                await uow.users.set_permissions(head.id, sorted(pages), head.id)
                await uow.head_profiles.add(
                    SalesHeadProfile(
                        user_id=head.id,
                        display_name="Probe",
                        created_at=now,
                        updated_at=now,
                        page_flags={f: f in flags for f in PAGE_FLAGS},
                    )
                )
                await uow.commit()
            made[(pages, flags)] = head
        current = await c.identity.accounts.get(made[(pages, flags)].id)
        token = c.identity.issuer.access_token(
            current, Platform.MY_ANALYTICS_SCHOOL, AuthMethod.PASSWORD, None
        )
        return {"Authorization": f"Bearer {token}"}

    return headers


@pytest.mark.parametrize(("method", "path", "policy"), HEAD_ROUTES)
async def test_a_head_needs_the_routes_page_and_flag(
    grid: Any, head_with: HeadHeaders, method: str, path: str, policy: str
) -> None:
    client, auth = grid
    page, flag = PAGES[(method, path)]
    every_flag = frozenset(PAGE_FLAGS)

    async def ask(headers: dict[str, str]) -> Any:
        return await client.request(method, concrete(path), json={}, headers=headers)

    no_page = await ask(await head_with(SALES_HEAD_PAGES - {page}, every_flag))
    assert no_page.status_code == 403, no_page.text
    assert no_page.json()["code"] == "page_forbidden"
    if flag is not None:
        no_flag = await ask(await head_with(SALES_HEAD_PAGES, every_flag - {flag}))
        assert no_flag.status_code == 403, no_flag.text
        assert no_flag.json()["code"] == "page_disabled"
    flags = frozenset() if flag is None else frozenset({flag})
    just_enough = await ask(await head_with(frozenset({page}), flags))
    assert just_enough.status_code not in GUARD_CODES, just_enough.text
    if Role.SALES in roles_passing(policy):
        sales = await ask(await auth(Role.SALES))  # no page keys, no profile: not gated
        assert sales.status_code not in GUARD_CODES, sales.text
