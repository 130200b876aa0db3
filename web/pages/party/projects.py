"""The party's projects (/party/projects): the list, registration (进场登记), one project's
overview with its agency (declining it, witnessing its draw), the evaluation scheme, and
room bookings (the agency, as in the API)."""

from __future__ import annotations

from bidding.reading.timeline import timeline
from bidding.tender.party_projects import acts_for, registering_party, registrable_parties
from bidding.opening.visibility import may_read_opening_record
from typing import Any
from urllib.parse import quote

from litestar import Controller, Request, get, post
from litestar.response import Redirect, Template
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from agency_pool.draws import agency_assignment, decline_agency
from bidding.award.award_notice import award_notice_of
from bidding.evaluation.scheme import SCHEME_OPEN_STATES, evaluation_scheme, set_evaluation_scheme
from bidding.evaluation.scoring import FORMULA_NAMES, METHOD_NAMES
from bidding.tender.party_projects import AGENCY_MODES, choose_agency_mode
from bidding.draws.project_draws import ask_supervisor_for_agency_draw, witness_draw
from bidding.tender.projects import Project, get_project, register_project
from bidding.notice.documents import document_versions
from trading.accounts import User
from trading.audit import actor_of
from trading.errors import DomainError, InvalidInput, NotFound, PermissionDenied
from trading.money import fen_of_yuan
from trading.organisations import Organisation, Region
from trading.roles import UserRole
from trading.rules.catalogue import METHODS
from trading.rules.store import TRADING_CATEGORIES
from web.core.errors import status_of
from web.core.forms import FormState
from web.core.state import AppContext
from web.pages.party.forms import (
    SCHEME_FIELDS,
    scheme_from_form,
    scheme_refusal,
    scheme_form_of,
    form_text,
    with_field,
    book_from_form,
)
from web.pages.party.reads import (
    parties,
    acting_project,
    method_names,
    to_do,
    party_workspace,
    deadlines_of,
    bookings_of_project,
    project_context,
    room_page,
)


class PartyProjectController(Controller):
    path = "/party"
    include_in_schema = False
    guards = [parties]

    # ------------------------------------------------------------------ projects and registration

    @get("/projects", name="party.projects")
    async def projects(self, user: User, session: AsyncSession, registered: str | None = None) -> Template:
        return Template("party/projects.html", context={
            **await party_workspace(session, user), "registered": registered})

    async def _register_choices(self, session: AsyncSession, user: User) -> dict[str, Any]:
        regions = (await session.scalars(select(Region).order_by(Region.code))).all()
        return {"categories": TRADING_CATEGORIES, "methods": method_names(), "agency_modes": AGENCY_MODES,
                "parties": await registrable_parties(session, user.role, user.organisation_id), "regions": regions}

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
        form = FormState.of({name: form_text(raw, name).strip() for name in names})
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
            try:
                party = await registering_party(session, form.value("tendering_party"), role=user.role,
                                                organisation_id=user.organisation_id)
            except DomainError as exc:
                form.refuse(exc, aliases={"tendering_party_credit_code": "tendering_party"})
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
                    exc = with_field(exc, "method")  # no rule set in force for the pair
                if isinstance(exc.details, dict) and exc.details.get("field") == "tendering_party_id":
                    exc.details["field"] = "tendering_party"
                if isinstance(exc.details, dict) and exc.details.get("field") == "estimate_fen":
                    exc.details["field"] = "estimate"
                form.refuse(exc)
        if not form.ok:
            return Template("party/register.html", status_code=400,
                            context={**await self._register_choices(session, user), "form": form})
        await session.commit()
        if await acts_for(session, project, user.role, user.organisation_id):
            return Redirect(f"/party/projects/{quote(project.code)}")
        # An agency acts for a project only once the center's draw names it.
        return Redirect(f"/party/projects?registered={quote(project.code)}")

    # ------------------------------------------------------------------ one project

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
            **await project_context(session, project, user), "forms": forms, "empty_form": FormState(),
            "timeline": await timeline(session, project), "deadlines": await deadlines_of(session, project),
            "versions": await document_versions(session, code), "bookings": await bookings_of_project(session, code),
            "notice": notice, "opening_public": await may_read_opening_record(session, code, None)})

    @post("/projects/{code:str}/agency/decline", name="party.decline_agency")
    async def decline_agency(self, code: str, request: Request, user: User, session: AsyncSession,
                             ) -> Template | Redirect:
        await acting_project(session, code, user)  # its own project, or refused
        if user.role != UserRole.TENDERING_PARTY.value:
            raise PermissionDenied("只有本项目的招标人可以拒绝抽中的代理机构", code="not_tendering_party")
        form = FormState.of({"reason": form_text(await request.form(), "reason")})
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
        form = FormState.of({"value": form_text(await request.form(), "value")})
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
                form.refuse(scheme_refusal(exc))
                status = status_of(exc)
        if not form.ok:
            return await self._overview(session, await get_project(session, code), user, {"scheme": form}, status)
        await session.commit()
        return Redirect(f"/party/projects/{quote(code)}")

    # ------------------------------------------------------------------ rooms

    @get("/projects/{code:str}/rooms", name="party.rooms")
    async def rooms(self, code: str, user: User, session: AsyncSession) -> Template:
        project = await acting_project(session, code, user)
        return await room_page(session, "party/rooms.html", project, user, FormState.of({"purpose": "开标"}),
                               extra=await project_context(session, project, user))

    @post("/projects/{code:str}/rooms", name="party.book_room")
    async def book(self, code: str, request: Request, user: User, session: AsyncSession) -> Template | Redirect:
        project = await acting_project(session, code, user)
        if user.role != UserRole.AGENCY.value:
            # As in the API: the center and agencies book rooms (统一设施配备).
            raise PermissionDenied("场地由交易中心或项目的代理机构预约；自行招标的项目请联系交易中心预约", code="may_not_book_room")
        form = await book_from_form(session, await request.form(), project, user)
        if not form.ok:
            project = await get_project(session, code)  # read again after the rollback
            return await room_page(session, "party/rooms.html", project, user, form, status=409 if any(
                "已被预约" in message for message in form.errors.values()) else 400,
                extra=await project_context(session, project, user))
        await session.commit()
        return Redirect(f"/party/projects/{quote(code)}/rooms")
