"""``/api/admin``: accounts by role, create, update, role, block, delete, permissions,
impersonation and vendor keys. ADMIN only; what touches administrators needs SUPERADMIN."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

import msgspec
from litestar import Request, delete, get, post, put
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter

from mas import modules
from mas.core.identity.accounts import UserChanges
from mas.core.identity.model import MAX_PASSWORD, MIN_PASSWORD, SUPER_MENTOR, parse_role
from mas.core.identity.policy import ADMIN_ROLES, Role
from mas.core.identity.services import IdentityServices
from mas.core.identity.tokens import TokenPair
from mas.core.identity.views import UserView, view
from mas.core.platform.bounds import EmailAddress, schema_extra
from mas.core.platform.paging import Page, PageRequest, page_of
from mas.http.identity import Identity, IdentityController
from mas.http.params import CallerDep, InfoDep, PageNo, PageSize

Search = Annotated[str | None, QueryParameter(max_length=100, description="in email or name")]


class NewAccount(msgspec.Struct, forbid_unknown_fields=True):
    email: EmailAddress
    full_name: Annotated[str, msgspec.Meta(max_length=255)] | None = None
    password: (
        Annotated[str, msgspec.Meta(min_length=MIN_PASSWORD, max_length=MAX_PASSWORD)] | None
    ) = None
    is_super_mentor: bool = False


# What the routes below accept, read from the manifests (the services check the same sets).
ROLE_NAMES = sorted([*(role.value for role in Role), SUPER_MENTOR])
PAGE_KEYS = sorted(modules.pages())
VENDOR_SCOPES = sorted(modules.vendor_scopes())


class RoleChange(msgspec.Struct, forbid_unknown_fields=True):
    role: Annotated[
        str,
        msgspec.Meta(
            min_length=3,
            max_length=32,
            pattern=f"^({'|'.join(ROLE_NAMES)})$",
            description="A role; SUPER_MENTOR is an EXPERT with the super-mentor flag",
            extra_json_schema=schema_extra(enum=ROLE_NAMES),
        ),
    ]


class PageKeys(msgspec.Struct, forbid_unknown_fields=True):
    page_keys: Annotated[
        list[Annotated[str, msgspec.Meta(max_length=64)]],
        msgspec.Meta(
            max_length=100,
            extra_json_schema=schema_extra(items={"type": "string", "enum": PAGE_KEYS}),
        ),
    ]


class ImpersonateBody(msgspec.Struct, forbid_unknown_fields=True):
    reason: Annotated[str, msgspec.Meta(min_length=5, max_length=500)]


class NewVendorKey(msgspec.Struct, forbid_unknown_fields=True):
    vendor_name: Annotated[str, msgspec.Meta(min_length=2, max_length=120)]
    scopes: Annotated[
        list[Annotated[str, msgspec.Meta(max_length=32)]],
        msgspec.Meta(
            min_length=1,
            max_length=20,
            extra_json_schema=schema_extra(items={"type": "string", "enum": VENDOR_SCOPES}),
        ),
    ]


class VendorKeyView(msgspec.Struct, frozen=True):
    id: uuid.UUID
    vendor_name: str
    key_prefix: str
    scopes: list[str]
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None
    use_count: int


class IssuedVendorKey(msgspec.Struct, frozen=True):
    key: VendorKeyView
    api_key: str


class PermissionsView(msgspec.Struct, frozen=True):
    user_id: uuid.UUID
    page_keys: list[str]


def _page(users: Page[object]) -> Page[UserView]:
    return Page(
        items=[view(u) for u in users.items],
        total=users.total,
        page=users.page,  # type: ignore[arg-type]
        page_size=users.page_size,
    )


def _key_view(key: object) -> VendorKeyView:
    return msgspec.convert(key, VendorKeyView, from_attributes=True)


class AdminUsersController(IdentityController):
    path = "/api/admin"
    tags = ["admin: users"]
    opt = {"policy": "admin"}

    async def _list(
        self,
        identity: IdentityServices,
        roles: list[Role],
        search: str | None,
        page: int,
        size: int,
    ) -> Page[UserView]:
        return _page(await identity.accounts.page(roles, search, PageRequest(page, size)))  # type: ignore[arg-type]

    @get("/admins", operation_id="listAdmins", summary="ADMIN and SUPERADMIN accounts")
    async def admins(
        self, identity: Identity, search: Search = None, page: PageNo = 1, page_size: PageSize = 20
    ) -> Page[UserView]:
        return await self._list(identity, sorted(ADMIN_ROLES), search, page, page_size)

    @get("/mentees", operation_id="listMentees", summary="Student (USER) accounts")
    async def mentees(
        self, identity: Identity, search: Search = None, page: PageNo = 1, page_size: PageSize = 20
    ) -> Page[UserView]:
        return await self._list(identity, [Role.USER], search, page, page_size)

    @get("/experts", operation_id="listExperts", summary="Mentor (EXPERT) accounts")
    async def experts(
        self, identity: Identity, search: Search = None, page: PageNo = 1, page_size: PageSize = 20
    ) -> Page[UserView]:
        return await self._list(identity, [Role.EXPERT], search, page, page_size)

    @get("/users", operation_id="listUsers", summary="Accounts of any role")
    async def users(
        self,
        identity: Identity,
        role: FromQuery[Role | None] = None,
        search: Search = None,
        page: PageNo = 1,
        page_size: PageSize = 20,
    ) -> Page[UserView]:
        return await self._list(identity, [role] if role else [], search, page, page_size)

    async def _create(
        self,
        identity: IdentityServices,
        caller: CallerDep,
        data: NewAccount,
        role: Role,
        info: InfoDep,
    ) -> UserView:
        created = await identity.accounts.create(
            caller,
            data.email,
            role,
            data.full_name,
            data.password,
            super_mentor=data.is_super_mentor and role is Role.EXPERT,
            platform=info.platform,
        )
        return view(created.user)

    @post("/experts", operation_id="createExpert", summary="Create a mentor; credentials by email")
    async def create_expert(
        self, identity: Identity, caller: CallerDep, data: JSONBody[NewAccount], info: InfoDep
    ) -> UserView:
        return await self._create(identity, caller, data, Role.EXPERT, info)

    @post(
        "/admins",
        operation_id="createAdmin",
        summary="Create an ADMIN (SUPERADMIN only); credentials by email",
    )
    async def create_admin(
        self, identity: Identity, caller: CallerDep, data: JSONBody[NewAccount], info: InfoDep
    ) -> UserView:
        return await self._create(identity, caller, data, Role.ADMIN, info)

    @post(
        "/students", operation_id="createStudent", summary="Create a student; credentials by email"
    )
    async def create_student(
        self, identity: Identity, caller: CallerDep, data: JSONBody[NewAccount], info: InfoDep
    ) -> UserView:
        return await self._create(identity, caller, data, Role.USER, info)

    @get("/users/{user_id:uuid}", operation_id="getUser", summary="One account")
    async def get_user(self, identity: Identity, user_id: FromPath[uuid.UUID]) -> UserView:
        return view(await identity.accounts.get(user_id))

    @put("/users/{user_id:uuid}", operation_id="updateUser", summary="Update profile fields")
    async def update_user(
        self,
        identity: Identity,
        caller: CallerDep,
        user_id: FromPath[uuid.UUID],
        data: JSONBody[UserChanges],
    ) -> UserView:
        return view(await identity.accounts.update(caller, user_id, data))

    @put(
        "/users/{user_id:uuid}/role",
        operation_id="changeRole",
        summary="Change the role (ADMIN/SUPERADMIN changes need SUPERADMIN)",
    )
    async def change_role(
        self,
        identity: Identity,
        caller: CallerDep,
        user_id: FromPath[uuid.UUID],
        data: JSONBody[RoleChange],
    ) -> UserView:
        role, super_mentor = parse_role(data.role)
        return view(await identity.accounts.change_role(caller, user_id, role, super_mentor))

    @post(
        "/users/{user_id:uuid}/block",
        operation_id="blockUser",
        summary="Block: every session ends at once",
        status_code=200,
    )
    async def block(
        self, identity: Identity, caller: CallerDep, user_id: FromPath[uuid.UUID]
    ) -> UserView:
        return view(await identity.accounts.set_blocked(caller, user_id, True))

    @post(
        "/users/{user_id:uuid}/unblock",
        operation_id="unblockUser",
        summary="Unblock",
        status_code=200,
    )
    async def unblock(
        self, identity: Identity, caller: CallerDep, user_id: FromPath[uuid.UUID]
    ) -> UserView:
        return view(await identity.accounts.set_blocked(caller, user_id, False))

    @delete(
        "/users/{user_id:uuid}",
        operation_id="deleteUser",
        summary="Soft-delete an account",
        status_code=204,
    )
    async def delete_user(
        self, identity: Identity, caller: CallerDep, user_id: FromPath[uuid.UUID]
    ) -> None:
        await identity.accounts.delete(caller, user_id)

    @post(
        "/users/{user_id:uuid}/impersonate",
        operation_id="impersonate",
        summary="A 15-minute token acting as this user (reason required; audited)",
        status_code=200,
    )
    async def impersonate(
        self,
        identity: Identity,
        caller: CallerDep,
        user_id: FromPath[uuid.UUID],
        data: JSONBody[ImpersonateBody],
        info: InfoDep,
    ) -> TokenPair:
        return await identity.impersonation.act_as(caller, user_id, data.reason, info.ip)

    @get(
        "/sales-heads/{user_id:uuid}/permissions",
        operation_id="getSalesHeadPages",
        summary="A sales head's page permissions",
    )
    async def get_permissions(
        self, identity: Identity, user_id: FromPath[uuid.UUID]
    ) -> PermissionsView:
        return PermissionsView(user_id, await identity.sales_head_pages.granted(user_id))

    @put(
        "/sales-heads/{user_id:uuid}/permissions",
        operation_id="setSalesHeadPages",
        summary="Replace a sales head's page permissions (effective on the next request)",
    )
    async def set_permissions(
        self,
        identity: Identity,
        caller: CallerDep,
        user_id: FromPath[uuid.UUID],
        data: JSONBody[PageKeys],
    ) -> PermissionsView:
        return PermissionsView(
            user_id, await identity.sales_head_pages.replace(caller, user_id, data.page_keys)
        )

    @post(
        "/vendor-keys",
        operation_id="createVendorKey",
        summary="Create a vendor API key (the full key is shown only here)",
        status_code=201,
    )
    async def create_key(
        self, identity: Identity, caller: CallerDep, data: JSONBody[NewVendorKey]
    ) -> IssuedVendorKey:
        issued = await identity.vendor_keys.create(caller, data.vendor_name, data.scopes)
        return IssuedVendorKey(_key_view(issued.key), issued.api_key)

    @get("/vendor-keys", operation_id="listVendorKeys", summary="Vendor keys (prefix only)")
    async def list_keys(
        self, identity: Identity, page: PageNo = 1, page_size: PageSize = 20
    ) -> Page[VendorKeyView]:
        keys = [_key_view(k) for k in await identity.vendor_keys.all()]
        return page_of(keys, PageRequest(page, page_size))

    @delete(
        "/vendor-keys/{key_id:uuid}",
        operation_id="revokeVendorKey",
        summary="Revoke a vendor key",
        status_code=200,
    )
    async def revoke_key(
        self, identity: Identity, caller: CallerDep, key_id: FromPath[uuid.UUID]
    ) -> VendorKeyView:
        return _key_view(await identity.vendor_keys.revoke(caller, key_id))


class VendorIdentity(msgspec.Struct, frozen=True):
    key_id: uuid.UUID
    vendor_name: str
    scopes: list[str]


class VendorController(IdentityController):
    """The vendor API's door; the lead endpoints arrive with the CRM."""

    path = "/api/vendor"
    tags = ["vendor"]

    @get(
        "/whoami",
        operation_id="vendorWhoami",
        summary="Which vendor key is calling",
        opt={"vendor_scope": "leads:read"},
    )
    async def whoami(self, request: Request[Any, Any, Any]) -> VendorIdentity:
        vendor = request.scope["state"]["vendor"]
        return VendorIdentity(vendor.key_id, vendor.vendor_name, sorted(vendor.scopes))
