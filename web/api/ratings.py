"""Ratings after a tender over the API: the project's tendering party or a supervisor rates
the experts of its committee and the agency that served it."""

from __future__ import annotations

from litestar import Controller, post
from pydantic import BaseModel, Field
from sqlalchemy.ext.asyncio import AsyncSession

from bidding.ratings.tender_ratings import rate_committee_expert, rate_serving_agency
from trading.accounts import User
from trading.roles import UserRole
from web.core.auth import requires_role
from web.api.schemas.pools import AgencyRated, ExpertRated


class RatingBody(BaseModel):
    score: int = Field(ge=0, le=100)
    comment: str = Field(default="", max_length=1000)


class RatingController(Controller):
    path = "/api/projects/{code:str}/ratings"
    tags = ["ratings"]
    guards = [requires_role(UserRole.TENDERING_PARTY, UserRole.SUPERVISOR)]

    @post("/experts/{expert_code:str}", summary="Rate an expert who sat on the project's committee (0–100)")
    async def rate_expert(self, code: str, expert_code: str, data: RatingBody, user: User,
                          session: AsyncSession) -> ExpertRated:
        outcome = await rate_committee_expert(session, user=user, project_code=code, expert_code=expert_code,
                                              score=data.score, comment=data.comment)
        await session.commit()
        return {"expert_code": expert_code.upper(), "project_code": code, "score": outcome.rating.score,
                "suspended": outcome.suspended, "rule": outcome.rule, "reason": outcome.reason}

    @post("/agency", summary="Rate the agency that served the project (0–100)")
    async def rate_agency(self, code: str, data: RatingBody, user: User, session: AsyncSession) -> AgencyRated:
        rating = await rate_serving_agency(session, user=user, project_code=code, score=data.score,
                                           comment=data.comment)
        await session.commit()
        return {"project_code": code, "score": rating.score, "rated_at": rating.rated_at.isoformat()}
