"""What ``/schema/openapi.json`` promises, decided once for every route.

Clients are generated from the document, so it must say what the server does:

* **Problem responses.** Every operation lists the problem+json answers it can give, with the
  ``Problem`` schema of ``mas.http.errors``. Most are read from what the route declares:
  every route answers 400 (an unknown ``X-Platform``, a malformed body) and 422 (the boundary
  refuses a NUL in any query string); a route that is not public answers 401 and 403; a path
  parameter means 404; a body means 413, and a JSON body 415; an ``If-Match`` header means 409
  (a stale version). What cannot be read from a signature (a duplicate, an illegal transition,
  a throttle, an outside system) is listed by operation in ``EXTRA_PROBLEMS`` below; a new
  route may say it in ``opt["problems"]`` instead.
* **Business rules.** A refusal no schema keyword can state (a cross-field rule, the state of
  a row: "a lead needs a phone or an e-mail", "the current password is not right") is declared
  by the route once, ``opt["rules"] = {problem code: one line}`` (answered with 422, or with
  ``opt["rules_status"]``: one status, or a map code → status). The document lists each code
  and its line in the description of the response that carries it, and the codes in the
  operation's ``x-rules`` extension; the schemathesis gate accepts a refused schema-valid
  input only when the answer's ``code`` is listed there.
* **Credentials.** ``components.securitySchemes`` declares the bearer access token and the
  vendor ``X-API-Key``; every operation that is not public names the one its guard reads.
* **Closed bodies.** A Struct declared ``forbid_unknown_fields=True`` (the server answers 422
  for an unknown member) is documented ``additionalProperties: false``.
* **Docs pages on a closed network.** Swagger UI's scripts come from the installed
  ``swagger_ui_bundle`` package, served under ``/schema/assets``, never from a CDN.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import partial
from typing import Any, cast

import msgspec
from litestar import Litestar, Request
from litestar._openapi.schema_generation.plugins.struct import StructSchemaPlugin
from litestar.handlers import HTTPRouteHandler
from litestar.openapi import ResponseSpec
from litestar.openapi.plugins import SwaggerRenderPlugin
from litestar.openapi.spec import Components, Operation, Schema, SecurityScheme
from litestar.plugins import OpenAPISchemaPlugin
from litestar.routes import HTTPRoute
from litestar.static_files import create_static_files_router
from litestar.typing import FieldDefinition
from swagger_ui_bundle import swagger_ui_path  # type: ignore[import-untyped]

from mas.core.identity.model import INVALID_EMAIL
from mas.http.boundary import body_kind
from mas.http.errors import PROBLEM_JSON, Problem

WHAT: dict[int, str] = {
    400: "Malformed body, a body nested too deep, or an unknown X-Platform",
    401: "Not authenticated (no, expired or revoked credentials)",
    402: "The balance does not cover the spend (the balance in `detail`)",
    403: "The caller's role, page permission or scope does not allow this",
    404: "Not found, or not visible to this caller",
    409: "Conflict: a stale version, an illegal state change or a duplicate",
    410: "Gone: an expired or used-up code, a closed campaign",
    413: "The body is too large",
    415: "The body is not application/json",
    422: "Validation failed; `errors` names each field",
    429: "Too many attempts; wait for Retry-After seconds",
    502: "An outside system refused the request (its code and message in `detail`)",
    503: "An outside system is not configured or not reachable",
}

# Statuses a route's signature does not show, read from the services it calls.
EXTRA_PROBLEMS: dict[str, frozenset[int]] = {
    op: frozenset(statuses)
    for op, statuses in {
        # identity: sign-up and sign-in (public, so no 401/403 is derived for them)
        "signup": (409, 429, 503),
        "verifyOtp": (404, 409, 410, 429),
        "resendOtp": (404, 409, 429, 503),
        "login": (401, 403, 429),
        "googleSignIn": (401, 403, 503),
        "refresh": (401,),
        "forgotPassword": (429,),
        "resetPassword": (404, 410, 429),
        "masterLogin": (401, 403, 404, 429),
        "completeProfile": (409,),
        "changePassword": (409,),
        # identity: administration
        "createAdmin": (409,),
        "createExpert": (409,),
        "createStudent": (409,),
        "changeRole": (409,),
        "blockUser": (409,),
        "unblockUser": (409,),
        "deleteUser": (409,),
        "impersonate": (409,),
        "revokeVendorKey": (409,),
        "updateUser": (409,),
        # crm: leads, tags, campaigns
        "addMyLead": (409,),
        "addPoolLead": (409,),
        "moveMyLead": (409,),
        "scheduleFollowUp": (409,),
        "updateFollowUp": (409,),
        "createTag": (409,),
        "updateTag": (409,),
        "createCampaign": (409,),
        "updateCampaign": (409,),
        "submitCampaignForm": (410, 429),
        "pushVendorLeads": (409,),
        # crm: assignment, teams, imports
        "assignLead": (409,),
        "unassignLead": (404, 409),
        "bulkAssign": (404, 409),
        "approveAssignmentRequest": (409,),
        "rejectAssignmentRequest": (409,),
        "cancelAssignmentRequest": (409,),
        "retryAssignmentRequest": (409,),
        "createSalesHeadProfile": (409,),
        "addTeamMember": (409,),
        "updateTeamMember": (409,),
        "transferLeadOwnership": (404, 409),
        "uploadLeadImport": (409, 503),
        "setLeadImportMapping": (409,),
        "commitLeadImport": (409,),
        "cancelLeadImport": (409,),
        "retryLeadImport": (409,),
        # platform
        "enqueueJob": (404,),
        "retryJobRun": (409,),
        "issueRealtimeTicket": (429,),
        "streamEvents": (503,),
    }.items()
}


RULES_STATUS = 422
"""The status a route's ``opt["rules"]`` answer with, unless ``opt["rules_status"]`` says."""
GENERIC_CODES = frozenset({"validation_failed", "bad_request", "nul_character"})
"""Codes no rule may claim: listing one would excuse every refusal of its kind."""

BEARER = "bearer"
VENDOR_KEY = "vendorKey"
METRICS_TOKEN = "metricsToken"
SECURITY_SCHEMES: dict[str, SecurityScheme] = {
    BEARER: SecurityScheme(
        type="http",
        scheme="bearer",
        bearer_format="JWT",
        description="The access token of `POST /api/auth/login` (or refresh, Google, master)",
    ),
    VENDOR_KEY: SecurityScheme(
        type="apiKey",
        name="X-API-Key",
        security_scheme_in="header",
        description="A vendor key made by an admin (`POST /api/admin/vendor-keys`)",
    ),
    METRICS_TOKEN: SecurityScheme(
        type="http",
        scheme="bearer",
        description="`MAS_METRICS_TOKEN`: the scraper's token of `GET /metrics` (not a user's)",
    ),
}


def rules_of(handler: HTTPRouteHandler) -> dict[int, dict[str, str]]:
    """The route's declared business rules by the status that answers them: status → (problem
    code → one line). ``opt["rules_status"]`` is one status for all of them, or a map code →
    status (a code it does not name answers ``RULES_STATUS``)."""
    rules = dict(handler.opt.get("rules") or {})
    if takes_an_email(handler):
        rules.setdefault(INVALID_EMAIL, EMAIL_RULE)
    given = handler.opt.get("rules_status", RULES_STATUS)
    by_code = dict(given) if isinstance(given, dict) else dict.fromkeys(rules, given)
    if set(by_code) - set(rules):
        raise ValueError(f"{handler.handler_name}: rules_status names a code opt['rules'] lacks")
    grouped: dict[int, dict[str, str]] = {}
    for code, line in rules.items():
        if not (isinstance(code, str) and code and isinstance(line, str) and line):
            raise TypeError(f"{handler.handler_name}: opt['rules'] maps a code to one line")
        if code in GENERIC_CODES:
            raise ValueError(f"{handler.handler_name}: a rule needs its own code, not {code!r}")
        status = int(by_code.get(code, RULES_STATUS))
        if not 400 <= status < 500 or status not in WHAT:
            raise ValueError(f"{handler.handler_name}: {code} answers {status}, not a 4xx we list")
        grouped.setdefault(status, {})[code] = line
    return grouped


EMAIL_RULE = "an address must be able to receive mail: a dotted domain, not a special-use one"
"""The rule of every route taking an e-mail address (``format: email`` alone is looser)."""


def takes_an_email(handler: HTTPRouteHandler) -> bool:
    """Whether the route's JSON body holds an address the server checks (``EmailAddress``)."""
    data = handler.parsed_fn_signature.parameters.get("data")
    if data is None:
        return False
    try:
        info = msgspec.inspect.type_info(data.annotation)
    except (TypeError, ValueError):
        return False
    return _has_email(info, set())


def _has_email(info: Any, seen: set[int]) -> bool:
    if isinstance(info, msgspec.inspect.Metadata):
        extra = info.extra_json_schema or {}
        return extra.get("format") == "email" or _has_email(info.type, seen)
    if isinstance(info, msgspec.inspect.StructType):
        if id(info.cls) in seen:
            return False
        seen.add(id(info.cls))
        return any(_has_email(f.type, seen) for f in info.fields)
    if isinstance(info, msgspec.inspect.UnionType):
        return any(_has_email(t, seen) for t in info.types)
    inner = getattr(info, "item_type", None)
    return inner is not None and _has_email(inner, seen)


def rules_description(status: int, rules: dict[str, str]) -> str:
    lines = [f"- `{code}`: {line}" for code, line in sorted(rules.items())]
    return "\n".join(
        [WHAT[status], "", "Also refused by a rule the schema cannot state (`code`):", *lines]
    )


@dataclass
class RuledOperation(Operation):
    """An operation with the ``x-rules`` extension: the problem codes of its declared rules."""

    rules: list[str] | None = field(default=None, metadata={"alias": "x-rules"})


def problem_statuses(
    route: HTTPRoute, handler: HTTPRouteHandler, rules: dict[int, dict[str, str]] | None = None
) -> set[int]:
    """The problem statuses this operation documents (see the module docstring); ``rules`` is
    ``rules_of(handler)`` when the caller has it already (inspecting a body's type is the
    costly part of this, once per route at start-up)."""
    opt = handler.opt
    statuses = {400, 422}
    statuses |= set(rules_of(handler) if rules is None else rules)
    if not opt.get("public"):
        statuses |= {401, 403}
    if route.path_parameters:
        statuses.add(404)
    kind = body_kind(handler)
    if kind is not None:
        statuses.add(413)
        if kind == "json":
            statuses.add(415)
    if any(p.field_alias.lower() == "if-match" for p in _header_params(route, handler)):
        statuses.add(409)
    statuses |= EXTRA_PROBLEMS.get(handler.operation_id or "", frozenset())  # type: ignore[arg-type]
    statuses |= set(opt.get("problems", ()))
    return statuses


def _header_params(route: HTTPRoute, handler: HTTPRouteHandler) -> Any:
    method = next(iter(handler.http_methods))
    return route.route_handler_map[method][1].expected_header_params


def document_problems(app: Litestar) -> None:
    """Add the problem responses, the declared rules and the credentials to every documented
    operation (before the document is built, which Litestar does on its first request). A
    response the handler declares itself wins."""
    if app.openapi_config is not None:
        given = app.openapi_config.components
        schemes = Components(security_schemes=dict(SECURITY_SCHEMES))
        app.openapi_config.components = [*(given if isinstance(given, list) else [given]), schemes]
    for route in app.routes:
        if not isinstance(route, HTTPRoute):
            continue
        for handler in route.route_handlers:
            if not handler.resolve_include_in_schema() or handler.http_methods == {"OPTIONS"}:
                continue
            rules = rules_of(handler)
            responses = {
                status: ResponseSpec(
                    data_container=Problem,
                    media_type=PROBLEM_JSON,
                    description=(
                        rules_description(status, rules[status])
                        if status in rules
                        else WHAT[status]
                    ),
                    generate_examples=False,
                )
                for status in sorted(problem_statuses(route, handler, rules))
            }
            handler.responses = {**responses, **(handler.responses or {})}
            if rules:
                codes = sorted(code for group in rules.values() for code in group)
                handler.operation_class = cast(
                    "type[Operation]", partial(RuledOperation, rules=codes)
                )
            scheme = credential_of(handler)
            if scheme is not None:
                handler.security = [{scheme: []}]


def credential_of(handler: HTTPRouteHandler) -> str | None:
    """The security scheme the guard reads for this route: none on a public route, the vendor
    key on a vendor route, the bearer token on every other; a route that checks a credential
    of its own names its scheme in ``opt["credential"]`` (``GET /metrics``)."""
    if handler.opt.get("credential"):
        return str(handler.opt["credential"])
    if handler.opt.get("public"):
        return None
    return VENDOR_KEY if handler.opt.get("vendor_scope") else BEARER


class ClosedStructSchemaPlugin(OpenAPISchemaPlugin):
    """Documents ``additionalProperties: false`` on Structs that refuse unknown fields.

    Litestar's own Struct plugin builds the schema; it does not read ``forbid_unknown_fields``.
    Plugins given to the app are asked before Litestar's built-in ones.
    """

    _structs = StructSchemaPlugin()

    def is_plugin_supported_field(self, field_definition: FieldDefinition) -> bool:
        if not self._structs.is_plugin_supported_field(field_definition):
            return False
        info = msgspec.inspect.type_info(field_definition.type_)
        return bool(getattr(info, "forbid_unknown_fields", False))

    def to_openapi_schema(self, field_definition: FieldDefinition, schema_creator: Any) -> Schema:
        schema = self._structs.to_openapi_schema(field_definition, schema_creator)
        schema.additional_properties = False
        return schema


ASSETS_PATH = "/schema/assets"


class OfflineSwagger(SwaggerRenderPlugin):
    """Swagger UI from the installed ``swagger_ui_bundle`` (no CDN, no outside favicon).

    That bundle is Swagger UI 4.15, which renders only documents labelled ``openapi: 3.0.n``;
    the page gets the document labelled 3.0.3 (``/schema/openapi.json`` stays 3.1, the version
    it is written in). Swagger UI 5 reads 3.1: drop ``render_json`` when the bundle has it.
    """

    def __init__(self, path: str = "/swagger") -> None:
        super().__init__(
            js_url=f"{ASSETS_PATH}/swagger-ui-bundle.js",
            css_url=f"{ASSETS_PATH}/swagger-ui.css",
            standalone_preset_js_url=f"{ASSETS_PATH}/swagger-ui-standalone-preset.js",
            favicon=f"<link rel='icon' type='image/png' href='{ASSETS_PATH}/favicon-32x32.png'>",
            path=path,
        )

    @staticmethod
    def render_json(request: Request[Any, Any, Any], openapi_schema: dict[str, Any]) -> bytes:
        return SwaggerRenderPlugin.render_json(request, {**openapi_schema, "openapi": "3.0.3"})


def docs_assets() -> Any:
    """The public route that serves Swagger UI's files from the installed package."""
    return create_static_files_router(
        path=ASSETS_PATH,
        directories=[swagger_ui_path],
        name="docs_assets",
        include_in_schema=False,
        opt={"public": True},
    )


__all__ = [
    "EXTRA_PROBLEMS",
    "RULES_STATUS",
    "SECURITY_SCHEMES",
    "ClosedStructSchemaPlugin",
    "OfflineSwagger",
    "docs_assets",
    "document_problems",
    "problem_statuses",
    "rules_of",
]
