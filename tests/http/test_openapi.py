"""What ``/schema/openapi.json`` promises is true: problem responses, required ``If-Match``,
closed bodies, paged lists; the docs pages load without the internet; ``OPTIONS`` answers on
every path with every method in ``Allow``."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from html.parser import HTMLParser
from typing import Any

import msgspec
import pytest
from litestar.routes import HTTPRoute
from litestar.testing import AsyncTestClient

from mas import modules
from mas.core.identity.model import INVALID_EMAIL, SUPER_MENTOR
from mas.core.identity.policy import Role
from mas.core.platform.bounds import MAX_EMAIL
from mas.http.app import create_app
from mas.http.openapi import (
    EMAIL_RULE,
    EXTRA_PROBLEMS,
    RULES_STATUS,
    document_problems,
    takes_an_email,
)
from tests.http.conftest import Auth, described_app

PROBLEM_JSON = "application/problem+json"
METHODS = ("get", "post", "put", "patch", "delete")

# An error status whose body is not a problem, and why.
REPORTS = {("/ready", "503"): "the readiness report: which dependency is down"}
# A GET that answers a bare array, and why it is not a page.
UNPAGED_LISTS = {
    "listTasks": "the registry of task names the code declares, not stored rows",
}
# A list whose 200 is not the {items, total, page, page_size} envelope, and why.
OTHER_LIST_SHAPES = {
    "leadTimeline": "a feed: cursor pages (next_cursor), newest first",
    "myActivity": "a feed: cursor pages (next_cursor), newest first",
    "exportLeads": "a CSV stream of the whole filtered pool",
}
# The lists the issue found bare; each is a page now.
ONCE_BARE = {
    "listTags",
    "getTeam",
    "getLeaderboard",
    "myFollowUps",
    "listSessions",
    "listVendorKeys",
    "listSalesHeadProfiles",
}
# An optional If-Match, and why the server accepts a request without it.
OPTIONAL_IF_MATCH = {
    "moveMyLead": "a status change checks the version only when one is sent (crm-leads.md)",
}


@pytest.fixture(scope="module")
def app() -> Any:
    return described_app()


@pytest.fixture(scope="module")
def doc(app: Any) -> dict[str, Any]:
    return app.openapi_schema.to_schema()  # type: ignore[no-any-return]


def operations(doc: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in doc["paths"].items():
        for method in METHODS:
            if method in item:
                yield method, path, item[method]


def handlers_by_operation(app: Any) -> dict[str, tuple[Any, Any]]:
    return {
        handler.operation_id: (route, handler)
        for route in app.routes
        if isinstance(route, HTTPRoute)
        for handler in route.route_handlers
        if isinstance(handler.operation_id, str)
    }


def resolve(doc: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = doc["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
    return schema


def problem_statuses(op: dict[str, Any]) -> set[int]:
    return {
        int(status)
        for status, response in op["responses"].items()
        if PROBLEM_JSON in (response.get("content") or {})
    }


# --- problem responses ---------------------------------------------------------------------


def test_every_error_response_is_problem_json(doc: dict[str, Any]) -> None:
    wrong = []
    for method, path, op in operations(doc):
        for status, response in op["responses"].items():
            content = response.get("content") or {}
            if int(status) >= 400 and (path, status) not in REPORTS:
                schema = resolve(doc, content.get(PROBLEM_JSON, {}).get("schema", {}))
                if set(content) != {PROBLEM_JSON} or "code" not in schema.get("properties", {}):
                    wrong.append(f"{method.upper()} {path} {status}: {sorted(content)}")
    assert not wrong, wrong


def test_the_problem_schema_is_rfc_9457_with_code_and_errors(doc: dict[str, Any]) -> None:
    problem = doc["components"]["schemas"]["Problem"]
    assert {"type", "title", "status", "detail", "code"} <= set(problem["required"])
    assert "errors" in problem["properties"]


def test_every_operation_documents_the_problems_its_declaration_implies(
    app: Any, doc: dict[str, Any]
) -> None:
    found = handlers_by_operation(app)
    missing = []
    for method, path, op in operations(doc):
        route, handler = found[op["operationId"]]
        documented = problem_statuses(op)
        expected = {400, 422}  # an unknown X-Platform; a NUL in any query string
        if not handler.opt.get("public"):
            expected |= {401, 403}
        params = op.get("parameters", [])
        if any(p["in"] == "path" for p in params):
            expected.add(404)
        if "requestBody" in op:
            expected.add(413)
            if "application/json" in op["requestBody"]["content"]:
                expected.add(415)
        if any(p["in"] == "header" and p["name"] == "If-Match" for p in params):
            expected.add(409)
        expected |= EXTRA_PROBLEMS.get(op["operationId"], frozenset())
        if expected - documented:
            missing.append(f"{method.upper()} {path}: {sorted(expected - documented)}")
    assert not missing, missing


def test_no_operation_lists_only_a_bare_400(doc: dict[str, Any]) -> None:
    for method, path, op in operations(doc):
        errors = {int(s) for s in op["responses"] if int(s) >= 400}
        assert errors != {400}, f"{method.upper()} {path}"
        assert {400, 422} <= errors, f"{method.upper()} {path}"


def test_the_hand_list_names_real_operations(doc: dict[str, Any]) -> None:
    names = {op["operationId"] for _, _, op in operations(doc)}
    assert set(EXTRA_PROBLEMS) - names == set()


@pytest.mark.parametrize(
    ("operation", "status"),
    [("createTag", 409), ("login", 429), ("verifyOtp", 410), ("signup", 503), ("refresh", 401)],
)
def test_what_a_signature_cannot_show_is_documented(
    doc: dict[str, Any], operation: str, status: int
) -> None:
    op = next(op for _, _, op in operations(doc) if op["operationId"] == operation)
    assert status in problem_statuses(op)


async def test_a_duplicate_tag_answers_the_documented_409(
    client: AsyncTestClient[Any], auth: Auth, doc: dict[str, Any]
) -> None:
    body = {"name": f"hot-{uuid.uuid4().hex[:6]}"}
    assert (await client.post("/api/crm/tags", json=body, headers=auth())).status_code == 201
    again = await client.post("/api/crm/tags", json=body, headers=auth())
    assert again.status_code == 409
    assert again.headers["content-type"].startswith(PROBLEM_JSON)
    assert "409" in doc["paths"]["/api/crm/tags"]["post"]["responses"]


# --- business rules (x-rules) and credentials ----------------------------------------------


def test_declared_rules_are_listed_and_described_on_their_status(
    app: Any, doc: dict[str, Any]
) -> None:
    found = handlers_by_operation(app)
    declared = 0
    for method, path, op in operations(doc):
        _, handler = found[op["operationId"]]
        # The route's own rules, plus the one derived from an e-mail address in its body.
        rules = dict(handler.opt.get("rules") or {})
        if takes_an_email(handler):
            rules[INVALID_EMAIL] = EMAIL_RULE
        assert sorted(rules) == op.get("x-rules", []), f"{method.upper()} {path}"
        if not rules:
            continue
        declared += 1
        given = handler.opt.get("rules_status", RULES_STATUS)
        for code, line in rules.items():
            status = given.get(code, RULES_STATUS) if isinstance(given, dict) else given
            described = op["responses"][str(status)]["description"]
            assert f"`{code}`: {line}" in described, f"{method.upper()} {path} {code}"
    assert declared >= 3


def test_every_route_taking_an_email_address_declares_invalid_email(doc: dict[str, Any]) -> None:
    ruled = {
        (m.upper(), p) for m, p, op in operations(doc) if INVALID_EMAIL in op.get("x-rules", [])
    }
    assert {("POST", "/api/auth/login"), ("POST", "/api/admin/experts")} <= ruled
    assert ("POST", "/api/crm/leads") not in ruled  # a lead's e-mail is a pattern, not a rule


def test_rules_of_one_route_may_answer_different_statuses() -> None:
    from litestar import Litestar, post
    from litestar.params import JSONBody

    @post(
        "/x",
        opt={
            "policy": "authenticated",
            "rules": {"not_csv": "the file is not CSV", "too_many_rows": "at most 10 rows"},
            "rules_status": {"not_csv": 400},
        },
    )
    async def handler(data: JSONBody[dict[str, int]]) -> None:
        return None

    small = Litestar(route_handlers=[handler])
    document_problems(small)
    op = small.openapi_schema.to_schema()["paths"]["/x"]["post"]
    assert op["x-rules"] == ["not_csv", "too_many_rows"]
    assert "`not_csv`" in op["responses"]["400"]["description"]
    assert "`not_csv`" not in op["responses"]["422"]["description"]
    assert "`too_many_rows`: at most 10 rows" in op["responses"]["422"]["description"]


@pytest.mark.parametrize(
    ("operation", "status", "code"),
    [
        ("changePassword", "400", "wrong_password"),
        ("verifyOtp", "400", "otp_wrong"),
        ("resetPassword", "400", "otp_wrong"),
    ],
)
def test_identity_rules_the_schema_cannot_state(
    doc: dict[str, Any], operation: str, status: str, code: str
) -> None:
    op = next(op for _, _, op in operations(doc) if op["operationId"] == operation)
    assert code in op["x-rules"]
    assert f"`{code}`" in op["responses"][status]["description"]


async def test_a_wrong_current_password_answers_its_declared_rule(
    client: AsyncTestClient[Any], auth: Auth, doc: dict[str, Any]
) -> None:
    answer = await client.post(
        "/api/auth/change-password",
        json={"current_password": "not-the-password", "new_password": "a-new-long-password"},
        headers=auth(Role.USER),
    )
    assert answer.status_code == 400
    assert answer.json()["code"] in doc["paths"]["/api/auth/change-password"]["post"]["x-rules"]


@pytest.mark.parametrize("code", ["validation_failed", "bad_request", "nul_character"])
def test_a_rule_needs_its_own_code(code: str) -> None:
    """A generic code would excuse every refusal of its kind in the gate: refused at start."""
    from litestar import Litestar, post
    from litestar.params import JSONBody

    @post("/x", opt={"policy": "authenticated", "rules": {code: "anything"}})
    async def handler(data: JSONBody[dict[str, int]]) -> None:
        return None

    with pytest.raises(ValueError, match="its own code"):
        document_problems(Litestar(route_handlers=[handler]))


def test_credentials_are_declared_on_every_guarded_operation(app: Any, doc: dict[str, Any]) -> None:
    schemes = doc["components"]["securitySchemes"]
    assert schemes["bearer"] == {**schemes["bearer"], "type": "http", "scheme": "bearer"}
    assert schemes["vendorKey"] == {
        **schemes["vendorKey"],
        "type": "apiKey",
        "in": "header",
        "name": "X-API-Key",
    }
    found = handlers_by_operation(app)
    wrong = []
    for method, path, op in operations(doc):
        _, handler = found[op["operationId"]]
        expected: list[dict[str, list[str]]] | None
        if handler.opt.get("credential"):
            expected = [{handler.opt["credential"]: []}]
        elif handler.opt.get("public"):
            expected = None
        elif handler.opt.get("vendor_scope"):
            expected = [{"vendorKey": []}]
        else:
            expected = [{"bearer": []}]
        if op.get("security") != expected:
            wrong.append(f"{method.upper()} {path}: {op.get('security')}")
    assert not wrong, wrong
    assert doc["paths"]["/api/vendor/whoami"]["get"]["security"] == [{"vendorKey": []}]


# --- what a field accepts, stated -------------------------------------------------------------


def body_schema(doc: dict[str, Any], path: str, method: str = "post") -> dict[str, Any]:
    content = doc["paths"][path][method]["requestBody"]["content"]["application/json"]
    return resolve(doc, content["schema"])


@pytest.mark.parametrize(
    "path",
    [
        "/api/auth/signup",
        "/api/auth/login",
        "/api/auth/verify-otp",
        "/api/auth/resend-otp",
        "/api/auth/forgot-password",
        "/api/auth/reset-password",
        "/api/admin/admins",
        "/api/admin/experts",
        "/api/admin/students",
    ],
)
def test_identity_emails_are_format_email(doc: dict[str, Any], path: str) -> None:
    email = body_schema(doc, path)["properties"]["email"]
    assert email["format"] == "email"
    assert email["maxLength"] == MAX_EMAIL


def test_closed_sets_are_enums_of_what_the_server_accepts(doc: dict[str, Any]) -> None:
    role = body_schema(doc, "/api/admin/users/{user_id}/role", "put")["properties"]["role"]
    assert set(role["enum"]) == {r.value for r in Role} | {SUPER_MENTOR}
    scopes = body_schema(doc, "/api/admin/vendor-keys")["properties"]["scopes"]
    assert set(scopes["items"]["enum"]) == modules.vendor_scopes()
    assert scopes["minItems"] == 1
    pages = body_schema(doc, "/api/admin/sales-heads/{user_id}/permissions", "put")
    assert set(pages["properties"]["page_keys"]["items"]["enum"]) == modules.pages()
    task = body_schema(doc, "/api/admin/jobs")["properties"]["task"]
    assert set(task["enum"]) == set(modules.handlers())


async def test_the_documented_sets_are_what_the_server_takes(
    client: AsyncTestClient[Any], auth: Auth, accounts: dict[Role, Any]
) -> None:
    target = accounts[Role.FINANCE].id
    lower = await client.put(
        f"/api/admin/users/{target}/role", json={"role": "finance"}, headers=auth(Role.SUPERADMIN)
    )
    assert lower.status_code == 422  # not in the enum: refused, as documented
    assert [e["field"] for e in lower.json()["errors"]] == ["role"]
    empty = await client.post(
        "/api/admin/vendor-keys", json={"vendor_name": "Acme", "scopes": []}, headers=auth()
    )
    assert empty.status_code == 422
    too_long = "a@" + "b" * (MAX_EMAIL - 5) + ".com"
    assert len(too_long) == MAX_EMAIL + 1
    signup = await client.post(
        "/api/auth/signup", json={"email": too_long, "password": "long-enough-1"}
    )
    assert signup.status_code == 422
    assert [e["field"] for e in signup.json()["errors"]] == ["email"]


async def test_free_form_arguments_take_integers_as_documented(
    client: AsyncTestClient[Any], auth: Auth, doc: dict[str, Any]
) -> None:
    """``args`` is ``anyOf`` (an integer is also a number: ``oneOf`` would refuse it)."""
    args = body_schema(doc, "/api/admin/jobs")["properties"]["args"]
    assert "anyOf" in args["additionalProperties"] and args["maxProperties"] == 100
    ok = await client.post(
        "/api/admin/jobs", json={"task": "platform.noop", "args": {"n": 1}}, headers=auth()
    )
    assert ok.status_code == 202, ok.text
    many = {f"k{n}": n for n in range(101)}
    refused = await client.post(
        "/api/admin/jobs", json={"task": "platform.noop", "args": many}, headers=auth()
    )
    assert refused.status_code == 422


# --- required headers, closed bodies -------------------------------------------------------


def test_every_if_match_is_required(doc: dict[str, Any]) -> None:
    seen = set()
    for method, path, op in operations(doc):
        for param in op.get("parameters", []):
            if param["in"] == "header" and param["name"] == "If-Match":
                seen.add(op["operationId"])
                if op["operationId"] not in OPTIONAL_IF_MATCH:
                    assert param["required"] is True, f"{method.upper()} {path}"
    assert {"editMyLead", "editPoolLead"} <= seen


async def test_an_edit_without_if_match_is_422_naming_it(
    client: AsyncTestClient[Any], auth: Auth
) -> None:
    path = f"/api/crm/leads/{uuid.uuid4()}"
    answer = await client.patch(path, json={"city": "Pune"}, headers=auth())
    assert answer.status_code == 422
    assert [e["field"] for e in answer.json()["errors"]] == ["If-Match"]


def closed_objects(doc: dict[str, Any], schema: dict[str, Any], seen: set[str]) -> Iterator[Any]:
    """Every object schema a body can hold, through refs, unions and arrays. A member of an
    ``anyOf``/``oneOf`` without ``type`` (``{"required": ["phone"], "properties": ...}``) only
    adds a constraint to the object it sits in, which is the one that must be closed."""
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        if name in seen:
            return
        seen.add(name)
        yield from closed_objects(doc, doc["components"]["schemas"][name], seen)
        return
    if "properties" in schema:
        if schema.get("type") == "object":
            yield schema
        for member in schema["properties"].values():
            yield from closed_objects(doc, member, seen)
    for key in ("oneOf", "anyOf", "allOf"):
        for member in schema.get(key, []):
            yield from closed_objects(doc, member, seen)
    if isinstance(schema.get("items"), dict):
        yield from closed_objects(doc, schema["items"], seen)


def test_json_bodies_refuse_unknown_fields(doc: dict[str, Any]) -> None:
    open_bodies = []
    for method, path, op in operations(doc):
        content = op.get("requestBody", {}).get("content", {})
        if "application/json" not in content:
            continue  # the multipart upload: a form, read field by field
        for schema in closed_objects(doc, content["application/json"]["schema"], set()):
            if schema.get("additionalProperties") is not False:
                open_bodies.append(f"{method.upper()} {path}: {schema.get('title')}")
    assert not open_bodies, open_bodies


async def test_an_unknown_body_field_is_refused_as_documented(
    client: AsyncTestClient[Any], auth: Auth
) -> None:
    answer = await client.post("/api/crm/tags", json={"name": "x1", "colour": 1}, headers=auth())
    assert answer.status_code == 422


# --- paged lists ---------------------------------------------------------------------------


def is_page(doc: dict[str, Any], schema: dict[str, Any]) -> bool:
    schema = resolve(doc, schema)
    props = schema.get("properties", {})
    return (
        {"items", "total", "page", "page_size"} <= set(schema.get("required", []))
        and resolve(doc, props["items"]).get("type") == "array"
        and all(props[n].get("type") == "integer" for n in ("total", "page", "page_size"))
    )


def ok_schema(op: dict[str, Any]) -> dict[str, Any]:
    content = op["responses"]["200"].get("content") or {}
    return content.get("application/json", {}).get("schema", {})  # type: ignore[no-any-return]


def test_lists_are_pages(doc: dict[str, Any]) -> None:
    wrong = []
    for method, _, op in operations(doc):
        name = op["operationId"]
        if method != "get" or "200" not in op["responses"] or name in OTHER_LIST_SHAPES:
            continue
        schema = resolve(doc, ok_schema(op))
        params = {p["name"] for p in op.get("parameters", []) if p["in"] == "query"}
        bare = schema.get("type") == "array"
        if bare and name not in UNPAGED_LISTS:
            wrong.append(f"{name}: a bare array")
        if ("page" in params or name in ONCE_BARE) and not is_page(doc, schema):
            wrong.append(f"{name}: not {{items, total, page, page_size}}")
        if is_page(doc, schema) and not {"page", "page_size"} <= params:
            wrong.append(f"{name}: a page without page/page_size")
    assert not wrong, wrong


def test_page_parameters_are_bounded(doc: dict[str, Any]) -> None:
    for _, path, op in operations(doc):
        for param in op.get("parameters", []):
            if param["in"] == "query" and param["name"] in ("page", "page_size"):
                assert param["schema"].get("minimum") == 1, f"{path} {param['name']}"
                assert param["schema"].get("maximum"), f"{path} {param['name']}"


async def test_once_bare_lists_answer_pages(client: AsyncTestClient[Any], auth: Auth) -> None:
    for n in range(3):
        await client.post("/api/crm/tags", json={"name": f"page-{n}"}, headers=auth())
    first = await client.get("/api/crm/tags?page=1&page_size=2", headers=auth())
    second = await client.get("/api/crm/tags?page=2&page_size=2", headers=auth())
    assert first.status_code == second.status_code == 200
    assert len(first.json()["items"]) == 2 and first.json()["total"] >= 3
    names = {t["name"] for t in first.json()["items"] + second.json()["items"]}
    assert len(names) == min(4, first.json()["total"])
    for path in (
        "/api/auth/sessions",
        "/api/admin/vendor-keys",
        "/api/admin/crm/sales-heads",
        "/api/crm/team",
        "/api/crm/targets/leaderboard",
    ):
        answer = await client.get(f"{path}?page_size=1", headers=auth())
        assert answer.status_code == 200, path
        assert set(answer.json()) == {"items", "total", "page", "page_size"}, path
        assert answer.json()["page_size"] == 1 and len(answer.json()["items"]) <= 1, path
    too_far = await client.get("/api/crm/tags?page=0", headers=auth())
    assert too_far.status_code == 422


# --- the docs pages ------------------------------------------------------------------------


class Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.found += [v for k, v in attrs if k in ("src", "href") and v]


OUTSIDE = re.compile(r"(?:https?:)?//[a-z0-9-]+\.[a-z0-9.-]+", re.IGNORECASE)


@pytest.mark.parametrize("page", ["/schema", "/schema/swagger", "/schema/oauth2-redirect.html"])
async def test_docs_pages_need_no_outside_host(client: AsyncTestClient[Any], page: str) -> None:
    answer = await client.get(page)
    assert answer.status_code == 200
    html = answer.text
    links = Links()
    links.feed(html)
    outside = [u for u in OUTSIDE.findall(html) if "www.w3.org/2000/svg" not in u]
    assert outside == []
    for link in links.found:
        asset = await client.get(link)
        assert asset.status_code == 200, link
        assert asset.content, link
    if page != "/schema/oauth2-redirect.html":
        assert any(link.endswith("swagger-ui-bundle.js") for link in links.found)


async def test_the_swagger_assets_hold_no_outside_script(client: AsyncTestClient[Any]) -> None:
    css = await client.get("/schema/assets/swagger-ui.css")
    assert css.status_code == 200 and "text/css" in css.headers["content-type"]
    urls = re.findall(r"url\(\s*['\"]?([^'\")]+)", css.text)
    assert urls and [u for u in urls if not u.startswith("data:")] == []
    assert "@import" not in css.text


async def test_the_served_document_is_3_1(client: AsyncTestClient[Any]) -> None:
    served = (await client.get("/schema/openapi.json")).json()
    assert served["openapi"].startswith("3.1")
    assert "/schema/assets/{file_path}" not in served["paths"]


# --- OPTIONS and CORS ----------------------------------------------------------------------


def concrete(path: str) -> str:
    path = re.sub(r"\{[^}:]+:uuid\}", "0190f000-0000-7000-8000-000000000001", path)
    path = re.sub(r"\{[^}:]+:int\}", "1", path)
    return re.sub(r"\{[^}:]+:(?:str|path)\}", "x", path)


def every_path(app: Any) -> list[tuple[str, set[str]]]:
    return [
        (concrete(route.path), set(route.methods))
        for route in app.routes
        if isinstance(route, HTTPRoute)
    ]


async def test_options_answers_every_path_with_every_method(client: AsyncTestClient[Any]) -> None:
    wrong = []
    for path, methods in every_path(client.app):
        answer = await client.options(path)
        allow = {m.strip() for m in answer.headers.get("allow", "").split(",") if m.strip()}
        if answer.status_code != 204 or allow != methods:
            wrong.append(f"{path}: {answer.status_code} {sorted(allow)} != {sorted(methods)}")
    assert not wrong, wrong


async def test_options_stays_anonymous_but_the_route_does_not(client: AsyncTestClient[Any]) -> None:
    assert (await client.options("/api/vendor/whoami")).status_code == 204
    assert (await client.get("/api/vendor/whoami")).status_code == 401
    assert (await client.options("/api/admin/users")).status_code == 204
    assert (await client.get("/api/admin/users")).status_code == 401


async def test_cors_preflight_on_every_path(sqlite_container: Any) -> None:
    origin = "https://app.example.com"
    settings = msgspec.structs.replace(sqlite_container.settings, cors_origins=[origin])
    app = create_app(settings=settings, container=sqlite_container)
    async with AsyncTestClient(app=app, raise_server_exceptions=False) as cors_client:
        wrong = []
        for path, methods in every_path(app):
            method = sorted(methods - {"OPTIONS", "HEAD"})[0]
            answer = await cors_client.options(
                path,
                headers={
                    "Origin": origin,
                    "Access-Control-Request-Method": method,
                    "Access-Control-Request-Headers": "authorization, content-type, if-match",
                },
            )
            if answer.status_code != 204 or answer.headers.get("access-control-allow-origin") != (
                origin
            ):
                wrong.append(f"{method} {path}: {answer.status_code}")
        assert not wrong, wrong
        stranger = await cors_client.options(
            "/health",
            headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "GET"},
        )
        assert stranger.status_code == 400
        assert "access-control-allow-origin" not in stranger.headers
        plain = await cors_client.options("/api/crm/team")
        assert plain.status_code == 204 and "GET" in plain.headers["allow"]
