"""Google sign-in against a local JWKS endpoint serving RSA keys generated here.

The endpoint is a small ASGI app reached through httpx's ASGI transport (the same client the
adapter uses in production, minus the socket). It counts fetches, can rotate keys and can fail.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, MutableMapping
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from mas.adapters.identity.google import GoogleIdentityProvider
from mas.core.identity.ports import GoogleIdentity
from mas.core.platform.errors import ExternalUnavailable, NotConfigured, Unauthorized

CLIENT_ID = "1234567890-abc.apps.googleusercontent.com"
JWKS_URL = "https://www.googleapis.com/oauth2/v3/certs"


class SigningKey:
    def __init__(self, kid: str) -> None:
        self.kid = kid
        self.private = rsa.generate_private_key(public_exponent=65537, key_size=2048)

    def jwk(self) -> dict[str, Any]:
        entry = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(self.private.public_key()))
        return dict(entry, kid=self.kid, alg="RS256", use="sig")

    def sign(self, **changes: Any) -> str:
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": "https://accounts.google.com",
            "azp": CLIENT_ID,
            "aud": CLIENT_ID,
            "sub": "110169484474386276334",
            "email": "asha@example.com",
            "email_verified": True,
            "name": "Asha Rao",
            "picture": "https://lh3.googleusercontent.com/a/photo",
            "iat": now,
            "exp": now + 3600,
        }
        claims.update(changes)
        claims = {k: v for k, v in claims.items() if v is not None}
        return jwt.encode(claims, self.private, algorithm="RS256", headers={"kid": self.kid})


class JwksEndpoint:
    """A minimal ASGI app answering GET /oauth2/v3/certs like Google does."""

    def __init__(self, *keys: SigningKey) -> None:
        self.keys = list(keys)
        self.fetches = 0
        self.fail_with: list[int] = []  # statuses to answer with before serving keys again

    async def __call__(self, scope: MutableMapping[str, Any], receive: Any, send: Any) -> None:
        assert scope["type"] == "http"
        self.fetches += 1
        if scope["path"] != "/oauth2/v3/certs":
            status, body = 404, b"Not Found"
        elif self.fail_with:
            status, body = self.fail_with.pop(0), b"backend error"
        else:
            status = 200
            body = json.dumps({"keys": [key.jwk() for key in self.keys]}).encode()
        kind = b"application/json" if status == 200 else b"text/plain"
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [(b"content-type", kind), (b"cache-control", b"max-age=21600")],
            }
        )
        await send({"type": "http.response.body", "body": body})


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(scope="module")
def key_a() -> SigningKey:
    return SigningKey("kid-a")


@pytest.fixture(scope="module")
def key_b() -> SigningKey:
    return SigningKey("kid-b")


@pytest.fixture
def endpoint(key_a: SigningKey) -> JwksEndpoint:
    return JwksEndpoint(key_a)


@pytest.fixture
async def http(endpoint: JwksEndpoint) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=endpoint)) as client:
        yield client


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def google(http: httpx.AsyncClient, clock: FakeClock) -> GoogleIdentityProvider:
    return GoogleIdentityProvider(CLIENT_ID, http=http, clock=clock, backoff_s=0)


async def refused(google: GoogleIdentityProvider, token: str, code: str) -> str:
    with pytest.raises(Unauthorized) as caught:
        await google.verify_id_token(token)
    assert caught.value.code == code
    return caught.value.detail


async def test_good_token(google: GoogleIdentityProvider, key_a: SigningKey) -> None:
    identity = await google.verify_id_token(key_a.sign())
    assert identity == GoogleIdentity(
        sub="110169484474386276334",
        email="asha@example.com",
        email_verified=True,
        name="Asha Rao",
        picture="https://lh3.googleusercontent.com/a/photo",
    )


async def test_short_issuer_form_and_no_profile(
    google: GoogleIdentityProvider, key_a: SigningKey
) -> None:
    token = key_a.sign(iss="accounts.google.com", name=None, picture=None)
    identity = await google.verify_id_token(token)
    assert identity.name is None and identity.picture is None


async def test_wrong_audience(google: GoogleIdentityProvider, key_a: SigningKey) -> None:
    detail = await refused(google, key_a.sign(aud="someone-else"), "invalid_google_token")
    assert "audience" in detail


async def test_expired(google: GoogleIdentityProvider, key_a: SigningKey) -> None:
    past = int(time.time()) - 7200
    detail = await refused(google, key_a.sign(iat=past, exp=past + 3600), "invalid_google_token")
    assert "expired" in detail


async def test_wrong_issuer(google: GoogleIdentityProvider, key_a: SigningKey) -> None:
    token = key_a.sign(iss="https://evil.example.com")
    assert "issuer" in await refused(google, token, "invalid_google_token")


async def test_unverified_or_missing_email(
    google: GoogleIdentityProvider, key_a: SigningKey
) -> None:
    await refused(google, key_a.sign(email_verified=False), "google_email_unverified")
    await refused(google, key_a.sign(email_verified=None), "google_email_unverified")
    await refused(google, key_a.sign(email=None), "google_email_unverified")


async def test_signature_by_an_unpublished_key(
    google: GoogleIdentityProvider, key_a: SigningKey
) -> None:
    impostor = SigningKey(key_a.kid)  # same kid, different key
    assert "signature" in await refused(google, impostor.sign(), "invalid_google_token")


async def test_malformed_and_unsigned_tokens(
    google: GoogleIdentityProvider, endpoint: JwksEndpoint, key_a: SigningKey
) -> None:
    await refused(google, "not-a-token", "invalid_google_token")
    claims = jwt.decode(key_a.sign(), options={"verify_signature": False})
    unsigned = jwt.encode(claims, "", algorithm="none", headers={"kid": key_a.kid})
    assert "none" in await refused(google, unsigned, "invalid_google_token")
    no_kid = jwt.encode(claims, key_a.private, algorithm="RS256")
    assert "key" in await refused(google, no_kid, "invalid_google_token")
    assert endpoint.fetches == 0


async def test_unknown_key_id_after_one_refetch(
    google: GoogleIdentityProvider, endpoint: JwksEndpoint, key_a: SigningKey, clock: FakeClock
) -> None:
    await google.verify_id_token(key_a.sign())
    assert endpoint.fetches == 1
    stranger = SigningKey("kid-unknown")
    detail = await refused(google, stranger.sign(), "invalid_google_token")
    assert "signing key" in detail
    assert endpoint.fetches == 2
    # Another unknown key id within the minute does not reach Google again.
    await refused(google, SigningKey("kid-other").sign(), "invalid_google_token")
    assert endpoint.fetches == 2
    clock.now += 61
    await refused(google, stranger.sign(), "invalid_google_token")
    assert endpoint.fetches == 3


async def test_unknown_key_id_on_first_fetch_is_not_fetched_twice(
    google: GoogleIdentityProvider, endpoint: JwksEndpoint
) -> None:
    await refused(google, SigningKey("kid-unknown").sign(), "invalid_google_token")
    assert endpoint.fetches == 1


async def test_key_rotation(
    google: GoogleIdentityProvider, endpoint: JwksEndpoint, key_a: SigningKey, key_b: SigningKey
) -> None:
    await google.verify_id_token(key_a.sign())
    endpoint.keys = [key_b, key_a]  # Google publishes a new key and starts signing with it
    identity = await google.verify_id_token(key_b.sign(sub="rotated"))
    assert identity.sub == "rotated"
    assert endpoint.fetches == 2
    await google.verify_id_token(key_a.sign())  # the old key still verifies from the cache
    assert endpoint.fetches == 2


async def test_jwks_is_cached_until_its_ttl(
    google: GoogleIdentityProvider, endpoint: JwksEndpoint, key_a: SigningKey, clock: FakeClock
) -> None:
    await google.verify_id_token(key_a.sign())
    await google.verify_id_token(key_a.sign(sub="second"))
    assert endpoint.fetches == 1
    clock.now += 3601
    await google.verify_id_token(key_a.sign())
    assert endpoint.fetches == 2


async def test_jwks_500_is_idp_unavailable(
    google: GoogleIdentityProvider, endpoint: JwksEndpoint, key_a: SigningKey
) -> None:
    endpoint.fail_with = [500, 502, 503]
    with pytest.raises(ExternalUnavailable) as caught:
        await google.verify_id_token(key_a.sign())
    assert caught.value.code == "idp_unavailable"
    assert caught.value.detail == "Google sign-in is unreachable"
    assert endpoint.fetches == 3  # three tries, then it gives up
    assert (await google.verify_id_token(key_a.sign())).email == "asha@example.com"


async def test_transient_5xx_is_retried(
    google: GoogleIdentityProvider, endpoint: JwksEndpoint, key_a: SigningKey
) -> None:
    endpoint.fail_with = [503]
    assert (await google.verify_id_token(key_a.sign())).sub == "110169484474386276334"
    assert endpoint.fetches == 2


async def test_jwks_404_is_not_retried(
    http: httpx.AsyncClient, endpoint: JwksEndpoint, key_a: SigningKey
) -> None:
    google = GoogleIdentityProvider(
        CLIENT_ID, http=http, jwks_url="https://www.googleapis.com/wrong", backoff_s=0
    )
    with pytest.raises(ExternalUnavailable) as caught:
        await google.verify_id_token(key_a.sign())
    assert caught.value.code == "idp_unavailable"
    assert endpoint.fetches == 1


async def test_unreachable_endpoint_is_idp_unavailable(key_a: SigningKey) -> None:
    # Nothing listens on port 9 of the loopback: a real refused connection, tried three times.
    google = GoogleIdentityProvider(
        CLIENT_ID, jwks_url="http://127.0.0.1:9/certs", timeout_s=2, backoff_s=0.01
    )
    try:
        with pytest.raises(ExternalUnavailable) as caught:
            await google.verify_id_token(key_a.sign())
        assert caught.value.code == "idp_unavailable"
    finally:
        await google.aclose()


async def test_timeouts_are_retried(key_a: SigningKey) -> None:
    calls = 0
    body = json.dumps({"keys": [key_a.jwk()]}).encode()

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        assert request.extensions["timeout"]["read"] == 1.5
        if calls < 3:
            raise httpx.ReadTimeout("slow", request=request)
        return httpx.Response(200, content=body)

    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as client:
        google = GoogleIdentityProvider(CLIENT_ID, http=client, timeout_s=1.5, backoff_s=0)
        assert (await google.verify_id_token(key_a.sign())).email == "asha@example.com"
    assert calls == 3


async def test_not_configured(http: httpx.AsyncClient, key_a: SigningKey) -> None:
    google = GoogleIdentityProvider("", http=http)
    assert not google.configured
    with pytest.raises(NotConfigured) as caught:
        await google.verify_id_token(key_a.sign())
    assert caught.value.code == "integration_not_configured"
    assert GoogleIdentityProvider(CLIENT_ID).configured
