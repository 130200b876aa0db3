"""Bidder registration over the API: a bidder registers its own organisation for a project."""

from __future__ import annotations

from litestar import Controller, post
from sqlalchemy.ext.asyncio import AsyncSession

from bidding.tender.registrations import register_bidder
from trading.accounts import User
from trading.audit import actor_of
from trading.errors import PermissionDenied, RuleViolation
from trading.organisations import Organisation
from trading.roles import UserRole
from web.core.auth import requires_role
from web.core.state import AppContext
from web.api.schemas.pools import Registered


class RegistrationController(Controller):
    path = "/api/projects"
    tags = ["bidding"]

    @post("/{code:str}/registrations", guards=[requires_role(UserRole.BIDDER)],
          summary="Register the bidder's own organisation: 201 with the deposit asked, or 422 with the refusal")
    async def register(self, code: str, user: User, session: AsyncSession, context: AppContext) -> Registered:
        organisation = await session.get(Organisation, user.organisation_id) if user.organisation_id else None
        if organisation is None:
            raise PermissionDenied("投标人账号未关联单位，不能报名", code="no_organisation")
        try:
            registration = await register_bidder(session, actor=actor_of(user), project_code=code,
                                                 bidder_credit_code=organisation.credit_code,
                                                 bribery_source=context.adapters.bribery_source)
        except RuleViolation:
            await session.commit()  # the refusal and its audit entry are kept
            raise
        await session.commit()
        deposit = registration.reasons["deposit"]
        return {"registration_id": registration.id, "project_code": code, "bidder_credit_code": organisation.credit_code,
                "status": registration.status, "deposit_required": deposit["required"],
                "deposit_required_fen": registration.deposit_required_fen, "deposit": deposit,
                "message": registration.reasons["eligibility"]["message"]}
