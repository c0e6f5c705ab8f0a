"""Identity repositories on SQLAlchemy."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import msgspec
from sqlalchemy import and_, delete, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from mas.adapters.db.identity.tables import (
    AccountThrottleRow,
    AuditEventRow,
    MasterLoginStateRow,
    OtpCodeRow,
    RefreshTokenRow,
    SalesHeadPermissionRow,
    UserRow,
    VendorApiKeyRow,
)
from mas.core.identity.model import (
    AccountThrottle,
    AuditEvent,
    OtpCode,
    OtpPurpose,
    RefreshSession,
    RevokeReason,
    User,
    VendorKey,
)
from mas.core.identity.policy import Role
from mas.core.platform.ids import uuid7
from mas.core.platform.paging import Page, PageRequest
from mas.core.platform.ports.uow import DuplicateKey

_USER_FIELDS = [f.name for f in msgspec.structs.fields(User) if f.name != "page_permissions"]


def _plain(value: Any) -> Any:
    return value.value if hasattr(value, "value") else value


def _values(struct: Any, exclude: tuple[str, ...] = ()) -> dict[str, Any]:
    return {
        f.name: _plain(getattr(struct, f.name))
        for f in msgspec.structs.fields(struct)
        if f.name not in exclude
    }


def _escape_like(term: str) -> str:
    """A search term matches itself: % and _ are not wildcards to the person typing them."""
    return term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


class SqlUserRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._s = session

    async def _to_user(self, row: UserRow) -> User:
        user = msgspec.convert(row, User, from_attributes=True)
        if user.role is Role.SALES_HEAD:
            keys = await self._s.execute(
                select(SalesHeadPermissionRow.page_key).where(
                    SalesHeadPermissionRow.user_id == row.id
                )
            )
            user.page_permissions = sorted(keys.scalars())
        return user

    async def add(self, user: User) -> None:
        try:
            async with self._s.begin_nested():
                await self._s.execute(
                    insert(UserRow).values(**_values(user, ("page_permissions",)))
                )
        except IntegrityError:
            raise DuplicateKey(f"user {user.email}") from None

    async def get(self, user_id: uuid.UUID) -> User | None:
        row = await self._s.get(UserRow, user_id, populate_existing=True)
        return await self._to_user(row) if row else None

    async def by_email(self, email: str) -> User | None:
        row = (
            await self._s.execute(select(UserRow).where(UserRow.email == email))
        ).scalar_one_or_none()
        return await self._to_user(row) if row else None

    async def by_google_id(self, google_id: str) -> User | None:
        row = (
            await self._s.execute(select(UserRow).where(UserRow.google_id == google_id))
        ).scalar_one_or_none()
        return await self._to_user(row) if row else None

    async def save(self, user: User) -> None:
        values = _values(user, ("id", "page_permissions", "created_at"))
        await self._s.execute(
            update(UserRow)
            .where(UserRow.id == user.id)
            .values(**values)
            .execution_options(synchronize_session=False)
        )

    async def page(
        self, roles: list[Role] | None, search: str | None, req: PageRequest
    ) -> Page[User]:
        conditions: list[Any] = [UserRow.deleted_at.is_(None)]
        if roles:
            conditions.append(UserRow.role.in_([r.value for r in roles]))
        if search:
            like = "%" + _escape_like(search.strip().lower()) + "%"
            conditions.append(
                or_(
                    func.lower(UserRow.email).like(like, escape="\\"),
                    func.lower(UserRow.full_name).like(like, escape="\\"),
                )
            )
        where = and_(*conditions)
        total = (
            await self._s.execute(select(func.count()).select_from(UserRow).where(where))
        ).scalar_one()
        rows = (
            await self._s.execute(
                select(UserRow)
                .where(where)
                .order_by(UserRow.created_at.desc(), UserRow.id.desc())
                .offset(req.offset)
                .limit(req.page_size)
            )
        ).scalars()
        return Page(
            items=[await self._to_user(r) for r in rows],
            total=total,
            page=req.page,
            page_size=req.page_size,
        )

    async def count_active(self, role: Role) -> int:
        stmt = (
            select(func.count())
            .select_from(UserRow)
            .where(UserRow.role == role.value, UserRow.deleted_at.is_(None))
        )
        return int((await self._s.execute(stmt)).scalar_one())

    async def active_with_roles(self, roles: list[Role]) -> list[User]:
        rows = (
            await self._s.execute(
                select(UserRow).where(
                    UserRow.role.in_([r.value for r in roles]),
                    UserRow.deleted_at.is_(None),
                    UserRow.is_blocked.is_(False),
                )
            )
        ).scalars()
        return [await self._to_user(r) for r in rows]

    async def set_permissions(self, user_id: uuid.UUID, keys: list[str], by: uuid.UUID) -> None:
        await self._s.execute(
            delete(SalesHeadPermissionRow).where(SalesHeadPermissionRow.user_id == user_id)
        )
        if keys:
            await self._s.execute(
                insert(SalesHeadPermissionRow),
                [
                    {"id": uuid7(), "user_id": user_id, "page_key": k, "granted_by": by}
                    for k in keys
                ],
            )

    async def master_counter(self) -> int:
        row = (
            await self._s.execute(select(MasterLoginStateRow).limit(1).with_for_update())
        ).scalar_one_or_none()
        return int(row.last_totp_counter) if row else 0

    async def set_master_counter(self, counter: int) -> None:
        updated = await self._s.execute(
            update(MasterLoginStateRow)
            .values(last_totp_counter=counter)
            .execution_options(synchronize_session=False)
        )
        if updated.rowcount == 0:  # type: ignore[attr-defined]
            await self._s.execute(
                insert(MasterLoginStateRow).values(id=uuid7(), last_totp_counter=counter)
            )


class SqlSessionRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._s = session

    @staticmethod
    def _to(row: RefreshTokenRow) -> RefreshSession:
        return msgspec.convert(row, RefreshSession, from_attributes=True)

    async def add(self, session: RefreshSession) -> None:
        await self._s.execute(insert(RefreshTokenRow).values(**_values(session)))

    async def by_hash(self, token_hash: str, *, for_update: bool = False) -> RefreshSession | None:
        stmt = select(RefreshTokenRow).where(RefreshTokenRow.token_hash == token_hash)
        if for_update:
            stmt = stmt.with_for_update()  # PostgreSQL; SQLite has one writer at a time anyway
        row = (await self._s.execute(stmt)).scalar_one_or_none()
        return self._to(row) if row else None

    async def get(self, session_id: uuid.UUID) -> RefreshSession | None:
        row = await self._s.get(RefreshTokenRow, session_id, populate_existing=True)
        return self._to(row) if row else None

    async def rotate(self, session_id: uuid.UUID, replaced_by: uuid.UUID, now: datetime) -> bool:
        result = await self._s.execute(
            update(RefreshTokenRow)
            .where(RefreshTokenRow.id == session_id, RefreshTokenRow.revoked_at.is_(None))
            .values(
                revoked_at=now,
                revoked_reason=RevokeReason.ROTATED.value,
                replaced_by_id=replaced_by,
                last_used_at=now,
            )
            .execution_options(synchronize_session=False)
        )
        return result.rowcount == 1  # type: ignore[attr-defined,no-any-return]

    async def active_for_user(self, user_id: uuid.UUID, now: datetime) -> list[RefreshSession]:
        rows = (
            await self._s.execute(
                select(RefreshTokenRow)
                .where(
                    RefreshTokenRow.user_id == user_id,
                    RefreshTokenRow.revoked_at.is_(None),
                    RefreshTokenRow.expires_at > now,
                )
                .order_by(RefreshTokenRow.created_at.desc())
            )
        ).scalars()
        return [self._to(r) for r in rows]

    async def _revoke(self, where: Any, reason: RevokeReason, now: datetime) -> list[uuid.UUID]:
        result = await self._s.execute(
            update(RefreshTokenRow)
            .where(where, RefreshTokenRow.revoked_at.is_(None))
            .values(revoked_at=now, revoked_reason=reason.value)
            .returning(RefreshTokenRow.id)
            .execution_options(synchronize_session=False)
        )
        return list(result.scalars())

    async def revoke_family(
        self, family_id: uuid.UUID, reason: RevokeReason, now: datetime
    ) -> list[uuid.UUID]:
        return await self._revoke(RefreshTokenRow.family_id == family_id, reason, now)

    async def revoke_user(
        self, user_id: uuid.UUID, reason: RevokeReason, now: datetime
    ) -> list[uuid.UUID]:
        return await self._revoke(RefreshTokenRow.user_id == user_id, reason, now)

    async def purge(self, expired_before: datetime) -> int:
        result = await self._s.execute(
            delete(RefreshTokenRow).where(RefreshTokenRow.expires_at < expired_before)
        )
        return int(result.rowcount)  # type: ignore[attr-defined]


class SqlAccountThrottleRepository:
    """Failed sign-ins per account; ``put`` is a compare-and-set on the stored count."""

    def __init__(self, session: AsyncSession) -> None:
        self._s = session

    async def get(self, subject: str) -> AccountThrottle | None:
        row = (
            await self._s.execute(
                select(AccountThrottleRow).where(AccountThrottleRow.subject == subject)
            )
        ).scalar_one_or_none()
        return msgspec.convert(row, AccountThrottle, from_attributes=True) if row else None

    async def put(self, state: AccountThrottle, expected_failures: int | None) -> bool:
        values = {
            "failures": state.failures,
            "last_attempt_at": state.last_attempt_at,
            "blocked_until": state.blocked_until,
        }
        if expected_failures is None:
            try:
                async with self._s.begin_nested():
                    await self._s.execute(
                        insert(AccountThrottleRow).values(subject=state.subject, **values)
                    )
            except IntegrityError:
                return False  # a concurrent first attempt inserted it
            return True
        result = await self._s.execute(
            update(AccountThrottleRow)
            .where(
                AccountThrottleRow.subject == state.subject,
                AccountThrottleRow.failures == expected_failures,
            )
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        return result.rowcount == 1  # type: ignore[attr-defined,no-any-return]

    async def clear(self, subject: str) -> None:
        await self._s.execute(
            delete(AccountThrottleRow).where(AccountThrottleRow.subject == subject)
        )

    async def purge(self, idle_since: datetime, now: datetime) -> int:
        result = await self._s.execute(
            delete(AccountThrottleRow).where(
                AccountThrottleRow.last_attempt_at < idle_since,
                or_(
                    AccountThrottleRow.blocked_until.is_(None),
                    AccountThrottleRow.blocked_until <= now,
                ),
            )
        )
        return int(result.rowcount)  # type: ignore[attr-defined]


class SqlOtpRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._s = session

    @staticmethod
    def _to(row: OtpCodeRow) -> OtpCode:
        return msgspec.convert(row, OtpCode, from_attributes=True)

    async def add(self, code: OtpCode) -> None:
        await self._s.execute(insert(OtpCodeRow).values(**_values(code)))

    async def _newest(self, email: str, purpose: OtpPurpose, live_only: bool) -> OtpCode | None:
        stmt = select(OtpCodeRow).where(
            OtpCodeRow.email == email, OtpCodeRow.purpose == purpose.value
        )
        if live_only:
            stmt = stmt.where(OtpCodeRow.consumed_at.is_(None), OtpCodeRow.superseded_at.is_(None))
        row = (
            await self._s.execute(stmt.order_by(OtpCodeRow.created_at.desc()).limit(1))
        ).scalar_one_or_none()
        return self._to(row) if row else None

    async def live(self, email: str, purpose: OtpPurpose) -> OtpCode | None:
        return await self._newest(email, purpose, live_only=True)

    async def newest(self, email: str, purpose: OtpPurpose) -> OtpCode | None:
        return await self._newest(email, purpose, live_only=False)

    async def recent(self, email: str, purpose: OtpPurpose, limit: int) -> list[OtpCode]:
        stmt = (
            select(OtpCodeRow)
            .where(OtpCodeRow.email == email, OtpCodeRow.purpose == purpose.value)
            .order_by(OtpCodeRow.created_at.desc())
            .limit(limit)
        )
        return [self._to(r) for r in (await self._s.execute(stmt)).scalars()]

    async def supersede(self, email: str, purpose: OtpPurpose, now: datetime) -> None:
        await self._s.execute(
            update(OtpCodeRow)
            .where(
                OtpCodeRow.email == email,
                OtpCodeRow.purpose == purpose.value,
                OtpCodeRow.consumed_at.is_(None),
                OtpCodeRow.superseded_at.is_(None),
            )
            .values(superseded_at=now)
            .execution_options(synchronize_session=False)
        )

    async def save(self, code: OtpCode) -> None:
        await self._s.execute(
            update(OtpCodeRow)
            .where(OtpCodeRow.id == code.id)
            .values(
                attempts=code.attempts,
                consumed_at=code.consumed_at,
                superseded_at=code.superseded_at,
            )
            .execution_options(synchronize_session=False)
        )

    async def count_since(self, email: str, purpose: OtpPurpose, since: datetime) -> int:
        stmt = (
            select(func.count())
            .select_from(OtpCodeRow)
            .where(
                OtpCodeRow.email == email,
                OtpCodeRow.purpose == purpose.value,
                OtpCodeRow.created_at >= since,
            )
        )
        return int((await self._s.execute(stmt)).scalar_one())

    async def purge(self, created_before: datetime) -> int:
        result = await self._s.execute(
            delete(OtpCodeRow).where(OtpCodeRow.created_at < created_before)
        )
        return int(result.rowcount)  # type: ignore[attr-defined]


class SqlVendorKeyRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._s = session

    @staticmethod
    def _to(row: VendorApiKeyRow) -> VendorKey:
        return msgspec.convert(row, VendorKey, from_attributes=True)

    async def add(self, key: VendorKey) -> None:
        await self._s.execute(insert(VendorApiKeyRow).values(**_values(key)))

    async def by_prefix(self, prefix: str) -> VendorKey | None:
        row = (
            await self._s.execute(
                select(VendorApiKeyRow).where(VendorApiKeyRow.key_prefix == prefix)
            )
        ).scalar_one_or_none()
        return self._to(row) if row else None

    async def get(self, key_id: uuid.UUID) -> VendorKey | None:
        row = await self._s.get(VendorApiKeyRow, key_id, populate_existing=True)
        return self._to(row) if row else None

    async def save(self, key: VendorKey) -> None:
        await self._s.execute(
            update(VendorApiKeyRow)
            .where(VendorApiKeyRow.id == key.id)
            .values(
                last_used_at=key.last_used_at, revoked_at=key.revoked_at, use_count=key.use_count
            )
            .execution_options(synchronize_session=False)
        )

    async def all(self) -> list[VendorKey]:
        rows = (
            await self._s.execute(
                select(VendorApiKeyRow).order_by(VendorApiKeyRow.created_at.desc())
            )
        ).scalars()
        return [self._to(r) for r in rows]


class SqlAuditLog:
    """Append and read; deliberately no update or delete."""

    def __init__(self, session: AsyncSession) -> None:
        self._s = session

    async def append(self, event: AuditEvent) -> None:
        await self._s.execute(insert(AuditEventRow).values(**_values(event)))

    async def page(self, target_user_id: uuid.UUID | None, req: PageRequest) -> Page[AuditEvent]:
        where = AuditEventRow.target_user_id == target_user_id if target_user_id else and_(True)
        total = (
            await self._s.execute(select(func.count()).select_from(AuditEventRow).where(where))
        ).scalar_one()
        rows = (
            await self._s.execute(
                select(AuditEventRow)
                .where(where)
                .order_by(AuditEventRow.created_at.desc())
                .offset(req.offset)
                .limit(req.page_size)
            )
        ).scalars()
        return Page(
            items=[msgspec.convert(r, AuditEvent, from_attributes=True) for r in rows],
            total=total,
            page=req.page,
            page_size=req.page_size,
        )
