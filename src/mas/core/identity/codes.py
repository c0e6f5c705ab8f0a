"""One-time codes by email: issued for sign-up and password reset, consumed once.

A code is stored only as a keyed digest. Each email and purpose gets a new code at most every
60 s and five an hour; a wrong guess counts against the code (it locks after its attempts), and a
code a newer one replaced is recognised as such rather than counted as a guess.
"""

from __future__ import annotations

from datetime import timedelta

from mas.core.identity.audit import record_audit
from mas.core.identity.mail import otp_template
from mas.core.identity.model import AuditKind, OtpCode, OtpPurpose
from mas.core.identity.ports import IdentityUnitOfWork, Secrets
from mas.core.identity.secrets import same
from mas.core.identity.throttle import throttle
from mas.core.identity.tokens import RequestInfo
from mas.core.platform.errors import DomainError, FieldError, Gone, NotFound, RateLimited
from mas.core.platform.ids import uuid7
from mas.core.platform.ports.clock import Clock
from mas.core.platform.ports.messenger import Messenger
from mas.core.platform.ratelimit import RateLimiter

OTP_MINUTES = {OtpPurpose.SIGNUP: 10, OtpPurpose.PASSWORD_RESET: 15}
RESEND_COOLDOWN_S = 60
SENDS_PER_HOUR = 5


class OneTimeCodes:
    def __init__(
        self, *, secrets: Secrets, clock: Clock, limiter: RateLimiter, messenger: Messenger
    ) -> None:
        self._secrets = secrets
        self._clock = clock
        self._limiter = limiter
        self._messenger = messenger

    async def issue(
        self, uow: IdentityUnitOfWork, email: str, purpose: OtpPurpose, info: RequestInfo
    ) -> OtpCode:
        """Replace any waiting code with a new one and queue its email (in ``uow``)."""
        now = self._clock.now()
        code = self._secrets.otp_code()
        minutes = OTP_MINUTES[purpose]
        otp = OtpCode(
            id=uuid7(),
            email=email,
            purpose=purpose,
            code_hash=self._digest(purpose, email, code),
            expires_at=now + timedelta(minutes=minutes),
            created_at=now,
        )
        await uow.otps.supersede(email, purpose, now)
        await uow.otps.add(otp)
        await self._messenger.email(
            uow,
            template=otp_template(purpose),
            to=email,
            data={"code": code, "platform": info.platform.value, "minutes": minutes},
            key=f"otp:{otp.id}",
        )
        await record_audit(
            uow, AuditKind.OTP_SENT, self._clock.now(), info=info, detail={"purpose": purpose.value}
        )
        return otp

    async def consume(
        self, uow: IdentityUnitOfWork, email: str, purpose: OtpPurpose, code: str
    ) -> None:
        """Mark the newest code used if ``code`` is it; a wrong guess is committed, then raised."""
        now = self._clock.now()
        otp = await uow.otps.newest(email, purpose)
        if otp is None:
            raise NotFound(
                "no code is waiting for this email; ask for a new one", code="otp_not_found"
            )
        state = otp.state(now)
        if state != "ISSUED":
            raise Gone(f"this code is {state.lower()}; ask for a new one", code="otp_gone")
        expected = self._digest(purpose, email, code.strip())
        if not same(expected, otp.code_hash):
            for earlier in await uow.otps.recent(email, purpose, 10):
                if earlier.id != otp.id and same(expected, earlier.code_hash):
                    # A code that a newer one replaced: not a guess at the new one.
                    raise Gone(
                        "this code was replaced by a newer one; use the latest email",
                        code="otp_gone",
                    )
            otp.attempts += 1
            await uow.otps.save(otp)
            await uow.commit()
            if otp.attempts_left == 0:
                raise Gone(
                    "too many wrong codes: this one is locked; ask for a new one", code="otp_locked"
                )
            raise DomainError(
                f"wrong code; {otp.attempts_left} attempts left",
                code="otp_wrong",
                errors=[FieldError("code", f"{otp.attempts_left} attempts left")],
            )
        otp.consumed_at = now
        await uow.otps.save(otp)

    async def limit_sends(self, uow: IdentityUnitOfWork, email: str, purpose: OtpPurpose) -> None:
        """A new code at most every 60 s and 5 an hour; Retry-After says when the next may go."""
        now = self._clock.now()
        newest = await uow.otps.newest(email, purpose)
        if newest is not None:
            wait = RESEND_COOLDOWN_S - (now - newest.created_at).total_seconds()
            if wait > 0:
                raise RateLimited(
                    f"wait {int(wait) + 1} s before asking for another code",
                    retry_after=int(wait) + 1,
                )
        hour_ago = now - timedelta(hours=1)
        if await uow.otps.count_since(email, purpose, hour_ago) >= SENDS_PER_HOUR:
            sent = [
                c
                for c in await uow.otps.recent(email, purpose, SENDS_PER_HOUR)
                if c.created_at >= hour_ago
            ]
            oldest = min((c.created_at for c in sent), default=now)
            wait_s = max(int((oldest + timedelta(hours=1) - now).total_seconds()) + 1, 1)
            raise RateLimited("too many codes this hour; try again later", retry_after=wait_s)

    async def throttle_guesses(self, email: str, ip: str | None) -> None:
        """Five code attempts a minute per address and email (before any code is looked up)."""
        await throttle(self._limiter, f"otp:{ip}:{email}")

    def _digest(self, purpose: OtpPurpose, email: str, code: str) -> str:
        return self._secrets.keyed_digest(f"{purpose.value}:{email}:{code}")
