"""Google sign-in: verify an ID token against Google's published signing keys (JWKS).

The keys are cached for ``jwks_ttl_s``. A token signed with a key id we do not hold triggers one
early refetch (Google rotates keys), at most once per ``refetch_interval_s`` so a stream of
forged key ids cannot make us hammer Google. Transient failures (timeouts, refused connections,
5xx) are retried a few times with a short backoff before sign-in reports Google unreachable.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from mas.core.identity.ports import GoogleIdentity
from mas.core.platform.errors import ExternalUnavailable, NotConfigured, Unauthorized

if TYPE_CHECKING:
    import httpx
    import jwt

log = logging.getLogger("mas.identity")

GOOGLE_JWKS_URL = "https://www.googleapis.com/oauth2/v3/certs"
GOOGLE_ISSUERS = ("https://accounts.google.com", "accounts.google.com")
ALGORITHM = "RS256"
REQUIRED = ["iss", "aud", "sub", "iat", "exp"]


class _Transient(Exception):
    """A JWKS fetch failure worth retrying."""


def bad_token(why: str) -> Unauthorized:
    return Unauthorized(f"the Google token is not valid: {why}", code="invalid_google_token")


def unreachable() -> ExternalUnavailable:
    return ExternalUnavailable("Google sign-in is unreachable", code="idp_unavailable")


class GoogleIdentityProvider:
    def __init__(
        self,
        client_id: str,
        *,
        jwks_url: str = GOOGLE_JWKS_URL,
        issuers: Sequence[str] = GOOGLE_ISSUERS,
        http: httpx.AsyncClient | None = None,
        timeout_s: float = 5.0,
        jwks_ttl_s: float = 3600,
        refetch_interval_s: float = 60,
        attempts: int = 3,
        backoff_s: float = 0.2,
        leeway_s: float = 30,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._client_id = client_id
        self._jwks_url = jwks_url
        self._issuers = tuple(issuers)
        self._http = http
        self._owns_http = http is None
        self._timeout_s = timeout_s
        self._ttl_s = jwks_ttl_s
        self._refetch_interval_s = refetch_interval_s
        self._attempts = max(1, attempts)
        self._backoff_s = backoff_s
        self._leeway_s = leeway_s
        self._clock = clock
        self._keys: dict[str, jwt.PyJWK] = {}
        self._fetched_at: float | None = None
        self._refetched_at: float | None = None
        self._lock = asyncio.Lock()

    @property
    def configured(self) -> bool:
        return bool(self._client_id)

    async def aclose(self) -> None:
        if self._owns_http and self._http is not None:
            await self._http.aclose()
            self._http = None

    async def verify_id_token(self, id_token: str) -> GoogleIdentity:
        if not self.configured:
            raise NotConfigured("Google sign-in")
        import jwt  # with its crypto backends (~30 ms): at the first sign-in, not at start-up

        try:
            header = jwt.get_unverified_header(id_token)
        except jwt.InvalidTokenError:
            raise bad_token("it is malformed") from None
        if header.get("alg") != ALGORITHM:
            raise bad_token(f"it is signed with {header.get('alg')!r}, not {ALGORITHM}")
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise bad_token("it names no signing key")
        key = await self._key(kid)
        claims = self._decode(id_token, key)
        return self._identity(claims)

    # --- claims -------------------------------------------------------------------------------

    def _decode(self, id_token: str, key: jwt.PyJWK) -> dict[str, Any]:
        import jwt

        try:
            return jwt.decode(
                id_token,
                key.key,
                algorithms=[ALGORITHM],
                audience=self._client_id,
                issuer=self._issuers,
                leeway=self._leeway_s,
                options={"require": REQUIRED},
            )
        except jwt.ExpiredSignatureError:
            raise bad_token("it has expired") from None
        except jwt.InvalidAudienceError:
            raise bad_token("it was issued for another application (audience)") from None
        except jwt.InvalidIssuerError:
            raise bad_token("it was not issued by Google (issuer)") from None
        except jwt.InvalidSignatureError:
            raise bad_token("its signature does not match") from None
        except jwt.MissingRequiredClaimError as exc:
            raise bad_token(f"the '{exc.claim}' claim is missing") from None
        except jwt.ImmatureSignatureError:
            raise bad_token("it is not valid yet") from None
        except jwt.InvalidTokenError:
            raise bad_token("it could not be read") from None

    @staticmethod
    def _identity(claims: dict[str, Any]) -> GoogleIdentity:
        email = claims.get("email")
        if not isinstance(email, str) or not email:
            raise Unauthorized(
                "the Google account has no email address", code="google_email_unverified"
            )
        # ID tokens carry a boolean; older Google endpoints sent the string "true".
        if claims.get("email_verified") not in (True, "true"):
            raise Unauthorized(
                "the Google account's email address is not verified",
                code="google_email_unverified",
            )
        name, picture = claims.get("name"), claims.get("picture")
        return GoogleIdentity(
            sub=str(claims["sub"]),
            email=email,
            email_verified=True,
            name=name if isinstance(name, str) and name else None,
            picture=picture if isinstance(picture, str) and picture else None,
        )

    # --- keys ---------------------------------------------------------------------------------

    async def _key(self, kid: str) -> jwt.PyJWK:
        async with self._lock:
            now = self._clock()
            fresh = self._fetched_at is not None and now - self._fetched_at < self._ttl_s
            if not fresh:
                await self._refresh()
                if kid in self._keys:
                    return self._keys[kid]
                raise bad_token("its signing key is not one of Google's")
            if kid in self._keys:
                return self._keys[kid]
            if self._refetched_at is None or now - self._refetched_at >= self._refetch_interval_s:
                self._refetched_at = now
                log.info("google.jwks_refetch", extra={"kid": kid})
                await self._refresh()
                if kid in self._keys:
                    return self._keys[kid]
            raise bad_token("its signing key is not one of Google's")

    async def _refresh(self) -> None:
        document = await self._fetch()
        keys = parse_jwks(document)
        if not keys:
            log.error("google.jwks_empty", extra={"url": self._jwks_url})
            raise unreachable()
        self._keys = keys
        self._fetched_at = self._clock()

    async def _fetch(self) -> Any:
        for attempt in range(1, self._attempts + 1):
            try:
                return await self._fetch_once()
            except _Transient as exc:
                log.warning(
                    "google.jwks_fetch_failed",
                    extra={"url": self._jwks_url, "attempt": attempt, "error": str(exc)},
                )
            if attempt < self._attempts:
                await asyncio.sleep(self._backoff_s * 2 ** (attempt - 1))
        raise unreachable()

    async def _fetch_once(self) -> Any:
        import httpx

        if self._http is None:
            self._http = httpx.AsyncClient()
        try:
            response = await self._http.get(self._jwks_url, timeout=self._timeout_s)
        except httpx.TransportError as exc:  # timeouts, refused or dropped connections
            raise _Transient(repr(exc)) from exc
        if response.status_code >= 500 or response.status_code == 429:
            raise _Transient(f"HTTP {response.status_code}")
        if response.status_code != 200:
            log.error(
                "google.jwks_rejected",
                extra={"url": self._jwks_url, "status": response.status_code},
            )
            raise unreachable()
        try:
            return response.json()
        except ValueError:
            log.error("google.jwks_not_json", extra={"url": self._jwks_url})
            raise unreachable() from None


def parse_jwks(document: Any) -> dict[str, jwt.PyJWK]:
    """The RS256 signing keys of a JWKS document by key id; unusable entries are skipped."""
    import jwt

    entries = document.get("keys") if isinstance(document, dict) else None
    keys: dict[str, jwt.PyJWK] = {}
    for entry in entries if isinstance(entries, list) else []:
        if not isinstance(entry, dict) or entry.get("kty") != "RSA" or not entry.get("kid"):
            continue
        if entry.get("use", "sig") != "sig" or entry.get("alg", ALGORITHM) != ALGORITHM:
            continue
        try:
            keys[str(entry["kid"])] = jwt.PyJWK(entry, algorithm=ALGORITHM)
        except jwt.PyJWTError:
            log.warning("google.jwks_bad_key", extra={"kid": entry.get("kid")})
    return keys
