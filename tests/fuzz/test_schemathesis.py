"""The schemathesis gate: every operation of the served OpenAPI document, fuzzed with every
role's token and without one, on PostgreSQL, with all of schemathesis' checks.

Any 5xx, any response that does not match the document (status code, content type, body,
headers, ``Allow``), any undocumented status code, any schema-valid input refused fails. The one
exception, and nothing else gets through (``deliberate_refusals_removed``): a schema-valid input
refused with a 4xx problem whose ``code`` the operation's document lists in ``x-rules`` (a rule
the route declares, ``opt["rules"]``, that no schema keyword can state: cross-field or the state
of a row), or 422 ``nul_character`` (no keyword can say "no NUL"). The security schemes are
declared, so ``ignored_auth`` checks that every admitted 2xx needs its credential. The
budget keeps the step within three minutes on two cores (measured: ~9,500 requests, ~100 s).
Per operation, two tests:

- the callers the route's guard admits (the handler runs: that is where the bugs are): one of
  them (ADMIN where admitted) gets schemathesis' deterministic coverage cases (boundaries, wrong
  types, missing and unknown fields) plus ``ADMITTED_EXAMPLES`` generated ones; every other
  admitted role gets the generated ones;
- the callers it refuses (anonymous, the other roles; a token on a public route, a JWT on a
  vendor route): ``REFUSED_EXAMPLES`` generated cases each. The guard answers 401/403 before any
  input is read, and the document must say so.

The stateful phase is off: the document declares no links to follow. Deselect locally with
``-m "not fuzz"``; ``make test`` runs it. ``MAS_FUZZ_SEED`` picks another
seed (the default is fixed so that a run is repeatable), ``MAS_FUZZ_REPORT=path.json`` writes
the count of requests and every failed check.
"""

from __future__ import annotations

import os
import re
from typing import Any

import jsonschema_rs
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from litestar.testing import TestClient
from schemathesis.core.failures import FailureGroup
from schemathesis.openapi.checks import RejectedPositiveData, UndefinedStatusCode

from mas.core.identity.policy import Role
from mas.http.app import create_app
from mas.modules import roles_passing
from tests.fuzz.conftest import (
    ANONYMOUS,
    KNOWN_IDS,
    SERVED,
    VENDOR,
    FuzzTarget,
    deliberate_refusals_removed,
)

pytestmark = pytest.mark.fuzz

ADMITTED_EXAMPLES = 6
REFUSED_EXAMPLES = 2

# Only what would destroy the fuzzer's own session; everything else is fuzzed as every role.
EXCLUDED = {
    # Bumps the caller's token version: every token the gate holds for that role dies, and the
    # rest of the run would be a wall of 401s.
    "logoutAll": "ends every session of the caller",
}
# Not excluded, and why they cannot sign the gate out: `logout` and `revokeSession` end a
# *session*, and the gate's tokens belong to none; `changePassword` needs the current password,
# which generated data never has; the `user_id`, `member_id` and `key_id` parameters only ever
# name seeded *targets* (``KNOWN_IDS``), never a caller's account, membership or vendor key.

PHASES = ("examples", "coverage", "fuzzing", "stateful")


def config(phases: list[str]) -> Any:
    return schemathesis.Config.from_dict(
        {
            "seed": int(os.environ.get("MAS_FUZZ_SEED", "8")),
            "suppress-health-check": ["all"],
            # The credentials are the gate's to send (each caller's, per request): generated
            # ones would be replaced, and a case made "negative" by its Authorization header
            # would be judged on a header that was never sent. ``ignored_auth`` still probes
            # every admitted 2xx without and with a wrong credential.
            "generation": {
                "no-shrink": True,
                "database": "none",
                "with-security-parameters": False,
            },
            "phases": {phase: {"enabled": phase in phases} for phase in PHASES},
        }
    )


def served_document(app: Any) -> dict[str, Any]:
    """The document exactly as ``/schema/openapi.json`` serves it (no lifespan: no database)."""
    response = TestClient(app=app).get("/schema/openapi.json")
    assert response.status_code == 200, response.text
    document: dict[str, Any] = response.json()
    return document


def route_access(app: Any) -> dict[tuple[str, str], str]:
    """(METHOD, document path) → ``public``, ``vendor`` or the route's policy name."""
    access = {}
    for route in app.routes:
        path = re.sub(r"\{([^}:]+):[^}]+\}", r"{\1}", route.path)
        for handler in route.route_handlers:
            for method in getattr(handler, "http_methods", None) or ():
                if handler.opt.get("public"):
                    kind = "public"
                elif handler.opt.get("vendor_scope"):
                    kind = "vendor"
                else:
                    kind = handler.opt.get("policy", "")
                access[(method, path)] = kind
    return access


APP = create_app()
ACCESS = route_access(APP)
DOCUMENT = served_document(APP)
# The admitted callers' schema runs the coverage phase too; the refused callers' does not (the
# guard answers before any input is read).
admitted_schema = schemathesis.openapi.from_dict(
    DOCUMENT, config=config(["examples", "coverage", "fuzzing"])
).exclude(operation_id=sorted(EXCLUDED))
refused_schema = schemathesis.openapi.from_dict(
    DOCUMENT, config=config(["examples", "fuzzing"])
).exclude(operation_id=sorted(EXCLUDED))


def path_value_is_valid(operation: Any, name: str, value: Any) -> bool:
    """Whether ``value`` is what the document allows for the path parameter ``name``."""
    parameters = DOCUMENT["paths"][operation.path][operation.method.lower()].get("parameters", [])
    schema = next(p["schema"] for p in parameters if p["in"] == "path" and p["name"] == name)
    return bool(jsonschema_rs.validator_for(schema, validate_formats=True).is_valid(value))


def flatmap_path_parameters(context: Any, path_parameters: dict[str, Any]) -> Any:
    """Now and then a path parameter names a seeded row instead of a random one. Only a valid
    value is swapped: an invalid one (a negative case) is sent as drawn, since schemathesis
    judges the answer by what it generated."""
    drawn = {
        name: st.sampled_from([value, *KNOWN_IDS[name]])
        if KNOWN_IDS.get(name) and path_value_is_valid(context.operation, name, value)
        else st.just(value)
        for name, value in (path_parameters or {}).items()
    }
    return st.fixed_dictionaries(drawn)


for fuzzed_schema in (admitted_schema, refused_schema):
    fuzzed_schema.app = SERVED
    fuzzed_schema.hook(flatmap_path_parameters)


def callers(method: str, path: str) -> tuple[list[str], list[str]]:
    """Who the guard admits (the first one gets the coverage cases), and who it refuses."""
    kind = ACCESS[(method, path)]
    if kind == "public":
        # A signed-in caller on a public route must fare no differently.
        return [ANONYMOUS], [Role.USER.value]
    if kind == "vendor":
        return [VENDOR], [ANONYMOUS, Role.ADMIN.value]
    admitted = roles_passing(kind)
    order = list(Role)
    first_admin = sorted(admitted, key=lambda role: (role is not Role.ADMIN, order.index(role)))
    return (
        [role.value for role in first_admin],
        [ANONYMOUS] + [role.value for role in Role if role not in admitted],
    )


def coverage_case(case: Any) -> bool:
    return case.meta is not None and case.meta.phase.name.value == "coverage"


@admitted_schema.parametrize()
@settings(max_examples=ADMITTED_EXAMPLES, suppress_health_check=list(HealthCheck))
def test_the_callers_the_guard_admits(case: Any, fuzz_target: FuzzTarget) -> None:
    first, *others = callers(case.operation.method.upper(), case.operation.path)[0]
    fuzz_target.run(case, [first] if coverage_case(case) else [first, *others])


@refused_schema.parametrize()
@settings(max_examples=REFUSED_EXAMPLES, suppress_health_check=list(HealthCheck))
def test_the_callers_the_guard_refuses(case: Any, fuzz_target: FuzzTarget) -> None:
    fuzz_target.run(case, callers(case.operation.method.upper(), case.operation.path)[1])


def test_only_the_named_operations_are_left_out() -> None:
    """An exclusion that matches nothing (a renamed operation) must not pass silently, and
    every operation of the document must have been classified."""
    ids = {
        operation.get("operationId")
        for item in DOCUMENT["paths"].values()
        for operation in item.values()
        if isinstance(operation, dict)
    }
    assert set(EXCLUDED) <= ids
    fuzzed = list(admitted_schema.get_all_operations())
    assert len(fuzzed) == len(ids) - len(EXCLUDED)
    for result in fuzzed:
        operation = result.ok()
        assert (operation.method.upper(), operation.path) in ACCESS


class Answer:
    def __init__(self, status_code: int, body: Any) -> None:
        self.status_code = status_code
        self._body = body

    def json(self) -> Any:
        return self._body


def test_only_declared_refusals_get_through() -> None:
    """A refused schema-valid input is dropped only for a problem code the operation lists in
    ``x-rules`` (or 422 ``nul_character``); everything else stays a failure."""

    def refused(status: int) -> RejectedPositiveData:
        return RejectedPositiveData(
            operation="POST /x", message="refused", status_code=status, allowed_statuses=[]
        )

    undocumented = UndefinedStatusCode(
        operation="POST /x",
        status_code=400,
        defined_status_codes=["200"],
        allowed_status_codes=[200],
        message="undocumented",
    )
    ruled = {"x-rules": ["wrong_password"]}

    def kept(status: int, code: str, operation: dict[str, Any], *failures: Any) -> list[Any]:
        group = FailureGroup(list(failures or [refused(status)]))
        left = deliberate_refusals_removed(group, Answer(status, {"code": code}), operation)
        return [] if left is None else list(left.exceptions)

    assert kept(400, "wrong_password", ruled) == []
    assert kept(422, "nul_character", {}) == []
    assert len(kept(400, "wrong_password", {})) == 1  # not declared on this operation
    assert len(kept(422, "validation_failed", ruled)) == 1  # another code
    assert len(kept(400, "nul_character", {})) == 1  # NUL is a 422 or nothing
    both = kept(400, "wrong_password", ruled, refused(400), undocumented)
    assert both == [undocumented]  # only positive_data_acceptance is ever dropped
    assert len(kept(500, "wrong_password", ruled)) == 1  # a 5xx is never a rule
