"""Ids, time helpers and domain errors: the shared plumbing every domain leans on."""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone

import pytest

from mas.core.platform.errors import (
    BadRequest,
    Conflict,
    DomainError,
    ExternalUnavailable,
    FieldError,
    Forbidden,
    InvalidState,
    NotConfigured,
    NotFound,
    RateLimited,
    Unauthorized,
    ValidationFailed,
)
from mas.core.platform.ids import parse_id, uuid7
from mas.core.platform.ports.clock import SystemClock
from mas.core.platform.time import as_utc, local_today, seconds, utcnow

# --- uuid7 -------------------------------------------------------------------------------------


def test_uuid7_is_version_7_with_the_rfc_variant() -> None:
    for _ in range(50):
        value = uuid7()
        assert value.version == 7
        assert value.variant == uuid.RFC_4122


def test_uuid7_embeds_the_given_milliseconds() -> None:
    ms = 1_735_689_600_123  # 2025-01-01T00:00:00.123Z
    value = uuid7(ms)
    assert value.int >> 80 == ms
    assert value.hex[:12] == f"{ms:012x}"


def test_uuid7_without_a_time_uses_now() -> None:
    before = int(time.time() * 1000)
    embedded = uuid7().int >> 80
    after = int(time.time() * 1000)
    assert before <= embedded <= after


def test_uuid7_sorts_by_time() -> None:
    ids = [uuid7(1_700_000_000_000 + step) for step in range(200)]
    assert sorted(ids) == ids
    assert sorted(str(i) for i in ids) == [str(i) for i in ids]  # as text too


def test_uuid7_in_the_same_millisecond_is_still_unique() -> None:
    ids = {uuid7(1_700_000_000_000) for _ in range(1000)}
    assert len(ids) == 1000


def test_uuid7_keeps_only_48_bits_of_time() -> None:
    value = uuid7((1 << 48) + 5)
    assert value.int >> 80 == 5
    assert value.version == 7


# --- parse_id ----------------------------------------------------------------------------------


def test_parse_id_reads_a_uuid() -> None:
    value = uuid7()
    assert parse_id(str(value)) == value
    assert parse_id(str(value).upper()) == value
    assert parse_id(value.hex) == value


@pytest.mark.parametrize("raw", ["", "42", "not-a-uuid", "0190b2c4-zzzz-7000-8000-000000000000"])
def test_parse_id_of_garbage_is_none(raw: str) -> None:
    assert parse_id(raw) is None


@pytest.mark.parametrize("raw", [None, 42, b"\x00" * 16])
def test_parse_id_of_a_non_string_is_none(raw: object) -> None:
    assert parse_id(raw) is None  # type: ignore[arg-type]


# --- time --------------------------------------------------------------------------------------


def test_utcnow_is_aware_utc() -> None:
    now = utcnow()
    assert now.tzinfo is UTC
    assert abs(now - datetime.now(UTC)) < timedelta(seconds=5)


def test_the_system_clock_is_aware_utc() -> None:
    now = SystemClock().now()
    assert now.tzinfo is UTC
    assert abs(now - datetime.now(UTC)) < timedelta(seconds=5)


@pytest.fixture
def machine_in_india() -> Iterator[None]:
    """A local zone that is not UTC, so "naive means UTC" differs from "naive means local"."""
    before = os.environ.get("TZ")
    os.environ["TZ"] = "Asia/Kolkata"
    time.tzset()
    try:
        yield
    finally:
        if before is None:
            del os.environ["TZ"]
        else:
            os.environ["TZ"] = before
        time.tzset()


@pytest.mark.usefixtures("machine_in_india")
def test_as_utc_treats_a_naive_value_as_utc() -> None:
    naive = datetime(2025, 1, 1, 12, 0)
    assert as_utc(naive) == datetime(2025, 1, 1, 12, 0, tzinfo=UTC)
    assert as_utc(naive).tzinfo is UTC


def test_as_utc_converts_an_aware_value() -> None:
    ist = timezone(timedelta(hours=5, minutes=30))
    moment = datetime(2025, 1, 1, 12, 0, tzinfo=ist)
    converted = as_utc(moment)
    assert converted.tzinfo is UTC
    assert (converted.hour, converted.minute) == (6, 30)


@pytest.mark.parametrize(
    ("moment", "midnight"),
    [
        # 23:59 IST on 1 March: still the 1st locally.
        (datetime(2024, 3, 1, 18, 29, tzinfo=UTC), datetime(2024, 2, 29, 18, 30, tzinfo=UTC)),
        # 00:00 IST on 2 March: already the 2nd locally, though still the 1st in UTC.
        (datetime(2024, 3, 1, 18, 30, tzinfo=UTC), datetime(2024, 3, 1, 18, 30, tzinfo=UTC)),
        # 05:29 IST on 2 March, just before the UTC day turns.
        (datetime(2024, 3, 1, 23, 59, tzinfo=UTC), datetime(2024, 3, 1, 18, 30, tzinfo=UTC)),
        # 05:30 IST on 2 March: the UTC date is now the 2nd as well.
        (datetime(2024, 3, 2, 0, 0, tzinfo=UTC), datetime(2024, 3, 1, 18, 30, tzinfo=UTC)),
    ],
)
def test_local_today_in_india_across_utc_midnight(moment: datetime, midnight: datetime) -> None:
    today = local_today(moment, "Asia/Kolkata")
    assert today == midnight
    assert today.tzinfo is UTC


@pytest.mark.usefixtures("machine_in_india")
def test_local_today_accepts_a_naive_utc_value() -> None:
    naive = datetime(2024, 3, 1, 19, 0)  # 00:30 IST on the 2nd
    assert local_today(naive, "Asia/Kolkata") == datetime(2024, 3, 1, 18, 30, tzinfo=UTC)


def test_local_today_in_utc_is_the_utc_midnight() -> None:
    moment = datetime(2024, 3, 1, 23, 59, tzinfo=UTC)
    assert local_today(moment, "UTC") == datetime(2024, 3, 1, tzinfo=UTC)


def test_seconds_is_a_timedelta() -> None:
    assert seconds(1.5) == timedelta(milliseconds=1500)


# --- errors ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cls", "code"),
    [
        (DomainError, "domain_error"),
        (BadRequest, "bad_request"),
        (NotFound, "not_found"),
        (Conflict, "conflict"),
        (Forbidden, "forbidden"),
        (Unauthorized, "unauthorized"),
        (ValidationFailed, "validation_failed"),
        (RateLimited, "rate_limited"),
        (ExternalUnavailable, "external_unavailable"),
    ],
)
def test_each_error_has_its_default_code(cls: type[DomainError], code: str) -> None:
    error = cls("it went wrong")
    assert error.code == code
    assert error.detail == str(error) == "it went wrong"
    assert error.errors == []
    assert error.retry_after is None
    assert isinstance(error, DomainError)


def test_a_domain_error_carries_code_field_errors_and_retry_after() -> None:
    errors = [FieldError("email", "is not an email address")]
    error = ValidationFailed("check the form", code="signup_invalid", errors=errors, retry_after=3)
    assert error.code == "signup_invalid"
    assert error.errors == errors
    assert error.retry_after == 3
    assert ValidationFailed.code == "validation_failed"  # the class default is untouched
    assert ValidationFailed("again").code == "validation_failed"


def test_rate_limited_carries_retry_after() -> None:
    error = RateLimited("slow down", retry_after=20)
    assert (error.code, error.retry_after) == ("rate_limited", 20)


def test_invalid_state_names_both_states() -> None:
    error = InvalidState("lead", "won", "new")
    assert str(error) == "lead cannot move from 'won' to 'new'"
    assert (error.current, error.target) == ("won", "new")
    assert error.code == "illegal_transition"
    assert isinstance(error, Conflict)


def test_not_configured_names_the_port() -> None:
    error = NotConfigured("SMTP")
    assert error.code == "integration_not_configured"
    assert str(error) == "SMTP is not configured"
    assert error.port == "SMTP"
    assert isinstance(error, ExternalUnavailable)
