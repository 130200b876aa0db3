"""The center's (交易中心) steps in one tender, under ``/center/tenders``: the agency draw
(统一中介机构抽取), room bookings (统一设施配备), the committee request (评标委员会组建),
the end of the opening, the start of the evaluation session, the candidate publicity, and the award
notice (统一发放中标通知书: only the center issues it) with its signed PDF and the result
notices sent to the other bidders. Administrators only, as in the JSON API.
"""

from __future__ import annotations

from urllib.parse import quote

from litestar import Controller, Request, Response, get, post
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from bidding.notice.announcements import latest_announcement
from bidding.award.award_notice import award_notice_of, issue_award_notice, result_notices
from bidding.award.notice_pdf import BASIS_NAMES
from bidding.award.contracts import contract_of
from bidding.evaluation.sitting import start_evaluation_session
from bidding.opening.proceedings import finish_opening
from bidding.reading.step_offers import center_offers
from bidding.reading.timeline import timeline
from bidding.tender.party_projects import DRAW, agency_mode_of
from bidding.draws.project_draws import draw_project_agency, request_project_committee
from bidding.tender.projects import get_project, recent_projects
from bidding.award.publicity import publicity_of, publish_candidates
from expert_pool.committees import GroupSpec, current_committee_request
from trading.accounts import User
from trading.audit import actor_of
from trading.errors import Conflict, DomainError, NotFound
from trading.money import yuan
from trading.organisations import Organisation
from trading.roles import UserRole
from trading.timefmt import local_time
from web.core.auth import requires_role
from web.core.errors import status_of
from web.core.forms import FormState, form_values, local_moment
from web.pages.party.forms import book_from_form
from web.pages.party.reads import agency_of, local_iso, notice_pdf, project_row, room_page
from web.core.state import AppContext

center_only = requires_role(UserRole.ADMIN)
COMMITTEE_FIELDS = ("evaluation_starts_at", "evaluation_ends_at", "place", "specialty", "count", "reserve_count", "representatives")


def _count(form: FormState, name: str, label: str, low: int, high: int) -> int | None:
    text = str(form.value(name) or "").strip()
    if not text.isdigit() or not low <= int(text) <= high:
        form.error(name, f"{label}应为 {low} 至 {high} 的整数")
        return None
    return int(text)


def _committee_guess(exc: DomainError) -> str | None:
    return "specialty" if "专业" in exc.message else None


class CenterTenderController(Controller):
    path = "/center/tenders"
    include_in_schema = False
    guards = [center_only]

    @get("/", name="center_tender.tenders")
    async def index(self, session: AsyncSession) -> Template:
        projects = await recent_projects(session, limit=200)
        return Template("center_tender/index.html", context={"projects": [project_row(p) for p in projects]})

    async def _page(self, session: AsyncSession, code: str, user: User, forms: dict[str, FormState] | None = None,
                    status: int = 200) -> Template:
        project = await get_project(session, code)
        notice = await award_notice_of(session, project)
        publicity = None
        try:
            publicity = await publicity_of(session, code)
        except Conflict:
            publicity = None
        result = None
        if notice is not None:
            result = await latest_announcement(session, project, "result")
        forms = forms or {}
        committee = await current_committee_request(session, code)
        offers = await center_offers(session, project, user.role, committee=committee, notice=notice)
        context = await room_page(session, "center_tender/tender.html", project, user,
                                  forms.get("room") or FormState.of({"purpose": "开标"}), status=status)
        context.context.update({
            "row": project_row(project), "party": await session.get(Organisation, project.tendering_party_id),
            "agency": await agency_of(session, code), "agency_mode": await agency_mode_of(session, code),
            "draw_mode": DRAW, "timeline": await timeline(session, project), "publicity": publicity,
            "notice": notice, "notice_basis": BASIS_NAMES.get(notice.record["basis"]) if notice else None,
            "notice_price": yuan(notice.price_fen) if notice else None,
            "notice_issued": local_time(notice.issued_at) if notice else None,
            "result_notices": await result_notices(session, notice) if notice else [],
            "result_announcement": result, "contract": await contract_of(session, code), "forms": forms, "local": local_iso,
            "may_issue": offers.issue_award_notice, "may_publish": offers.publish_candidates,
            "committee": committee, "committee_form": forms.get("committee") or FormState.of({"count": "5",
                                                                                            "reserve_count": "1",
                                                                                            "representatives": "0"}),
            "may_request_committee": offers.request_committee, "may_finish_opening": offers.finish_opening,
            "may_start_evaluation": offers.start_evaluation, "evaluation_running": offers.evaluation_running})
        return context

    @get("/{code:str}", name="center_tender.tender")
    async def tender(self, code: str, user: User, session: AsyncSession) -> Template:
        return await self._page(session, code, user)

    async def _act(self, session: AsyncSession, code: str, user: User, name: str, act) -> Template | Redirect:
        try:
            await act()
        except DomainError as exc:
            await session.rollback()
            form = FormState()
            form.refuse(exc)
            return await self._page(session, code, user, {name: form}, status_of(exc))
        await session.commit()
        return Redirect(f"/center/tenders/{quote(code)}")

    @post("/{code:str}/agency-draw", name="center_tender.agency_draw")
    async def agency_draw(self, code: str, user: User, session: AsyncSession, context: AppContext,
                          ) -> Template | Redirect:
        await get_project(session, code)
        return await self._act(session, code, user, "agency", lambda: draw_project_agency(
            session, context.keys, actor=actor_of(user), project_code=code))

    @post("/{code:str}/rooms", name="center_tender.book_room")
    async def book(self, code: str, request: Request, user: User, session: AsyncSession) -> Template | Redirect:
        project = await get_project(session, code)
        form = await book_from_form(session, await request.form(), project, user)
        if not form.ok:
            clash = any("已被预约" in message for message in form.errors.values())
            return await self._page(session, code, user, {"room": form}, 409 if clash else 400)
        await session.commit()
        return Redirect(f"/center/tenders/{quote(code)}")

    @post("/{code:str}/committee", name="center_tender.request_committee")
    async def committee(self, code: str, request: Request, user: User, session: AsyncSession,
                        context: AppContext) -> Template | Redirect:
        """The committee request, as the API's POST /api/committees/ (one specialty group)."""
        await get_project(session, code)
        form = FormState.of({name: value for name, value in (await form_values(request)).items()
                             if name in COMMITTEE_FIELDS})
        form.required(("evaluation_starts_at", "评标开始时间"), ("evaluation_ends_at", "评标结束时间"), ("place", "评标地点"),
                      ("specialty", "专业类别"))
        starts_at = form.read(local_moment, "evaluation_starts_at", "评标开始时间")
        ends_at = form.read(local_moment, "evaluation_ends_at", "评标结束时间")
        count = _count(form, "count", "抽取人数", 1, 50)
        reserves = _count(form, "reserve_count", "备选人数", 0, 50)
        representatives = _count(form, "representatives", "招标人代表人数", 0, 10)
        if len(str(form.value("place"))) > 200:
            form.error("place", "评标地点不超过200个字符")
        if starts_at and ends_at and ends_at <= starts_at:
            form.error("evaluation_ends_at", "评标结束时间应晚于开始时间")
        if form.ok:
            try:
                await request_project_committee(
                    session, context.keys, actor=actor_of(user), project_code=code, starts_at=starts_at,
                    ends_at=ends_at, place=form.value("place"), representatives=representatives,
                    groups=[GroupSpec(form.value("specialty"), count, reserves)])
            except DomainError as exc:
                await session.rollback()
                form.refuse(exc, _committee_guess, {"starts_at": "evaluation_starts_at",
                                                    "ends_at": "evaluation_ends_at"})
        if not form.ok:
            return await self._page(session, code, user, {"committee": form}, 400)
        await session.commit()
        return Redirect(f"/center/tenders/{quote(code)}")

    @post("/{code:str}/opening/finish", name="center_tender.finish_opening")
    async def finish(self, code: str, user: User, session: AsyncSession, context: AppContext) -> Template | Redirect:
        await get_project(session, code)
        return await self._act(session, code, user, "opening", lambda: finish_opening(
            session, actor=actor_of(user), project_code=code, keys=context.keys))

    @post("/{code:str}/evaluation", name="center_tender.start_evaluation")
    async def start_evaluation(self, code: str, user: User, session: AsyncSession,
                               context: AppContext) -> Template | Redirect:
        await get_project(session, code)
        return await self._act(session, code, user, "evaluation", lambda: start_evaluation_session(
            session, context.keys, actor=actor_of(user), project_code=code))

    @post("/{code:str}/publicity", name="center_tender.publish_candidates")
    async def publish(self, code: str, user: User, session: AsyncSession) -> Template | Redirect:
        await get_project(session, code)
        return await self._act(session, code, user, "publicity", lambda: publish_candidates(
            session, actor=actor_of(user), project_code=code))

    @post("/{code:str}/award-notice", name="center_tender.issue_award_notice")
    async def issue(self, code: str, user: User, session: AsyncSession, context: AppContext) -> Template | Redirect:
        await get_project(session, code)
        return await self._act(session, code, user, "notice", lambda: issue_award_notice(
            session, context.keys, actor=actor_of(user), project_code=code, public_url=context.settings.public_url))

    @get("/{code:str}/award-notice.pdf", name="center_tender.award_notice_pdf")
    async def pdf(self, code: str, session: AsyncSession) -> Response[bytes]:
        notice = await award_notice_of(session, await get_project(session, code))
        if notice is None:
            raise NotFound(f"项目 {code} 尚未发出中标通知书", project_code=code)
        return notice_pdf(notice)
