"""Hostile input, generated from the app's routes: never a 5xx, and the right 4xx.

For every route, as an admitted role and anonymously, on SQLite and on PostgreSQL (where a NUL
used to reach the driver and answer 500): a NUL and a 10,000-character string in each query,
path and header parameter and in each string of the JSON body, a body nested 100,000 levels
deep, a form-encoded body on a JSON route. Then the cases that were 500s one by one: ``page``
near 2**63, the funnel's tag filter and its dates in year 1 and 9999. Last, the bounds
themselves: every parameter in the OpenAPI document and every string, number, list and map of
every request body type has a limit, so a new route cannot forget one.
"""

from __future__ import annotations

import re
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import msgspec
import pytest
from litestar.testing import AsyncTestClient

from mas.core.identity.model import AuthMethod
from mas.core.identity.policy import Platform, Role
from mas.http.app import create_app
from mas.http.boundary import MAX_DEPTH, body_kind
from mas.modules import roles_passing
from tests.conftest import all_tables, make_settings, missing_service, open_container
from tests.http.conftest import add_user, described_app
from tests.http.test_route_grid import concrete
from tests.rollback import empty_tables

LONG = "a" * 10_000
NUL = "a\x00b"
PROBLEM = "application/problem+json"


@dataclass(frozen=True)
class Param:
    """A parameter as the OpenAPI document lists it."""

    where: str  # query, path or header
    name: str
    schema: dict[str, Any]
    required: bool

    @property
    def free_text(self) -> bool:
        """A string a handler receives as typed (not a uuid, date or enum parsed first)."""
        options = [self.schema, *self.schema.get("oneOf", [])]
        return any(o.get("type") == "string" and "format" not in o for o in options)


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    role: Role | None  # an admitted role; None for public and vendor-key routes
    params: tuple[Param, ...]
    body: Any  # the handler's JSON body annotation, or None

    def __str__(self) -> str:
        return f"{self.method} {self.path}"

    def url(self) -> str:
        """The path with made-up values (a missing resource, a config key that does not exist)."""
        return re.sub(r"\{[^}:]+:(str|path)\}", "x", concrete(self.path))

    def required_headers(self) -> dict[str, str]:
        """A plausible value for each required header (``If-Match``), so the test reaches what
        it sends rather than a missing header."""
        return {p.name: "1" for p in self.params if p.where == "header" and p.required}


def _admitted(handler: Any) -> Role | None:
    if handler.opt.get("public") or handler.opt.get("vendor_scope"):
        return None
    admitted = roles_passing(handler.opt["policy"])
    return Role.ADMIN if Role.ADMIN in admitted else sorted(admitted)[0]


def collect() -> tuple[list[Route], dict[str, Any]]:
    app = described_app()
    document = app.openapi_schema.to_schema()
    found = []
    for route in app.routes:
        for handler in route.route_handlers:
            for method in sorted(getattr(handler, "http_methods", []) or []):
                if method in ("HEAD", "OPTIONS") or route.path.startswith("/schema"):
                    continue
                operation = document["paths"][re.sub(r":(uuid|str|path|int)\}", "}", route.path)]
                params = tuple(
                    Param(p["in"], p["name"], p["schema"], bool(p.get("required")))
                    for p in operation[method.lower()].get("parameters", [])
                )
                data = handler.parsed_fn_signature.parameters.get("data")
                body = data.raw if data is not None and body_kind(handler) == "json" else None
                found.append(Route(method, route.path, _admitted(handler), params, body))
    return found, document


ROUTES, DOCUMENT = collect()


# --- the app, once per database ---------------------------------------------------------------


@dataclass
class Hostile:
    client: AsyncTestClient[Any]
    tokens: dict[Role, str]

    def headers(self, role: Role | None) -> dict[str, str]:
        if role is None:
            return {}
        return {
            "Authorization": f"Bearer {self.tokens[role]}",
            "X-Platform": Platform.MY_ANALYTICS_SCHOOL.value,
        }


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
async def hostile(
    request: pytest.FixtureRequest,
    sqlite_template: Any,
    pg_url: str | None,
    pg_engine: Any,
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[Hostile]:
    """One app per database for the whole module (real commits; PostgreSQL emptied after).

    The app builds its own container in its lifespan: asyncpg connections belong to the loop
    that opened them, and the test client serves the app on a loop of its own. The accounts
    are written first through a container on this loop."""
    from tests.http.test_route_grid import open_every_page

    folder = tmp_path_factory.mktemp(f"hostile-{request.param}")
    if request.param == "sqlite":
        shutil.copyfile(sqlite_template, folder / "mas.db")
        url = f"sqlite+aiosqlite:///{folder / 'mas.db'}"
    else:
        if pg_url is None:
            missing_service("PostgreSQL (MAS_TEST_PG_URL)")
        assert pg_url is not None
        url = pg_url
    settings = make_settings(url, folder)
    setup = await open_container(settings)
    try:
        users = {role: await add_user(setup, role) for role in Role}
        await open_every_page(setup, users[Role.SALES_HEAD])
        tokens = {
            role: setup.identity.issuer.access_token(
                user, Platform.MY_ANALYTICS_SCHOOL, AuthMethod.PASSWORD, None
            )
            for role, user in users.items()
        }
    finally:
        await setup.close()
    try:
        async with AsyncTestClient(
            app=create_app(settings), raise_server_exceptions=False
        ) as client:
            yield Hostile(client, tokens)
    finally:
        if request.param == "postgres":
            await empty_tables(pg_engine, all_tables())


def assert_refused(response: Any, *, field: str | None = None, code: str | None = None) -> None:
    assert 400 <= response.status_code < 500, (response.status_code, response.text[:300])
    assert response.headers["content-type"].startswith(PROBLEM), response.headers
    body = response.json()
    if code is not None:
        assert body["code"] == code, body
    if field is not None:
        fields = [error["field"] for error in body.get("errors") or []]
        assert field in fields, (field, body)


# --- parameters ---------------------------------------------------------------------------------


# Every query and header parameter, and the path parameters that are free text (a uuid segment
# with a NUL or 10,000 characters matches no route: a 404).
PARAM_CASES = [
    pytest.param(route, param, id=f"{route}-{param.where}:{param.name}")
    for route in ROUTES
    for param in route.params
    if param.where != "path" or param.free_text
]


def other_required(route: Route, name: str) -> dict[str, str]:
    """Plain valid values for the route's other required query parameters, so that an answer is
    about ``name``."""
    values = {"integer": "1", "uuid": "0190f000-0000-7000-8000-000000000002"}
    return {
        p.name: values.get(p.schema.get("format") or p.schema.get("type") or "", "x")
        for p in route.params
        if p.where == "query" and p.required and p.name != name
    }


def _request_parts(
    route: Route, where: str, name: str, value: str
) -> tuple[str, dict[str, str], dict[str, str]]:
    path = route.url()
    query = other_required(route, name)
    headers = route.required_headers()
    if where == "query":
        query[name] = value
    elif where == "header":
        headers[name] = value
    else:
        path = re.sub(
            rf"\{{{name}:(str|path)\}}", lambda _: quote(value, safe=""), concrete(route.path)
        )
    return path, query, headers


@pytest.mark.parametrize(("route", "param"), PARAM_CASES)
async def test_a_parameter_with_nul_or_10000_characters_is_refused_naming_it(
    hostile: Hostile, route: Route, param: Param
) -> None:
    body = {} if route.body is not None else None
    name = param.name
    for value, code in ((NUL, "nul_character"), (LONG, None)):
        if param.where == "header" and "\x00" in value:
            continue  # an HTTP client cannot send one (RFC 9110 forbids it in a field value)
        path, query, headers = _request_parts(route, param.where, name, value)
        for role in {route.role, None}:
            response = await hostile.client.request(
                route.method,
                path,
                params=query,
                headers={**hostile.headers(role), **headers},
                json=body,
            )
            if role is None and route.role is not None and code is None:
                assert_refused(response)  # the guard may answer first
            else:
                assert_refused(response, field=name, code=code)


# --- JSON bodies ----------------------------------------------------------------------------------


def _strings(kind: Any, seen: frozenset[type] = frozenset()) -> Iterator[tuple[Any, int | None]]:
    """Minimal bodies holding ``{}`` where one string goes, for every string position of a body
    type: (skeleton, bound) where ``bound`` is the position's max length (None: unbounded)."""
    info = msgspec.inspect
    if isinstance(kind, info.Metadata):
        yield from _strings(kind.type, seen)
    elif isinstance(kind, info.UnionType):
        for option in kind.types:
            yield from _strings(option, seen)
    elif isinstance(kind, info.StrType):
        yield "{}", kind.max_length
    elif isinstance(kind, info.AnyType):
        yield "{}", None
    elif isinstance(kind, (info.ListType, info.SetType, info.VarTupleType)):
        for skeleton, bounded in _strings(kind.item_type, seen):
            yield [skeleton], bounded
    elif isinstance(kind, info.DictType):
        for skeleton, bounded in _strings(kind.value_type, seen):
            yield {"k": skeleton}, bounded
    elif isinstance(kind, (info.StructType, info.DataclassType)) and kind.cls not in seen:
        # A member of a tagged union names itself first ({"type": "move_stage", "to": …}).
        tag = getattr(kind, "tag", None)
        named = {kind.tag_field: tag} if isinstance(kind, info.StructType) and tag else {}
        for field in kind.fields:
            for skeleton, bounded in _strings(field.type, seen | {kind.cls}):
                yield {**named, field.encode_name: skeleton}, bounded


def _fill(skeleton: Any, value: str) -> tuple[Any, str]:
    """The body with ``value`` in place of ``"{}"``, and the field path the problem names."""
    if skeleton == "{}":
        return value, ""
    if isinstance(skeleton, list):
        inner, where = _fill(skeleton[0], value)
        return [inner], f"[0]{where}"
    *tagged, (key, member) = skeleton.items()
    inner, where = _fill(member, value)
    return {**dict(tagged), key: inner}, f".{key}{where}"


def _field(where: str) -> str:
    return where.removeprefix(".")


def _decoder_field(where: str) -> str:
    """The same path as msgspec names it: a map's value is ``args[...]``."""
    return _field(where).replace(".k", "[...]")


BODY_CASES = [
    pytest.param(route, skeleton, bound, id=f"{route}-{_field(_fill(skeleton, '')[1])}")
    for route in ROUTES
    if route.body is not None
    for skeleton, bound in _strings(msgspec.inspect.type_info(route.body))
]


@pytest.mark.parametrize(("route", "skeleton", "bound"), BODY_CASES)
async def test_a_body_string_with_nul_or_10000_characters_is_refused_naming_it(
    hostile: Hostile, route: Route, skeleton: Any, bound: int | None
) -> None:
    path = route.url()
    bounded = bound is not None
    # 10,000 characters, or one more than a position that allows that many (a mail template).
    long = LONG if bound is None or bound < len(LONG) else "a" * (bound + 1)
    for role in {route.role, None}:
        headers = {**hostile.headers(role), **route.required_headers()}
        body, where = _fill(skeleton, NUL)
        response = await hostile.client.request(route.method, path, json=body, headers=headers)
        assert_refused(response, field=_field(where) or "body", code="nul_character")
        body, where = _fill(skeleton, long)
        response = await hostile.client.request(route.method, path, json=body, headers=headers)
        if (
            bounded
            and (role is not None or route.role is None)
            and route.path != "/api/vendor/leads"
        ):
            assert_refused(response, field=_decoder_field(where))
        else:
            assert_refused(response)


def test_an_escaped_backslash_is_not_a_nul() -> None:
    from mas.http.boundary import check_json

    check_json(msgspec.json.decode(b'{"note": "C:\\\\u0000 is text"}'))  # no exception
    with pytest.raises(Exception, match="NUL"):
        check_json(msgspec.json.decode(b'{"items": [{"note": "a\\u0000"}]}'))


JSON_ROUTES = [pytest.param(route, id=str(route)) for route in ROUTES if route.body is not None]


def _nested(depth: int) -> bytes:
    return b'{"a":' * depth + b"1" + b"}" * depth


@pytest.mark.parametrize("route", JSON_ROUTES)
async def test_a_deeply_nested_or_non_json_body_is_refused(hostile: Hostile, route: Route) -> None:
    path = route.url()
    for role in {route.role, None}:
        headers = {
            **hostile.headers(role),
            **route.required_headers(),
            "Content-Type": "application/json",
        }
        for body in (b"[" * 100_000 + b"]" * 100_000, _nested(MAX_DEPTH + 1)):
            response = await hostile.client.request(
                route.method, path, content=body, headers=headers
            )
            assert_refused(response, code="body_too_deep")
        response = await hostile.client.request(
            route.method, path, content=_nested(MAX_DEPTH - 1), headers=headers
        )
        assert response.status_code < 500 and response.json().get("code") != "body_too_deep"
        for content_type in (
            "application/x-www-form-urlencoded",
            "text/plain",
            "multipart/form-data",
        ):
            response = await hostile.client.request(
                route.method,
                path,
                content=b'{"name": "x"}',
                headers={**hostile.headers(role), "Content-Type": content_type},
            )
            assert_refused(response, code="unsupported_media_type")
            assert response.status_code == 415


async def test_json_with_a_charset_or_a_json_suffix_is_accepted(hostile: Hostile) -> None:
    for content_type in ("application/json; charset=utf-8", "application/merge-patch+json"):
        response = await hostile.client.post(
            "/api/auth/login",
            content=b'{"email": "nobody@example.com", "password": "wrong password"}',
            headers={"Content-Type": content_type},
        )
        assert response.status_code == 401, response.text  # past the boundary, refused by login


# --- the cases that were 500s -----------------------------------------------------------------


PAGED = [pytest.param(r, id=str(r)) for r in ROUTES if any(p.name == "page" for p in r.params)]


@pytest.mark.parametrize("route", PAGED)
async def test_a_page_near_2_to_the_63_is_422_naming_page(hostile: Hostile, route: Route) -> None:
    for page in (2**63 - 1, 2**62, 100_001):
        response = await hostile.client.get(
            concrete(route.path),
            params={**other_required(route, "page"), "page": page},
            headers=hostile.headers(route.role),
        )
        assert_refused(response, field="page")
        assert response.status_code == 422


def test_paging_refuses_an_offset_that_could_overflow() -> None:
    from mas.core.platform.errors import ValidationFailed
    from mas.core.platform.paging import MAX_PAGE, MAX_PAGE_SIZE, PageRequest

    assert PageRequest(MAX_PAGE, MAX_PAGE_SIZE).offset < 2**31
    for page, size in ((MAX_PAGE + 1, 1), (0, 20), (1, MAX_PAGE_SIZE + 1)):
        with pytest.raises(ValidationFailed):
            PageRequest(page, size)


DATED = [
    pytest.param(route, param.name, id=f"{route}-{param.name}")
    for route in ROUTES
    for param in route.params
    if param.where == "query" and b'"format":"date"' in msgspec.json.encode(param.schema)
]


@pytest.mark.parametrize(("route", "name"), DATED)
async def test_a_date_in_year_1_or_9999_is_never_a_500(
    hostile: Hostile, route: Route, name: str
) -> None:
    for day in ("0001-01-01", "9999-12-31"):
        response = await hostile.client.get(
            concrete(route.path),
            params={**other_required(route, name), name: day},
            headers=hostile.headers(route.role),
        )
        assert response.status_code < 500, response.text


async def test_the_funnel_refuses_dates_out_of_range_naming_them(hostile: Hostile) -> None:
    headers = hostile.headers(Role.ADMIN)
    for name, day in (("date_from", "0001-01-01"), ("date_to", "9999-12-31")):
        response = await hostile.client.get(
            "/api/crm/analytics/funnel", params={name: day}, headers=headers
        )
        assert_refused(response, field=name)
        assert response.status_code == 422
    response = await hostile.client.get(
        "/api/crm/analytics/funnel",
        params={"date_from": "2024-01-01", "date_to": "2025-01-05"},
        headers=headers,
    )
    assert_refused(response, field="date_to")  # the 366-day window still holds


async def test_the_funnel_filters_by_tag(hostile: Hostile) -> None:
    headers = hostile.headers(Role.ADMIN)
    tag = f"vip{uuid.uuid4().hex[:6]}"
    other = f"cold{uuid.uuid4().hex[:6]}"
    for name in (tag, other):
        created = await hostile.client.post("/api/crm/tags", json={"name": name}, headers=headers)
        assert created.status_code == 201, created.text
    for i, tags in enumerate(([tag], [tag, other], [other], [])):
        lead = {"name": f"Lead {i}", "phone": f"98765{uuid.uuid4().int % 100000:05d}", "tags": tags}
        created = await hostile.client.post("/api/crm/leads", json=lead, headers=headers)
        assert created.status_code in (200, 201), created.text
    response = await hostile.client.get(
        "/api/crm/analytics/funnel", params={"tag": tag.upper()}, headers=headers
    )
    assert response.status_code == 200, response.text
    report = response.json()
    assert report["total"] == 2
    assert report["by_tag"] == {tag: 2, other: 1}
    response = await hostile.client.get(
        "/api/crm/analytics/funnel", params={"tag": "no-such-tag"}, headers=headers
    )
    assert response.json()["total"] == 0


# --- the bounds, so a new route cannot forget one ----------------------------------------------


def _bounded_schema(schema: dict[str, Any]) -> bool:
    options = [schema, *schema.get("oneOf", []), *schema.get("anyOf", [])]
    kinds = {o.get("type") for o in options} - {None, "null"}
    if not kinds:
        return all("$ref" in o or o.get("type") == "null" for o in options[1:])  # an enum
    limits = set(schema) | {key for o in options for key in o}
    if "string" in kinds and not ({"maxLength", "enum", "format"} & limits):
        return False
    if kinds & {"integer", "number"} and not ({"maximum", "exclusiveMaximum"} & limits):
        return False
    return not ("array" in kinds and "maxItems" not in limits)


def test_every_parameter_in_the_openapi_document_is_bounded() -> None:
    unbounded = [
        f"{method.upper()} {path} {p['in']} {p['name']}"
        for path, item in DOCUMENT["paths"].items()
        for method, operation in item.items()
        if isinstance(operation, dict)
        for p in operation.get("parameters", [])
        if not _bounded_schema(p["schema"])
    ]
    assert not unbounded, "add max_length / le / max_items to: " + "; ".join(unbounded)


# Values a request carries as free JSON: ``check_extra_data`` caps them at 16 KB, the system
# config key's own check validates its value, and the boundary caps their nesting.
FREE_JSON = {"extra_data.*", "answers.*", "value"}


def _unbounded(kind: Any, where: str, seen: frozenset[type] = frozenset()) -> Iterator[str]:
    info = msgspec.inspect
    if isinstance(kind, info.Metadata):
        yield from _unbounded(kind.type, where, seen)
    elif isinstance(kind, info.UnionType):
        for option in kind.types:
            yield from _unbounded(option, where, seen)
    elif isinstance(kind, (info.StrType, info.BytesType)) and kind.max_length is None:
        yield f"{where}: a string without max_length"
    elif isinstance(kind, (info.IntType, info.FloatType)) and kind.le is None and kind.lt is None:
        yield f"{where}: a number without le"
    elif isinstance(kind, info.AnyType) and where.split(" ")[-1] not in FREE_JSON:
        yield f"{where}: free JSON (Any)"
    elif isinstance(kind, (info.ListType, info.SetType, info.VarTupleType, info.DictType)):
        if kind.max_length is None:
            yield f"{where}: a collection without max_length"
        if isinstance(kind, info.DictType):
            yield from _unbounded(kind.key_type, f"{where} keys", seen)
            yield from _unbounded(kind.value_type, f"{where}.*", seen)
        else:
            yield from _unbounded(kind.item_type, f"{where}[]", seen)
    elif isinstance(kind, (info.StructType, info.DataclassType)) and kind.cls not in seen:
        for field in kind.fields:
            prefix = f"{where}." if where.split(" ")[-1] else where
            yield from _unbounded(field.type, f"{prefix}{field.encode_name}", seen | {kind.cls})


def test_every_request_body_is_bounded() -> None:
    app = described_app()
    unbounded = []
    for route in app.routes:
        for handler in route.route_handlers:
            data = handler.parsed_fn_signature.parameters.get("data")
            if data is None:
                continue
            # An UploadFile is a custom type: the request size limit bounds it.
            unbounded += _unbounded(msgspec.inspect.type_info(data.raw), f"{route.path} ")
    assert not unbounded, "add msgspec.Meta bounds to: " + "; ".join(unbounded)
