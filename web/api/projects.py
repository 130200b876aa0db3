"""Projects over the API: registration (进场登记), the public view of a tender's state and
dates, the announcement with the tender's opening key (and, sent as multipart, version 1 of
the tender documents in the same transaction), termination and closing.

Registration is by the center, the tendering party for itself, or an agency; the
announcement by the center or the project's own party or agency (bidding.notice.clarifications.
check_acts_for); termination and closing only by the center."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from litestar import Controller, Request, get, post
from litestar.datastructures import UploadFile
from litestar.params import Parameter
from pydantic import BaseModel, Field, ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from bidding.notice.announce import announce_tender
from bidding.tender.lifecycle import apply_transition
from bidding.tender.party_projects import check_acts_for, registering_party
from bidding.tender.projects import Project, get_project, recent_projects, register_project, retender_project
from bidding.tender.states import STATE_NAMES
from bidding.notice.documents import MAX_DOCUMENT_SIZE, DocumentFile
from trading.accounts import User
from trading.audit import actor_of
from trading.errors import InvalidInput
from trading.organisations import Organisation
from trading.roles import UserRole
from trading.rules.store import RuleSetRecord
from web.core.auth import requires_role
from web.core.state import AppContext
from web.api.schemas.projects import AnnounceJson, AnnouncedProject, ProjectView

center_only = requires_role(UserRole.ADMIN)
# The documents' limit plus room for the other fields and the multipart framing.
MAX_DOCUMENTS_REQUEST_SIZE = MAX_DOCUMENT_SIZE + 1024 * 1024


class ProjectBody(BaseModel):
    code: str = Field(min_length=1, max_length=40)
    title: str = Field(min_length=1, max_length=300)
    category: str
    method: str
    region_code: str = Field(min_length=6, max_length=6)
    tendering_party_credit_code: str = Field(min_length=18, max_length=18)
    estimate_fen: int = Field(ge=0, description="estimate or budget in fen")


class AnnounceBody(BaseModel):
    bid_deadline: datetime
    documents_issued_at: datetime | None = None


class RetenderBody(BaseModel):
    code: str = Field(min_length=1, max_length=40, description="the new project's code")


class ReasonBody(BaseModel):
    reason: str = Field(min_length=1, max_length=2000)


async def project_view(session: AsyncSession, project: Project) -> ProjectView:
    rule_set = await session.get(RuleSetRecord, project.rule_set_id)
    party = await session.get(Organisation, project.tendering_party_id)

    def moment(value: datetime | None) -> str | None:
        return value.isoformat() if value else None

    return {"code": project.code, "title": project.title, "category": project.category, "method": project.method,
            "region_code": project.region_code, "tendering_party": {"credit_code": party.credit_code, "name": party.name},
            "estimate_fen": project.estimate_fen, "state": project.state,
            "state_name": STATE_NAMES.get(project.state, project.state),
            "rule_set": f"{rule_set.code}@{rule_set.version}", "registered_at": moment(project.registered_at),
            "documents_issued_at": moment(project.documents_issued_at), "bid_deadline": moment(project.bid_deadline),
            "publicity_started_at": moment(project.publicity_started_at), "next_due_at": moment(project.next_due_at),
            "retender_of": (await session.get(Project, project.retender_of_id)).code if project.retender_of_id else None}


class ProjectController(Controller):
    path = "/api/projects"
    tags = ["projects"]

    @post("/", guards=[requires_role(UserRole.ADMIN, UserRole.TENDERING_PARTY, UserRole.AGENCY)],
          summary="Register a project (进场登记); the rule set in force today is pinned")
    async def register(self, data: ProjectBody, user: User, session: AsyncSession) -> ProjectView:
        party = await registering_party(session, data.tendering_party_credit_code, role=user.role,
                                        organisation_id=user.organisation_id)
        project = await register_project(session, actor=actor_of(user), code=data.code.strip(), title=data.title,
                                         category=data.category, method=data.method, region_code=data.region_code,
                                         tendering_party_id=party.id, estimate_fen=data.estimate_fen)
        await session.commit()
        return await project_view(session, project)

    @get("/", summary="Projects, newest first (public)")
    async def index(
        self, session: AsyncSession, tender_state: Annotated[str | None, Parameter(query="state")] = None,
        limit: Annotated[int, Parameter(ge=1, le=200)] = 50,
    ) -> list[ProjectView]:
        return [await project_view(session, project)
                for project in await recent_projects(session, state=tender_state, limit=limit)]

    @get("/{code:str}", summary="One project: its state, dates and pinned rule set (public)")
    async def show(self, code: str, session: AsyncSession) -> ProjectView:
        return await project_view(session, await get_project(session, code))

    @post("/{code:str}/announce", guards=[requires_role(UserRole.ADMIN, UserRole.TENDERING_PARTY, UserRole.AGENCY)],
          request_max_body_size=MAX_DOCUMENTS_REQUEST_SIZE,
          summary="Announce the tender (rule-checked deadline) and publish its opening public key; as JSON "
                  "{bid_deadline, documents_issued_at?}, or multipart with the tender documents (file, title, "
                  "body, bid_deadline): the announcement and version 1 of the documents go out together",
          body=AnnounceJson)
    async def announce(self, code: str, request: Request, user: User, session: AsyncSession,
                       context: AppContext) -> AnnouncedProject:
        await check_acts_for(session, await get_project(session, code), user.role, user.organisation_id, "发布招标公告")
        document, title, body = None, None, ""
        if request.content_type[0] == "multipart/form-data":
            form = await request.form()
            fields = {name: form.get(name) for name in ("bid_deadline", "documents_issued_at") if form.get(name)}
            upload = form.get("file")
            if isinstance(upload, UploadFile):
                document = DocumentFile(filename=upload.filename or "", content=await upload.read(),
                                        media_type=upload.content_type or "application/octet-stream")
            title = form.get("title") if isinstance(form.get("title"), str) else None
            body = form.get("body") if isinstance(form.get("body"), str) else ""
        else:
            try:
                fields = await request.json()
            except ValueError:
                raise InvalidInput("请求应为 JSON 对象：bid_deadline（投标截止时间）", code="invalid_request_body") from None
        try:
            data = AnnounceBody.model_validate(fields)
        except ValidationError as invalid:
            problem = invalid.errors()[0]
            field = str(problem["loc"][0]) if problem.get("loc") else None
            if problem["type"] == "missing":
                raise InvalidInput(f"请填写 {field}（例如 2026-12-20T09:30:00+08:00）",
                                   code="time_required", field=field) from None
            raise InvalidInput(f"{field or '请求'} 格式不正确：时间应形如 2026-12-20T09:30:00+08:00",
                               code="invalid_time", field=field) from None
        for name in ("bid_deadline", "documents_issued_at"):
            value = getattr(data, name)
            if value is not None and value.tzinfo is None:
                raise InvalidInput("时间须带时区，例如 2026-12-20T09:30:00+08:00", code="naive_time", field=name)
        project, key = await announce_tender(session, context.keys, actor=actor_of(user), project_code=code,
                                             bid_deadline=data.bid_deadline,
                                             documents_issued_at=data.documents_issued_at,
                                             documents=document, title=title, body=body)
        await session.commit()
        return {**await project_view(session, project), "opening_public_key": key.public_key}

    @post("/{code:str}/terminate", guards=[center_only], summary="Terminate the tender (终止招标) with a reason")
    async def terminate(self, code: str, data: ReasonBody, user: User, session: AsyncSession) -> ProjectView:
        project = await apply_transition(session, actor=actor_of(user), project_code=code, action="terminate",
                                         facts={"reason": data.reason})
        await session.commit()
        return await project_view(session, project)

    @post("/{code:str}/close", guards=[center_only], summary="Close a contracted tender (结束项目)")
    async def close(self, code: str, user: User, session: AsyncSession) -> ProjectView:
        project = await apply_transition(session, actor=actor_of(user), project_code=code, action="close")
        await session.commit()
        return await project_view(session, project)

    @post("/{code:str}/retender", guards=[requires_role(UserRole.ADMIN, UserRole.TENDERING_PARTY, UserRole.AGENCY)],
          summary="Re-tender a failed or terminated project as a new project (重新招标)")
    async def retender(self, code: str, data: RetenderBody, user: User, session: AsyncSession) -> ProjectView:
        await check_acts_for(session, await get_project(session, code), user.role, user.organisation_id, "重新招标")
        project = await retender_project(session, actor=actor_of(user), project_code=code, new_code=data.code.strip())
        await session.commit()
        return await project_view(session, project)
