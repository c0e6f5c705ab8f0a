"""The route grid, generated from the app's routes and the policy table.

Every route must name a policy (or be public); for each guarded route: anonymous → 401, every
role the policy refuses → 403, every role it admits gets past the guard.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from mas.core.identity.policy import Platform, Role, roles_passing
from mas.http.app import create_app
from tests.http.conftest import Auth

GUARD_CODES = {401, 403}


def guarded_routes() -> list[tuple[str, str, str]]:
    app = create_app()
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
    return found


def concrete(path: str) -> str:
    return re.sub(r"\{[^}:]+:uuid\}", "0190f000-0000-7000-8000-000000000001", path)


ROUTES = guarded_routes()


def test_every_route_is_classified() -> None:
    assert ROUTES, "no guarded routes found"


@pytest.mark.parametrize(("method", "path", "policy"), ROUTES)
async def test_anonymous_is_401(
    client: AsyncTestClient[Any], method: str, path: str, policy: str
) -> None:
    response = await client.request(method, concrete(path), json={})
    assert response.status_code == 401, response.text


@pytest.mark.parametrize(("method", "path", "policy"), ROUTES)
async def test_roles_follow_the_policy(
    client: AsyncTestClient[Any], auth: Auth, method: str, path: str, policy: str
) -> None:
    admitted = roles_passing(policy)
    for role in Role:
        response = await client.request(method, concrete(path), json={}, headers=auth(role))
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
