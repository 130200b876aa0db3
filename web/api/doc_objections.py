"""Objections to the tender documents (实施条例 第二十二条) over the API: admitted bidders
object, the project's tendering party, agency or the center answers; the objector is
anonymous to everyone but the center and supervisors."""

from __future__ import annotations

from litestar import Controller, get, post
from pydantic import BaseModel, Field
from sqlalchemy.ext.asyncio import AsyncSession

from bidding.notice.objections import MAX_OBJECTION_CHARS, answer_doc_objection, doc_objections_for, raise_doc_objection
from bidding.tender.party_projects import check_acts_for, viewer_role
from bidding.tender.projects import get_project
from trading.accounts import User
from trading.audit import actor_of
from trading.errors import PermissionDenied
from trading.roles import UserRole
from web.core.auth import requires_role
from web.core.parameters import RowId
from web.api.schemas.notice import AnsweredDocObjection, DocObjectionView, RaisedDocObjection


class ObjectionBody(BaseModel):
    text: str = Field(min_length=1, max_length=MAX_OBJECTION_CHARS)


class ChangeBody(BaseModel):
    title: str = Field(min_length=1, max_length=300)
    body: str = Field(min_length=1)


class AnswerBody(BaseModel):
    answer: str = Field(min_length=1)
    change: ChangeBody | None = Field(default=None, description="when the answer changes the documents: "
                                      "the clarification/change to publish (the deadline moves when the rules ask)")


class DocObjectionController(Controller):
    path = "/api/projects/{code:str}/doc-objections"
    tags = ["bidding"]

    @post("/", guards=[requires_role(UserRole.BIDDER)],
          summary="Object to the tender documents (an admitted bidder; refused too close to the deadline)")
    async def raise_(self, code: str, data: ObjectionBody, user: User, session: AsyncSession) -> RaisedDocObjection:
        if user.organisation_id is None:
            raise PermissionDenied("投标人账号未关联单位，不能提出异议", code="no_organisation")
        objection = await raise_doc_objection(session, actor=actor_of(user), project_code=code,
                                              bidder_organisation_id=user.organisation_id, text=data.text)
        await session.commit()
        project = await get_project(session, code)
        return {"id": objection.id, "project_code": code, "number": objection.public_number,
                "label": f"异议{objection.public_number}", "raised_at": objection.raised_at.isoformat(),
                "answer_due_at": objection.answer_due_at.isoformat() if objection.answer_due_at else None,
                "answer_due_provisional": objection.answer_due_provisional, "state": project.state}

    @get("/", summary="The project's objections: the objector only for the center and supervisors")
    async def index(self, code: str, user: User | None, session: AsyncSession) -> list[DocObjectionView]:
        organisation_id = user.organisation_id if user else None
        role = await viewer_role(session, await get_project(session, code), user.role if user else None, organisation_id)
        return await doc_objections_for(session, code, role, organisation_id)

    @post("/{objection_id:int}/answer",
          guards=[requires_role(UserRole.TENDERING_PARTY, UserRole.AGENCY, UserRole.ADMIN)],
          summary="Answer an objection (the project's tendering party, agency or the center); the last answer resumes")
    async def answer(self, code: str, objection_id: RowId, data: AnswerBody, user: User,
                     session: AsyncSession) -> AnsweredDocObjection:
        project = await check_acts_for(session, await get_project(session, code), user.role, user.organisation_id,
                                       "答复异议")
        objection = await answer_doc_objection(
            session, actor=actor_of(user), project_code=code, objection_id=objection_id, answer=data.answer,
            change_title=data.change.title if data.change else None,
            change_body=data.change.body if data.change else None)
        await session.commit()
        project = await get_project(session, code)
        await session.refresh(project)
        return {"id": objection.id, "number": objection.public_number, "answer": objection.answer,
                "answered_at": objection.answered_at.isoformat(), "clarification_id": objection.clarification_id,
                "state": project.state,
                "bid_deadline": project.bid_deadline.isoformat() if project.bid_deadline else None}
