"""The app as the schemathesis gate reaches it: on PostgreSQL, seeded, one token per role.

Schemathesis serves an ASGI app on one event loop of its own (a thread it starts), and asyncpg
connections belong to the loop that opened them. So the container is built *inside* the app's
lifespan, on that loop: ``FuzzTarget`` is a small ASGI app whose startup builds the container,
seeds the accounts and leads, signs a token per role and only then hands every message to
``create_app(container=...)``. The requests commit for real (no rolled-back transaction can span
another thread's loop); the tables are emptied when the gate's module ends.

Schemathesis' pytest plugin ends every ASGI lifespan when a test item ends and starts it again
on the next item's first request. The gate's app is built once per run instead: the first
lifespan builds it and runs the app's own lifespan in a task of that loop (``FuzzTarget.stop``
ends it when the gate ends); every lifespan schemathesis starts and ends after that is only
acknowledged. Rebuilding the container, the seed and the app for each of the ~600 items was
more than half of the gate's time.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import msgspec
import pytest
from schemathesis.core import NotSet
from schemathesis.core.failures import FailureGroup
from schemathesis.openapi.checks import RejectedPositiveData
from schemathesis.python import asgi

from mas.adapters.comms.exotel import ExotelClient
from mas.adapters.identity.google import GoogleIdentityProvider
from mas.adapters.payments.razorpay import RazorpayGateway
from mas.core.crm.assignment_model import PAGE_FLAGS, MemberRole, SalesHeadProfile, TeamMember
from mas.core.crm.pages import SALES_HEAD_PAGES
from mas.core.finance.payments.model import PaymentFilter
from mas.core.finance.reports.model import NewExport
from mas.core.identity.model import AuthMethod, User
from mas.core.identity.policy import Caller, Platform, Role
from mas.core.mentorship.meetings.model import NewAssignment, Slot, SlotStatus
from mas.core.mentorship.recordings.model import NewRecording
from mas.core.platform.ids import uuid7
from mas.core.platform.paging import PageRequest
from mas.core.platform.ports.payments import GatewayPayment, PaymentStatus
from mas.http.app import create_app
from mas.modules import vendor_scopes
from mas.modules.comms import telephony
from mas.modules.mentorship import calendar as mentorship_calendar
from mas.modules.tokens import purchases as token_purchases
from tests.conftest import make_settings, missing_service, open_container, truncate_pg
from tests.exotel_fake import EXOPHONE, FakeExotel
from tests.exotel_fake import KEY as EXOTEL_KEY
from tests.exotel_fake import SID as EXOTEL_SID
from tests.exotel_fake import SUBDOMAIN as EXOTEL_SUBDOMAIN
from tests.exotel_fake import TOKEN as EXOTEL_TOKEN
from tests.google_calendar_fake import CLIENT_ID as CALENDAR_CLIENT_ID
from tests.google_calendar_fake import CLIENT_SECRET as CALENDAR_CLIENT_SECRET
from tests.google_calendar_fake import FakeGoogleCalendar
from tests.http.conftest import add_user
from tests.integration.crm_fixtures import add_leads
from tests.integration.test_google_idp import CLIENT_ID as GOOGLE_CLIENT_ID
from tests.integration.test_google_idp import JWKS_URL as GOOGLE_JWKS_URL
from tests.integration.test_google_idp import JwksEndpoint, SigningKey
from tests.razorpay_fake import KEY_ID as RAZORPAY_KEY_ID
from tests.razorpay_fake import KEY_SECRET as RAZORPAY_KEY_SECRET
from tests.razorpay_fake import FakeRazorpay

PLATFORM = Platform.MY_ANALYTICS_SCHOOL
ANONYMOUS = "anonymous"
VENDOR = "vendor"

Message = dict[str, Any]


def _seed_phones() -> Iterator[str]:
    """Random Indian mobile numbers, never one twice. Not a counting sequence: the fuzzer's
    coverage phase makes leads from the phone pattern's simplest values (``+917000000000``…),
    and a seeded phone equal to one of those would fail the next start-up's insert."""
    seen: set[str] = set()
    while True:
        phone = f"+91{secrets.choice('6789')}{secrets.randbelow(10**9):09d}"
        if phone not in seen:
            seen.add(phone)
            yield phone


SEED_PHONES = _seed_phones()


def unique_email(role: Role) -> str:
    """A seeded account's address: the whole uuid, since every operation seeds ten accounts
    into one database (six hex digits, the fixtures' default, collide within a run)."""
    return f"{role.value.lower()}-{uuid.uuid4().hex}@example.com"


"""The seeded leads' phones: schemathesis' pytest plugin ends the app's lifespan after every
test item, so each operation starts (and seeds) it again, all into one committed database."""

KNOWN_IDS: dict[str, list[str]] = {}
"""Path parameter name → values that name a seeded row (filled at startup; the gate's
``flatmap_path_parameters`` hook draws from them, so operations reach real rows too)."""


class FuzzTarget:
    """An ASGI app: its lifespan builds and seeds the container, then serves ``create_app``.

    After startup, ``headers[caller]`` holds the request headers of each caller (a role's name,
    ``anonymous`` or ``vendor``), and ``KNOWN_IDS`` the seeded ids.
    ``cases`` counts the requests the gate sent; ``failures`` keeps one line per failed check."""

    def __init__(self) -> None:
        self.settings: Any = None  # set by the ``fuzz_target`` fixture, before startup
        self.app: Any = None
        self.container: Any = None
        self.accounts: dict[Role, User] = {}
        self.headers: dict[str, dict[str, str]] = {ANONYMOUS: {"X-Platform": PLATFORM.value}}
        self.cases = 0
        self.phases: dict[str, int] = {}
        # MAS_FUZZ_ALL_FAILURES=1: note every failed check and fail once, when the module
        # ends, instead of stopping each operation at its first failure (the full tally).
        self.keep_going = os.environ.get("MAS_FUZZ_ALL_FAILURES") == "1"
        self.failures: list[dict[str, Any]] = []
        # The app's own lifespan, run once for the whole gate (see the module's docstring).
        self._inbox: asyncio.Queue[Message] = asyncio.Queue()
        self._outbox: asyncio.Queue[Message] = asyncio.Queue()
        self._served: asyncio.Task[None] | None = None
        self._google_http: httpx.AsyncClient | None = None

    async def __call__(self, scope: Message, receive: Any, send: Any) -> None:
        if scope["type"] != "lifespan":
            await self.app(scope, receive, send)
            return
        await receive()  # lifespan.startup
        if self._served is None:
            failed = await self._start(scope)
            if failed is not None:
                await send({"type": "lifespan.startup.failed", "message": failed})
                return
        await send({"type": "lifespan.startup.complete"})
        await receive()  # lifespan.shutdown: schemathesis ends it after every test item
        await send({"type": "lifespan.shutdown.complete"})

    async def _start(self, scope: Message) -> str | None:
        """Build, seed and start the app once; the reason when that failed."""
        google_http = self._google_http = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=JwksEndpoint(SigningKey("fuzz-key")))
        )
        try:
            self.container = await open_container(self.settings, inline_tasks=False)
            # Google sign-in configured as in production, its keys served by a local JWKS
            # endpoint: an invalid token is the documented 401, and nothing leaves the machine.
            self.container.identity.sign_in.google = GoogleIdentityProvider(
                GOOGLE_CLIENT_ID, jwks_url=GOOGLE_JWKS_URL, http=google_http
            )
            # Exotel configured against the fake speaking its wire format: calls and SMS reach
            # their handlers (an unconfigured one is the documented 503, never a fuzz target).
            exotel_http = httpx.AsyncClient(transport=httpx.ASGITransport(app=FakeExotel()))
            self.container.closers.append(exotel_http.aclose)
            telephony.install(
                self.container,
                ExotelClient(
                    subdomain=EXOTEL_SUBDOMAIN,
                    sid=EXOTEL_SID,
                    api_key=EXOTEL_KEY,
                    api_token=EXOTEL_TOKEN,
                    caller_id=EXOPHONE,
                    http=exotel_http,
                ),
            )
            # Razorpay configured against the fake speaking its wire format: purchases reach
            # their handlers (an unconfigured gateway is the documented 503, never a target).
            razorpay_http = httpx.AsyncClient(transport=httpx.ASGITransport(app=FakeRazorpay()))
            self.container.closers.append(razorpay_http.aclose)
            token_purchases.install(
                self.container,
                RazorpayGateway(
                    key_id=RAZORPAY_KEY_ID, key_secret=RAZORPAY_KEY_SECRET, http=razorpay_http
                ),
            )
            # Google Calendar configured against the fake (its OAuth token endpoint and
            # Calendar v3): connecting reaches its handler (unconfigured is the documented 503).
            calendar_http = httpx.AsyncClient(
                transport=httpx.ASGITransport(app=FakeGoogleCalendar())
            )
            self.container.closers.append(calendar_http.aclose)
            mentorship_calendar.install(self.container, calendar_http)
            await self._seed(self.container)
            self.app = create_app(container=self.container)
        except Exception as exc:
            if self.container is not None:
                await self.container.close()
            await google_http.aclose()
            return repr(exc)
        await self._inbox.put({"type": "lifespan.startup"})
        self._served = asyncio.create_task(self.app(scope, self._inbox.get, self._outbox.put))
        reply = await self._outbox.get()
        if reply["type"] != "lifespan.startup.complete":
            return str(reply.get("message", reply["type"]))
        return None

    def stop(self) -> None:
        """End the app's lifespan and close the container (the gate's end)."""
        if self._served is not None:
            asgi._get_portal().call(self._stop)

    async def _stop(self) -> None:
        assert self._served is not None
        try:
            await self._inbox.put({"type": "lifespan.shutdown"})
            await self._outbox.get()
            await self._served
        finally:
            self._served = None
            await self.container.close()
            if self._google_http is not None:
                await self._google_http.aclose()

    async def _seed(self, c: Any) -> None:
        """One account per role (each with a password, so no route can set a first one and
        sign the fuzzer out); the sales head has every page and flag and leads the SALES
        account. Separate *target* accounts are what ``user_id`` parameters may name: the
        fuzzer blocks, deletes and re-roles them, never a caller."""
        self.accounts = {role: await add_user(c, role, unique_email(role)) for role in Role}
        head = self.accounts[Role.SALES_HEAD]
        target_head = await add_user(c, Role.SALES_HEAD, unique_email(Role.SALES_HEAD))
        target_student = await add_user(c, Role.USER, unique_email(Role.USER))
        counsellor = await add_user(c, Role.SALES, unique_email(Role.SALES))
        now = c.clock.now()
        members = []
        async with c.uow() as uow:
            for user in (head, target_head):
                await uow.users.set_permissions(user.id, sorted(SALES_HEAD_PAGES), user.id)
                await uow.head_profiles.add(
                    SalesHeadProfile(
                        user_id=user.id,
                        display_name=f"Fuzz pool {user.email}",
                        created_at=now,
                        updated_at=now,
                        page_flags=dict.fromkeys(PAGE_FLAGS, True),
                    )
                )
            for user, role in (
                (self.accounts[Role.SALES], MemberRole.TELECALLER),
                (counsellor, MemberRole.COUNSELLOR),
            ):
                member = TeamMember(
                    id=uuid7(),
                    sales_head_id=head.id,
                    user_id=user.id,
                    member_role=role,
                    joined_at=now,
                )
                await uow.teams.add_member(member)
                members.append(member)
            await uow.commit()
        coach = await self._seed_coaching(c, target_student)
        leads = [
            *await add_leads(
                c, head.id, 3, assigned_to=self.accounts[Role.SALES].id, phones=SEED_PHONES
            ),
            *await add_leads(c, head.id, 2, phones=SEED_PHONES),
            *await add_leads(c, target_head.id, 1, phones=SEED_PHONES),
            *await add_leads(c, None, 1, phones=SEED_PHONES),
        ]
        KNOWN_IDS.clear()
        KNOWN_IDS.update(
            {
                "lead_id": [str(lead) for lead in leads],
                "user_id": [str(target_head.id), str(target_student.id), str(counsellor.id)],
                # the counsellor's membership: the SALES caller's own stays as it is
                "member_id": [str(members[1].id)],
                # the EXPERT caller is a super mentor coaching the target student
                "mentor_id": [str(coach)],
                "student_id": [str(target_student.id)],
            }
        )
        await self._seed_recording(c)
        await self._seed_export(c)
        await self._seed_payments(c)
        await self._seed_invoices(c)
        for role, user in self.accounts.items():
            token = c.identity.issuer.access_token(user, PLATFORM, AuthMethod.PASSWORD, None)
            self.headers[role.value] = {
                "Authorization": f"Bearer {token}",
                "X-Platform": PLATFORM.value,
            }

    async def _seed_coaching(self, c: Any, student: User) -> uuid.UUID:
        """The EXPERT caller is a super mentor with ``student`` assigned: the coaching routes
        reach their service past the roster check."""
        expert = self.accounts[Role.EXPERT]
        async with c.uow() as uow:
            account = await uow.users.get(expert.id)
            account.is_super_mentor = True
            await uow.users.save(account)
            await uow.commit()
        self.accounts[Role.EXPERT] = account
        admin = Caller(user_id=self.accounts[Role.ADMIN].id, role=Role.ADMIN, platform=PLATFORM)
        await c.mentorship.meetings.coaching.assign(admin, expert.id, NewAssignment(student.id))
        return expert.id

    async def _seed_recording(self, c: Any) -> None:
        """A confirmed meeting of the EXPERT and USER callers tomorrow, with a recording
        uploading: the recording routes reach their service past the meeting checks."""
        start = (c.clock.now() + timedelta(days=1)).replace(minute=0, second=0, microsecond=0)
        meeting = Slot(
            id=uuid7(),
            mentor_id=self.accounts[Role.EXPERT].id,
            student_id=self.accounts[Role.USER].id,
            start_date_time=start,
            end_date_time=start + timedelta(minutes=30),
            status=SlotStatus.CONFIRMED,
            is_available=False,
            created_at=c.clock.now(),
            updated_at=c.clock.now(),
            room_id=f"room-{uuid.uuid4().hex}",
        )
        async with c.uow() as uow:
            await uow.slots.add_many([meeting])
            await uow.commit()
        admin = Caller(user_id=self.accounts[Role.ADMIN].id, role=Role.ADMIN, platform=PLATFORM)
        started = await c.mentorship.recordings.uploads.start(admin, meeting.id, NewRecording())
        KNOWN_IDS.setdefault("meeting_id", []).append(str(meeting.id))
        KNOWN_IDS.setdefault("recording_id", []).append(str(started.recording.id))

    async def _seed_export(self, c: Any) -> None:
        """A finance export of the FINANCE caller: ``export_id`` reaches the service past the
        requester check (its build runs on the server's broker)."""
        finance = Caller(
            user_id=self.accounts[Role.FINANCE].id, role=Role.FINANCE, platform=PLATFORM
        )
        request = msgspec.convert(
            {"kind": "INVOICES", "from": "2026-03-01", "to": "2026-03-31", "password": "fuzz" * 4},
            NewExport,
        )
        export = await c.finance.reports.exports.request(finance, request)
        KNOWN_IDS.setdefault("export_id", []).append(str(export.id))

    async def _seed_payments(self, c: Any) -> None:
        """Mirrored gateway payments (captured, authorized, refunded): ``payment_id`` reaches
        the reconciliation routes past the lookup."""
        now = c.clock.now()
        payments = [
            GatewayPayment(
                id=f"pay_fuzz{uuid.uuid4().hex[:12]}",
                amount_paise=35000,
                currency="INR",
                status=status,
                amount_refunded_paise=35000 if status is PaymentStatus.REFUNDED else 0,
                email="payer@example.com",
                created_at=now - timedelta(hours=1),
            )
            for status in (PaymentStatus.CAPTURED, PaymentStatus.AUTHORIZED, PaymentStatus.REFUNDED)
        ]
        await c.finance.payments.mirror.mirror(payments)
        async with c.uow() as uow:
            found = await uow.global_payments.page(
                PaymentFilter(email="payer@example.com"), PageRequest(page_size=100)
            )
        ids = [str(p.id) for p in found.items if p.razorpay_payment_id in {x.id for x in payments}]
        KNOWN_IDS.setdefault("payment_id", []).extend(ids)

    async def _seed_invoices(self, c: Any) -> None:
        """A DRAFT and an ISSUED invoice (its PDF rendered) of two captured payments:
        ``invoice_id`` reaches the invoice routes past the lookup."""
        from tests.finance_invoicing_support import add_payment

        async with c.uow() as uow:  # the emptied database gets the GST masters' seed back
            await uow.gst_masters.rates()
            await uow.gst_masters.states()
            await uow.commit()
        finance = Caller(
            user_id=self.accounts[Role.FINANCE].id, role=Role.FINANCE, platform=PLATFORM
        )
        desk = c.finance.invoicing.desk
        draft = await desk.draft(finance, (await add_payment(c)).id)
        issued = await desk.draft(finance, (await add_payment(c)).id)
        await desk.issue(finance, issued.id)
        await c.finance.invoicing.documents.render_and_email(issued.id)
        KNOWN_IDS.setdefault("invoice_id", []).extend([str(draft.id), str(issued.id)])
        KNOWN_IDS.setdefault("state_code", []).extend(["04", "29"])

    def seed_over_http(self, client: Any) -> None:
        """What is simplest to make through the API itself: a tag, a campaign, vendor keys."""
        admin = self.headers[Role.ADMIN.value]

        def created(method: str, path: str, body: Any, headers: dict[str, str]) -> Any:
            response = client.request(method, path, json=body, headers=headers)
            assert response.status_code in (200, 201), (path, response.text)
            return response.json()

        tag = created("POST", "/api/crm/tags", {"name": "fuzz-hot"}, admin)
        campaign = created(
            "POST",
            "/api/crm/campaigns",
            {
                "slug": "fuzz-2025",
                "name": "Fuzz 2025",
                "programme": "drone-tech",
                "default_sales_head_id": str(self.accounts[Role.SALES_HEAD].id),
            },
            admin,
        )
        scopes = sorted(vendor_scopes())
        vendor = created(
            "POST", "/api/admin/vendor-keys", {"vendor_name": "Fuzz", "scopes": scopes}, admin
        )
        # A second key for the key routes to revoke and reassign: never the one the gate uses.
        spare = created(
            "POST", "/api/admin/vendor-keys", {"vendor_name": "Spare", "scopes": scopes}, admin
        )
        self.headers[VENDOR] = {"X-API-Key": vendor["api_key"], "X-Platform": PLATFORM.value}
        KNOWN_IDS.update(
            {
                "tag_id": [str(tag["id"])],
                "campaign_id": [str(campaign["id"])],
                "slug": [str(campaign["slug"])],
                "key_id": [str(spare["key"]["id"])],
            }
        )

    def run(self, case: Any, callers: list[str]) -> None:
        """Send ``case`` as each of ``callers`` and run every check on each answer; the failed
        checks are noted, then raised (all callers' at once)."""
        failed = [group for caller in callers if (group := self._check(case, caller))]
        if self.keep_going:
            return
        if len(failed) == 1:
            raise failed[0]
        if failed:
            raise BaseExceptionGroup(f"{len(failed)} callers got a failing answer", failed)

    def _check(self, case: Any, caller: str) -> FailureGroup | None:
        self.cases += 1
        phase = case.meta.phase.name.value if case.meta else "unknown"
        self.phases[phase] = self.phases.get(phase, 0) + 1
        headers = self.headers[caller]
        response = case.call(headers=headers)
        try:
            case.validate_response(response, headers=headers, transport_kwargs={"headers": headers})
        except FailureGroup as raised:
            group = deliberate_refusals_removed(raised, response, case.operation.definition.raw)
            if group is None:
                return None
            for failure in group.exceptions:
                self.failures.append(
                    {
                        "operation": f"{case.operation.method.upper()} {case.operation.path}",
                        "caller": caller,
                        "check": (type(failure).checks or (failure.title,))[0],
                        "title": failure.title,
                        "message": str(getattr(failure, "message", "")).strip()[:300],
                        "status": response.status_code,
                        "answer": response.text_lossy()[:300],
                        "request": f"{case.method.upper()} {case.formatted_path}",
                        "query": repr(case.query)[:200] if case.query else None,
                        "body": None if isinstance(case.body, NotSet) else repr(case.body)[:200],
                        "phase": phase,
                    }
                )
            group.add_note(f"caller: {caller}")
            return group
        return None

    def report(self, path: str) -> None:
        Path(path).write_text(
            json.dumps(
                {"requests": self.cases, "by_phase": self.phases, "failures": self.failures},
                indent=1,
            )
        )


def deliberate_refusals_removed(
    group: FailureGroup, response: Any, operation: dict[str, Any]
) -> FailureGroup | None:
    """Drop the ``positive_data_acceptance`` failures that are refusals the document declares,
    and only those; every other check's failure, and every other refusal, stays.

    - A NUL: the request boundary refuses NUL in any string on purpose (422 ``nul_character``),
      and no OpenAPI keyword can say "no NUL". Generation keeps NUL in (a NUL that reaches
      PostgreSQL is a 500, which ``not_a_server_error`` catches).
    - A declared business rule: a 4xx problem whose ``code`` the operation lists in its
      ``x-rules`` extension (a route's ``opt["rules"]``, see ``mas.http.openapi``): a cross-field
      or state rule the schema cannot state, documented on that 4xx response. A code the
      operation does not list, or an answer that is not a problem, is still a failure."""
    try:
        body = response.json() if 400 <= response.status_code < 500 else None
    except ValueError:
        body = None
    code = body.get("code") if isinstance(body, dict) else None
    declared = set(operation.get("x-rules") or ())
    if response.status_code == 422:
        declared.add("nul_character")
    kept = [
        failure
        for failure in group.exceptions
        if not (isinstance(failure, RejectedPositiveData) and code in declared)
    ]
    if len(kept) == len(group.exceptions):
        return group
    return FailureGroup(kept, str(group)) if kept else None


SERVED = FuzzTarget()
"""The one target: the gate's schemas name it as their ASGI app at import time (schemathesis
re-sends some requests itself, through the schema's app), and ``fuzz_target`` starts it."""


@pytest.fixture(scope="module")
def fuzz_target(
    pg_url: str | None, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[FuzzTarget]:
    """The seeded app on this run's PostgreSQL. Module-scoped: its tables are emptied as soon
    as the gate's module ends, so the rolled-back tests that follow find them empty."""
    if pg_url is None:
        missing_service("PostgreSQL (MAS_TEST_PG_URL)")
    assert pg_url is not None
    folder = tmp_path_factory.mktemp("fuzz")
    # The served defaults (a 1 s release loop), not the tests' fast one: less noise on 2 cores.
    target = SERVED
    # WhatsApp on the in-process provider (FakeWhatsApp): the manager routes reach their
    # handlers (an unconfigured provider is the documented 503, never a fuzz target).
    target.settings = make_settings(
        pg_url,
        folder,
        release_interval_s=1.0,
        whatsapp_provider="fake",
        google_client_id=CALENDAR_CLIENT_ID,
        google_client_secret=CALENDAR_CLIENT_SECRET,
        supplier_gstin="29AAGCB7383J1Z4",  # GST invoicing configured: drafts reach the desk
    )
    try:
        with asgi.get_client(target) as client:
            target.seed_over_http(client)
        yield target
    finally:
        asgi.shutdown_lifespans()
        target.stop()
        asyncio.run(truncate_pg(pg_url))
        if os.environ.get("MAS_FUZZ_REPORT"):
            target.report(os.environ["MAS_FUZZ_REPORT"])
    if target.keep_going and target.failures:
        pytest.fail(f"{len(target.failures)} failed checks in {target.cases} requests")
