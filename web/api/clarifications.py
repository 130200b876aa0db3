"""Questions and clarifications (答疑、澄清/修改) over the API: admitted bidders ask, the
tendering party (or its agency, or the center) publishes; the asker stays anonymous to
everyone but the center and supervisors."""

from __future__ import annotations

from litestar import Controller, get, post
from pydantic import BaseModel, Field
from sqlalchemy.ext.asyncio import AsyncSession

from bidding.notice.clarifications import (
    MAX_QUESTION_CHARS,
    ask_question,
    clarification_view,
    publish_clarification,
    questions_for,
)
from bidding.tender.party_projects import check_acts_for, viewer_role
from bidding.tender.projects import get_project
from trading.accounts import User
from trading.audit import actor_of
from trading.errors import PermissionDenied
from trading.roles import UserRole
from web.core.auth import requires_role
from web.api.schemas.notice import AskedQuestion, ClarificationView, QuestionView


class QuestionBody(BaseModel):
    text: str = Field(min_length=1, max_length=MAX_QUESTION_CHARS)


class ClarificationBody(BaseModel):
    title: str = Field(min_length=1, max_length=300)
    body: str = Field(min_length=1)
    answers: list[int] = Field(default_factory=list, description="ids of the questions answered")


class ClarificationController(Controller):
    path = "/api/projects"
    tags = ["bidding"]

    @post("/{code:str}/questions", guards=[requires_role(UserRole.BIDDER)],
          summary="Ask a question on the tender documents (a bidder admitted for the project)")
    async def ask(self, code: str, data: QuestionBody, user: User, session: AsyncSession) -> AskedQuestion:
        if user.organisation_id is None:
            raise PermissionDenied("投标人账号未关联单位，不能提问", code="no_organisation")
        question = await ask_question(session, actor=actor_of(user), project_code=code,
                                      bidder_organisation_id=user.organisation_id, text=data.text)
        await session.commit()
        return {"id": question.id, "project_code": code, "number": question.public_number,
                "label": f"问题{question.public_number}", "text": question.text,
                "asked_at": question.asked_at.isoformat()}

    @get("/{code:str}/questions",
         summary="The project's questions: the asker only for the center and supervisors; the public sees answered ones")
    async def questions(self, code: str, user: User | None, session: AsyncSession) -> list[QuestionView]:
        organisation_id = user.organisation_id if user else None
        role = await viewer_role(session, await get_project(session, code), user.role if user else None, organisation_id)
        return await questions_for(session, code, role, organisation_id)

    @post("/{code:str}/clarifications",
          guards=[requires_role(UserRole.TENDERING_PARTY, UserRole.AGENCY, UserRole.ADMIN)],
          summary="Publish a clarification or change (the project's tendering party or agency, or the center)")
    async def publish(self, code: str, data: ClarificationBody, user: User, session: AsyncSession) -> ClarificationView:
        await check_acts_for(session, await get_project(session, code), user.role, user.organisation_id,
                             "发布澄清或修改")
        clarification = await publish_clarification(session, actor=actor_of(user), project_code=code,
                                                    title=data.title, body=data.body, answers=data.answers)
        await session.commit()
        project = await get_project(session, code)
        await session.refresh(project)  # the deadline the clarification may have moved
        return clarification_view(clarification, project)
