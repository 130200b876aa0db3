"""Evaluation (评标) over the API.

The tendering party or its agency (or the center) fixes the scheme before bidding; the
center or the project's agency starts a session; experts act as their own accounts
(matched to the pool by ID number): vote for the chair, review, score, sign or dissent;
the chair closes each stage. Staff and the committee see the evaluation, the tendering
party and agency its progress and the report, a bidder nothing before the candidates are
published.
"""

from __future__ import annotations

from litestar import Controller, get, post, put
from sqlalchemy.ext.asyncio import AsyncSession

from bidding.evaluation.expert_keys import register_expert_key
from bidding.evaluation.grounds import rejection_grounds
from bidding.evaluation.report import complete_report, record_dissent, sign_report
from bidding.evaluation.review import close_stage, record_review, record_scores
from bidding.evaluation.scheme import evaluation_scheme, set_evaluation_scheme
from bidding.evaluation.sitting import start_evaluation_session, vote_for_chair
from bidding.evaluation.views import evaluation_rounds, evaluation_view
from bidding.evaluation.readers import evaluation_for
from bidding.tender.party_projects import acts_for, check_acts_for
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
from web.api.schemas.evaluation import (
    ChairVote,
    ChairVoted,
    Completed,
    DissentBody,
    Dissented,
    EvaluationView,
    ExpertKey,
    ExpertKeyBody,
    Ground,
    ReviewBody,
    ReviewRecorded,
    Round,
    Scheme,
    ScoresBody,
    ScoresRecorded,
    SignatureBody,
    Signed,
)

experts = requires_role(UserRole.EXPERT)
PARTIES = (UserRole.TENDERING_PARTY, UserRole.AGENCY)


async def _expert_id(session: AsyncSession, user: User) -> int:
    return (await expert_of_user(session, user)).id


async def _serving(session: AsyncSession, code: str, user: User) -> bool:
    """The center, the project's tendering party or the agency serving it."""
    return await acts_for(session, await get_project(session, code), user.role, user.organisation_id)


class EvaluationController(Controller):
    path = "/api/projects/{code:str}/evaluation"
    tags = ["evaluation"]

    @get("/scheme", summary="The evaluation method and scores the tender documents fix (public)")
    async def scheme(self, code: str, session: AsyncSession) -> Scheme:
        scheme = await evaluation_scheme(session, code)
        if scheme is None:
            raise NotFound(f"项目 {code} 尚未规定评标办法", project_code=code)
        return scheme.to_json()

    @put("/scheme", guards=[requires_role(UserRole.ADMIN, *PARTIES)],
         summary="Fix the evaluation scheme (tendering party, its agency or the center; before bidding)")
    async def set_scheme(self, code: str, data: Scheme, user: User, session: AsyncSession) -> Scheme:
        await check_acts_for(session, await get_project(session, code), user.role, user.organisation_id, "规定评标办法")
        record = await set_evaluation_scheme(session, actor=actor_of(user), project_code=code, scheme=json_object(data))
        await session.commit()
        return record.scheme

    @get("/grounds", summary="The mandatory rejection grounds (招标投标法实施条例 第五十一条)")
    async def grounds(self, code: str) -> list[Ground]:
        return rejection_grounds()

    @post("/", guards=[requires_role(UserRole.ADMIN, UserRole.AGENCY)],
          summary="Start the evaluation round: committee unsealed, members seated, opened bids listed")
    async def start(self, code: str, user: User, session: AsyncSession, context: AppContext) -> EvaluationView:
        if not await _serving(session, code, user):
            raise PermissionDenied(f"只有交易中心或项目 {code} 的代理机构可以组织评标", code="may_not_organise_evaluation")
        await start_evaluation_session(session, context.keys, actor=actor_of(user), project_code=code)
        await session.commit()
        return await evaluation_view(session, code, role=UserRole.ADMIN.value)

    @get("/", guards=[requires_login], summary="The evaluation as the caller's role may see it")
    async def view(self, code: str, user: User, session: AsyncSession) -> EvaluationView:
        return await evaluation_for(session, code, user)

    @get("/rounds", guards=[requires_role(UserRole.ADMIN, UserRole.SUPERVISOR)],
         summary="Every evaluation round on record")
    async def rounds(self, code: str, session: AsyncSession) -> list[Round]:
        return await evaluation_rounds(session, code)

    @post("/chair-votes", guards=[experts], summary="A member's vote for the committee's chair")
    async def vote(self, code: str, data: ChairVote, user: User, session: AsyncSession) -> ChairVoted:
        evaluation = await vote_for_chair(session, actor=actor_of(user), project_code=code,
                                          expert_id=await _expert_id(session, user),
                                          candidate_code=json_object(data).get("candidate"))
        await session.commit()
        return {"stage": evaluation.stage, "chair_elected": evaluation.chair_member_id is not None}

    @post("/reviews", guards=[experts], summary="A member's pass or reject (with ground and reasons) of one bid")
    async def review(self, code: str, data: ReviewBody, user: User, session: AsyncSession) -> ReviewRecorded:
        data = json_object(data)
        review = await record_review(session, actor=actor_of(user), project_code=code,
                                     expert_id=await _expert_id(session, user),
                                     bidder_credit_code=data.get("bidder_credit_code"), verdict=data.get("verdict"),
                                     ground=data.get("ground"), reason=data.get("reason"))
        await session.commit()
        return {"stage": review.stage, "verdict": review.verdict, "ground": review.ground, "reason": review.reason}

    @post("/scores", guards=[experts], summary="A member's technical/business item scores for one bid")
    async def score(self, code: str, data: ScoresBody, user: User, session: AsyncSession) -> ScoresRecorded:
        data = json_object(data)
        score = await record_scores(session, actor=actor_of(user), project_code=code,
                                    expert_id=await _expert_id(session, user),
                                    bidder_credit_code=data.get("bidder_credit_code"), scores=data.get("scores"))
        await session.commit()
        return {"scores": score.scores}

    @post("/close-stage", guards=[experts], summary="The chair closes the current review stage")
    async def close(self, code: str, user: User, session: AsyncSession) -> EvaluationView:
        await close_stage(session, actor=actor_of(user), project_code=code, expert_id=await _expert_id(session, user))
        await session.commit()
        return await evaluation_view(session, code, role=UserRole.EXPERT.value,
                                     expert_id=await _expert_id(session, user))

    @post("/signatures", guards=[experts],
          summary="Sign the report: {\"signature\": hex Ed25519 over its canonical JSON} or {\"confirm\": true}")
    async def sign(self, code: str, data: SignatureBody, user: User, session: AsyncSession) -> Signed:
        data = json_object(data)
        signature = data.get("signature")
        if signature is None and data.get("confirm") is not True:
            raise InvalidInput("请提供对评标报告的签名，或以 confirm: true 确认签署", code="signature_required", field="signature")
        member = await sign_report(session, actor=actor_of(user), project_code=code,
                                   expert_id=await _expert_id(session, user), signature=signature)
        await session.commit()
        return {"signed_at": member.signed_at.isoformat(), "by": "signature" if member.signature else "confirmation",
                "key_id": member.signature_key_id}

    @post("/dissent", guards=[experts], summary="A member's written dissent with reasons")
    async def dissent(self, code: str, data: DissentBody, user: User, session: AsyncSession) -> Dissented:
        member = await record_dissent(session, actor=actor_of(user), project_code=code,
                                      expert_id=await _expert_id(session, user),
                                      reasons=json_object(data).get("reasons"))
        await session.commit()
        return {"dissent": member.dissent, "dissent_at": member.dissent_at.isoformat()}

    @post("/complete", guards=[requires_role(UserRole.ADMIN, UserRole.EXPERT)],
          summary="Close the report (the chair or the center): members who did nothing are deemed to agree")
    async def complete(self, code: str, user: User, session: AsyncSession) -> Completed:
        expert_id = await _expert_id(session, user) if user.role == UserRole.EXPERT else None
        evaluation = await complete_report(session, actor=actor_of(user), project_code=code, expert_id=expert_id)
        await session.commit()
        return {"stage": evaluation.stage, "outcome": evaluation.outcome, "report_sha256": evaluation.report_sha256}


class ExpertKeyController(Controller):
    path = "/api/me/expert-key"
    tags = ["evaluation"]

    @post("/", guards=[experts], summary="Register the expert's own Ed25519 verify key for signing reports")
    async def register(self, data: ExpertKeyBody, user: User, session: AsyncSession) -> ExpertKey:
        record = await register_expert_key(session, actor=actor_of(user), expert_id=await _expert_id(session, user),
                                           verify_key=json_object(data).get("verify_key"))
        await session.commit()
        return {"verify_key": record.verify_key, "key_id": key_id(record.verify_key)}
