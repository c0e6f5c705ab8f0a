"""Account administration: list, create, update, change the role, block, delete. All audited.

An ADMIN manages everyone but administrators; what touches an ADMIN or SUPERADMIN account (or
grants such a role) needs a SUPERADMIN, and the last SUPERADMIN can be neither demoted nor
deleted.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Annotated

import msgspec

from mas.core.identity.access import AccessGuard
from mas.core.identity.audit import record_audit
from mas.core.identity.events import UserSignedUp
from mas.core.identity.lookup import existing_user
from mas.core.identity.mail import ACCOUNT_CREATED
from mas.core.identity.model import (
    AuditKind,
    EmailSyntax,
    RevokeReason,
    User,
    UserStage,
    check_email,
    check_password,
)
from mas.core.identity.policy import Caller, Platform, Role, is_admin
from mas.core.identity.ports import IdentityUnitOfWork, PasswordHasher, Secrets
from mas.core.platform.errors import Conflict, Forbidden
from mas.core.platform.ids import uuid7
from mas.core.platform.paging import Page, PageRequest
from mas.core.platform.ports.clock import Clock
from mas.core.platform.ports.messenger import Messenger
from mas.core.platform.ports.uow import DuplicateKey, UnitOfWorkFactory

Text255 = Annotated[str, msgspec.Meta(max_length=255)]


class UserChanges(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Bounded as the columns are (a longer value was a 500 on PostgreSQL)."""

    full_name: Text255 | None | msgspec.UnsetType = msgspec.UNSET
    phone: Annotated[str, msgspec.Meta(max_length=20)] | None | msgspec.UnsetType = msgspec.UNSET
    profession: Text255 | None | msgspec.UnsetType = msgspec.UNSET
    domain: Text255 | None | msgspec.UnsetType = msgspec.UNSET
    profile_photo: Annotated[str, msgspec.Meta(max_length=2048)] | None | msgspec.UnsetType = (
        msgspec.UNSET
    )
    is_super_mentor: bool | msgspec.UnsetType = msgspec.UNSET


class CreatedAccount(msgspec.Struct, frozen=True):
    user: User
    password_sent: bool


class AccountAdmin:
    def __init__(
        self,
        *,
        uow: UnitOfWorkFactory[IdentityUnitOfWork],
        clock: Clock,
        hasher: PasswordHasher,
        secrets: Secrets,
        guard: AccessGuard,
        messenger: Messenger,
        email_syntax: EmailSyntax | None = None,
    ) -> None:
        self._uow = uow
        self._messenger = messenger
        self._email_syntax = email_syntax
        self._clock = clock
        self._hasher = hasher
        self._secrets = secrets
        self._guard = guard

    async def page(
        self, roles: list[Role] | None, search: str | None, req: PageRequest
    ) -> Page[User]:
        async with self._uow() as uow:
            return await uow.users.page(roles, search, req)

    async def get(self, user_id: uuid.UUID) -> User:
        async with self._uow() as uow:
            return await existing_user(uow, user_id)

    async def create(
        self,
        actor: Caller,
        email: str,
        role: Role,
        full_name: str | None,
        password: str | None,
        *,
        super_mentor: bool = False,
        platform: Platform = Platform.MY_ANALYTICS_SCHOOL,
    ) -> CreatedAccount:
        """A verified account; its password (given or generated) goes out by email."""
        email = check_email(email, syntax=self._email_syntax)
        _may_grant(actor, role)
        generated = password is None
        password = password or self._secrets.random_token(12)
        check_password(password, email)
        now = self._clock.now()
        user = User(
            id=uuid7(),
            email=email,
            role=role,
            created_at=now,
            full_name=full_name,
            password_hash=await asyncio.to_thread(self._hasher.hash, password),
            is_super_mentor=super_mentor,
            signup_platform=platform,
        )
        user.advance(UserStage.OTP_VERIFIED)  # an administrator vouches for the address
        async with self._uow() as uow:
            try:
                await uow.users.add(user)
            except DuplicateKey:
                raise Conflict(
                    "an account with this email already exists", code="email_taken"
                ) from None
            uow.record(UserSignedUp(user_id=user.id, role=role.value))
            await self._messenger.email(
                uow,
                template=ACCOUNT_CREATED,
                to=email,
                data={
                    "email": email,
                    "password": password,
                    "role": role.value,
                    "platform": platform.value,
                },
                key=f"account-created:{user.id}",
            )
            await record_audit(
                uow,
                AuditKind.USER_CREATED,
                self._clock.now(),
                actor=actor.user_id,
                target=user.id,
                detail={"role": role.value, "generated_password": generated},
            )
            await uow.commit()
        return CreatedAccount(user, True)

    async def update(self, actor: Caller, user_id: uuid.UUID, changes: UserChanges) -> User:
        async with self._uow() as uow:
            user = await existing_user(uow, user_id)
            _may_manage(actor, user)
            changed = {
                k: v for k, v in msgspec.structs.asdict(changes).items() if v is not msgspec.UNSET
            }
            for key, value in changed.items():
                setattr(user, key, value)
            await uow.users.save(user)
            await record_audit(
                uow,
                AuditKind.USER_UPDATED,
                self._clock.now(),
                actor=actor.user_id,
                target=user.id,
                detail={"fields": ",".join(sorted(changed))},
            )
            await uow.commit()
        await self._guard.forget(user.id)
        return user

    async def change_role(
        self, actor: Caller, user_id: uuid.UUID, role: Role, super_mentor: bool
    ) -> User:
        """Every token of the account is revoked: the next sign-in carries the new role."""
        async with self._uow() as uow:
            user = await existing_user(uow, user_id)
            if is_admin(user.role) or is_admin(role):
                _may_grant(actor, Role.ADMIN)
            if user.role is Role.SUPERADMIN and role is not Role.SUPERADMIN:
                await _not_last_superadmin(uow)
            before = user.role
            user.role = role
            user.is_super_mentor = super_mentor and role is Role.EXPERT
            user.revoke_tokens()
            await uow.users.save(user)
            await record_audit(
                uow,
                AuditKind.ROLE_CHANGED,
                self._clock.now(),
                actor=actor.user_id,
                target=user.id,
                detail={"from": before.value, "to": role.value},
            )
            await uow.commit()
        await self._guard.forget(user.id)
        return user

    async def set_blocked(self, actor: Caller, user_id: uuid.UUID, blocked: bool) -> User:
        """Block (every session ends at once) or unblock."""
        if actor.user_id == user_id:
            raise Conflict("you cannot block or unblock yourself", code="self_action")
        async with self._uow() as uow:
            user = await existing_user(uow, user_id)
            _may_manage(actor, user)
            revoked: list[uuid.UUID] = []
            if blocked:
                user.block()
                revoked = await uow.sessions.revoke_user(
                    user.id, RevokeReason.BLOCKED, self._clock.now()
                )
            else:
                user.unblock()
            await uow.users.save(user)
            kind = AuditKind.BLOCKED if blocked else AuditKind.UNBLOCKED
            await record_audit(uow, kind, self._clock.now(), actor=actor.user_id, target=user.id)
            await uow.commit()
        await self._guard.end_sessions(revoked)
        await self._guard.forget(user.id)
        return user

    async def delete(self, actor: Caller, user_id: uuid.UUID) -> None:
        """Soft-delete: the row stays (for the audit trail), every session ends."""
        if actor.user_id == user_id:
            raise Conflict("you cannot delete yourself", code="self_action")
        async with self._uow() as uow:
            user = await existing_user(uow, user_id)
            _may_manage(actor, user)
            if user.role is Role.SUPERADMIN:
                await _not_last_superadmin(uow)
            user.delete(self._clock.now())
            revoked = await uow.sessions.revoke_user(
                user.id, RevokeReason.DELETED, self._clock.now()
            )
            await uow.users.save(user)
            await record_audit(
                uow, AuditKind.USER_DELETED, self._clock.now(), actor=actor.user_id, target=user.id
            )
            await uow.commit()
        await self._guard.end_sessions(revoked)
        await self._guard.forget(user.id)


def _may_grant(actor: Caller, role: Role) -> None:
    if is_admin(role) and actor.role is not Role.SUPERADMIN:
        raise Forbidden(
            "only a SUPERADMIN may grant or revoke ADMIN or SUPERADMIN", code="superadmin_required"
        )


def _may_manage(actor: Caller, target: User) -> None:
    if is_admin(target.role) and actor.role is not Role.SUPERADMIN:
        raise Forbidden("only a SUPERADMIN may manage administrators", code="superadmin_required")


async def _not_last_superadmin(uow: IdentityUnitOfWork) -> None:
    if await uow.users.count_active(Role.SUPERADMIN) <= 1:
        raise Conflict("this is the last SUPERADMIN", code="last_superadmin")
