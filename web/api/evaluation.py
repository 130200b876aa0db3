"""Evaluation (评标) over the API.

The tendering party or its agency (or the center) fixes the scheme before bidding; the
center or the project's agency starts a session; experts act as their own accounts
(matched to the pool by ID number): vote for the chair, review, score, sign or dissent;
the chair closes each stage. Staff and the committee see the evaluation, the tendering
party and agency its progress and the report, a bidder nothing before the candidates are
published.
"""

from __future__ import annotations

from typing import Any

from litestar import Controller, get, post, put
from sqlalchemy.ext.asyncio import AsyncSession

from bidding.notice.clarifications import may_publish
from bidding.evaluation.sessions import (
    close_stage,
    complete_report,
    evaluation_rounds,
    evaluation_scheme,
    evaluation_view,
    record_dissent,
    record_review,
    record_scores,
    register_expert_key,
    rejection_grounds,
    set_evaluation_scheme,
    sign_report,
    start_evaluation_session,
    vote_for_chair,
)
from bidding.tender.projects import get_project
from expert_pool.committees import expert_of_user
from trading.accounts import User
from trading.audit import actor_of
from trading.errors import InvalidInput, NotFound, PermissionDenied
from trading.keys import key_id
from trading.roles import UserRole
from web.core.auth import requires_login, requires_role
from web.api.bodies import json_object
from web.core.state import AppContext

experts = requires_role(UserRole.EXPERT)
PARTIES = (UserRole.TENDERING_PARTY, UserRole.AGENCY)


async def _expert_id(session: AsyncSession, user: User) -> int:
    return (await expert_of_user(session, user)).id


async def _serving(session: AsyncSession, code: str, user: User) -> bool:
    """The center, the project's tendering party or the agency serving it."""
    return await may_publish(session, await get_project(session, code), user.role, user.organisation_id)


class EvaluationController(Controller):
    path = "/api/projects/{code:str}/evaluation"
    tags = ["evaluation"]

    @get("/scheme", summary="The evaluation method and scores the tender documents fix (public)")
    async def scheme(self, code: str, session: AsyncSession) -> dict[str, Any]:
        scheme = await evaluation_scheme(session, code)
        if scheme is None:
            raise NotFound(f"项目 {code} 尚未规定评标办法", project_code=code)
        return scheme.to_json()

    @put("/scheme", guards=[requires_role(UserRole.ADMIN, *PARTIES)],
         summary="Fix the evaluation scheme (tendering party, its agency or the center; before bidding)")
    async def set_scheme(self, code: str, data: dict[str, Any], user: User, session: AsyncSession) -> dict[str, Any]:
        if not await _serving(session, code, user):
            raise PermissionDenied(f"只有项目 {code} 的招标人、其代理机构或交易中心可以规定评标办法")
        record = await set_evaluation_scheme(session, actor=actor_of(user), project_code=code, scheme=json_object(data))
        await session.commit()
        return record.scheme

    @get("/grounds", summary="The mandatory rejection grounds (招标投标法实施条例 第五十一条)")
    async def grounds(self, code: str) -> list[dict[str, Any]]:
        return rejection_grounds()

    @post("/", guards=[requires_role(UserRole.ADMIN, UserRole.AGENCY)],
          summary="Start the evaluation round: committee unsealed, members seated, opened bids listed")
    async def start(self, code: str, user: User, session: AsyncSession, context: AppContext) -> dict[str, Any]:
        if not await _serving(session, code, user):
            raise PermissionDenied(f"只有交易中心或项目 {code} 的代理机构可以组织评标")
        await start_evaluation_session(session, context.keys, actor=actor_of(user), project_code=code)
        await session.commit()
        return await evaluation_view(session, code, role=UserRole.ADMIN.value)

    @get("/", guards=[requires_login], summary="The evaluation as the caller's role may see it")
    async def view(self, code: str, user: User, session: AsyncSession) -> dict[str, Any]:
        role = user.role
        if role == UserRole.EXPERT:
            return await evaluation_view(session, code, role=role, expert_id=await _expert_id(session, user))
        if role in PARTIES:
            if not await _serving(session, code, user):
                raise PermissionDenied("您无权查看本项目的评标情况")
            return await evaluation_view(session, code, role=role, party=True)
        return await evaluation_view(session, code, role=role, organisation_id=user.organisation_id)

    @get("/rounds", guards=[requires_role(UserRole.ADMIN, UserRole.SUPERVISOR)],
         summary="Every evaluation round on record")
    async def rounds(self, code: str, session: AsyncSession) -> list[dict[str, Any]]:
        return await evaluation_rounds(session, code)

    @post("/chair-votes", guards=[experts], summary="A member's vote for the committee's chair")
    async def vote(self, code: str, data: dict[str, Any], user: User, session: AsyncSession) -> dict[str, Any]:
        evaluation = await vote_for_chair(session, actor=actor_of(user), project_code=code,
                                          expert_id=await _expert_id(session, user),
                                          candidate_code=json_object(data).get("candidate"))
        await session.commit()
        return {"stage": evaluation.stage, "chair_elected": evaluation.chair_member_id is not None}

    @post("/reviews", guards=[experts], summary="A member's pass or reject (with ground and reasons) of one bid")
    async def review(self, code: str, data: dict[str, Any], user: User, session: AsyncSession) -> dict[str, Any]:
        data = json_object(data)
        review = await record_review(session, actor=actor_of(user), project_code=code,
                                     expert_id=await _expert_id(session, user),
                                     bidder_credit_code=data.get("bidder_credit_code"), verdict=data.get("verdict"),
                                     ground=data.get("ground"), reason=data.get("reason"))
        await session.commit()
        return {"stage": review.stage, "verdict": review.verdict, "ground": review.ground, "reason": review.reason}

    @post("/scores", guards=[experts], summary="A member's technical/business item scores for one bid")
    async def score(self, code: str, data: dict[str, Any], user: User, session: AsyncSession) -> dict[str, Any]:
        data = json_object(data)
        score = await record_scores(session, actor=actor_of(user), project_code=code,
                                    expert_id=await _expert_id(session, user),
                                    bidder_credit_code=data.get("bidder_credit_code"), scores=data.get("scores"))
        await session.commit()
        return {"scores": score.scores}

    @post("/close-stage", guards=[experts], summary="The chair closes the current review stage")
    async def close(self, code: str, user: User, session: AsyncSession) -> dict[str, Any]:
        await close_stage(session, actor=actor_of(user), project_code=code, expert_id=await _expert_id(session, user))
        await session.commit()
        return await evaluation_view(session, code, role=UserRole.EXPERT.value,
                                     expert_id=await _expert_id(session, user))

    @post("/signatures", guards=[experts],
          summary="Sign the report: {\"signature\": hex Ed25519 over its canonical JSON} or {\"confirm\": true}")
    async def sign(self, code: str, data: dict[str, Any], user: User, session: AsyncSession) -> dict[str, Any]:
        data = json_object(data)
        signature = data.get("signature")
        if signature is None and data.get("confirm") is not True:
            raise InvalidInput("请提供对评标报告的签名，或以 confirm: true 确认签署", field="signature")
        member = await sign_report(session, actor=actor_of(user), project_code=code,
                                   expert_id=await _expert_id(session, user), signature=signature)
        await session.commit()
        return {"signed_at": member.signed_at.isoformat(), "by": "signature" if member.signature else "confirmation",
                "key_id": member.signature_key_id}

    @post("/dissent", guards=[experts], summary="A member's written dissent with reasons")
    async def dissent(self, code: str, data: dict[str, Any], user: User, session: AsyncSession) -> dict[str, Any]:
        member = await record_dissent(session, actor=actor_of(user), project_code=code,
                                      expert_id=await _expert_id(session, user),
                                      reasons=json_object(data).get("reasons"))
        await session.commit()
        return {"dissent": member.dissent, "dissent_at": member.dissent_at.isoformat()}

    @post("/complete", guards=[requires_role(UserRole.ADMIN, UserRole.EXPERT)],
          summary="Close the report (the chair or the center): members who did nothing are deemed to agree")
    async def complete(self, code: str, user: User, session: AsyncSession) -> dict[str, Any]:
        expert_id = await _expert_id(session, user) if user.role == UserRole.EXPERT else None
        evaluation = await complete_report(session, actor=actor_of(user), project_code=code, expert_id=expert_id)
        await session.commit()
        return {"stage": evaluation.stage, "outcome": evaluation.outcome, "report_sha256": evaluation.report_sha256}


class ExpertKeyController(Controller):
    path = "/api/me/expert-key"
    tags = ["evaluation"]

    @post("/", guards=[experts], summary="Register the expert's own Ed25519 verify key for signing reports")
    async def register(self, data: dict[str, Any], user: User, session: AsyncSession) -> dict[str, Any]:
        record = await register_expert_key(session, actor=actor_of(user), expert_id=await _expert_id(session, user),
                                           verify_key=json_object(data).get("verify_key"))
        await session.commit()
        return {"verify_key": record.verify_key, "key_id": key_id(record.verify_key)}
