"""The identity adapters: argon2id passwords, the access-token JWT, TOTP, the fake IdP, and the
e-mail address grammar."""

from __future__ import annotations

import base64
import json
import time
from datetime import UTC, datetime, timedelta

import jwt
import pyotp
import pytest

from mas.adapters.fakes.identity import FakeIdentityProvider
from mas.adapters.identity.emails import EmailValidatorSyntax
from mas.adapters.identity.passwords import Argon2Hasher
from mas.adapters.identity.tokens import JwtCodec
from mas.adapters.identity.totp import PyOtpVerifier
from mas.core.identity.model import check_email
from mas.core.identity.ports import AccessTokenClaims, GoogleIdentity
from mas.core.platform.errors import ExternalUnavailable, Unauthorized, ValidationFailed

SECRET = "unit-test-secret-long-enough-for-hs256-and-even-for-hs512-0123456789"
TOTP_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"  # 160 bits, as authenticator apps use


# --- passwords --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def hasher() -> Argon2Hasher:
    return Argon2Hasher()


def test_hash_is_argon2id_and_verifies(hasher: Argon2Hasher) -> None:
    hashed = hasher.hash("correct horse battery")
    assert hashed.startswith("$argon2id$")
    assert hasher.verify("correct horse battery", hashed)
    assert hasher.hash("correct horse battery") != hashed  # salted


def test_wrong_password_is_refused(hasher: Argon2Hasher) -> None:
    hashed = hasher.hash("correct horse battery")
    assert not hasher.verify("Correct horse battery", hashed)
    assert not hasher.verify("", hashed)


def test_foreign_hash_is_refused(hasher: Argon2Hasher) -> None:
    assert not hasher.verify("secret", "$2b$12$notreallyabcryptvalue")
    assert not hasher.verify("secret", "")


def test_hashes_made_with_other_parameters_still_verify(hasher: Argon2Hasher) -> None:
    old = Argon2Hasher(time_cost=1, memory_cost_kib=8 * 1024).hash("pw")
    assert hasher.verify("pw", old)


def best_of(n: int, fn: object) -> float:
    assert callable(fn)
    times = []
    for _ in range(n):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def test_missing_hash_is_false_and_costs_a_real_check(hasher: Argon2Hasher) -> None:
    hashed = hasher.hash("correct horse battery")
    assert hasher.verify("anything", None) is False
    real = best_of(3, lambda: hasher.verify("wrong", hashed))
    dummy = best_of(3, lambda: hasher.verify("wrong", None))
    assert dummy >= 0.3 * real, (dummy, real)


# --- access tokens ----------------------------------------------------------------------------


def claims(**changes: object) -> AccessTokenClaims:
    now = int(time.time())
    values: dict[str, object] = {
        "sub": "0193b3a0-0000-7000-8000-000000000001",
        "role": "ADMIN",
        "plt": "my-analytics-school",
        "tv": 3,
        "sid": "0193b3a0-0000-7000-8000-0000000000aa",
        "jti": "5c3e0f0e8a4b4f0c9c1d2e3f4a5b6c7d",
        "amr": "pwd",
        "iat": now,
        "exp": now + 900,
    }
    values.update(changes)
    return AccessTokenClaims(**values)  # type: ignore[arg-type]


def raw_payload(token: str) -> dict[str, object]:
    body = token.split(".")[1]
    payload: dict[str, object] = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    return payload


def assert_invalid(codec: JwtCodec, token: str) -> None:
    with pytest.raises(Unauthorized) as caught:
        codec.decode(token)
    assert caught.value.code == "invalid_token"
    assert caught.value.detail == "the access token is not valid"


def test_token_round_trip() -> None:
    codec = JwtCodec(SECRET)
    original = claims(act="0193b3a0-0000-7000-8000-0000000000ff", amr="impersonation")
    token = codec.encode(original)
    assert jwt.get_unverified_header(token)["alg"] == "HS256"
    assert codec.decode(token) == original


def test_absent_session_and_actor_are_left_out_of_the_token() -> None:
    codec = JwtCodec(SECRET)
    original = claims(sid=None, act=None, amr="master")
    token = codec.encode(original)
    payload = raw_payload(token)
    assert "sid" not in payload and "act" not in payload
    assert payload["iss"] == "mas"
    assert codec.decode(token) == original


def test_expired_token() -> None:
    codec = JwtCodec(SECRET)
    past = int(time.time()) - 3600
    token = codec.encode(claims(iat=past - 900, exp=past))
    with pytest.raises(Unauthorized) as caught:
        codec.decode(token)
    assert caught.value.code == "token_expired"
    assert caught.value.detail == "the access token has expired"


def test_tampered_token() -> None:
    codec = JwtCodec(SECRET)
    header, _, signature = codec.encode(claims()).split(".")
    forged = dict(raw_payload(codec.encode(claims())), role="SUPERADMIN")
    body = base64.urlsafe_b64encode(json.dumps(forged).encode()).rstrip(b"=").decode()
    assert_invalid(codec, f"{header}.{body}.{signature}")


def test_unsigned_token_is_refused() -> None:
    payload = dict(raw_payload(JwtCodec(SECRET).encode(claims())))
    unsigned = jwt.encode(payload, "", algorithm="none")
    assert_invalid(JwtCodec(SECRET), unsigned)


def test_other_algorithm_with_the_same_secret_is_refused() -> None:
    payload = dict(raw_payload(JwtCodec(SECRET).encode(claims())))
    assert_invalid(JwtCodec(SECRET), jwt.encode(payload, SECRET, algorithm="HS512"))


def test_other_secret_and_other_issuer_are_refused() -> None:
    token = JwtCodec("another-secret-that-is-32-bytes-long!!").encode(claims())
    assert_invalid(JwtCodec(SECRET), token)
    assert_invalid(JwtCodec(SECRET), JwtCodec(SECRET, issuer="elsewhere").encode(claims()))


@pytest.mark.parametrize("claim", ["sub", "role", "plt", "tv", "jti", "iat", "exp", "amr"])
def test_missing_claim_is_refused(claim: str) -> None:
    payload = dict(raw_payload(JwtCodec(SECRET).encode(claims())))
    del payload[claim]
    assert_invalid(JwtCodec(SECRET), jwt.encode(payload, SECRET, algorithm="HS256"))


def test_wrongly_typed_claim_is_refused() -> None:
    payload = dict(raw_payload(JwtCodec(SECRET).encode(claims())), tv="3")
    assert_invalid(JwtCodec(SECRET), jwt.encode(payload, SECRET, algorithm="HS256"))


@pytest.mark.parametrize("token", ["", "not-a-jwt", "a.b.c", "ä.ö.ü"])
def test_malformed_token_is_refused(token: str) -> None:
    assert_invalid(JwtCodec(SECRET), token)


def test_empty_secret_is_rejected() -> None:
    with pytest.raises(ValueError):
        JwtCodec("")


def test_a_verified_token_is_remembered_until_it_expires(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    codec = JwtCodec(SECRET, leeway_s=5)
    now = int(time.time())
    original = claims(iat=now, exp=now + 60)
    token = codec.encode(original)
    assert codec.decode(token) == original

    def no_second_check(*args: object, **kwargs: object) -> None:
        raise AssertionError("a remembered token was verified again")

    monkeypatch.setattr(jwt, "decode", no_second_check)
    assert codec.decode(token) == original
    # Expiry is checked on every use, remembered or not (with the same leeway).
    monkeypatch.setattr(time, "time", lambda: now + 64.0)
    assert codec.decode(token) == original
    monkeypatch.setattr(time, "time", lambda: now + 66.0)
    with pytest.raises(Unauthorized) as caught:
        codec.decode(token)
    assert caught.value.code == "token_expired"


def test_only_the_exact_verified_token_is_remembered() -> None:
    codec = JwtCodec(SECRET)
    token = codec.encode(claims())
    codec.decode(token)
    header, body, signature = token.split(".")
    forged = dict(raw_payload(token), role="SUPERADMIN")
    forged_body = base64.urlsafe_b64encode(json.dumps(forged).encode()).rstrip(b"=").decode()
    assert_invalid(codec, f"{header}.{forged_body}.{signature}")
    assert_invalid(codec, f"{header}.{body}.{signature[:-2]}AA")


def test_the_verified_token_cache_is_bounded() -> None:
    codec = JwtCodec(SECRET, remember=2)
    tokens = [codec.encode(claims(jti=f"{n:032x}")) for n in range(3)]
    for token in tokens:
        codec.decode(token)
    assert list(codec._verified) == tokens[1:]
    assert JwtCodec(SECRET, remember=0).decode(tokens[0]).jti == f"{0:032x}"


# --- TOTP -------------------------------------------------------------------------------------

AT = datetime(2026, 11, 25, 9, 30, 15, tzinfo=UTC)
STEP = int(AT.timestamp()) // 30


def code_at(step: int) -> str:
    return pyotp.TOTP(TOTP_SECRET).generate_otp(step)


def test_totp_current_step() -> None:
    verifier = PyOtpVerifier(TOTP_SECRET)
    assert verifier.matching_counter(pyotp.TOTP(TOTP_SECRET).at(AT), AT) == STEP
    assert verifier.matching_counter(code_at(STEP), AT) == STEP


@pytest.mark.parametrize("offset", [-1, 1])
def test_totp_adjacent_steps_are_accepted(offset: int) -> None:
    assert PyOtpVerifier(TOTP_SECRET).matching_counter(code_at(STEP + offset), AT) == STEP + offset


@pytest.mark.parametrize("offset", [-2, 2])
def test_totp_steps_further_away_are_refused(offset: int) -> None:
    verifier = PyOtpVerifier(TOTP_SECRET)
    code = code_at(STEP + offset)
    assert code not in {code_at(STEP - 1), code_at(STEP), code_at(STEP + 1)}
    assert verifier.matching_counter(code, AT) is None


def test_totp_known_vector() -> None:
    # RFC 6238 appendix B, SHA-1, reduced to 6 digits: T=59 s -> 94287082.
    rfc_secret = base64.b32encode(b"12345678901234567890").decode()
    at = datetime(1970, 1, 1, 0, 0, 59, tzinfo=UTC)
    assert PyOtpVerifier(rfc_secret).matching_counter("287082", at) == 1


@pytest.mark.parametrize("code", ["000000", "12345", "1234567", "abcdef", "", "١٢٣٤٥٦"])
def test_totp_wrong_codes(code: str) -> None:
    verifier = PyOtpVerifier(TOTP_SECRET)
    if code in {code_at(STEP - 1), code_at(STEP), code_at(STEP + 1)}:
        pytest.skip("the fixed code happens to be valid")
    assert verifier.matching_counter(code, AT) is None


def test_totp_needs_an_aware_time_and_a_base32_secret() -> None:
    with pytest.raises(ValueError):
        PyOtpVerifier(TOTP_SECRET).matching_counter("123456", datetime(2026, 1, 1))
    with pytest.raises(ValueError):
        PyOtpVerifier("not base32 at all!")
    with pytest.raises(ValueError):
        PyOtpVerifier("JBSWY3DPEHPK3PXP")  # 80 bits: too short


def test_totp_time_moves_the_window() -> None:
    verifier = PyOtpVerifier(TOTP_SECRET)
    code = code_at(STEP)
    assert verifier.matching_counter(code, AT + timedelta(seconds=30)) == STEP
    assert verifier.matching_counter(code, AT + timedelta(seconds=60)) is None


# --- fake identity provider -------------------------------------------------------------------


async def test_fake_identity_provider() -> None:
    fake = FakeIdentityProvider()
    identity = GoogleIdentity(sub="g-1", email="a@example.com", email_verified=True, name="A")
    fake.add("good", identity)
    assert fake.configured
    assert await fake.verify_id_token("good") == identity
    with pytest.raises(Unauthorized) as bad:
        await fake.verify_id_token("other")
    assert bad.value.code == "invalid_google_token"
    fake.fail_next(2)
    for _ in range(2):
        with pytest.raises(ExternalUnavailable) as down:
            await fake.verify_id_token("good")
        assert down.value.code == "idp_unavailable"
    assert await fake.verify_id_token("good") == identity
    fake.add("unverified", GoogleIdentity(sub="g-2", email="b@example.com", email_verified=False))
    with pytest.raises(Unauthorized) as unverified:
        await fake.verify_id_token("unverified")
    assert unverified.value.code == "google_email_unverified"


# --- e-mail addresses (email-validator) --------------------------------------------------------


@pytest.mark.parametrize(
    "address",
    [
        "asha@example.com",
        "a.b+tag@mail.example.in",
        "ünïcode@bücher.example",
        "sales@corp.local",  # special-use names are real on a closed network
        "admin@demo.mas.local",
        "dev@x.test",
    ],
)
def test_addresses_email_validator_accepts(address: str) -> None:
    assert EmailValidatorSyntax().problem(address) is None


@pytest.mark.parametrize(
    "address",
    [
        "a..b@example.com",
        ".asha@example.com",
        '"quoted"@example.com',
        "asha@-example.com",
        "asha@exa_mple.com",
        "asha@" + "a" * 64 + ".com",  # a domain label is at most 63 characters
        "asha@[127.0.0.1]",
        "a\u202e@evil.com",
    ],
)
def test_addresses_email_validator_refuses_say_why(address: str) -> None:
    problem = EmailValidatorSyntax().problem(address)
    assert problem and len(problem) > 10


def test_the_whole_chain_refuses_what_the_core_lets_through() -> None:
    with pytest.raises(ValidationFailed) as refused:
        check_email("a..b@example.com", syntax=EmailValidatorSyntax())
    assert refused.value.errors[0].field == "email"
    assert check_email(" Asha@Corp.Local ", syntax=EmailValidatorSyntax()) == "asha@corp.local"
