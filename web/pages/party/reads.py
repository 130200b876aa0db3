"""What the tendering party's and the agency's pages (web/pages/party/) read and show: the
project the user acts for (its own, or one it serves as agency; any other is refused), a
project's row, next step, to-do list, timeline, deadlines, bookings and agency; the award
notice's PDF and the rooms page, which the center's tender pages show too."""

from __future__ import annotations

from bidding.award.award_notice import CHOICE_STATES, winner_choice_of
from bidding.notice.clarifications import OPEN_STATES as QUESTION_STATES
from bidding.tender.party_projects import check_acts_for
from bidding.reading.step_offers import may_record_contract
from bidding.tender.offers import offered_actions
from trading.rooms import bookings_of_project as project_bookings
from datetime import datetime
from typing import Any
from urllib.parse import quote

from litestar import Response
from litestar.response import Template
from sqlalchemy.ext.asyncio import AsyncSession

from agency_pool.draws import agency_assignment
from bidding.award.award_notice import FIRST_CANDIDATE_RULE, award_notice_of
from bidding.notice.clarifications import questions_for
from bidding.tender.deadlines import DEADLINE_KINDS, deadlines_of as project_deadlines
from bidding.notice.objections import doc_objections_for
from bidding.tender.party_projects import AGENCY_MODES, agency_mode_of, projects_of
from bidding.tender.projects import Project, get_project
from bidding.award.publicity import objections_of
from bidding.tender.periods import rule_flag
from bidding.tender.states import STATE_NAMES, TenderState
from trading.accounts import User
from trading.draws import COMMITTED, WITNESS_TENDERING_PARTY, get_draw
from trading.errors import NotFound
from trading.money import yuan
from trading.organisations import Organisation
from trading.roles import UserRole
from trading.rooms import ROOM_KIND_NAMES, describe_period, list_rooms
from trading.rules.catalogue import METHODS
from trading.rules.store import TRADING_CATEGORIES, RuleSetRecord
from trading.timefmt import local_time
from web.core.auth import requires_role
from web.core.forms import FormState
from web.core.files import attachment

parties = requires_role(UserRole.TENDERING_PARTY, UserRole.AGENCY)


async def acting_project(session: AsyncSession, code: str, user: User) -> Project:
    """The project, when ``user`` is its tendering party or the agency serving it."""
    return await check_acts_for(session, await get_project(session, code), user.role, user.organisation_id)


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
    if open_questions and project.state in QUESTION_STATES:
        items.append((f"{len(open_questions)} 个投标人提问待澄清", f"{base}/questions"))
    open_objections = [o for o in await doc_objections_for(session, code, user.role, user.organisation_id)
                       if o["answer"] is None]
    if open_objections:
        items.append((f"{len(open_objections)} 个对招标文件的异议待答复", f"{base}/objections"))
    result_objections = [o for o in await objections_of(session, code) if o["answer"] is None]
    if result_objections:
        items.append((f"{len(result_objections)} 个对评标结果的异议待答复", f"{base}/result"))
    if (project.state in CHOICE_STATES and await winner_choice_needed(session, project)
            and await winner_choice_of(session, project) is None):
        items.append(("在中标候选人中确定中标人", f"{base}/result"))
    if may_record_contract(project, user.role, await award_notice_of(session, project)):
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


async def deadlines_of(session: AsyncSession, project: Project) -> list[dict[str, Any]]:
    rows = await project_deadlines(session, project)
    return [{"kind_name": DEADLINE_KINDS.get(d.kind, d.kind), "due_at": local_time(d.due_at),
             "provisional": d.provisional and d.met_at is None, "met_at": local_time(d.met_at), "card": d.card,
             "card_name": {"yellow": "黄牌", "red": "红牌"}.get(d.card, "")} for d in rows]


async def bookings_of_project(session: AsyncSession, code: str) -> list[dict[str, Any]]:
    return [{"id": b.id, "room": r.code, "room_name": r.name, "kind_name": r.kind_name, "location": r.location,
             "purpose": b.purpose, "period": describe_period(b.starts_at, b.ends_at)}
            for b, r in ((row.booking, row.room) for row in await project_bookings(session, code))]


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


async def project_context(session: AsyncSession, project: Project, user: User) -> dict[str, Any]:
    """What every page of one project shows: the project, its party, rule set and agency."""
    rule_set = await session.get(RuleSetRecord, project.rule_set_id)
    party = await session.get(Organisation, project.tendering_party_id)
    return {"project": project, "row": project_row(project), "party": party,
            "rule_set": f"{rule_set.code}@{rule_set.version}", "rule_set_title": rule_set.title,
            "agency": await agency_of(session, project.code), "is_agency": user.role == UserRole.AGENCY.value,
            "offered": offered_actions(project, user.role), "documents_open": project.state in QUESTION_STATES,
            "local": local_iso}


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
