"""Pure rules of the lead lifecycle: cleaning contacts, merging, status moves, windows, cursors,
CSV cells."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, date, datetime, timedelta

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mas.adapters.phone import LibPhoneNormalizer
from mas.core.crm.analytics import COLUMNS, csv_cell, csv_lines
from mas.core.crm.contact import (
    AN_EMAIL,
    EMAIL_OR_BLANK,
    FREE_TEXT,
    LeadContact,
    check_extra_data,
    clean_contact,
    clean_email,
    clean_name,
)
from mas.core.crm.intake import NewLead, tag_names
from mas.core.crm.lead_access import pool_for_new_lead
from mas.core.crm.merge_rule import CONTACT_FIELDS, MERGE_RULES, keep_second_number, merge
from mas.core.crm.model import (
    LEAD_FIELDS,
    TAG_NAME_MAX,
    TAG_NAME_PATTERN,
    Activity,
    ActivityType,
    IncomingLead,
    Lead,
    LeadStatus,
    StatusChange,
    apply_transition,
    check_transition,
    slugify_tag,
)
from mas.core.crm.queries import (
    CURSOR_PATTERN,
    FollowUpWindow,
    date_range,
    day_start,
    decode_cursor,
    encode_cursor,
    window_query,
)
from mas.core.crm.service import PoolLeadChanges
from mas.core.crm.tagging import BulkTag
from mas.core.identity.policy import Caller, Platform, Role
from mas.core.platform.errors import Forbidden, InvalidState, ValidationFailed
from mas.http.crm.leads import version_of

PHONES = LibPhoneNormalizer()
NOW = datetime(2025, 3, 1, 20, 0, tzinfo=UTC)  # 01:30 on 2 March in Kolkata
IST = "Asia/Kolkata"


def a_lead(**fields: object) -> Lead:
    return Lead(id=uuid.uuid4(), name="Asha", created_at=NOW, updated_at=NOW, **fields)  # type: ignore[arg-type]


# --- contacts ------------------------------------------------------------------------------


def test_names_are_trimmed_and_unknown_is_refused() -> None:
    assert clean_name("  Asha   Rao ") == "Asha Rao"
    for bad in ("", "   ", "Unknown", "n/a"):
        with pytest.raises(ValidationFailed) as err:
            clean_name(bad)
        assert err.value.errors[0].field == "name"


def test_emails_are_lower_cased_and_checked() -> None:
    assert clean_email("  Asha@Example.COM ") == "asha@example.com"
    assert clean_email("") is None and clean_email(None) is None
    for bad in ("asha", "asha@", "a b@x.org", "a@x", "a@x."):
        with pytest.raises(ValidationFailed):
            clean_email(bad)


def test_phones_normalise_to_e164_in_any_spelling() -> None:
    for raw in ("098765 43210", "+91 98765-43210", "9876543210", "0091 9876543210"):
        contact = clean_contact(PHONES, phone=raw, email=None)
        assert contact.phone_e164 == "+919876543210", raw
        assert contact.warnings == []


def test_an_unreadable_phone_is_kept_when_the_email_is_good() -> None:
    contact = clean_contact(PHONES, phone="12345", email="a@x.org")
    assert contact.phone_e164 is None and contact.email == "a@x.org"
    assert contact.raw_extra == {"phone_raw": "12345"} and contact.warnings
    with pytest.raises(ValidationFailed) as err:
        clean_contact(PHONES, phone="12345", email=None)
    assert err.value.code == "contact_required" and [e.field for e in err.value.errors] == ["phone"]
    with pytest.raises(ValidationFailed) as none:
        clean_contact(PHONES, phone=None, email="  ")
    assert {e.field for e in none.value.errors} == {"phone", "email"}


def test_the_alternate_phone_moves_up_when_the_main_one_is_bad() -> None:
    contact = clean_contact(PHONES, phone="123", email=None, phone_alt="9876543210")
    assert (contact.phone_e164, contact.phone_alt) == ("+919876543210", None)
    same = clean_contact(PHONES, phone="9876543210", email=None, phone_alt="+919876543210")
    assert same.phone_alt is None
    bad_alt = clean_contact(PHONES, phone="9876543210", email=None, phone_alt="1")
    assert bad_alt.raw_extra == {"phone_alt_raw": "1"}


def test_extra_data_is_capped_at_16_kb() -> None:
    assert check_extra_data({"a": "x" * 100}) == {"a": "x" * 100}
    with pytest.raises(ValidationFailed) as err:
        check_extra_data({"a": "x" * 17_000})
    assert err.value.errors[0].field == "extra_data"


def test_a_second_number_becomes_the_alternate_phone() -> None:
    lead = a_lead(phone_e164="+919876543210")
    incoming = IncomingLead(name="A", phone_e164="+919812345678")
    keep_second_number(lead, incoming)
    assert incoming.phone_alt == "+919812345678"
    taken = a_lead(phone_e164="+919876543210", phone_alt="+919800000000")
    other = IncomingLead(name="A", phone_e164="+919812345678")
    keep_second_number(taken, other)
    assert other.phone_alt is None


def test_tag_names_become_slugs_and_bad_ones_are_skipped() -> None:
    names, warnings = tag_names(["Hot Lead", "hot-lead", "x", "Drone_Tech"])
    assert names == ["drone-tech", "hot-lead"] and len(warnings) == 1


# --- merge and status (model.py) -----------------------------------------------------------


def test_merge_fills_only_empty_fields_and_reopens_lost_leads() -> None:
    lead = a_lead(email="a@x.org", status=LeadStatus.NOT_INTERESTED, lost_reason="fees")
    lead.extra_data = {"k": 1}
    result = merge(
        lead,
        IncomingLead(name="Other", email="b@x.org", city="Pune", extra_data={"k": 2, "n": 3}),
    )
    assert (lead.name, lead.email, lead.city) == ("Asha", "a@x.org", "Pune")
    assert lead.extra_data == {"k": 1, "n": 3} and result.filled == ["city"]
    assert result.reopened and lead.status is LeadStatus.NEW and lead.lost_reason is None
    assert lead.reinquiry_count == 1
    won = a_lead(status=LeadStatus.CONVERTED)
    assert not merge(won, IncomingLead(name="x")).reopened and won.status is LeadStatus.CONVERTED


def test_a_second_number_is_never_the_main_one() -> None:
    lead = a_lead(phone_e164="+919876543210")
    result = merge(
        lead, IncomingLead(name="A", phone_e164="+919812345678", phone_alt="+919876543210")
    )
    assert lead.phone_alt == "+919812345678" and result.filled == ["phone_alt"]
    no_main = a_lead(email="a@x.org")
    merge(no_main, IncomingLead(name="A", email="a@x.org", phone_alt="+919812345678"))
    assert (no_main.phone_e164, no_main.phone_alt) == (None, None)


def test_the_contact_fields_are_declared_once() -> None:
    """Every shape of a lead derives from ``LeadContact``; these tables must follow it."""
    contact = {f.name for f in msgspec.structs.fields(LeadContact)}
    incoming = {f.name for f in msgspec.structs.fields(IncomingLead)}
    typed = {f.name for f in msgspec.structs.fields(NewLead)}
    assert contact < incoming and contact < typed
    assert list(MERGE_RULES) == [*CONTACT_FIELDS, "extra_data", "tags"]
    assert set(MERGE_RULES) == incoming
    assert set(LEAD_FIELDS) == typed - {"extra_data"}
    assert {f.name for f in msgspec.structs.fields(PoolLeadChanges)} >= typed - {"tags"}
    assert set(CONTACT_FIELDS) <= set(COLUMNS)
    assert FREE_TEXT == {"city": 100, "state": 100, "course_interest": 120}


@pytest.mark.parametrize(
    ("current", "target"),
    [
        (LeadStatus.NEW, LeadStatus.CONVERTED),
        (LeadStatus.NEW, LeadStatus.QUALIFIED),
        (LeadStatus.CONVERTED, LeadStatus.NEW),
        (LeadStatus.INVALID, LeadStatus.INTERESTED),
        (LeadStatus.CLOSED, LeadStatus.CONVERTED),
    ],
)
def test_illegal_moves_name_both_states(current: LeadStatus, target: LeadStatus) -> None:
    with pytest.raises(InvalidState) as err:
        check_transition(
            a_lead(status=current),
            StatusChange(to=target, conversion_ref="r", lost_reason="l"),
            is_admin=True,
            is_head=False,
        )
    assert current.value in err.value.detail and target.value in err.value.detail


def test_reopening_needs_a_head_or_an_admin() -> None:
    lost = a_lead(status=LeadStatus.CLOSED)
    with pytest.raises(InvalidState):
        check_transition(lost, StatusChange(to=LeadStatus.NEW), is_admin=False, is_head=False)
    assert check_transition(lost, StatusChange(to=LeadStatus.NEW), is_admin=False, is_head=True)
    apply_transition(lost, StatusChange(to=LeadStatus.NEW))
    assert lost.status is LeadStatus.NEW


# --- windows, ranges, cursors --------------------------------------------------------------


def test_follow_up_windows_use_the_local_day() -> None:
    today = window_query(FollowUpWindow.TODAY, NOW, IST)
    assert today.due_from == datetime(2025, 3, 1, 18, 30, tzinfo=UTC)
    assert today.due_before == datetime(2025, 3, 2, 18, 30, tzinfo=UTC)
    week = window_query(FollowUpWindow.WEEK, NOW, IST)
    assert week.due_before - week.due_from == timedelta(days=7)  # type: ignore[operator]
    overdue = window_query(FollowUpWindow.OVERDUE, NOW, IST)
    assert overdue.due_from is None and overdue.due_before == NOW and len(overdue.statuses) == 2
    assert day_start(NOW, IST).date() == date(2025, 3, 2)


def test_report_ranges_default_to_30_days_and_stop_at_366() -> None:
    start, end, lower, upper = date_range(None, None, date(2025, 3, 2), IST)
    assert (end - start).days == 29 and upper - lower == timedelta(days=30)
    date_range(date(2024, 3, 2), date(2025, 3, 2), date(2025, 3, 2), IST)  # 366 days: fine
    with pytest.raises(ValidationFailed):
        date_range(date(2024, 3, 1), date(2025, 3, 2), date(2025, 3, 2), IST)
    with pytest.raises(ValidationFailed):
        date_range(date(2025, 3, 3), date(2025, 3, 2), date(2025, 3, 2), IST)


def test_cursors_round_trip_and_refuse_junk() -> None:
    line = Activity(
        id=uuid.uuid4(),
        raw_lead_id=uuid.uuid4(),
        type=ActivityType.NOTE,
        summary="n",
        occurred_at=NOW,
    )
    assert decode_cursor(encode_cursor(line)) == (NOW, line.id)
    for junk in ("x", "!!!", encode_cursor(line)[:-3]):
        with pytest.raises(ValidationFailed):
            decode_cursor(junk)


# --- the edges ---------------------------------------------------------------------------------


def test_csv_cells_defuse_formulas_but_keep_phones() -> None:
    assert csv_cell("name", "=HYPERLINK(1)") == "'=HYPERLINK(1)"
    assert csv_cell("phone_e164", "+919876543210") == "+919876543210"
    assert csv_cell("tags", ["a", "b"]) == "a;b"
    assert csv_cell("status", LeadStatus.NEW) == "NEW"
    assert csv_cell("created_at", NOW) == NOW.isoformat() and csv_cell("city", None) == ""
    assert csv_lines([], header=True).startswith(b"id,name,")


def test_pools_for_new_leads() -> None:
    head = Caller(user_id=uuid.uuid4(), role=Role.SALES_HEAD, platform=Platform.MR_MENTOR)
    admin = Caller(user_id=uuid.uuid4(), role=Role.ADMIN, platform=Platform.MR_MENTOR)
    other = uuid.uuid4()
    assert pool_for_new_lead(head, None) == head.user_id
    with pytest.raises(Forbidden):
        pool_for_new_lead(head, other)
    assert pool_for_new_lead(admin, other) == other and pool_for_new_lead(admin, None) is None


def test_if_match_spellings() -> None:
    assert version_of("3") == version_of('"3"') == version_of('W/"3"') == 3
    # "²" passes str.isdigit but not int(); ten digits pass no column.
    for bad in (None, "", "abc", "-1", "²", "1" * 10, "3 4"):
        with pytest.raises(ValidationFailed):
            version_of(bad)


# --- what the document states is what the server does -------------------------------------
# Each pattern below is in /schema/openapi.json; a client (and the schemathesis gate) that
# follows it must never be refused, and the server refuses what does not follow it.


@settings(max_examples=300, suppress_health_check=list(HealthCheck))
@given(st.from_regex(TAG_NAME_PATTERN) | st.text(max_size=45))
def test_a_tag_name_of_the_pattern_is_a_slug_of_the_same_length(raw: str) -> None:
    if not 2 <= len(raw) <= TAG_NAME_MAX:
        return
    if re.search(TAG_NAME_PATTERN, raw):
        assert len(slugify_tag(raw)) == len(raw.strip())
        msgspec.convert({"lead_ids": [str(uuid.uuid4())], "add": [raw]}, BulkTag)
    else:
        with pytest.raises(msgspec.ValidationError):
            msgspec.convert({"lead_ids": [str(uuid.uuid4())], "add": [raw]}, BulkTag)


@settings(max_examples=300, suppress_health_check=list(HealthCheck))
@given(st.from_regex(EMAIL_OR_BLANK) | st.text(max_size=30))
def test_the_email_pattern_is_exactly_what_clean_email_takes(raw: str) -> None:
    if len(raw) > 254:
        return
    if re.search(EMAIL_OR_BLANK, raw):
        clean_email(raw)
    else:
        with pytest.raises(ValidationFailed):
            clean_email(raw)


def test_the_email_pattern_spells_out_pythons_whitespace() -> None:
    # ECMA's \s (what a JSON Schema reader uses) is another set than Python's str.strip.
    assert re.search(EMAIL_OR_BLANK, " a@b.cc\x1c") and not re.search(EMAIL_OR_BLANK, "a\x1e@b.cc")
    assert re.search(AN_EMAIL, "a@b.cc") and not re.search(AN_EMAIL, "  ")


@settings(max_examples=200, suppress_health_check=list(HealthCheck))
@given(st.from_regex(CURSOR_PATTERN))
def test_every_cursor_of_the_pattern_is_a_position(cursor: str) -> None:
    moment, ident = decode_cursor(cursor)
    assert moment.tzinfo is not None and ident.hex == cursor.strip().split("-")[1]
