"""The tender's notice for its party (/party/projects/{code}/…): the announcement with the
tender documents, later versions, clarifications of bidders' questions, and answers to
objections to the documents."""

from __future__ import annotations

from bidding.notice.clarifications import clarifications_of
from urllib.parse import quote

from litestar import Controller, Request, Response, get, post
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from bidding.notice.announce import announce_tender, publish_documents
from bidding.notice.clarifications import publish_clarification, questions_for
from bidding.notice.objections import answer_doc_objection, doc_objections_for
from bidding.tender.projects import Project, get_project
from bidding.notice.documents import MAX_DOCUMENT_SIZE, document_version, document_versions
from trading.accounts import User
from trading.audit import actor_of
from trading.errors import DomainError, InvalidInput
from web.core.forms import FormState, local_moment
from web.core.parameters import RowId
from web.core.state import AppContext
from web.core.files import attachment
from web.pages.party.forms import UPLOAD_LIMIT, form_text, uploaded_document, with_field
from web.pages.party.reads import parties, acting_project, project_context


class PartyNoticeController(Controller):
    path = "/party"
    include_in_schema = False
    guards = [parties]

    # ------------------------------------------------------------------ announcement and documents

    @get("/projects/{code:str}/announce", name="party.announce_form")
    async def announce_form(self, code: str, user: User, session: AsyncSession) -> Template:
        project = await acting_project(session, code, user)
        form = FormState.of({"title": f"{project.title}招标公告"})
        return Template("party/announce.html", context={**await project_context(session, project, user),
                                                         "form": form, "max_mib": MAX_DOCUMENT_SIZE // 2 ** 20})

    @post("/projects/{code:str}/announce", name="party.announce", request_max_body_size=UPLOAD_LIMIT)
    async def announce(self, code: str, request: Request, user: User, session: AsyncSession,
                       context: AppContext) -> Template | Redirect:
        project = await acting_project(session, code, user)
        raw = await request.form()
        form = FormState.of({name: form_text(raw, name) for name in ("title", "body", "bid_deadline")})
        form.required(("title", "公告标题"), ("bid_deadline", "投标截止时间"))
        document = await uploaded_document(raw)
        if document is None:
            form.error("file", "请选择招标文件")
        deadline = None
        if form.value("bid_deadline"):
            try:
                deadline = local_moment(form.value("bid_deadline"), field="bid_deadline", label="投标截止时间")
            except InvalidInput as exc:
                form.refuse(exc)
        if form.ok:
            try:
                await announce_tender(session, context.keys, actor=actor_of(user), project_code=code,
                                      bid_deadline=deadline, documents=document, title=form.value("title"),
                                      body=form.value("body"))
            except DomainError as exc:
                await session.rollback()
                if exc.details.get("rule") or exc.details.get("bid_deadline") or exc.details.get("days") is not None:
                    exc = with_field(exc, "bid_deadline")
                form.refuse(exc)
        if not form.ok:
            project = await get_project(session, code)
            return Template("party/announce.html", status_code=400, context={
                **await project_context(session, project, user), "form": form,
                "max_mib": MAX_DOCUMENT_SIZE // 2 ** 20})
        await session.commit()
        return Redirect(f"/party/projects/{quote(code)}")

    async def _documents_page(self, session: AsyncSession, project: Project, user: User, form: FormState,
                              status: int = 200) -> Template:
        return Template("party/documents.html", status_code=status, context={
            **await project_context(session, project, user), "form": form,
            "versions": await document_versions(session, project.code), "max_mib": MAX_DOCUMENT_SIZE // 2 ** 20})

    @get("/projects/{code:str}/documents", name="party.documents")
    async def documents(self, code: str, user: User, session: AsyncSession) -> Template:
        project = await acting_project(session, code, user)
        return await self._documents_page(session, project, user, FormState.of({"title": "招标文件变更"}))

    @post("/projects/{code:str}/documents", name="party.publish_documents", request_max_body_size=UPLOAD_LIMIT)
    async def publish_documents(self, code: str, request: Request, user: User, session: AsyncSession,
                                ) -> Template | Redirect:
        await acting_project(session, code, user)  # its own project, or refused
        raw = await request.form()
        form = FormState.of({name: form_text(raw, name) for name in ("title", "body")})
        document = await uploaded_document(raw)
        if document is None:
            form.error("file", "请选择新版本的招标文件")
        await form.attempt(session, lambda: publish_documents(
            session, actor=actor_of(user), project_code=code, document=document, title=form.value("title"),
            body=form.value("body")))
        if not form.ok:
            return await self._documents_page(session, await get_project(session, code), user, form, 400)
        await session.commit()
        return Redirect(f"/party/projects/{quote(code)}/documents")

    @get("/projects/{code:str}/documents/{number:int}", name="party.document_file")
    async def document_file(self, code: str, number: RowId, user: User, session: AsyncSession) -> Response[bytes]:
        await acting_project(session, code, user)
        version = await document_version(session, code, number)
        return Response(version.content, media_type=version.media_type,
                        headers={"Content-Disposition": attachment(version.filename),
                                 "X-Content-SHA256": version.sha256, "X-Document-Version": str(version.number)})

    # ------------------------------------------------------------------ questions and clarifications

    async def _questions_page(self, session: AsyncSession, project: Project, user: User, form: FormState,
                              status: int = 200) -> Template:
        clarifications = await clarifications_of(session, project)
        return Template("party/questions.html", status_code=status, context={
            **await project_context(session, project, user), "form": form,
            # The tendering party and agency see every question, never who asked.
            "questions": await questions_for(session, project.code, user.role, user.organisation_id),
            "clarifications": clarifications})

    @get("/projects/{code:str}/questions", name="party.questions")
    async def questions(self, code: str, user: User, session: AsyncSession) -> Template:
        project = await acting_project(session, code, user)
        return await self._questions_page(session, project, user, FormState.of({"answers": []}))

    @post("/projects/{code:str}/clarifications", name="party.clarify")
    async def clarify(self, code: str, request: Request, user: User, session: AsyncSession) -> Template | Redirect:
        await acting_project(session, code, user)  # its own project, or refused
        raw = await request.form()
        answers = [value for value in raw.getall("answers") if isinstance(value, str)] if "answers" in raw else []
        form = FormState.of({"title": form_text(raw, "title"), "body": form_text(raw, "body"), "answers": answers})
        form.required(("title", "澄清/修改公告标题"), ("body", "澄清/修改内容"))
        ids = []
        for value in answers:
            if not value.isdigit():
                form.error("answers", "所选问题无效")
            else:
                ids.append(int(value))
        if form.ok:
            try:
                await publish_clarification(session, actor=actor_of(user), project_code=code, title=form.value("title"),
                                            body=form.value("body"), answers=ids)
            except DomainError as exc:
                await session.rollback()
                if exc.details.get("questions"):
                    exc = with_field(exc, "answers")
                form.refuse(exc)
        if not form.ok:
            return await self._questions_page(session, await get_project(session, code), user, form, 400)
        await session.commit()
        return Redirect(f"/party/projects/{quote(code)}/questions")

    # ------------------------------------------------------------------ objections to the documents

    async def _objections_page(self, session: AsyncSession, project: Project, user: User,
                               forms: dict[int, FormState] | None = None, status: int = 200) -> Template:
        return Template("party/objections.html", status_code=status, context={
            **await project_context(session, project, user), "forms": forms or {}, "empty_form": FormState(),
            "objections": await doc_objections_for(session, project.code, user.role, user.organisation_id)})

    @get("/projects/{code:str}/objections", name="party.objections")
    async def objections(self, code: str, user: User, session: AsyncSession) -> Template:
        return await self._objections_page(session, await acting_project(session, code, user), user)

    @post("/projects/{code:str}/objections/{objection_id:int}/answer", name="party.answer_objection",
          request_max_body_size=UPLOAD_LIMIT)
    async def answer_objection(self, code: str, objection_id: RowId, request: Request, user: User,
                               session: AsyncSession) -> Template | Redirect:
        await acting_project(session, code, user)  # its own project, or refused
        raw = await request.form()
        form = FormState.of({name: form_text(raw, name) for name in ("answer", "change_title", "change_body")})
        form.required(("answer", "答复内容"))
        document = await uploaded_document(raw)
        if form.ok:
            try:
                await answer_doc_objection(session, actor=actor_of(user), project_code=code, objection_id=objection_id,
                                           answer=form.value("answer"), change_title=form.value("change_title") or None,
                                           change_body=form.value("change_body") or None, document=document)
            except DomainError as exc:
                await session.rollback()
                if exc.details.get("field") == "change":
                    exc.details["field"] = "change_title"
                form.refuse(exc)
        if not form.ok:
            return await self._objections_page(session, await get_project(session, code), user,
                                               {objection_id: form}, 400)
        await session.commit()
        return Redirect(f"/party/projects/{quote(code)}/objections")
