"""The pure identity rules: stages, account status, codes, input checks, roles and the snapshot."""

from __future__ import annotations

import re
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from mas.adapters.fakes.identity import FakeCodec, FakeSecrets
from mas.adapters.fakes.platform import FakeClock
from mas.core.crm.pages import SALES_HEAD_PAGES
from mas.core.identity.access import revoked_session_key, snapshot_key
from mas.core.identity.lockout import wait_after
from mas.core.identity.mail import ACCOUNT_CREATED, ALERT, BRAND, MAIL_TEMPLATES, otp_template
from mas.core.identity.model import (
    AMR,
    AuthMethod,
    OtpCode,
    OtpPurpose,
    RefreshSession,
    User,
    UserStage,
    check_email,
    check_password,
    normalise_email,
    parse_role,
    snapshot_of,
)
from mas.core.identity.policy import (
    ADMIN_ROLES,
    Caller,
    Platform,
    Role,
    check_platform,
    is_admin,
    platform_allows,
)
from mas.core.identity.ports import AccessTokenClaims
from mas.core.identity.secrets import StdSecrets, same
from mas.core.identity.tokens import RequestInfo, TokenIssuer
from mas.core.identity.views import view
from mas.core.platform.errors import Conflict, Forbidden, InvalidState, ValidationFailed

NOW = datetime(2025, 3, 1, 10, 0, tzinfo=UTC)


def a_user(role: Role = Role.USER, **fields: object) -> User:
    return User(id=uuid.uuid4(), email="asha@example.com", role=role, created_at=NOW, **fields)  # type: ignore[arg-type]


# --- stage -------------------------------------------------------------------------------------


def test_a_new_user_starts_unverified_at_signup() -> None:
    user = a_user()
    assert user.stage is UserStage.SIGNUP
    assert (user.is_verified, user.is_profile_complete, user.token_version) == (False, False, 0)
    assert not user.is_deleted and not user.is_blocked


def test_the_code_verifies_the_email() -> None:
    user = a_user()
    user.advance(UserStage.OTP_VERIFIED)
    assert user.stage is UserStage.OTP_VERIFIED
    assert user.is_verified and not user.is_profile_complete


def test_the_profile_completes_after_verification() -> None:
    user = a_user()
    user.advance(UserStage.OTP_VERIFIED)
    user.advance(UserStage.PROFILE_COMPLETE)
    assert user.stage is UserStage.PROFILE_COMPLETE
    assert user.is_verified and user.is_profile_complete


def test_completing_the_profile_before_the_code_is_refused() -> None:
    user = a_user()
    with pytest.raises(Conflict) as refused:
        user.advance(UserStage.PROFILE_COMPLETE)
    assert refused.value.code == "otp_not_verified"
    assert user.stage is UserStage.SIGNUP and not user.is_profile_complete


@pytest.mark.parametrize("again", [UserStage.SIGNUP, UserStage.OTP_VERIFIED])
def test_repeats_and_steps_back_are_no_ops(again: UserStage) -> None:
    user = a_user()
    user.advance(UserStage.OTP_VERIFIED)
    user.advance(UserStage.PROFILE_COMPLETE)
    user.advance(again)
    user.advance(UserStage.PROFILE_COMPLETE)
    assert user.stage is UserStage.PROFILE_COMPLETE
    assert user.is_verified and user.is_profile_complete


def test_stage_values_are_the_original_ones() -> None:
    assert [int(s) for s in UserStage] == [1, 2, 3]


# --- account status ----------------------------------------------------------------------------


def test_block_revokes_tokens_and_unblock_keeps_them_revoked() -> None:
    user = a_user()
    user.block()
    assert user.is_blocked and user.token_version == 1
    user.unblock()
    assert not user.is_blocked and user.token_version == 1, "old tokens stay dead"


def test_each_block_bumps_the_token_version() -> None:
    user = a_user()
    user.block()
    user.block()
    assert user.token_version == 2


def test_unblocking_an_active_user_changes_nothing() -> None:
    user = a_user()
    user.unblock()
    assert not user.is_blocked and user.token_version == 0


def test_revoke_tokens_bumps_by_one() -> None:
    user = a_user(token_version=4)
    user.revoke_tokens()
    assert user.token_version == 5


@pytest.mark.parametrize("blocked", [False, True])
def test_delete_from_active_or_blocked(blocked: bool) -> None:
    user = a_user(is_blocked=blocked, token_version=3)
    user.delete(NOW)
    assert user.is_deleted and user.deleted_at == NOW
    assert user.token_version == 4


def test_nothing_leaves_deleted() -> None:
    user = a_user()
    user.delete(NOW)
    for move, target in ((user.block, "BLOCKED"), (user.unblock, "ACTIVE")):
        with pytest.raises(InvalidState) as refused:
            move()
        assert "DELETED" in str(refused.value) and target in str(refused.value)
    with pytest.raises(InvalidState):
        user.delete(NOW + timedelta(days=1))
    assert user.deleted_at == NOW and user.token_version == 1


# --- one-time codes ----------------------------------------------------------------------------


def a_code(**fields: object) -> OtpCode:
    values: dict[str, object] = {
        "id": uuid.uuid4(),
        "email": "asha@example.com",
        "purpose": OtpPurpose.SIGNUP,
        "code_hash": "x",
        "expires_at": NOW + timedelta(minutes=10),
        "created_at": NOW,
    }
    values.update(fields)
    return OtpCode(**values)  # type: ignore[arg-type]


def test_a_fresh_code_is_issued_until_it_expires() -> None:
    code = a_code()
    assert code.state(NOW) == "ISSUED"
    assert code.state(NOW + timedelta(minutes=9, seconds=59)) == "ISSUED"
    assert code.state(NOW + timedelta(minutes=10)) == "EXPIRED"
    assert code.attempts_left == 5


@pytest.mark.parametrize(
    ("fields", "state"),
    [
        ({"consumed_at": NOW}, "CONSUMED"),
        ({"superseded_at": NOW}, "SUPERSEDED"),
        ({"attempts": 5}, "LOCKED"),
        ({"attempts": 4}, "ISSUED"),
        ({"consumed_at": NOW, "superseded_at": NOW}, "CONSUMED"),
        ({"superseded_at": NOW, "attempts": 5}, "SUPERSEDED"),
        ({"attempts": 5, "expires_at": NOW}, "LOCKED"),
    ],
)
def test_code_states(fields: dict[str, object], state: str) -> None:
    assert a_code(**fields).state(NOW) == state


@pytest.mark.parametrize(("attempts", "left"), [(0, 5), (1, 4), (4, 1), (5, 0), (7, 0)])
def test_attempts_left_never_goes_negative(attempts: int, left: int) -> None:
    assert a_code(attempts=attempts).attempts_left == left


def test_a_session_is_active_until_revoked_or_expired() -> None:
    session = RefreshSession(
        id=uuid.uuid4(),
        user_id=uuid.uuid4(),
        token_hash="h",
        family_id=uuid.uuid4(),
        platform=Platform.MR_MENTOR,
        auth_method=AuthMethod.PASSWORD,
        created_at=NOW,
        expires_at=NOW + timedelta(days=7),
    )
    assert session.is_active(NOW)
    assert not session.is_active(NOW + timedelta(days=7))
    session.revoked_at = NOW
    assert not session.is_active(NOW)


# --- input checks ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        (" Asha@Example.COM ", "asha@example.com"),
        ("a.b+tag@mail.example.in", "a.b+tag@mail.example.in"),
        ("x@y.co", "x@y.co"),
    ],
)
def test_emails_are_trimmed_and_lower_cased(raw: str, clean: str) -> None:
    assert check_email(raw) == clean == normalise_email(raw)


@pytest.mark.parametrize(
    "raw",
    [
        "",
        "asha",
        "asha@",
        "@example.com",
        "asha@localhost",
        "as ha@example.com",
        "a" * 251 + "@x.io",
    ],
)
def test_bad_emails_are_refused_on_the_named_field(raw: str) -> None:
    with pytest.raises(ValidationFailed) as refused:
        check_email(raw, field="new_email")
    assert [e.field for e in refused.value.errors] == ["new_email"]


def test_two_at_signs_are_not_an_email() -> None:
    with pytest.raises(ValidationFailed):
        check_email("asha@@example.com")


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("a\u202e@evil.com", "U+202E"),  # right-to-left override: displays as another address
        ("a\u2066b@x.com", "U+2066"),  # left-to-right isolate
        ("a\u200bb@x.com", "U+200B"),  # zero-width space (Cf)
        ("a\tb@x.com", "U+0009"),
        ("asha@example.com\n", "U+000A"),  # even where trimming would have hidden it
        ("a\x00@x.com", "U+0000"),
        ("a\x7f@x.com", "U+007F"),
        ("a\u2028@x.com", "U+2028"),
        ("a\ud800@x.com", "U+D800"),  # a lone surrogate cannot even be stored
    ],
)
def test_control_and_bidi_characters_are_refused_by_name(raw: str, shown: str) -> None:
    with pytest.raises(ValidationFailed) as refused:
        check_email(raw, field="email")
    assert [(e.field, e.message) for e in refused.value.errors] == [
        ("email", f"contains the control or formatting character {shown}")
    ]


class _Grammar:
    def __init__(self, answer: str | None) -> None:
        self.answer = answer
        self.asked: list[str] = []

    def problem(self, address: str) -> str | None:
        self.asked.append(address)
        return self.answer


def test_the_full_grammar_sees_the_normal_form_and_names_the_field() -> None:
    fine = _Grammar(None)
    assert check_email(" Asha@Example.COM ", syntax=fine) == "asha@example.com"
    assert fine.asked == ["asha@example.com"]
    strict = _Grammar("An email address cannot have two periods in a row.")
    with pytest.raises(ValidationFailed) as refused:
        check_email("a..b@example.com", field="new_email", syntax=strict)
    assert [(e.field, e.message) for e in refused.value.errors] == [
        ("new_email", "An email address cannot have two periods in a row.")
    ]
    blocked = _Grammar(None)
    with pytest.raises(ValidationFailed):
        check_email("a\u202e@evil.com", syntax=blocked)
    assert blocked.asked == [], "the core's own rules come first"


@pytest.mark.parametrize("password", ["8 chars!", "x" * 128, "correct horse battery"])
def test_passwords_of_8_to_128_characters_pass(password: str) -> None:
    check_password(password, "asha@example.com")


@pytest.mark.parametrize(
    ("password", "problem"),
    [
        ("7 chars", "at least 8 characters"),
        ("", "at least 8 characters"),
        ("x" * 129, "at most 128 characters"),
        ("asha@example.com", "must not be the email address"),
        (" ASHA@example.com ", "must not be the email address"),
    ],
)
def test_weak_passwords_are_refused_on_the_named_field(password: str, problem: str) -> None:
    with pytest.raises(ValidationFailed) as refused:
        check_password(password, "asha@example.com", field="new_password")
    assert [(e.field, e.message) for e in refused.value.errors] == [("new_password", problem)]
    assert problem in refused.value.detail


def test_without_an_email_only_the_length_counts() -> None:
    check_password("asha@example.com")
    with pytest.raises(ValidationFailed) as refused:
        check_password("short")
    assert refused.value.errors[0].field == "password"


# --- roles -------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", list(Role))
def test_every_role_parses_as_itself(role: Role) -> None:
    assert parse_role(role.value) == (role, False)


@pytest.mark.parametrize("raw", ["SUPER_MENTOR", "super_mentor", " Super_Mentor "])
def test_super_mentor_is_an_expert_with_the_flag(raw: str) -> None:
    assert parse_role(raw) == (Role.EXPERT, True)


def test_role_input_is_trimmed_and_case_insensitive() -> None:
    assert parse_role(" finance ") == (Role.FINANCE, False)


@pytest.mark.parametrize("raw", ["WIZARD", "", "ADMINS", "SUPER MENTOR"])
def test_unknown_roles_are_refused_on_the_role_field(raw: str) -> None:
    with pytest.raises(ValidationFailed) as refused:
        parse_role(raw)
    assert [e.field for e in refused.value.errors] == ["role"]


# --- callers, pages and the snapshot -----------------------------------------------------------


def caller(role: Role, pages: frozenset[str] = frozenset()) -> Caller:
    return Caller(
        user_id=uuid.uuid4(),
        role=role,
        platform=Platform.MY_ANALYTICS_SCHOOL,
        page_permissions=pages,
    )


@pytest.mark.parametrize("role", [Role.ADMIN, Role.SUPERADMIN])
def test_admins_have_every_page(role: Role) -> None:
    assert caller(role).has_page("crm.targets")
    assert caller(role).has_page("anything.at.all")


def test_a_sales_head_has_only_granted_pages() -> None:
    head = caller(Role.SALES_HEAD, frozenset({"crm.leads"}))
    assert head.has_page("crm.leads")
    assert not head.has_page("crm.targets")


@pytest.mark.parametrize(
    "role", [r for r in Role if r not in (Role.ADMIN, Role.SUPERADMIN, Role.SALES_HEAD)]
)
def test_other_roles_never_have_pages_even_if_listed(role: Role) -> None:
    assert not caller(role, frozenset({"crm.leads"})).has_page("crm.leads")


def test_caller_defaults() -> None:
    who = caller(Role.USER)
    assert who.auth_method == "pwd" and who.impersonated_by is None and who.session_id is None


@pytest.mark.parametrize("role", list(Role))
def test_is_admin(role: Role) -> None:
    assert is_admin(role) is (role in (Role.ADMIN, Role.SUPERADMIN))
    assert caller(role).is_admin is is_admin(role) and (role in ADMIN_ROLES) is is_admin(role)


@pytest.mark.parametrize("role", list(Role))
def test_check_platform_holds_the_mr_hire_rule(role: Role) -> None:
    hire, school = Platform.MR_HIRE, Platform.MY_ANALYTICS_SCHOOL
    issued_for_hire = Caller(user_id=uuid.uuid4(), role=role, platform=hire)
    check_platform(school, issued_for_hire)  # a mr-hire token is fine elsewhere
    with pytest.raises(Forbidden) as foreign:
        check_platform(hire, caller(role))
    assert foreign.value.code == "platform_forbidden"
    assert foreign.value.detail == "this token was not issued for mr-hire"
    if platform_allows(hire, role):
        check_platform(hire, issued_for_hire)
        return
    with pytest.raises(Forbidden) as refused:
        check_platform(hire, issued_for_hire)
    assert refused.value.code == "platform_forbidden"
    assert refused.value.detail == f"{role.value} may not use mr-hire"


def test_the_page_keys_include_the_spec_examples() -> None:
    assert "crm.targets" in SALES_HEAD_PAGES
    assert all(key.startswith("crm.") and len(key) <= 64 for key in SALES_HEAD_PAGES)


def test_snapshot_carries_what_the_guard_checks() -> None:
    user = a_user(
        Role.SALES_HEAD,
        token_version=3,
        is_blocked=True,
        page_permissions=["crm.targets", "crm.leads"],
    )
    user.delete(NOW)
    snap = snapshot_of(user)
    assert snap.role is Role.SALES_HEAD
    assert (snap.token_version, snap.blocked, snap.deleted) == (4, True, True)
    assert snap.page_permissions == ["crm.leads", "crm.targets"]
    assert not snap.is_super_mentor


def test_snapshot_of_a_plain_user() -> None:
    snap = snapshot_of(a_user(Role.EXPERT, is_super_mentor=True))
    assert (snap.blocked, snap.deleted, snap.is_super_mentor) == (False, False, True)
    assert snap.page_permissions == []


def test_cache_keys_differ_per_user_and_session() -> None:
    a, b = uuid.uuid4(), uuid.uuid4()
    assert snapshot_key(a) != snapshot_key(b) != revoked_session_key(b)
    assert str(a) in snapshot_key(a)


def test_every_auth_method_has_an_amr_value() -> None:
    assert set(AMR) == set(AuthMethod)
    assert AMR[AuthMethod.PASSWORD] == "pwd" and AMR[AuthMethod.MASTER] == "master"


# --- helpers: secrets, tokens, mail ------------------------------------------------------------


def test_std_secrets() -> None:
    secrets = StdSecrets("server-key")
    codes = {secrets.otp_code() for _ in range(50)}
    assert all(len(c) == 6 and c.isdigit() for c in codes) and len(codes) > 1
    assert len(secrets.random_token(32)) >= 40
    assert secrets.digest("abc") == secrets.digest("abc") and len(secrets.digest("abc")) == 64
    assert secrets.keyed_digest("abc") != StdSecrets("other-key").keyed_digest("abc")
    assert secrets.keyed_digest("abc") != secrets.digest("abc")
    assert same("a1", "a1") and not same("a1", "a2")


def test_issued_tokens_carry_the_session_and_the_user() -> None:
    clock = FakeClock(NOW)
    issuer = TokenIssuer(FakeCodec(clock), FakeSecrets(), clock, 900, 7 * 86400)
    user = a_user(Role.EXPERT, token_version=2)
    session, token = issuer.new_session(
        user,
        AuthMethod.GOOGLE,
        RequestInfo(platform=Platform.MR_MENTOR, ip="1.2.3.4", user_agent="x" * 600),
    )
    assert session.family_id == session.id, "the first token of a login starts a family"
    assert session.expires_at == NOW + timedelta(days=7)
    assert session.token_hash != token and len(session.user_agent or "") == 500
    pair = issuer.pair(user, session, token)
    claims = FakeCodec.claims(pair.access_token)
    assert (pair.refresh_token, pair.expires_in, pair.session_id) == (token, 900, session.id)
    assert claims == AccessTokenClaims(
        sub=str(user.id),
        role="EXPERT",
        plt="mr-mentor",
        tv=2,
        jti=claims.jti,
        amr="google",
        iat=int(NOW.timestamp()),
        exp=int(NOW.timestamp()) + 900,
        sid=str(session.id),
        act=None,
    )
    clock.advance(seconds=20)
    assert issuer.pair(user, session, token) == pair, "a session's pair can be minted again"
    later, later_token = issuer.successor(session, token, RequestInfo(user_agent=""))
    assert later.family_id == session.family_id and later.id != session.id
    assert (later.platform, later.auth_method) == (Platform.MR_MENTOR, AuthMethod.GOOGLE)
    assert later.user_agent is None and later.created_at == NOW + timedelta(seconds=20)
    assert later_token == FakeSecrets().successor_token(token) != token
    assert later.token_hash == FakeSecrets().digest(later_token)
    assert FakeCodec.claims(issuer.pair(user, later, later_token).access_token).jti != claims.jti


def test_sign_in_waits_grow_after_five_failures_and_are_capped() -> None:
    assert [wait_after(n) for n in range(4, 12)] == [0, 1, 2, 4, 8, 16, 32, 64]
    assert wait_after(0) == 0 and wait_after(14) == 512
    assert wait_after(15) == 900 and wait_after(10**6) == 900


def test_a_successor_token_is_derived_from_the_token_and_the_server_key() -> None:
    secrets = StdSecrets("server-key")
    successor = secrets.successor_token("token-a")
    assert (
        successor
        == secrets.successor_token("token-a")
        == StdSecrets("server-key").successor_token("token-a")
    )
    assert successor != secrets.successor_token("token-b")
    assert successor != StdSecrets("other-key").successor_token("token-a")
    assert len(successor) == len(secrets.random_token(32)) == 43
    assert re.fullmatch(r"[A-Za-z0-9_-]+", successor)


@pytest.mark.parametrize("platform", list(Platform))
def test_otp_mail_is_branded_and_names_the_code(platform: Platform) -> None:
    assert otp_template(OtpPurpose.SIGNUP) == "auth.signup_otp"
    data = {"code": "123456", "platform": platform.value, "minutes": 10}
    mail = MAIL_TEMPLATES["auth.signup_otp"](data)
    assert BRAND[platform] in mail.subject and "123456" in mail.text
    assert "10 minutes" in mail.text and "verify your email" in mail.text


def test_reset_credentials_and_alert_mails() -> None:
    assert otp_template(OtpPurpose.PASSWORD_RESET) == "auth.password_reset_otp"
    reset = MAIL_TEMPLATES["auth.password_reset_otp"](
        {"code": "654321", "platform": Platform.MR_HIRE.value, "minutes": 15}
    )
    assert "reset your password" in reset.text and "Mr. Hire" in reset.subject
    created = MAIL_TEMPLATES[ACCOUNT_CREATED](
        {
            "email": "a@b.co",
            "password": "temp-pass-1",
            "role": "EXPERT",
            "platform": Platform.MR_MENTOR.value,
        }
    )
    assert "temp-pass-1" in created.text and "Mr. Mentor" in created.subject
    alert = MAIL_TEMPLATES[ALERT]({"subject": "subject", "body": "body"})
    assert (alert.subject, alert.text) == ("subject", "body")


def test_the_public_view_hides_secrets_and_says_how_one_signs_in() -> None:
    user = a_user(Role.EXPERT, password_hash="h:secret", token_version=3)
    user.advance(UserStage.OTP_VERIFIED)
    shown = view(user)
    assert (shown.has_password, shown.has_google, shown.stage) == (True, False, 2)
    assert not hasattr(shown, "password_hash") and not hasattr(shown, "token_version")
    google_only = view(a_user(google_id="g-1"))
    assert (google_only.has_password, google_only.has_google) == (False, True)
