"""Questions and clarifications (答疑、澄清/修改) over the API: admitted bidders ask, the
tendering party (or its agency, or the center) publishes; the asker stays anonymous to
everyone but the center and supervisors."""

from __future__ import annotations

from typing import Any

from litestar import Controller, get, post
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bidding.notice.clarifications import (
    MAX_QUESTION_CHARS,
    ask_question,
    clarification_view,
    may_publish,
    publish_clarification,
    questions_for,
)
from bidding.tender.projects import Project
from trading.accounts import User
from trading.audit import actor_of
from trading.errors import NotFound, PermissionDenied
from trading.roles import UserRole
from web.core.auth import requires_role


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
    async def ask(self, code: str, data: QuestionBody, user: User, session: AsyncSession) -> dict[str, Any]:
        if user.organisation_id is None:
            raise PermissionDenied("投标人账号未关联单位，不能提问")
        question = await ask_question(session, actor=actor_of(user), project_code=code,
                                      bidder_organisation_id=user.organisation_id, text=data.text)
        await session.commit()
        return {"id": question.id, "project_code": code, "number": question.public_number,
                "label": f"问题{question.public_number}", "text": question.text,
                "asked_at": question.asked_at.isoformat()}

    @get("/{code:str}/questions",
         summary="The project's questions: the asker only for the center and supervisors; the public sees answered ones")
    async def questions(self, code: str, user: User | None, session: AsyncSession) -> list[dict[str, Any]]:
        role = user.role if user else None
        if role in (UserRole.TENDERING_PARTY, UserRole.AGENCY):
            project = await session.scalar(select(Project).where(Project.code == code))
            if project is None:
                raise NotFound(f"未找到项目 {code}", project_code=code)
            if not await may_publish(session, project, role, user.organisation_id):
                role = None  # another project's party sees what the public sees
        return await questions_for(session, code, role, user.organisation_id if user else None)

    @post("/{code:str}/clarifications",
          guards=[requires_role(UserRole.TENDERING_PARTY, UserRole.AGENCY, UserRole.ADMIN)],
          summary="Publish a clarification or change (the project's tendering party or agency, or the center)")
    async def publish(self, code: str, data: ClarificationBody, user: User, session: AsyncSession) -> dict[str, Any]:
        project = await session.scalar(select(Project).where(Project.code == code))
        if project is None:
            raise NotFound(f"未找到项目 {code}", project_code=code)
        if not await may_publish(session, project, user.role, user.organisation_id):
            raise PermissionDenied(f"只有项目 {code} 的招标人、其代理机构或交易中心可以发布澄清或修改")
        clarification = await publish_clarification(session, actor=actor_of(user), project_code=code,
                                                    title=data.title, body=data.body, answers=data.answers)
        await session.commit()
        project = await session.scalar(select(Project).where(Project.code == code)
                                       .execution_options(populate_existing=True))
        return clarification_view(clarification, project)
