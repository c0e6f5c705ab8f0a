"""Account administration, break-glass master login and impersonation. Every change is audited."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass

import msgspec

from mas.core.identity.access import AccessGuard, is_admin
from mas.core.identity.mail import alert_email, credentials_email
from mas.core.identity.model import (
    AuditEvent,
    AuditKind,
    AuthMethod,
    RevokeReason,
    User,
    UserStage,
    check_email,
    check_password,
)
from mas.core.identity.policy import Caller, Platform, Role
from mas.core.identity.ports import IdentityUnitOfWork, PasswordHasher, Secrets, TotpVerifier
from mas.core.identity.tokens import RequestInfo, TokenIssuer, TokenPair
from mas.core.platform.errors import (
    Conflict,
    FieldError,
    Forbidden,
    NotFound,
    RateLimited,
    Unauthorized,
    ValidationFailed,
)
from mas.core.platform.ids import uuid7
from mas.core.platform.paging import Page, PageRequest
from mas.core.platform.ports.clock import Clock
from mas.core.platform.ports.uow import DuplicateKey, UnitOfWorkFactory
from mas.core.platform.ratelimit import RateLimiter

ADMIN_ROLES = (Role.ADMIN, Role.SUPERADMIN)


class UserChanges(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    full_name: str | None | msgspec.UnsetType = msgspec.UNSET
    phone: str | None | msgspec.UnsetType = msgspec.UNSET
    profession: str | None | msgspec.UnsetType = msgspec.UNSET
    domain: str | None | msgspec.UnsetType = msgspec.UNSET
    profile_photo: str | None | msgspec.UnsetType = msgspec.UNSET
    is_super_mentor: bool | msgspec.UnsetType = msgspec.UNSET


class CreatedAccount(msgspec.Struct, frozen=True):
    user: User
    password_sent: bool


@dataclass
class AdminDeps:
    uow: UnitOfWorkFactory[IdentityUnitOfWork]
    issuer: TokenIssuer
    hasher: PasswordHasher
    secrets: Secrets
    clock: Clock
    guard: AccessGuard
    limiter: RateLimiter
    totp: TotpVerifier | None
    master_password_hash: str | None
    pages: frozenset[str] = frozenset()
    """The page keys the domains declare; an admin grants a head some of them."""
    impersonation_enabled: bool = False


class AccountAdmin:
    def __init__(self, deps: AdminDeps) -> None:
        self.d = deps

    async def page(
        self, roles: list[Role] | None, search: str | None, req: PageRequest
    ) -> Page[User]:
        async with self.d.uow() as uow:
            return await uow.users.page(roles, search, req)

    async def get(self, user_id: uuid.UUID) -> User:
        async with self.d.uow() as uow:
            return await _user(uow, user_id)

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
        email = check_email(email)
        _may_grant(actor, role)
        generated = password is None
        password = password or self.d.secrets.random_token(12)
        check_password(password, email)
        now = self.d.clock.now()
        user = User(
            id=uuid7(),
            email=email,
            role=role,
            created_at=now,
            full_name=full_name,
            password_hash=await asyncio.to_thread(self.d.hasher.hash, password),
            is_super_mentor=super_mentor,
            signup_platform=platform,
        )
        user.advance(UserStage.OTP_VERIFIED)  # an administrator vouches for the address
        async with self.d.uow() as uow:
            try:
                await uow.users.add(user)
            except DuplicateKey:
                raise Conflict(
                    "an account with this email already exists", code="email_taken"
                ) from None
            await uow.send(credentials_email(email, password, role.value, platform, now))
            await _audit(
                uow,
                self.d.clock,
                AuditKind.USER_CREATED,
                actor.user_id,
                user.id,
                {"role": role.value, "generated_password": generated},
            )
            await uow.commit()
        return CreatedAccount(user, True)

    async def update(self, actor: Caller, user_id: uuid.UUID, changes: UserChanges) -> User:
        async with self.d.uow() as uow:
            user = await _user(uow, user_id)
            _may_manage(actor, user)
            changed = {
                k: v for k, v in msgspec.structs.asdict(changes).items() if v is not msgspec.UNSET
            }
            for key, value in changed.items():
                setattr(user, key, value)
            await uow.users.save(user)
            await _audit(
                uow,
                self.d.clock,
                AuditKind.USER_UPDATED,
                actor.user_id,
                user.id,
                {"fields": ",".join(sorted(changed))},
            )
            await uow.commit()
        await self.d.guard.forget(user.id)
        return user

    async def change_role(
        self, actor: Caller, user_id: uuid.UUID, role: Role, super_mentor: bool
    ) -> User:
        async with self.d.uow() as uow:
            user = await _user(uow, user_id)
            if user.role in ADMIN_ROLES or role in ADMIN_ROLES:
                _may_grant(actor, Role.ADMIN)
            if user.role is Role.SUPERADMIN and role is not Role.SUPERADMIN:
                await _not_last_superadmin(uow)
            before = user.role
            user.role = role
            user.is_super_mentor = super_mentor and role is Role.EXPERT
            user.revoke_tokens()
            await uow.users.save(user)
            await _audit(
                uow,
                self.d.clock,
                AuditKind.ROLE_CHANGED,
                actor.user_id,
                user.id,
                {"from": before.value, "to": role.value},
            )
            await uow.commit()
        await self.d.guard.forget(user.id)
        return user

    async def set_blocked(self, actor: Caller, user_id: uuid.UUID, blocked: bool) -> User:
        if actor.user_id == user_id:
            raise Conflict("you cannot block or unblock yourself", code="self_action")
        async with self.d.uow() as uow:
            user = await _user(uow, user_id)
            _may_manage(actor, user)
            revoked: list[uuid.UUID] = []
            if blocked:
                user.block()
                revoked = await uow.sessions.revoke_user(
                    user.id, RevokeReason.BLOCKED, self.d.clock.now()
                )
            else:
                user.unblock()
            await uow.users.save(user)
            kind = AuditKind.BLOCKED if blocked else AuditKind.UNBLOCKED
            await _audit(uow, self.d.clock, kind, actor.user_id, user.id)
            await uow.commit()
        await self.d.guard.end_sessions(revoked)
        await self.d.guard.forget(user.id)
        return user

    async def delete(self, actor: Caller, user_id: uuid.UUID) -> None:
        if actor.user_id == user_id:
            raise Conflict("you cannot delete yourself", code="self_action")
        async with self.d.uow() as uow:
            user = await _user(uow, user_id)
            _may_manage(actor, user)
            if user.role is Role.SUPERADMIN:
                await _not_last_superadmin(uow)
            user.delete(self.d.clock.now())
            revoked = await uow.sessions.revoke_user(
                user.id, RevokeReason.DELETED, self.d.clock.now()
            )
            await uow.users.save(user)
            await _audit(uow, self.d.clock, AuditKind.USER_DELETED, actor.user_id, user.id)
            await uow.commit()
        await self.d.guard.end_sessions(revoked)
        await self.d.guard.forget(user.id)

    async def permissions(self, user_id: uuid.UUID) -> list[str]:
        async with self.d.uow() as uow:
            user = await _user(uow, user_id)
        if user.role is not Role.SALES_HEAD:
            raise NotFound("no sales head with this id", code="not_a_sales_head")
        return sorted(user.page_permissions)

    async def set_permissions(
        self, actor: Caller, user_id: uuid.UUID, keys: list[str]
    ) -> list[str]:
        unknown = sorted(set(keys) - self.d.pages)
        if unknown:
            raise ValidationFailed(
                f"unknown page keys: {', '.join(unknown)}",
                errors=[
                    FieldError(
                        "page_keys",
                        f"unknown: {', '.join(unknown)}; known: {', '.join(sorted(self.d.pages))}",
                    )
                ],
            )
        async with self.d.uow() as uow:
            user = await _user(uow, user_id)
            if user.role is not Role.SALES_HEAD:
                raise NotFound("no sales head with this id", code="not_a_sales_head")
            await uow.users.set_permissions(user.id, sorted(set(keys)), actor.user_id)
            await _audit(
                uow,
                self.d.clock,
                AuditKind.PERMISSIONS_CHANGED,
                actor.user_id,
                user.id,
                {"pages": ",".join(sorted(set(keys)))},
            )
            await uow.commit()
        await self.d.guard.forget(user.id)  # takes effect on the next request, no re-login
        return sorted(set(keys))

    async def impersonate(
        self, actor: Caller, user_id: uuid.UUID, reason: str, ip: str | None
    ) -> TokenPair:
        if not self.d.impersonation_enabled:
            raise NotFound("impersonation is not enabled here", code="impersonation_disabled")
        reason = _reason(reason)
        async with self.d.uow() as uow:
            user = await _user(uow, user_id)
            if user.role in ADMIN_ROLES and actor.role is not Role.SUPERADMIN:
                raise Forbidden(
                    "only a SUPERADMIN may act as an administrator", code="impersonation_forbidden"
                )
            if user.is_blocked:
                raise Conflict("this account is blocked", code="account_blocked")
            await uow.audit.append(
                AuditEvent(
                    id=uuid7(),
                    event=AuditKind.IMPERSONATION,
                    created_at=self.d.clock.now(),
                    actor_id=actor.user_id,
                    target_user_id=user.id,
                    platform=actor.platform,
                    ip=ip,
                    reason=reason,
                )
            )
            await uow.commit()
        token = self.d.issuer.access_token(
            user, actor.platform, AuthMethod.IMPERSONATION, None, actor=actor.user_id
        )
        return TokenPair(
            access_token=token, refresh_token=None, expires_in=self.d.issuer.access_ttl_s
        )

    # --- break-glass --------------------------------------------------------------------------

    @property
    def master_enabled(self) -> bool:
        return bool(self.d.master_password_hash and self.d.totp)

    async def master_login(
        self, email: str, master_password: str, totp_code: str, reason: str, info: RequestInfo
    ) -> TokenPair:
        if not self.master_enabled or self.d.totp is None:
            raise NotFound("master login is not enabled here", code="master_login_disabled")
        reason = _reason(reason)
        email = email.strip().lower()
        await self._master_limits(info.ip)
        now = self.d.clock.now()
        async with self.d.uow() as uow:
            password_ok = await asyncio.to_thread(
                self.d.hasher.verify, master_password, self.d.master_password_hash
            )
            counter = self.d.totp.matching_counter(totp_code.strip(), now)
            last = await uow.users.master_counter()
            if not password_ok or counter is None or counter <= last:
                await uow.audit.append(
                    AuditEvent(
                        id=uuid7(),
                        event=AuditKind.MASTER_LOGIN_FAILED,
                        created_at=now,
                        ip=info.ip,
                        reason=reason,
                        platform=info.platform,
                        detail={"email": email},
                    )
                )
                await uow.commit()
                await self.d.limiter.hit(f"master:fail:{info.ip}", 5, 900)
                await self.d.limiter.hit("master:fail:all", 20, 3600)
                raise Unauthorized("master password or code not right", code="master_login_failed")
            user = await uow.users.by_email(email)
            if user is None or user.is_deleted:
                raise NotFound("no such account", code="user_not_found")
            if user.role not in ADMIN_ROLES:
                raise Forbidden(
                    "master login only opens ADMIN or SUPERADMIN accounts",
                    code="master_target_forbidden",
                )
            await uow.users.set_master_counter(counter)
            await uow.audit.append(
                AuditEvent(
                    id=uuid7(),
                    event=AuditKind.MASTER_LOGIN,
                    created_at=now,
                    actor_id=user.id,
                    target_user_id=user.id,
                    ip=info.ip,
                    reason=reason,
                    platform=info.platform,
                )
            )
            for admin in await uow.users.active_with_roles(list(ADMIN_ROLES)):
                await uow.send(
                    alert_email(
                        admin.email,
                        "mas: master login used",
                        f"Master login into {user.email} at {now.isoformat()} from {info.ip}.\n"
                        f"Reason: {reason}",
                        now,
                    )
                )
            await uow.commit()
        token = self.d.issuer.access_token(user, info.platform, AuthMethod.MASTER, None)
        return TokenPair(
            access_token=token, refresh_token=None, expires_in=self.d.issuer.access_ttl_s
        )

    async def _master_limits(self, ip: str | None) -> None:
        for key, limit, window in ((f"master:fail:{ip}", 5, 900), ("master:fail:all", 20, 3600)):
            decision = await self.d.limiter.peek(key, limit, window)
            if not decision.allowed:
                raise RateLimited(
                    "master login is locked for now", retry_after=decision.retry_after_s
                )


def _reason(reason: str) -> str:
    reason = reason.strip()
    if len(reason) < 5:
        raise ValidationFailed(
            "say why (at least 5 characters)",
            errors=[FieldError("reason", "required: at least 5 characters")],
        )
    return reason[:500]


def _may_grant(actor: Caller, role: Role) -> None:
    if role in ADMIN_ROLES and actor.role is not Role.SUPERADMIN:
        raise Forbidden(
            "only a SUPERADMIN may grant or revoke ADMIN or SUPERADMIN", code="superadmin_required"
        )


def _may_manage(actor: Caller, target: User) -> None:
    if target.role in ADMIN_ROLES and actor.role is not Role.SUPERADMIN:
        raise Forbidden("only a SUPERADMIN may manage administrators", code="superadmin_required")


async def _not_last_superadmin(uow: IdentityUnitOfWork) -> None:
    if await uow.users.count_active(Role.SUPERADMIN) <= 1:
        raise Conflict("this is the last SUPERADMIN", code="last_superadmin")


async def _user(uow: IdentityUnitOfWork, user_id: uuid.UUID) -> User:
    user = await uow.users.get(user_id)
    if user is None or user.is_deleted:
        raise NotFound("no such user", code="user_not_found")
    return user


async def _audit(
    uow: IdentityUnitOfWork,
    clock: Clock,
    kind: AuditKind,
    actor: uuid.UUID | None,
    target: uuid.UUID | None,
    detail: dict[str, str | int | bool | None] | None = None,
) -> None:
    await uow.audit.append(
        AuditEvent(
            id=uuid7(),
            event=kind,
            created_at=clock.now(),
            actor_id=actor,
            target_user_id=target,
            detail=detail or {},
        )
    )


__all__ = ["AccountAdmin", "AdminDeps", "CreatedAccount", "UserChanges", "is_admin"]
