"""``/api/auth``: sign-up, codes, logins, refresh, sessions, passwords, master login."""

from __future__ import annotations

import uuid
from typing import Annotated

import msgspec
from litestar import Response, delete, get, post
from litestar.openapi import ResponseSpec
from litestar.params import FromPath, JSONBody

from mas.core.identity.model import MAX_PASSWORD, MIN_PASSWORD, User
from mas.core.identity.registration import SignupResult
from mas.core.identity.sessions import Session as SessionView
from mas.core.identity.tokens import TokenPair
from mas.core.identity.views import UserView, view
from mas.core.platform.bounds import EmailAddress
from mas.core.platform.paging import Page, PageRequest, page_of
from mas.http.identity import Identity, IdentityController
from mas.http.params import CallerDep, InfoDep, PageNo, PageSize

Email = EmailAddress
Password = Annotated[str, msgspec.Meta(min_length=1, max_length=256)]
NewPassword = Annotated[str, msgspec.Meta(min_length=MIN_PASSWORD, max_length=MAX_PASSWORD)]
"""A password being set: the length rule of ``check_password``, stated in the document."""
Code = Annotated[str, msgspec.Meta(pattern=r"^\s*\d{6}\s*$", max_length=32)]
Reason = Annotated[str, msgspec.Meta(min_length=5, max_length=500)]


class SignIn(msgspec.Struct, frozen=True):
    access_token: str
    refresh_token: str | None
    token_type: str
    expires_in: int
    user: UserView


def signed_in(user: User, pair: TokenPair) -> SignIn:
    return SignIn(
        pair.access_token, pair.refresh_token, pair.token_type, pair.expires_in, view(user)
    )


class SignupBody(msgspec.Struct, forbid_unknown_fields=True):
    email: Email
    password: NewPassword
    full_name: Annotated[str, msgspec.Meta(max_length=255)] | None = None


class EmailBody(msgspec.Struct, forbid_unknown_fields=True):
    email: Email


class VerifyBody(msgspec.Struct, forbid_unknown_fields=True):
    email: Email
    code: Code


class ProfileBody(msgspec.Struct, forbid_unknown_fields=True):
    full_name: Annotated[str, msgspec.Meta(min_length=1, max_length=255)]
    phone: Annotated[str, msgspec.Meta(min_length=6, max_length=20)] | None = None
    profession: Annotated[str, msgspec.Meta(max_length=255)] | None = None
    domain: Annotated[str, msgspec.Meta(max_length=255)] | None = None


class LoginBody(msgspec.Struct, forbid_unknown_fields=True):
    email: Email
    password: Password


class GoogleBody(msgspec.Struct, forbid_unknown_fields=True):
    id_token: Annotated[str, msgspec.Meta(min_length=10, max_length=8192)]


class RefreshBody(msgspec.Struct, forbid_unknown_fields=True):
    refresh_token: Annotated[str, msgspec.Meta(min_length=10, max_length=200)]


class ResetBody(msgspec.Struct, forbid_unknown_fields=True):
    email: Email
    code: Code
    new_password: NewPassword


class ChangePasswordBody(msgspec.Struct, forbid_unknown_fields=True):
    current_password: Password
    new_password: NewPassword


class MasterLoginBody(msgspec.Struct, forbid_unknown_fields=True):
    email: Email
    master_password: Password
    totp_code: Code
    reason: Reason


class Accepted(msgspec.Struct, frozen=True):
    status: str
    detail: str


class AuthController(IdentityController):
    path = "/api/auth"
    tags = ["auth"]
    opt = {"public": True}

    @post(
        "/signup",
        operation_id="signup",
        summary="Create an account and email a code",
        description=(
            "201 creates the account. 200: an unverified sign-up of this email existed and "
            "starts again (new password, a fresh code, the old code void). 409 when the email "
            "belongs to a verified account."
        ),
        status_code=201,
        responses={
            200: ResponseSpec(
                data_container=SignupResult,
                description="An unfinished sign-up of this email started again",
                generate_examples=False,
            )
        },
    )
    async def signup(
        self, identity: Identity, data: JSONBody[SignupBody], info: InfoDep
    ) -> Response[SignupResult]:
        result = await identity.registration.signup(data.email, data.password, data.full_name, info)
        return Response(result, status_code=201 if result.created else 200)

    @post(
        "/verify-otp",
        operation_id="verifyOtp",
        summary="Verify the sign-up code; sign in",
        status_code=200,
        opt={
            "rules": {
                "otp_wrong": "the code is not the one emailed last (attempts left in the body)"
            },
            "rules_status": 400,
        },
    )
    async def verify_otp(
        self, identity: Identity, data: JSONBody[VerifyBody], info: InfoDep
    ) -> SignIn:
        user, pair = await identity.registration.verify_otp(data.email, data.code, info)
        return signed_in(user, pair)

    @post(
        "/resend-otp", operation_id="resendOtp", summary="Send a new sign-up code", status_code=202
    )
    async def resend(
        self, identity: Identity, data: JSONBody[EmailBody], info: InfoDep
    ) -> Accepted:
        await identity.registration.resend_otp(data.email, info)
        return Accepted("queued", "a new code is on its way")

    @post(
        "/complete-profile",
        operation_id="completeProfile",
        summary="Fill in the profile (after the email is verified)",
        status_code=200,
        opt={"policy": "authenticated", "public": False},
    )
    async def complete_profile(
        self, identity: Identity, caller: CallerDep, data: JSONBody[ProfileBody]
    ) -> UserView:
        user = await identity.registration.complete_profile(
            caller.user_id, data.full_name, data.phone, data.profession, data.domain
        )
        return view(user)

    @post(
        "/login", operation_id="login", summary="Sign in with email and password", status_code=200
    )
    async def login(self, identity: Identity, data: JSONBody[LoginBody], info: InfoDep) -> SignIn:
        user, pair = await identity.sign_in.with_password(data.email, data.password, info)
        return signed_in(user, pair)

    @post(
        "/google",
        operation_id="googleSignIn",
        summary="Sign in with a Google ID token",
        status_code=200,
    )
    async def google(self, identity: Identity, data: JSONBody[GoogleBody], info: InfoDep) -> SignIn:
        user, pair = await identity.sign_in.with_google(data.id_token, info)
        return signed_in(user, pair)

    @post(
        "/refresh",
        operation_id="refresh",
        summary="Swap a refresh token for a new pair (the old one stops working)",
        status_code=200,
    )
    async def refresh(
        self, identity: Identity, data: JSONBody[RefreshBody], info: InfoDep
    ) -> TokenPair:
        return await identity.sessions.refresh(data.refresh_token, info)

    @post(
        "/logout",
        operation_id="logout",
        summary="End this session",
        status_code=204,
        opt={"policy": "authenticated", "public": False},
    )
    async def logout(self, identity: Identity, caller: CallerDep) -> None:
        await identity.sessions.logout(caller.user_id, caller.session_id)

    @post(
        "/logout-all",
        operation_id="logoutAll",
        summary="End every session of this account",
        status_code=204,
        opt={"policy": "authenticated", "public": False},
    )
    async def logout_all(self, identity: Identity, caller: CallerDep) -> None:
        await identity.sessions.logout_all(caller.user_id)

    @get(
        "/sessions",
        operation_id="listSessions",
        summary="This account's active sessions",
        opt={"policy": "authenticated", "public": False},
    )
    async def sessions(
        self, identity: Identity, caller: CallerDep, page: PageNo = 1, page_size: PageSize = 20
    ) -> Page[SessionView]:
        found = await identity.sessions.active(caller.user_id, caller.session_id)
        return page_of(found, PageRequest(page, page_size))

    @delete(
        "/sessions/{session_id:uuid}",
        operation_id="revokeSession",
        summary="End one of this account's sessions",
        status_code=204,
        opt={"policy": "authenticated", "public": False},
    )
    async def revoke_session(
        self, identity: Identity, caller: CallerDep, session_id: FromPath[uuid.UUID]
    ) -> None:
        await identity.sessions.revoke(caller.user_id, session_id)

    @post(
        "/forgot-password",
        operation_id="forgotPassword",
        summary="Email a reset code if the account exists (always 202)",
        status_code=202,
    )
    async def forgot(
        self, identity: Identity, data: JSONBody[EmailBody], info: InfoDep
    ) -> Accepted:
        await identity.passwords.forgot(data.email, info)
        return Accepted("accepted", "if an account exists for this email, a code is on its way")

    @post(
        "/reset-password",
        operation_id="resetPassword",
        summary="Set a new password with the emailed code",
        status_code=204,
        opt={
            "rules": {
                "otp_wrong": "the code is not the one emailed last (attempts left in the body)"
            },
            "rules_status": 400,
        },
    )
    async def reset(self, identity: Identity, data: JSONBody[ResetBody], info: InfoDep) -> None:
        await identity.passwords.reset(data.email, data.code, data.new_password, info)

    @post(
        "/change-password",
        operation_id="changePassword",
        summary="Change the password; every other session ends",
        status_code=200,
        opt={
            "policy": "authenticated",
            "public": False,
            "rules": {"wrong_password": "the current password is not right"},
            "rules_status": 400,
        },
    )
    async def change_password(
        self,
        identity: Identity,
        caller: CallerDep,
        data: JSONBody[ChangePasswordBody],
        info: InfoDep,
    ) -> TokenPair:
        return await identity.passwords.change(
            caller.user_id, data.current_password, data.new_password, info
        )

    @post(
        "/master-login",
        operation_id="masterLogin",
        summary="Break-glass sign-in to an ADMIN account (master password + TOTP + reason)",
        status_code=200,
    )
    async def master_login(
        self, identity: Identity, data: JSONBody[MasterLoginBody], info: InfoDep
    ) -> TokenPair:
        return await identity.break_glass.master_login(
            data.email, data.master_password, data.totp_code, data.reason, info
        )


class UserController(IdentityController):
    path = "/api/user"
    tags = ["user"]
    opt = {"policy": "authenticated"}

    @get("/profile", operation_id="profile", summary="The signed-in user's profile")
    async def profile(self, identity: Identity, caller: CallerDep) -> UserView:
        # The guard has just loaded this account into the cache: no database read here.
        user = await identity.access.user(caller.user_id)
        if user is None:
            return view(await identity.accounts.get(caller.user_id))
        return view(user)


__all__ = ["AuthController", "Response", "UserController", "UserView", "view"]
