"""Candidate publicity, complaints, the award notice and the contract over the API (the
public verification page of award notices is web/pages/verification.py).

- The center (admin) or the project's agency publishes the candidates; bidders object
  to the result and complain for their own organisation; the project's tendering party
  or agency answers objections, chooses the winner where the law leaves a choice and
  records the contract; supervisors accept, refuse and decide complaints; only the
  center issues the award notice.
- The publicity, the award notice's data and signature, and the verification page are
  public; the notice PDF goes to the center, supervisors, the project's parties and the
  winner.
"""

from __future__ import annotations


from litestar import Controller, Response, get, post
from sqlalchemy.ext.asyncio import AsyncSession

from bidding.award.award_notice import (
    AwardNotice,
    award_notice_bundle,
    award_notice_of,
    choose_winner,
    get_award_notice,
    issue_award_notice,
)
from bidding.award.complaints import (
    accept_complaint,
    complaint_view,
    complaints_of,
    decide_complaint,
    file_complaint,
    reject_complaint,
)
from bidding.award.contracts import contract_of, contract_view, record_contract
from bidding.award.readers import check_notice_reader, reading_scope
from bidding.tender.party_projects import check_acts_for
from bidding.tender.projects import Project, get_project
from bidding.award.publicity import (
    answer_candidate_objection,
    objections_of,
    publicity_of,
    publish_candidates,
    raise_candidate_objection,
)
from trading.accounts import User
from trading.audit import actor_of
from trading.errors import NotFound
from trading.organisations import Organisation
from trading.roles import UserRole
from web.api.docs import PDF
from web.core.auth import own_organisation, requires_role
from web.core.errors import error_responses
from web.api.bodies import json_object
from web.core.parameters import RowId
from web.core.state import AppContext
from web.api.schemas.award import (
    AwardNoticeSummary,
    CandidateObjection,
    ComplaintBody,
    ComplaintDecided,
    ComplaintView,
    ContractBody,
    ContractView,
    DecisionBody,
    ObjectionAnswer,
    ObjectionAnswered,
    ObjectionRaised,
    ObjectionText,
    PublicityView,
    ReasonBody,
    WinnerChoiceBody,
    WinnerChosen,
)

center_only = requires_role(UserRole.ADMIN)
center_or_agency = requires_role(UserRole.ADMIN, UserRole.AGENCY)
bidders = requires_role(UserRole.BIDDER)
parties = requires_role(UserRole.TENDERING_PARTY, UserRole.AGENCY)
supervisors = requires_role(UserRole.SUPERVISOR)
# Who sees every objection and complaint of a project (the parties only of their own projects).


async def _project_party(session: AsyncSession, code: str, user: User) -> Project:
    """The project, when ``user`` is the center or the project's tendering party or agency."""
    return await check_acts_for(session, await get_project(session, code), user.role, user.organisation_id,
                                "办理此事项")


def notice_summary(notice: AwardNotice) -> AwardNoticeSummary:
    record = notice.record
    return {"number": notice.number, "project_code": record["project_code"], "project_title": record["project_title"],
            "winner": record["winner"], "tendering_party": record["tendering_party"], "rank": record["rank"],
            "price_fen": record["price_fen"], "basis": record["basis"], "choice_reason": record["choice_reason"],
            "issued_at": notice.issued_at.isoformat(), "pdf_sha256": notice.pdf_sha256,
            "verify_url": record["verify_url"], "bundle": award_notice_bundle(notice)}


class PublicityController(Controller):
    path = "/api/projects/{code:str}"
    tags = ["award"]

    # ------------------------------------------------------------------ publicity and objections

    @post("/publicity", guards=[center_or_agency], summary="Publish the ranked candidates (中标候选人公示)")
    async def publish(self, code: str, user: User, session: AsyncSession) -> PublicityView:
        await _project_party(session, code, user)
        await publish_candidates(session, actor=actor_of(user), project_code=code)
        await session.commit()
        return await publicity_of(session, code)

    @get("/publicity", summary="The candidate publicity: rank, name, price, score and the period (public)")
    async def publicity(self, code: str, session: AsyncSession) -> PublicityView:
        return await publicity_of(session, code)

    @post("/publicity/objections", guards=[bidders], summary="Object to the evaluation result (异议) during publicity")
    async def object(self, code: str, data: ObjectionText, user: User, session: AsyncSession) -> ObjectionRaised:
        organisation = await own_organisation(session, user)
        objection = await raise_candidate_objection(session, actor=actor_of(user), project_code=code,
                                                    organisation_id=organisation.id, text=json_object(data).get("text"))
        await session.commit()
        return {"id": objection.id, "text": objection.text, "raised_at": objection.raised_at.isoformat()}

    @post("/publicity/objections/{objection_id:int}/answer", guards=[parties],
          summary="Answer an objection to the result (the project's tendering party or agency)")
    async def answer(self, code: str, objection_id: RowId, data: ObjectionAnswer, user: User,
                     session: AsyncSession) -> ObjectionAnswered:
        await _project_party(session, code, user)
        objection = await answer_candidate_objection(session, actor=actor_of(user), project_code=code,
                                                     objection_id=objection_id, answer=json_object(data).get("answer"))
        await session.commit()
        return {"id": objection.id, "answer": objection.answer, "answered_at": objection.answered_at.isoformat()}

    @get("/publicity/objections", responses=error_responses(None, 401, 403),
         summary="Objections with answers (a bidder sees its own)")
    async def objections(self, code: str, user: User | None, session: AsyncSession) -> list[CandidateObjection]:
        scope = await reading_scope(session, code, user)
        return await objections_of(session, code, organisation_id=scope)

    # ------------------------------------------------------------------ complaints

    @post("/complaints", guards=[bidders], summary="File a complaint (投诉) within the rule's period")
    async def complain(self, code: str, data: ComplaintBody, user: User, session: AsyncSession) -> ComplaintView:
        organisation = await own_organisation(session, user)
        complaint = await file_complaint(session, actor=actor_of(user), project_code=code,
                                         organisation_id=organisation.id, grounds=json_object(data).get("grounds"))
        await session.commit()
        return complaint_view(complaint, organisation)

    @get("/complaints", responses=error_responses(None, 401, 403),
         summary="Complaints and their handling (a bidder sees its own)")
    async def complaints(self, code: str, user: User | None, session: AsyncSession) -> list[ComplaintView]:
        scope = await reading_scope(session, code, user)
        return await complaints_of(session, code, organisation_id=scope)

    @post("/complaints/{complaint_id:int}/accept", guards=[supervisors],
          summary="Accept a complaint (受理): the tender is suspended")
    async def accept(self, code: str, complaint_id: RowId, data: ReasonBody, user: User,
                     session: AsyncSession) -> ComplaintView:
        complaint = await accept_complaint(session, actor=actor_of(user), project_code=code,
                                           complaint_id=complaint_id, reason=json_object(data).get("reason"))
        await session.commit()
        return complaint_view(complaint, await session.get(Organisation, complaint.organisation_id))

    @post("/complaints/{complaint_id:int}/reject", guards=[supervisors],
          summary="Refuse to accept a complaint (不予受理), with reasons; nothing is suspended")
    async def reject(self, code: str, complaint_id: RowId, data: ReasonBody, user: User,
                     session: AsyncSession) -> ComplaintView:
        complaint = await reject_complaint(session, actor=actor_of(user), project_code=code,
                                           complaint_id=complaint_id, reason=json_object(data).get("reason"))
        await session.commit()
        return complaint_view(complaint, await session.get(Organisation, complaint.organisation_id))

    @post("/complaints/{complaint_id:int}/decision", guards=[supervisors],
          summary="Decide an accepted complaint: reevaluate or terminate (upheld), or dismiss (resume)")
    async def decide(self, code: str, complaint_id: RowId, data: DecisionBody, user: User,
                     session: AsyncSession) -> ComplaintDecided:
        data = json_object(data)
        complaint = await decide_complaint(session, actor=actor_of(user), project_code=code,
                                           complaint_id=complaint_id, outcome=data.get("outcome"),
                                           reason=data.get("reason"))
        await session.commit()
        project = await get_project(session, code)
        return complaint_view(complaint, await session.get(Organisation, complaint.organisation_id)) | {
            "project_state": project.state}

    # ------------------------------------------------------------------ award and contract

    @post("/award/choice", guards=[parties],
          summary="The tendering party chooses the winner among the candidates, with a reason")
    async def choose(self, code: str, data: WinnerChoiceBody, user: User, session: AsyncSession) -> WinnerChosen:
        await _project_party(session, code, user)
        data = json_object(data)
        choice = await choose_winner(session, actor=actor_of(user), project_code=code, rank=data.get("rank"),
                                     reason=data.get("reason"))
        await session.commit()
        return {"candidate_id": choice.candidate_id, "rank": data.get("rank"), "reason": choice.reason}

    @post("/award-notice", guards=[center_only], summary="Issue the signed award notice (the center only)")
    async def issue(self, code: str, user: User, session: AsyncSession, context: AppContext) -> AwardNoticeSummary:
        notice = await issue_award_notice(session, context.keys, actor=actor_of(user), project_code=code,
                                          public_url=context.settings.public_url)
        await session.commit()
        return notice_summary(notice)

    @get("/award-notice", summary="The project's award notice: data and signed bundle (public)")
    async def notice(self, code: str, session: AsyncSession) -> AwardNoticeSummary:
        notice = await award_notice_of(session, await get_project(session, code))
        if notice is None:
            raise NotFound(f"项目 {code} 尚未发出中标通知书", project_code=code)
        return notice_summary(notice)

    @post("/contract", guards=[parties], summary="Record the signed contract (amount in fen, date, file SHA-256)")
    async def contract(self, code: str, data: ContractBody, user: User, session: AsyncSession) -> ContractView:
        await _project_party(session, code, user)
        data = json_object(data)
        contract = await record_contract(session, actor=actor_of(user), project_code=code,
                                         amount_fen=data.get("amount_fen"), signed_on=data.get("signed_on"),
                                         file_sha256=data.get("file_sha256"), amount_reason=data.get("amount_reason"))
        await session.commit()
        return contract_view(contract)

    @get("/contract", summary="The recorded contract (public)")
    async def contract_record(self, code: str, session: AsyncSession) -> ContractView:
        contract = await contract_of(session, code)
        if contract is None:
            raise NotFound(f"项目 {code} 尚未登记合同", project_code=code)
        return contract_view(contract)


class AwardNoticeController(Controller):
    path = "/api/award-notices"
    tags = ["award"]

    @get("/{number:str}", summary="An award notice's data and signed bundle, for offline verification (public)")
    async def bundle(self, number: str, session: AsyncSession) -> AwardNoticeSummary:
        return notice_summary(await get_award_notice(session, number))

    @get("/{number:str}/pdf", opt={"media_types": (PDF,)}, responses=error_responses(None, 401, 403),
         summary="The award notice PDF (the center, supervisors, the project's parties, the winner)")
    async def pdf(self, number: str, user: User | None, session: AsyncSession) -> Response[bytes]:
        notice = await get_award_notice(session, number)
        await check_notice_reader(session, notice, user)
        return Response(notice.pdf, media_type=PDF,
                        headers={"Content-Disposition": f'inline; filename="{number}.pdf"'})
