"""The opening and the result for the tender's party (/party/projects/{code}/…): the opening
record once public, the evaluation report, publishing the candidates (the agency), the
choice of the winner, answers to objections to the result, the contract and the award
notice's PDF."""

from __future__ import annotations

from bidding.award.award_notice import CHOICE_STATES, winner_choice_of
from bidding.opening.visibility import SEALED_MESSAGE, may_read_opening_record
from bidding.tender.offers import check_takes
from bidding.evaluation.readers import evaluation_for
from bidding.reading.step_offers import may_publish_candidates, may_record_contract
from urllib.parse import quote

from litestar import Controller, Request, Response, get, post
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from bidding.award.award_notice import award_notice_of, choose_winner
from bidding.evaluation.candidates import ranked_candidates
from bidding.award.contracts import contract_of, record_contract
from bidding.opening.proceedings import opening_record
from bidding.tender.projects import Project, get_project
from bidding.award.publicity import answer_candidate_objection, objections_of, publicity_of, publish_candidates
from trading.accounts import User
from trading.audit import actor_of
from trading.errors import Conflict, DomainError, InvalidInput, NotFound, PermissionDenied
from trading.money import fen_of_yuan, yuan
from web.core.errors import status_of
from web.core.forms import FormState
from web.core.parameters import RowId
from web.pages.party.forms import form_text, with_field
from web.pages.party.reads import parties, acting_project, winner_choice_needed, project_context, notice_pdf


class PartyResultController(Controller):
    path = "/party"
    include_in_schema = False
    guards = [parties]

    # ------------------------------------------------------------------ opening, report, result

    @get("/projects/{code:str}/opening", name="party.opening")
    async def opening(self, code: str, user: User, session: AsyncSession) -> Template:
        project = await acting_project(session, code, user)
        record, message = None, None
        try:
            record = await opening_record(session, code)
        except NotFound:
            message = "尚未开标。"
        if record is not None and not await may_read_opening_record(session, code, user.role):
            record, message = None, f"{SEALED_MESSAGE}；时限结束后在此公开。"
        return Template("party/opening.html", context={
            **await project_context(session, project, user), "record": record, "message": message})

    async def _result_page(self, session: AsyncSession, project: Project, user: User,
                           forms: dict[str, FormState] | None = None, status: int = 200) -> Template:
        code = project.code
        evaluation = None
        try:
            evaluation = await evaluation_for(session, code, user)
        except (NotFound, PermissionDenied):
            evaluation = None
        publicity = None
        try:
            publicity = await publicity_of(session, code)
        except Conflict:
            publicity = None
        choice = await winner_choice_of(session, project)
        candidates = await ranked_candidates(session, project.id)
        chosen_rank = next((c.rank for c in candidates if choice is not None and c.id == choice.candidate_id), None)
        contract = await contract_of(session, code)
        notice = await award_notice_of(session, project)
        forms = dict(forms or {})
        if "choice" not in forms and choice is not None:  # the choice so far, to change it
            forms["choice"] = FormState.of({"rank": str(chosen_rank or ""), "reason": choice.reason})
        return Template("party/result.html", status_code=status, context={
            **await project_context(session, project, user), "evaluation": evaluation,
            "publicity": publicity, "choice": choice, "chosen_rank": chosen_rank,
            "choice_needed": await winner_choice_needed(session, project), "may_choose": project.state in CHOICE_STATES,
            "may_record_contract": may_record_contract(project, user.role, notice),
            "objections": await objections_of(session, code), "notice": notice, "contract": contract,
            "forms": forms, "empty_form": FormState(),
            "candidate_options": [(str(c["rank"]), f"第{c['rank']}名 {c['name']}（报价 {yuan(c['price_fen'])} 元）")
                                  for c in (publicity or {}).get("candidates", [])],
            "can_publish": may_publish_candidates(
                project, user.role, report_signed=evaluation is not None and evaluation.get("report") is not None),
            })

    @get("/projects/{code:str}/result", name="party.result")
    async def result(self, code: str, user: User, session: AsyncSession) -> Template:
        project = await acting_project(session, code, user)
        notice = await award_notice_of(session, project)
        forms = {"contract": FormState.of({"amount": yuan(notice.price_fen).replace(",", "") if notice else ""})}
        return await self._result_page(session, project, user, forms)

    @post("/projects/{code:str}/publicity", name="party.publish_candidates")
    async def publish(self, code: str, user: User, session: AsyncSession) -> Template | Redirect:
        await acting_project(session, code, user)  # its own project, or refused
        check_takes("publish_candidates", user.role, "中标候选人由交易中心或项目的代理机构公示")
        try:
            await publish_candidates(session, actor=actor_of(user), project_code=code)
        except DomainError as exc:
            await session.rollback()
            form = FormState()
            form.refuse(exc)
            return await self._result_page(session, await get_project(session, code), user, {"publish": form},
                                           status_of(exc))
        await session.commit()
        return Redirect(f"/party/projects/{quote(code)}/result")

    @post("/projects/{code:str}/result/choice", name="party.choose_winner")
    async def choose(self, code: str, request: Request, user: User, session: AsyncSession) -> Template | Redirect:
        await acting_project(session, code, user)  # its own project, or refused
        raw = await request.form()
        form = FormState.of({"rank": form_text(raw, "rank"), "reason": form_text(raw, "reason")})
        form.required(("rank", "中标人"), ("reason", "确定中标人的理由"))
        if form.ok and not form.value("rank").isdigit():
            form.error("rank", "请选择中标候选人")
        if form.ok:
            try:
                await choose_winner(session, actor=actor_of(user), project_code=code, rank=int(form.value("rank")),
                                    reason=form.value("reason"))
            except DomainError as exc:
                await session.rollback()
                if exc.details.get("rule") or exc.details.get("rank"):
                    exc = with_field(exc, "rank")
                form.refuse(exc)
        if not form.ok:
            return await self._result_page(session, await get_project(session, code), user, {"choice": form},
                                           400 if form.errors else 409)
        await session.commit()
        return Redirect(f"/party/projects/{quote(code)}/result")

    @post("/projects/{code:str}/result/objections/{objection_id:int}/answer", name="party.answer_result_objection")
    async def answer_result_objection(self, code: str, objection_id: RowId, request: Request, user: User,
                                      session: AsyncSession) -> Template | Redirect:
        await acting_project(session, code, user)  # its own project, or refused
        form = FormState.of({"answer": form_text(await request.form(), "answer")})
        form.required(("answer", "答复内容"))
        await form.attempt(session, lambda: answer_candidate_objection(
            session, actor=actor_of(user), project_code=code, objection_id=objection_id, answer=form.value("answer")))
        if not form.ok:
            return await self._result_page(session, await get_project(session, code), user,
                                           {f"objection-{objection_id}": form}, 400)
        await session.commit()
        return Redirect(f"/party/projects/{quote(code)}/result")

    @post("/projects/{code:str}/contract", name="party.contract")
    async def contract(self, code: str, request: Request, user: User, session: AsyncSession) -> Template | Redirect:
        await acting_project(session, code, user)  # its own project, or refused
        raw = await request.form()
        form = FormState.of({name: form_text(raw, name).strip() for name in
                             ("amount", "signed_on", "file_sha256", "amount_reason")})
        form.required(("amount", "合同金额"), ("signed_on", "合同签订日期"), ("file_sha256", "合同文件 SHA-256"))
        amount = None
        if form.value("amount"):
            try:
                amount = fen_of_yuan(form.value("amount"), field="amount", label="合同金额")
            except InvalidInput as exc:
                form.refuse(exc)
        if form.ok:
            try:
                await record_contract(session, actor=actor_of(user), project_code=code, amount_fen=amount,
                                      signed_on=form.value("signed_on"), file_sha256=form.value("file_sha256"),
                                      amount_reason=form.value("amount_reason") or None)
            except DomainError as exc:
                await session.rollback()
                if exc.code == "contract_amount_differs":
                    exc = with_field(exc, "amount_reason")
                if exc.details.get("field") == "amount_fen":
                    exc.details["field"] = "amount"
                form.refuse(exc)
        if not form.ok:
            return await self._result_page(session, await get_project(session, code), user, {"contract": form}, 400)
        await session.commit()
        return Redirect(f"/party/projects/{quote(code)}/result")

    @get("/projects/{code:str}/award-notice.pdf", name="party.award_notice_pdf")
    async def award_notice_pdf(self, code: str, user: User, session: AsyncSession) -> Response[bytes]:
        project = await acting_project(session, code, user)
        notice = await award_notice_of(session, project)
        if notice is None:
            raise NotFound(f"项目 {code} 尚未发出中标通知书", project_code=code)
        return notice_pdf(notice)
