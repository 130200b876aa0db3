"""The tendering party's and the agency's pages (招标人/代理机构工作台), under ``/party``.

Both act for the projects they are party to: the tendering party for its own, the agency
for those it was drawn to serve (:func:`bidding.notice.clarifications.may_publish`, the same check
the JSON API makes); any other project is refused. Every act calls the same service
function as the API: registration (进场登记), the announcement with the tender documents,
later versions, clarifications, answers to objections, room bookings (the agency, as in
the API), the choice of the winner among the candidates, answers to objections to the
result, and the contract. Forms work without JavaScript; an error re-renders the form
with what was typed and the Chinese message beside its field.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import quote

from litestar import Controller, Request, Response, get, post
from litestar.datastructures import UploadFile
from litestar.response import Redirect, Template
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from agency_pool.draws import agency_assignment, decline_agency
from bidding.notice.announce import announce_tender, publish_documents
from bidding.award.award_notice import FIRST_CANDIDATE_RULE, WinnerChoice, award_notice_of, choose_winner
from bidding.evaluation.candidates import ranked_candidates
from bidding.notice.clarifications import Clarification, may_publish, publish_clarification, questions_for
from bidding.award.contracts import contract_of, record_contract
from bidding.tender.deadlines import DEADLINE_KINDS, Deadline
from bidding.notice.objections import answer_doc_objection, doc_objections_for
from bidding.evaluation.sessions import SCHEME_OPEN_STATES, evaluation_scheme, evaluation_view, set_evaluation_scheme
from bidding.evaluation.scoring import COMPREHENSIVE, FORMULA_NAMES, LOWEST_RATIO, MEAN_DEVIATION, METHOD_NAMES
from bidding.opening.proceedings import opening_record, window_closed
from bidding.tender.party_projects import AGENCY_MODES, agency_mode_of, choose_agency_mode, projects_of
from bidding.draws.project_draws import ask_supervisor_for_agency_draw, witness_draw
from bidding.tender.projects import Project, get_project, register_project
from bidding.award.publicity import answer_candidate_objection, objections_of, publicity_of, publish_candidates
from bidding.tender.periods import rule_flag
from bidding.tender.states import STATE_NAMES, TenderState
from bidding.notice.documents import MAX_DOCUMENT_SIZE, DocumentFile, document_version, document_versions
from trading.accounts import User
from trading.audit import AuditEntry, actor_of
from trading.draws import COMMITTED, WITNESS_TENDERING_PARTY, get_draw
from trading.errors import Conflict, DomainError, InvalidInput, NotFound, PermissionDenied
from trading.money import fen_of_yuan, yuan
from trading.organisations import Organisation, Region
from trading.roles import OrgRole, UserRole
from trading.rooms import ROOM_KIND_NAMES, Room, RoomBooking, book_room, describe_period, list_rooms
from trading.rules.catalogue import METHODS
from trading.rules.store import TRADING_CATEGORIES, RuleSetRecord
from trading.timefmt import local_time
from web.core.auth import requires_role
from web.core.errors import status_of
from web.core.forms import FormState, local_moment
from web.core.parameters import RowId
from web.core.state import AppContext
from web.core.files import attachment

parties = requires_role(UserRole.TENDERING_PARTY, UserRole.AGENCY)
# The documents' limit plus room for the other fields and the multipart framing.
UPLOAD_LIMIT = MAX_DOCUMENT_SIZE + 1024 * 1024
# The tender's own steps, as the timeline names them (audit actions on project:{code}).
TIMELINE_ACTIONS = {
    "project.registered": "进场登记", "project.agency_mode": "确定代理方式", "tender.announce": "发布招标公告",
    "tender_documents.published": "发布招标文件", "clarification.published": "发布澄清/修改",
    "tender.open_bidding": "开始投标", "tender.start_opening": "开标", "tender.start_evaluation": "开始评标",
    "tender.fail": "流标", "tender.publish_candidates": "公示中标候选人", "tender.suspend": "暂停招标投标活动",
    "tender.resume": "恢复招标投标活动", "tender.reevaluate": "重新评审", "tender.award": "定标",
    "award.winner_chosen": "招标人确定中标人", "award.notice_issued": "发出中标通知书",
    "tender.record_contract": "登记合同", "tender.close": "结束项目", "tender.terminate": "终止招标",
    "tender.deadline_extended": "投标截止时间顺延", "docs_objection.raised": "收到对招标文件的异议",
    "docs_objection.answered": "答复对招标文件的异议",
}


SCHEME_FIELDS = ("method", "price_points", "price_formula", "k", "deduct_above", "deduct_below", "items")


def _scheme_items(form: FormState) -> list[dict[str, str]]:
    """The scoring items, one a line: a name and its points (「技术方案 60」)."""
    items = []
    for line in str(form.value("items") or "").splitlines():
        line = line.strip()
        if not line:
            continue
        name, _, points = line.replace("：", " ").replace(":", " ").replace("=", " ").rpartition(" ")
        if not name.strip():
            form.error("items", f"评分项「{line}」应写作「名称 分值」，例如「技术方案 60」")
            return []
        items.append({"name": name.strip(), "max_points": points.strip()})
    return items


def scheme_from_form(form: FormState) -> dict[str, Any] | None:
    """The scheme as the API's body takes it, or None with the form's errors."""
    form.required(("method", "评标办法"))
    method = form.value("method")
    if method and method != COMPREHENSIVE:
        return {"method": method}
    form.required(("price_points", "价格分"), ("price_formula", "价格分计算公式"), ("items", "评分项"))
    formula: dict[str, Any] = {"kind": form.value("price_formula")}
    if form.value("price_formula") == MEAN_DEVIATION:
        form.required(("k", "下浮系数 K"), ("deduct_above", "高于基准价每 1% 扣分"),
                      ("deduct_below", "低于基准价每 1% 扣分"))
        formula |= {name: form.value(name) for name in ("k", "deduct_above", "deduct_below")}
    items = _scheme_items(form)
    if not form.ok:
        return None
    return {"method": method, "price_points": form.value("price_points"), "price_formula": formula, "items": items}


def _scheme_refusal(exc: DomainError) -> DomainError:
    """An item's points are refused under「名称.max_points」: on the form, the items field."""
    named = exc.details.get("field") if isinstance(exc.details, dict) else None
    if isinstance(named, str) and named.endswith(".max_points"):
        exc.details["field"] = "items"
    return exc


def scheme_form_of(scheme: Any) -> FormState:
    """The form filled in with the scheme in force (or the usual start)."""
    if scheme is None:
        return FormState.of({"method": COMPREHENSIVE, "price_formula": LOWEST_RATIO})
    data = scheme.to_json()
    formula = data.get("price_formula") or {}
    return FormState.of({"method": data["method"], "price_points": data.get("price_points", ""),
                         "price_formula": formula.get("kind", LOWEST_RATIO), "k": formula.get("k", ""),
                         "deduct_above": formula.get("deduct_above", ""), "deduct_below": formula.get("deduct_below", ""),
                         "items": "\n".join(f"{i['name']} {i['max_points']}" for i in data.get("items", []))})


# ----------------------------------------------------------------------------- shared reads


async def acting_project(session: AsyncSession, code: str, user: User) -> Project:
    """The project, when ``user`` is its tendering party or the agency serving it."""
    project = await get_project(session, code)
    if not await may_publish(session, project, user.role, user.organisation_id):
        raise PermissionDenied(f"项目 {code} 不是本单位招标或代理的项目，无权查看或办理", project=code)
    return project


def method_names() -> dict[str, dict[str, str]]:
    return {category: dict(methods) for category, methods in METHODS.items()}


def method_name(category: str, method: str) -> str:
    return METHODS.get(category, {}).get(method, method)


async def winner_choice_needed(session: AsyncSession, project: Project) -> bool:
    """Whether the tendering party chooses the winner (the first-candidate rule does not apply)."""
    rule_set = await session.get(RuleSetRecord, project.rule_set_id)
    return not rule_flag(rule_set, FIRST_CANDIDATE_RULE)


def next_step(project: Project) -> str:
    """What comes next for the tender, in one line (the detail page says more)."""
    due = local_time(project.next_due_at)
    state = project.state
    if state == TenderState.REGISTERED:
        return "发布招标公告和招标文件"
    if state == TenderState.ANNOUNCED:
        return f"招标文件 {due} 开始发出，届时开始投标" if project.documents_issued_at else "上传招标文件（版本1）"
    if state == TenderState.BIDDING:
        return f"投标截止并开标：{local_time(project.bid_deadline)}；期间答复澄清和异议"
    if state == TenderState.OPENING:
        return "开标中：等待解密时限结束，开标记录随后公开"
    if state == TenderState.EVALUATING:
        return "评标中：等待评标委员会完成评标报告"
    if state == TenderState.PUBLICITY:
        period = f"中标候选人公示至 {due}" if due else "中标候选人公示中"
        return f"{period}；答复对评标结果的异议，确定中标人"
    if state == TenderState.AWARDED:
        return "交易中心发出中标通知书后，登记书面合同"
    if state == TenderState.CONTRACTED:
        return "已登记合同，等待交易中心结束项目"
    if state == TenderState.SUSPENDED:
        return "暂停中：答复异议或等待监督部门处理投诉"
    if state == TenderState.FAILED:
        return "流标：可重新招标"
    return "—"


async def to_do(session: AsyncSession, project: Project, user: User) -> list[tuple[str, str]]:
    """What waits for the tendering party or agency on this project: (text, link)."""
    code, base = project.code, f"/party/projects/{quote(project.code)}"
    items = []
    open_questions = [q for q in await questions_for(session, code, user.role, user.organisation_id)
                      if q["answered_by"] is None]
    if open_questions and project.state in (TenderState.ANNOUNCED, TenderState.BIDDING):
        items.append((f"{len(open_questions)} 个投标人提问待澄清", f"{base}/questions"))
    open_objections = [o for o in await doc_objections_for(session, code, user.role, user.organisation_id)
                       if o["answer"] is None]
    if open_objections:
        items.append((f"{len(open_objections)} 个对招标文件的异议待答复", f"{base}/objections"))
    result_objections = [o for o in await objections_of(session, code) if o["answer"] is None]
    if result_objections:
        items.append((f"{len(result_objections)} 个对评标结果的异议待答复", f"{base}/result"))
    if (project.state in (TenderState.PUBLICITY, TenderState.AWARDED) and await winner_choice_needed(session, project)
            and await session.scalar(select(WinnerChoice.id).where(WinnerChoice.project_id == project.id)) is None):
        items.append(("在中标候选人中确定中标人", f"{base}/result"))
    if project.state == TenderState.AWARDED and await award_notice_of(session, project) is not None:
        items.append(("登记书面合同", f"{base}/result"))
    if user.role == UserRole.TENDERING_PARTY.value:
        agency = await agency_of(session, code)
        if agency.get("awaiting_witness") and agency["witness_role"] == WITNESS_TENDERING_PARTY \
                and not agency["supervisor_asked"]:
            items.append(("为代理机构抽取提供见证值（或请监督人员见证）", base))
    return items


def project_row(project: Project) -> dict[str, Any]:
    return {"code": project.code, "title": project.title, "state": project.state,
            "state_name": STATE_NAMES.get(project.state, project.state),
            "category_name": TRADING_CATEGORIES.get(project.category, project.category),
            "method_name": method_name(project.category, project.method), "estimate": yuan(project.estimate_fen),
            "next_due_at": local_time(project.next_due_at), "bid_deadline": local_time(project.bid_deadline),
            "next_step": next_step(project)}


async def party_workspace(session: AsyncSession, user: User) -> dict[str, Any]:
    """The workspace section of a tendering party or agency: its projects with state and next step."""
    return {"projects": [project_row(p) for p in await projects_of(session, user.role, user.organisation_id)]}


async def timeline(session: AsyncSession, project: Project) -> list[dict[str, Any]]:
    entries = (await session.scalars(select(AuditEntry).where(
        AuditEntry.subject == f"project:{project.code}", AuditEntry.action.in_(list(TIMELINE_ACTIONS)))
        .order_by(AuditEntry.seq))).all()
    return [{"at": local_time(e.at, "%Y-%m-%d %H:%M:%S"), "name": TIMELINE_ACTIONS[e.action],
             "to": STATE_NAMES.get(e.data.get("to"), "") if e.action.startswith("tender.") else "",
             "reason": (e.data.get("facts") or {}).get("reason") if isinstance(e.data.get("facts"), dict) else None}
            for e in entries]


async def deadlines_of(session: AsyncSession, project: Project) -> list[dict[str, Any]]:
    rows = (await session.scalars(select(Deadline).where(Deadline.project_id == project.id)
                                  .order_by(Deadline.due_at))).all()
    return [{"kind_name": DEADLINE_KINDS.get(d.kind, d.kind), "due_at": local_time(d.due_at),
             "provisional": d.provisional and d.met_at is None, "met_at": local_time(d.met_at), "card": d.card,
             "card_name": {"yellow": "黄牌", "red": "红牌"}.get(d.card, "")} for d in rows]


async def bookings_of_project(session: AsyncSession, code: str) -> list[dict[str, Any]]:
    rows = (await session.execute(select(RoomBooking, Room).join(Room, Room.id == RoomBooking.room_id)
                                  .where(RoomBooking.project_code == code, RoomBooking.cancelled_at.is_(None))
                                  .order_by(RoomBooking.during))).all()
    return [{"id": b.id, "room": r.code, "room_name": r.name, "kind_name": r.kind_name, "location": r.location,
             "purpose": b.purpose, "period": describe_period(b.starts_at, b.ends_at)} for b, r in rows]


async def agency_of(session: AsyncSession, code: str) -> dict[str, Any]:
    """Who serves the project: the drawn agency, a draw awaiting its witness (whose), or none yet."""
    mode = await agency_mode_of(session, code)
    try:
        assignment = await agency_assignment(session, code)
    except NotFound:
        return {"mode": mode, "mode_name": AGENCY_MODES.get(mode, "未记录"), "drawn": False, "name": None}
    draw = await get_draw(session, assignment.draw_id)
    return {"mode": mode, "mode_name": AGENCY_MODES.get(mode, "未记录"), "drawn": True, "draw_id": assignment.draw_id,
            "name": assignment.agency.name if assignment.agency else None, "declined": assignment.declined,
            "awaiting_witness": draw.status == COMMITTED, "witness_role": draw.witness_role,
            "supervisor_asked": draw.witness_asked_by is not None}


def local_iso(text: str | None) -> str:
    """An ISO 8601 instant from a service's view, in the center's time."""
    return local_time(datetime.fromisoformat(text)) if text else ""


def _text(form: Any, name: str) -> str:
    value = form.get(name)
    return value if isinstance(value, str) else ""


async def _upload(form: Any, name: str = "file") -> DocumentFile | None:
    upload = form.get(name)
    if not isinstance(upload, UploadFile):
        return None
    content = await upload.read()
    if not upload.filename and not content:
        return None
    return DocumentFile(filename=upload.filename or "", content=content,
                        media_type=upload.content_type or "application/octet-stream")


def _with_field(exc: DomainError, default: str) -> DomainError:
    """Give a refusal without a field the form field it is about."""
    if not isinstance(exc.details, dict) or not exc.details.get("field"):
        exc.details = {**(exc.details if isinstance(exc.details, dict) else {}), "field": default}
    return exc


# ----------------------------------------------------------------------------- pages


class PartyPageController(Controller):
    path = "/party"
    include_in_schema = False
    guards = [parties]

    # ------------------------------------------------------------------ projects and registration

    @get("/projects", name="party.projects")
    async def projects(self, user: User, session: AsyncSession, registered: str | None = None) -> Template:
        return Template("party/projects.html", context={
            **await party_workspace(session, user), "registered": registered})

    async def _register_choices(self, session: AsyncSession, user: User) -> dict[str, Any]:
        parties_query = select(Organisation).where(Organisation.roles.contains([OrgRole.TENDERING_PARTY.value]))
        if user.role == UserRole.TENDERING_PARTY.value:
            parties_query = parties_query.where(Organisation.id == user.organisation_id)
        regions = (await session.scalars(select(Region).order_by(Region.code))).all()
        return {"categories": TRADING_CATEGORIES, "methods": method_names(), "agency_modes": AGENCY_MODES,
                "parties": (await session.scalars(parties_query.order_by(Organisation.name))).all(),
                "regions": regions}

    @get("/projects/new", name="party.register_form")
    async def register_form(self, user: User, session: AsyncSession) -> Template:
        choices = await self._register_choices(session, user)
        own = await session.get(Organisation, user.organisation_id) if user.organisation_id else None
        form = FormState.of({"region_code": own.region_code if own else "", "agency_mode": "draw",
                             "tendering_party": own.credit_code if own and user.role == "tendering_party" else ""})
        return Template("party/register.html", context={**choices, "form": form})

    @post("/projects", name="party.register")
    async def register(self, request: Request, user: User, session: AsyncSession) -> Template | Redirect:
        raw = await request.form()
        names = ("code", "title", "category", "method", "region_code", "tendering_party", "estimate", "agency_mode")
        form = FormState.of({name: _text(raw, name).strip() for name in names})
        form.required(("code", "项目编号"), ("title", "项目名称"), ("category", "交易类别"), ("method", "交易方式"),
                      ("region_code", "项目所在地"), ("tendering_party", "招标人"), ("estimate", "估算价/预算金额"),
                      ("agency_mode", "代理方式"))
        category, method = form.value("category"), form.value("method")
        if category and method and method not in METHODS.get(category, {}):
            form.error("method", f"「{TRADING_CATEGORIES.get(category, category)}」没有交易方式「{method}」")
        estimate_fen = None
        if form.value("estimate"):
            try:
                estimate_fen = fen_of_yuan(form.value("estimate"), field="estimate", label="估算价/预算金额")
            except InvalidInput as exc:
                form.refuse(exc)
        party = None
        if form.value("tendering_party"):
            party = await session.scalar(select(Organisation).where(
                Organisation.credit_code == form.value("tendering_party")))
            if party is None:
                form.error("tendering_party", f"未找到招标人 {form.value('tendering_party')}")
            elif user.role == UserRole.TENDERING_PARTY.value and party.id != user.organisation_id:
                form.error("tendering_party", "招标人只能为本单位登记项目")
        if form.ok:
            try:
                project = await register_project(
                    session, actor=actor_of(user), code=form.value("code"), title=form.value("title"),
                    category=category, method=method, region_code=form.value("region_code"),
                    tendering_party_id=party.id, estimate_fen=estimate_fen)
                await choose_agency_mode(session, actor=actor_of(user), project=project,
                                         mode=form.value("agency_mode"))
            except DomainError as exc:
                await session.rollback()
                if isinstance(exc, NotFound) and exc.details.get("method"):
                    exc = _with_field(exc, "method")  # no rule set in force for the pair
                if isinstance(exc.details, dict) and exc.details.get("field") == "tendering_party_id":
                    exc.details["field"] = "tendering_party"
                if isinstance(exc.details, dict) and exc.details.get("field") == "estimate_fen":
                    exc.details["field"] = "estimate"
                form.refuse(exc)
        if not form.ok:
            return Template("party/register.html", status_code=400,
                            context={**await self._register_choices(session, user), "form": form})
        await session.commit()
        if await may_publish(session, project, user.role, user.organisation_id):
            return Redirect(f"/party/projects/{quote(project.code)}")
        # An agency acts for a project only once the center's draw names it.
        return Redirect(f"/party/projects?registered={quote(project.code)}")

    # ------------------------------------------------------------------ one project

    async def _project_context(self, session: AsyncSession, project: Project, user: User) -> dict[str, Any]:
        rule_set = await session.get(RuleSetRecord, project.rule_set_id)
        party = await session.get(Organisation, project.tendering_party_id)
        return {"project": project, "row": project_row(project), "party": party,
                "rule_set": f"{rule_set.code}@{rule_set.version}", "rule_set_title": rule_set.title,
                "agency": await agency_of(session, project.code), "is_agency": user.role == UserRole.AGENCY.value,
                "local": local_iso}

    @get("/projects/{code:str}", name="party.project")
    async def project(self, code: str, user: User, session: AsyncSession) -> Template:
        return await self._overview(session, await acting_project(session, code, user), user)

    async def _overview(self, session: AsyncSession, project: Project, user: User,
                        forms: dict[str, FormState] | None = None, status: int = 200) -> Template:
        code = project.code
        notice = await award_notice_of(session, project)
        scheme = await evaluation_scheme(session, code)
        forms = forms or {}
        return Template("party/project.html", status_code=status, context={
            "scheme": scheme.to_json() if scheme else None, "may_set_scheme": project.state in SCHEME_OPEN_STATES,
            "scheme_form": forms.get("scheme") or scheme_form_of(scheme), "method_names": METHOD_NAMES,
            "formula_names": FORMULA_NAMES,
            "todo": await to_do(session, project, user),
            **await self._project_context(session, project, user), "forms": forms, "empty_form": FormState(),
            "timeline": await timeline(session, project), "deadlines": await deadlines_of(session, project),
            "versions": await document_versions(session, code), "bookings": await bookings_of_project(session, code),
            "notice": notice, "opening_public": await window_closed(session, code)})

    @post("/projects/{code:str}/agency/decline", name="party.decline_agency")
    async def decline_agency(self, code: str, request: Request, user: User, session: AsyncSession,
                             ) -> Template | Redirect:
        await acting_project(session, code, user)  # its own project, or refused
        if user.role != UserRole.TENDERING_PARTY.value:
            raise PermissionDenied("只有本项目的招标人可以拒绝抽中的代理机构")
        form = FormState.of({"reason": _text(await request.form(), "reason")})
        form.required(("reason", "拒绝理由"))
        await form.attempt(session, lambda: decline_agency(
            session, actor=actor_of(user), project_code=code, reason=form.value("reason")))
        if not form.ok:
            return await self._overview(session, await get_project(session, code), user, {"decline": form}, 400)
        await session.commit()
        return Redirect(f"/party/projects/{quote(code)}")

    @post("/projects/{code:str}/agency/witness", name="party.witness_agency_draw")
    async def witness_agency_draw(self, code: str, request: Request, user: User, session: AsyncSession,
                                  context: AppContext) -> Template | Redirect:
        """The tendering party's own witness value for its agency draw (sealed-draw/1 step 3)."""
        await acting_project(session, code, user)
        form = FormState.of({"value": _text(await request.form(), "value")})
        form.required(("value", "见证值"))
        if not form.ok:
            return await self._overview(session, await get_project(session, code), user, {"witness": form}, 400)
        draw_id = (await agency_assignment(session, code)).draw_id
        return await self._witness_step(session, code, user, form, lambda: witness_draw(
            session, context.keys, draw_id=draw_id, value=form.value("value"), user=user))

    @post("/projects/{code:str}/agency/witness-request", name="party.ask_supervisor_witness")
    async def ask_supervisor_witness(self, code: str, user: User, session: AsyncSession) -> Template | Redirect:
        """The tendering party asks a supervisor to witness its agency draw instead."""
        await acting_project(session, code, user)
        return await self._witness_step(session, code, user, FormState(), lambda: ask_supervisor_for_agency_draw(
            session, project_code=code, user=user))

    async def _witness_step(self, session: AsyncSession, code: str, user: User, form: FormState,
                            act) -> Template | Redirect:
        try:
            await act()
        except DomainError as exc:
            await session.rollback()
            form.refuse(exc)
            return await self._overview(session, await get_project(session, code), user, {"witness": form},
                                        status_of(exc))
        await session.commit()
        return Redirect(f"/party/projects/{quote(code)}")

    @post("/projects/{code:str}/evaluation-scheme", name="party.evaluation_scheme")
    async def evaluation_scheme(self, code: str, request: Request, user: User, session: AsyncSession,
                                ) -> Template | Redirect:
        """The evaluation scheme (评标办法), as the API's PUT …/evaluation/scheme."""
        await acting_project(session, code, user)
        raw = await request.form()
        form = FormState.of({name: str(raw.get(name) or "").strip() for name in SCHEME_FIELDS})
        scheme = scheme_from_form(form)
        status = 400
        if scheme is not None:
            try:
                await set_evaluation_scheme(session, actor=actor_of(user), project_code=code, scheme=scheme)
            except DomainError as exc:
                await session.rollback()
                form.refuse(_scheme_refusal(exc))
                status = status_of(exc)
        if not form.ok:
            return await self._overview(session, await get_project(session, code), user, {"scheme": form}, status)
        await session.commit()
        return Redirect(f"/party/projects/{quote(code)}")

    # ------------------------------------------------------------------ announcement and documents

    @get("/projects/{code:str}/announce", name="party.announce_form")
    async def announce_form(self, code: str, user: User, session: AsyncSession) -> Template:
        project = await acting_project(session, code, user)
        form = FormState.of({"title": f"{project.title}招标公告"})
        return Template("party/announce.html", context={**await self._project_context(session, project, user),
                                                         "form": form, "max_mib": MAX_DOCUMENT_SIZE // 2 ** 20})

    @post("/projects/{code:str}/announce", name="party.announce", request_max_body_size=UPLOAD_LIMIT)
    async def announce(self, code: str, request: Request, user: User, session: AsyncSession,
                       context: AppContext) -> Template | Redirect:
        project = await acting_project(session, code, user)
        raw = await request.form()
        form = FormState.of({name: _text(raw, name) for name in ("title", "body", "bid_deadline")})
        form.required(("title", "公告标题"), ("bid_deadline", "投标截止时间"))
        document = await _upload(raw)
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
                    exc = _with_field(exc, "bid_deadline")
                form.refuse(exc)
        if not form.ok:
            project = await get_project(session, code)
            return Template("party/announce.html", status_code=400, context={
                **await self._project_context(session, project, user), "form": form,
                "max_mib": MAX_DOCUMENT_SIZE // 2 ** 20})
        await session.commit()
        return Redirect(f"/party/projects/{quote(code)}")

    async def _documents_page(self, session: AsyncSession, project: Project, user: User, form: FormState,
                              status: int = 200) -> Template:
        return Template("party/documents.html", status_code=status, context={
            **await self._project_context(session, project, user), "form": form,
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
        form = FormState.of({name: _text(raw, name) for name in ("title", "body")})
        document = await _upload(raw)
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
        clarifications = (await session.scalars(select(Clarification).where(Clarification.project_id == project.id)
                                                .order_by(Clarification.id))).all()
        return Template("party/questions.html", status_code=status, context={
            **await self._project_context(session, project, user), "form": form,
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
        form = FormState.of({"title": _text(raw, "title"), "body": _text(raw, "body"), "answers": answers})
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
                    exc = _with_field(exc, "answers")
                form.refuse(exc)
        if not form.ok:
            return await self._questions_page(session, await get_project(session, code), user, form, 400)
        await session.commit()
        return Redirect(f"/party/projects/{quote(code)}/questions")

    # ------------------------------------------------------------------ objections to the documents

    async def _objections_page(self, session: AsyncSession, project: Project, user: User,
                               forms: dict[int, FormState] | None = None, status: int = 200) -> Template:
        return Template("party/objections.html", status_code=status, context={
            **await self._project_context(session, project, user), "forms": forms or {}, "empty_form": FormState(),
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
        form = FormState.of({name: _text(raw, name) for name in ("answer", "change_title", "change_body")})
        form.required(("answer", "答复内容"))
        document = await _upload(raw)
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

    # ------------------------------------------------------------------ rooms

    @get("/projects/{code:str}/rooms", name="party.rooms")
    async def rooms(self, code: str, user: User, session: AsyncSession) -> Template:
        project = await acting_project(session, code, user)
        return await room_page(session, "party/rooms.html", project, user, FormState.of({"purpose": "开标"}),
                               extra=await self._project_context(session, project, user))

    @post("/projects/{code:str}/rooms", name="party.book_room")
    async def book(self, code: str, request: Request, user: User, session: AsyncSession) -> Template | Redirect:
        project = await acting_project(session, code, user)
        if user.role != UserRole.AGENCY.value:
            # As in the API: the center and agencies book rooms (统一设施配备).
            raise PermissionDenied("场地由交易中心或项目的代理机构预约；自行招标的项目请联系交易中心预约")
        form = await book_from_form(session, await request.form(), project, user)
        if not form.ok:
            project = await get_project(session, code)  # read again after the rollback
            return await room_page(session, "party/rooms.html", project, user, form, status=409 if any(
                "已被预约" in message for message in form.errors.values()) else 400,
                extra=await self._project_context(session, project, user))
        await session.commit()
        return Redirect(f"/party/projects/{quote(code)}/rooms")

    # ------------------------------------------------------------------ opening, report, result

    @get("/projects/{code:str}/opening", name="party.opening")
    async def opening(self, code: str, user: User, session: AsyncSession) -> Template:
        project = await acting_project(session, code, user)
        record, message = None, None
        try:
            record = await opening_record(session, code)
        except NotFound:
            message = "尚未开标。"
        if record is not None and not await window_closed(session, code):
            # As in the API: before the decryption window ends only supervisors see the record.
            record, message = None, "解密时限结束前，开标记录仅供监督人员查看；时限结束后在此公开。"
        return Template("party/opening.html", context={
            **await self._project_context(session, project, user), "record": record, "message": message})

    async def _result_page(self, session: AsyncSession, project: Project, user: User,
                           forms: dict[str, FormState] | None = None, status: int = 200) -> Template:
        code = project.code
        evaluation = None
        try:
            evaluation = await evaluation_view(session, code, role=user.role, party=True)
        except (NotFound, PermissionDenied):
            evaluation = None
        publicity = None
        try:
            publicity = await publicity_of(session, code)
        except Conflict:
            publicity = None
        choice = await session.scalar(select(WinnerChoice).where(WinnerChoice.project_id == project.id))
        candidates = await ranked_candidates(session, project.id)
        chosen_rank = next((c.rank for c in candidates if choice is not None and c.id == choice.candidate_id), None)
        contract = await contract_of(session, code)
        notice = await award_notice_of(session, project)
        forms = dict(forms or {})
        if "choice" not in forms and choice is not None:  # the choice so far, to change it
            forms["choice"] = FormState.of({"rank": str(chosen_rank or ""), "reason": choice.reason})
        return Template("party/result.html", status_code=status, context={
            **await self._project_context(session, project, user), "evaluation": evaluation,
            "publicity": publicity, "choice": choice, "chosen_rank": chosen_rank,
            "choice_needed": await winner_choice_needed(session, project),
            "objections": await objections_of(session, code), "notice": notice, "contract": contract,
            "forms": forms, "empty_form": FormState(),
            "candidate_options": [(str(c["rank"]), f"第{c['rank']}名 {c['name']}（报价 {yuan(c['price_fen'])} 元）")
                                  for c in (publicity or {}).get("candidates", [])],
            "can_publish": user.role == UserRole.AGENCY.value and project.state == TenderState.EVALUATING
            and evaluation is not None and evaluation.get("report") is not None,
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
        if user.role != UserRole.AGENCY.value:
            # As in the API: the center or the agency publishes the candidates.
            raise PermissionDenied("中标候选人由交易中心或项目的代理机构公示")
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
        form = FormState.of({"rank": _text(raw, "rank"), "reason": _text(raw, "reason")})
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
                    exc = _with_field(exc, "rank")
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
        form = FormState.of({"answer": _text(await request.form(), "answer")})
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
        form = FormState.of({name: _text(raw, name).strip() for name in
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
                    exc = _with_field(exc, "amount_reason")
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


# ----------------------------------------------------------------------------- shared with the center's pages


def notice_pdf(notice: Any) -> Response[bytes]:
    return Response(notice.pdf, media_type="application/pdf",
                    headers={"Content-Disposition": attachment(f"{notice.number}.pdf"),
                             "X-Content-SHA256": notice.pdf_sha256})


async def room_page(session: AsyncSession, template: str, project: Project, user: User, form: FormState, *,
                    status: int = 200, extra: dict[str, Any] | None = None) -> Template:
    rooms = await list_rooms(session)
    return Template(template, status_code=status, context={
        **(extra or {}), "project": project, "form": form, "bookings": await bookings_of_project(session, project.code),
        "rooms": [(room.code, f"{room.name}（{room.kind_name}，{room.capacity}人，{room.location}）") for room in rooms],
        "kinds": ROOM_KIND_NAMES, "can_book": user.role in (UserRole.AGENCY.value, UserRole.ADMIN.value)})


async def book_from_form(session: AsyncSession, raw: Any, project: Project, user: User) -> FormState:
    """Book a room for the project from the form; refusals sit beside their fields (a clash beside the start)."""
    form = FormState.of({name: _text(raw, name).strip() for name in ("room", "purpose", "starts_at", "ends_at")})
    form.required(("room", "场地"), ("purpose", "用途"), ("starts_at", "开始时间"), ("ends_at", "结束时间"))
    moments = {}
    for name, label in (("starts_at", "开始时间"), ("ends_at", "结束时间")):
        if form.value(name):
            try:
                moments[name] = local_moment(form.value(name), field=name, label=label)
            except InvalidInput as exc:
                form.refuse(exc)
    if form.ok:
        try:
            await book_room(session, actor=actor_of(user), room_code=form.value("room"), purpose=form.value("purpose"),
                            project_code=project.code, starts_at=moments["starts_at"], ends_at=moments["ends_at"])
        except DomainError as exc:
            await session.rollback()
            if "结束时间" in exc.message:
                exc = _with_field(exc, "ends_at")
            elif exc.details.get("booking") or exc.details.get("starts_at"):
                exc = _with_field(exc, "starts_at")  # a clash, or a time already past
            elif exc.details.get("room"):
                exc = _with_field(exc, "room")
            form.refuse(exc)
    return form

