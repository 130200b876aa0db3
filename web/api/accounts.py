"""Accounts over the API: the center creates, lists, disables and enables accounts (an
expert's account is linked to its pool entry by ID number); every user changes its own
password. The initial password is the one the center sets; nothing returns a password."""

from __future__ import annotations

from litestar import Controller, get, post
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from trading.accounts import User, change_password, create_user, set_user_active
from trading.audit import actor_of
from trading.errors import InvalidInput
from trading.organisations import Organisation
from trading.roles import UserRole
from web.api.platform import describe_user
from web.core.auth import requires_login, requires_role
from web.api.schemas.accounts import AccountView, PasswordChanged


class AccountBody(BaseModel):
    username: str = Field(min_length=1, max_length=64)
    display_name: str = Field(min_length=1, max_length=100)
    role: str
    password: str = Field(min_length=1, max_length=200, description="the initial password")
    organisation_credit_code: str | None = Field(default=None, max_length=18)
    id_number: str | None = Field(default=None, max_length=18, description="experts: links the account to the pool")


class ReasonBody(BaseModel):
    reason: str = Field(min_length=1, max_length=1000)


class PasswordBody(BaseModel):
    current: str = Field(min_length=1, max_length=200)
    new: str = Field(min_length=1, max_length=200)


async def account_view(session: AsyncSession, user: User) -> AccountView:
    organisation = await session.get(Organisation, user.organisation_id) if user.organisation_id else None
    return {**describe_user(user), "is_active": user.is_active,
            "organisation": {"credit_code": organisation.credit_code, "name": organisation.name} if organisation else None}


class AccountController(Controller):
    path = "/api/accounts"
    tags = ["accounts"]
    guards = [requires_role(UserRole.ADMIN)]

    @post("/", summary="Create an account (the center)")
    async def create(self, data: AccountBody, user: User, session: AsyncSession) -> AccountView:
        organisation_id = None
        if data.organisation_credit_code:
            organisation_id = await session.scalar(select(Organisation.id).where(
                Organisation.credit_code == data.organisation_credit_code.strip().upper()))
            if organisation_id is None:
                raise InvalidInput(f"未找到单位 {data.organisation_credit_code}",
                                   code="unknown_organisation", field="organisation_credit_code")
        created = await create_user(session, actor=actor_of(user), username=data.username,
                                    display_name=data.display_name.strip(), role=data.role, password=data.password,
                                    organisation_id=organisation_id, id_number=data.id_number or None)
        await session.commit()
        return await account_view(session, created)

    @get("/", summary="Every account (the center)")
    async def index(self, session: AsyncSession) -> list[AccountView]:
        users = (await session.scalars(select(User).order_by(User.id))).all()
        return [await account_view(session, account) for account in users]

    @post("/{username:str}/disable", summary="Disable an account with a reason: its sessions and tokens end")
    async def disable(self, username: str, data: ReasonBody, user: User, session: AsyncSession) -> AccountView:
        changed = await set_user_active(session, actor=actor_of(user), username=username, active=False,
                                        reason=data.reason)
        await session.commit()
        return await account_view(session, changed)

    @post("/{username:str}/enable", summary="Enable a disabled account again, with a reason")
    async def enable(self, username: str, data: ReasonBody, user: User, session: AsyncSession) -> AccountView:
        changed = await set_user_active(session, actor=actor_of(user), username=username, active=True,
                                        reason=data.reason)
        await session.commit()
        return await account_view(session, changed)


class PasswordController(Controller):
    path = "/api/me/password"
    tags = ["accounts"]

    @post("/", guards=[requires_login], summary="Change one's own password: every session and token ends")
    async def change(self, data: PasswordBody, user: User, session: AsyncSession) -> PasswordChanged:
        await change_password(session, user=user, current=data.current, new=data.new)
        await session.commit()
        return {"changed": True}
