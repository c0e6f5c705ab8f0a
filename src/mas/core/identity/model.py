"""Accounts, sessions, one-time codes, vendor keys and audit events. Pure rules."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime

import msgspec

from mas.core.identity.policy import Platform, Role
from mas.core.platform.emails import INVALID_EMAIL as INVALID_EMAIL
from mas.core.platform.emails import EmailSyntax as EmailSyntax
from mas.core.platform.emails import check_email as check_email
from mas.core.platform.emails import normalise_email as normalise_email
from mas.core.platform.errors import Conflict, FieldError, InvalidState, ValidationFailed

MIN_PASSWORD = 8
MAX_PASSWORD = 128


class UserStage(enum.IntEnum):
    SIGNUP = 1
    OTP_VERIFIED = 2
    PROFILE_COMPLETE = 3


class AuthMethod(enum.StrEnum):
    PASSWORD = "PASSWORD"
    GOOGLE = "GOOGLE"
    OTP = "OTP"
    MASTER = "MASTER"
    IMPERSONATION = "IMPERSONATION"


AMR = {
    AuthMethod.PASSWORD: "pwd",
    AuthMethod.GOOGLE: "google",
    AuthMethod.OTP: "otp",
    AuthMethod.MASTER: "master",
    AuthMethod.IMPERSONATION: "impersonation",
}


class RevokeReason(enum.StrEnum):
    LOGOUT = "LOGOUT"
    ROTATED = "ROTATED"
    REUSE_DETECTED = "REUSE_DETECTED"
    PASSWORD_CHANGED = "PASSWORD_CHANGED"
    BLOCKED = "BLOCKED"
    ADMIN = "ADMIN"
    DELETED = "DELETED"


class OtpPurpose(enum.StrEnum):
    SIGNUP = "SIGNUP"
    PASSWORD_RESET = "PASSWORD_RESET"


class AuditKind(enum.StrEnum):
    SIGNUP = "SIGNUP"
    OTP_SENT = "OTP_SENT"
    OTP_VERIFIED = "OTP_VERIFIED"
    LOGIN_OK = "LOGIN_OK"
    LOGIN_FAILED = "LOGIN_FAILED"
    REFRESH_REUSE = "REFRESH_REUSE"
    LOGOUT = "LOGOUT"
    PASSWORD_RESET = "PASSWORD_RESET"
    PASSWORD_CHANGED = "PASSWORD_CHANGED"
    MASTER_LOGIN = "MASTER_LOGIN"
    MASTER_LOGIN_FAILED = "MASTER_LOGIN_FAILED"
    IMPERSONATION = "IMPERSONATION"
    ROLE_CHANGED = "ROLE_CHANGED"
    BLOCKED = "BLOCKED"
    UNBLOCKED = "UNBLOCKED"
    USER_CREATED = "USER_CREATED"
    USER_UPDATED = "USER_UPDATED"
    USER_DELETED = "USER_DELETED"
    PERMISSIONS_CHANGED = "PERMISSIONS_CHANGED"
    VENDOR_KEY_CREATED = "VENDOR_KEY_CREATED"
    VENDOR_KEY_REVOKED = "VENDOR_KEY_REVOKED"


class User(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    email: str
    role: Role
    created_at: datetime
    password_hash: str | None = None
    full_name: str | None = None
    phone: str | None = None
    profession: str | None = None
    domain: str | None = None
    is_super_mentor: bool = False
    profile_photo: str | None = None
    google_id: str | None = None
    is_verified: bool = False
    is_profile_complete: bool = False
    stage: UserStage = UserStage.SIGNUP
    signup_platform: Platform = Platform.MY_ANALYTICS_SCHOOL
    is_blocked: bool = False
    token_version: int = 0
    password_changed_at: datetime | None = None
    last_login_at: datetime | None = None
    deleted_at: datetime | None = None
    page_permissions: list[str] = []

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None

    def advance(self, target: UserStage) -> None:
        if target <= self.stage:
            return  # monotonic: a repeat is a no-op, never a step back
        if target is UserStage.PROFILE_COMPLETE and self.stage < UserStage.OTP_VERIFIED:
            raise Conflict("verify the email with the code first", code="otp_not_verified")
        self.stage = target
        if target >= UserStage.OTP_VERIFIED:
            self.is_verified = True
        if target is UserStage.PROFILE_COMPLETE:
            self.is_profile_complete = True

    def revoke_tokens(self) -> None:
        """Every access token issued before now stops working (the ``tv`` claim no longer fits)."""
        self.token_version += 1

    def block(self) -> None:
        if self.is_deleted:
            raise InvalidState("user", "DELETED", "BLOCKED")
        self.is_blocked = True
        self.revoke_tokens()

    def unblock(self) -> None:
        if self.is_deleted:
            raise InvalidState("user", "DELETED", "ACTIVE")
        self.is_blocked = False

    def delete(self, now: datetime) -> None:
        if self.is_deleted:
            raise InvalidState("user", "DELETED", "DELETED")
        self.deleted_at = now
        self.revoke_tokens()


class UserSnapshot(msgspec.Struct, frozen=True):
    """What the guard checks on every request; cached for 30 s, dropped on change."""

    role: Role
    token_version: int
    blocked: bool
    deleted: bool
    is_super_mentor: bool
    page_permissions: list[str]


def snapshot_of(user: User) -> UserSnapshot:
    return UserSnapshot(
        role=user.role,
        token_version=user.token_version,
        blocked=user.is_blocked,
        deleted=user.is_deleted,
        is_super_mentor=user.is_super_mentor,
        page_permissions=sorted(user.page_permissions),
    )


class RefreshSession(msgspec.Struct, kw_only=True):
    """One refresh token; its id is the ``sid`` of the access tokens minted with it."""

    id: uuid.UUID
    user_id: uuid.UUID
    token_hash: str
    family_id: uuid.UUID
    platform: Platform
    auth_method: AuthMethod
    created_at: datetime
    expires_at: datetime
    ip: str | None = None
    user_agent: str | None = None
    last_used_at: datetime | None = None
    revoked_at: datetime | None = None
    revoked_reason: RevokeReason | None = None
    replaced_by_id: uuid.UUID | None = None

    def is_active(self, now: datetime) -> bool:
        return self.revoked_at is None and self.expires_at > now


class OtpCode(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    email: str
    purpose: OtpPurpose
    code_hash: str
    expires_at: datetime
    created_at: datetime
    attempts: int = 0
    consumed_at: datetime | None = None
    superseded_at: datetime | None = None

    MAX_ATTEMPTS = 5

    def state(self, now: datetime) -> str:
        if self.consumed_at is not None:
            return "CONSUMED"
        if self.superseded_at is not None:
            return "SUPERSEDED"
        if self.attempts >= self.MAX_ATTEMPTS:
            return "LOCKED"
        if self.expires_at <= now:
            return "EXPIRED"
        return "ISSUED"

    @property
    def attempts_left(self) -> int:
        return max(self.MAX_ATTEMPTS - self.attempts, 0)


class AccountThrottle(msgspec.Struct, kw_only=True):
    """Consecutive failed sign-ins of one account (or of an email that has none: they look
    alike). ``subject`` is a keyed digest of the normalised email, not the email itself."""

    subject: str
    failures: int
    last_attempt_at: datetime
    blocked_until: datetime | None = None


class VendorKey(msgspec.Struct, kw_only=True):
    id: uuid.UUID
    vendor_name: str
    key_prefix: str
    secret_hash: str
    scopes: list[str]
    created_at: datetime
    created_by: uuid.UUID | None = None
    last_used_at: datetime | None = None
    revoked_at: datetime | None = None
    use_count: int = 0


class AuditEvent(msgspec.Struct, kw_only=True, frozen=True):
    id: uuid.UUID
    event: AuditKind
    created_at: datetime
    actor_id: uuid.UUID | None = None
    target_user_id: uuid.UUID | None = None
    platform: Platform | None = None
    ip: str | None = None
    reason: str | None = None
    detail: dict[str, str | int | bool | None] = {}


def check_password(password: str, email: str | None = None, field: str = "password") -> None:
    problem = None
    if len(password) < MIN_PASSWORD:
        problem = f"at least {MIN_PASSWORD} characters"
    elif len(password) > MAX_PASSWORD:
        problem = f"at most {MAX_PASSWORD} characters"
    elif email and password.strip().lower() == email.lower():
        problem = "must not be the email address"
    if problem:
        raise ValidationFailed(
            f"the password is too weak: {problem}", errors=[FieldError(field, problem)]
        )


SUPER_MENTOR = "SUPER_MENTOR"


def parse_role(raw: str) -> tuple[Role, bool]:
    """``SUPER_MENTOR`` on input is an EXPERT with the super-mentor flag."""
    value = raw.strip().upper()
    if value == SUPER_MENTOR:
        return Role.EXPERT, True
    try:
        return Role(value), False
    except ValueError:
        raise ValidationFailed(
            f"unknown role '{raw}'", errors=[FieldError("role", "not a known role")]
        ) from None
