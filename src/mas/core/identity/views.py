"""The public shape of an account (what the API and the CLI show): no hash, no token version."""

from __future__ import annotations

import uuid
from datetime import datetime

import msgspec

from mas.core.identity.model import User
from mas.core.identity.policy import Platform, Role


class UserView(msgspec.Struct, frozen=True):
    id: uuid.UUID
    email: str
    role: Role
    full_name: str | None
    phone: str | None
    profession: str | None
    domain: str | None
    is_super_mentor: bool
    profile_photo: str | None
    is_verified: bool
    is_profile_complete: bool
    stage: int
    signup_platform: Platform
    is_blocked: bool
    has_password: bool
    has_google: bool
    created_at: datetime
    last_login_at: datetime | None


def view(user: User) -> UserView:
    return UserView(
        id=user.id,
        email=user.email,
        role=user.role,
        full_name=user.full_name,
        phone=user.phone,
        profession=user.profession,
        domain=user.domain,
        is_super_mentor=user.is_super_mentor,
        profile_photo=user.profile_photo,
        is_verified=user.is_verified,
        is_profile_complete=user.is_profile_complete,
        stage=int(user.stage),
        signup_platform=user.signup_platform,
        is_blocked=user.is_blocked,
        has_password=user.password_hash is not None,
        has_google=user.google_id is not None,
        created_at=user.created_at,
        last_login_at=user.last_login_at,
    )
