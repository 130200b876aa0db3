"""The center's pages of the expert and agency pools (/center/experts, /center/agencies):
the lists, one expert or agency with its ratings, status changes and expert reviews. Who may
do what follows the API (web/api/experts.py, web/api/agencies.py): the center's
administrators act, supervisors read.
"""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, Request, get, post
from litestar.params import Parameter
from litestar.response import Redirect, Template
from litestar.status_codes import HTTP_400_BAD_REQUEST
from sqlalchemy.ext.asyncio import AsyncSession

from agency_pool.agencies import AgencyStatus, get_agency, set_agency_status
from agency_pool.listing import list_agencies
from bidding.ratings.summary import BANDS, agency_rating_summaries
from expert_pool.experts import describe_experts, get_expert, list_experts, set_expert_status
from expert_pool.fields import ExpertStatus
from expert_pool.ratings import ratings_of
from expert_pool.reviews import ReviewDecision, list_review_due, review_expert
from trading.accounts import User
from trading.audit import actor_of
from trading.database import database_now
from trading.errors import Conflict, DomainError
from trading.roles import UserRole
from trading.timefmt import CENTER_ZONE
from web.core.auth import requires_role
from web.core.forms import FormState, form_values

pool_readers = requires_role(UserRole.ADMIN, UserRole.SUPERVISOR)
admins_only = requires_role(UserRole.ADMIN)


class CenterPoolController(Controller):
    path = "/center"
    include_in_schema = False

    @get("/experts", name="center.experts", guards=[pool_readers])
    async def experts(self, session: AsyncSession,
                      q: Annotated[str, Parameter(query="q", max_length=50)] = "",
                      status: Annotated[str, Parameter(query="status", max_length=20)] = "",
                      review: Annotated[str, Parameter(query="review", max_length=10)] = "") -> Template:
        """The expert pool, masked (ID and phone numbers), searched by code, name or employer;
        ``review=due``: those whose annual review (年度审定) falls due within 30 days, overdue first."""
        form = FormState.of({"q": q, "status": status, "review": review})
        found = []
        try:
            if review == "due":
                found = [due.expert for due in await list_review_due(session)]
                found = [e for e in found if not status or e.status == status]
            else:
                found = await list_experts(session, status=status or None)
        except DomainError as exc:
            form.refuse(exc)
        experts = await describe_experts(session, found, masked=True)
        if q.strip():
            needle = q.strip().upper()
            experts = [e for e in experts if needle in e["code"] or q.strip() in e["name"]
                       or q.strip() in (e["employer_name"] or "")]
        return Template("center/experts.html", context={
            "form": form, "experts": experts, "statuses": [(s.value, s.label) for s in ExpertStatus],
            "today": (await database_now(session)).astimezone(CENTER_ZONE).date().isoformat()})

    async def _expert_page(self, session: AsyncSession, code: str, form: FormState, status_code: int = 200,
                           review: FormState | None = None) -> Template:
        expert = await get_expert(session, code)
        [described] = await describe_experts(session, [expert], masked=True)
        return Template("center/expert.html", status_code=status_code, context={
            "expert": described, "ratings": list(reversed(await ratings_of(session, expert.code))), "form": form,
            "statuses": [(s.value, s.label) for s in ExpertStatus if s.value != expert.status],
            "review": review or FormState.of({"decision": "", "reason": ""}),
            "decisions": [(d.value, d.label) for d in ReviewDecision]})

    @get("/experts/{code:str}", name="center.expert", guards=[pool_readers])
    async def expert(self, code: str, session: AsyncSession) -> Template:
        return await self._expert_page(session, code, FormState.of({"status": "", "reason": ""}))

    @post("/experts/{code:str}/status", name="center.expert_status", guards=[admins_only])
    async def expert_status(self, code: str, request: Request, user: User, session: AsyncSession
                            ) -> Template | Redirect:
        """Suspend, reinstate, send to review or retire an expert, with the reason."""
        form = FormState.of(await form_values(request))
        form.required(("status", "新状态"), ("reason", "原因"))
        await form.attempt(session, lambda: set_expert_status(
            session, actor=actor_of(user), code=code, status=form.value("status"), reason=form.value("reason")),
            lambda e: "status" if isinstance(e, Conflict) else None)
        if not form.ok:
            return await self._expert_page(session, code, form, HTTP_400_BAD_REQUEST)
        await session.commit()
        return Redirect(f"/center/experts/{code}")

    @post("/experts/{code:str}/review", name="center.expert_review", guards=[admins_only])
    async def expert_review(self, code: str, request: Request, user: User, session: AsyncSession
                            ) -> Template | Redirect:
        """The annual review's decision (年度审定): pass (next review a year on), suspend or retire."""
        form = FormState.of(await form_values(request))
        form.required(("decision", "审定结论"))
        if form.value("decision") in ("suspend", "retire"):
            form.required(("reason", "原因"))
        await form.attempt(session, lambda: review_expert(
            session, actor=actor_of(user), code=code, decision=form.value("decision"), reason=form.value("reason")),
            lambda e: "decision" if isinstance(e, Conflict) else None)
        if not form.ok:
            return await self._expert_page(session, code, FormState.of({"status": "", "reason": ""}),
                                           HTTP_400_BAD_REQUEST, review=form)
        await session.commit()
        return Redirect(f"/center/experts/{code}")

    @get("/agencies", name="center.agencies", guards=[pool_readers])
    async def agencies(self, session: AsyncSession,
                       q: Annotated[str, Parameter(query="q", max_length=50)] = "",
                       status: Annotated[str, Parameter(query="status", max_length=20)] = "") -> Template:
        listings = await list_agencies(session)
        if status:
            listings = [a for a in listings if a.status == status]
        if q.strip():
            listings = [a for a in listings if q.strip().upper() in a.code.upper() or q.strip() in a.name
                        or q.strip().upper() in a.credit_code]
        return Template("center/agencies.html", context={
            "form": FormState.of({"q": q, "status": status}), "agencies": listings,
            "statuses": [(s.value, s.label) for s in AgencyStatus]})

    async def _agency_page(self, session: AsyncSession, code: str, form: FormState, status_code: int = 200) -> Template:
        agency = await get_agency(session, code)
        listing = next(a for a in await list_agencies(session) if a.code == agency.code)
        summaries = await agency_rating_summaries(session, q=agency.code)
        return Template("center/agency.html", status_code=status_code, context={
            "agency": listing, "summary": next((s for s in summaries if s.code == agency.code), None), "form": form,
            "bands": BANDS, "statuses": [(s.value, s.label) for s in AgencyStatus if s.value != agency.status]})

    @get("/agencies/{code:str}", name="center.agency", guards=[pool_readers])
    async def agency(self, code: str, session: AsyncSession) -> Template:
        return await self._agency_page(session, code, FormState.of({"status": "", "reason": ""}))

    @post("/agencies/{code:str}/status", name="center.agency_status", guards=[admins_only])
    async def agency_status(self, code: str, request: Request, user: User, session: AsyncSession
                            ) -> Template | Redirect:
        """Suspend, reinstate or revoke an agency, with the reason."""
        form = FormState.of(await form_values(request))
        form.required(("status", "新状态"), ("reason", "原因"))
        await form.attempt(session, lambda: set_agency_status(
            session, actor=actor_of(user), code=code, status=form.value("status"), reason=form.value("reason")),
            lambda e: "status" if isinstance(e, Conflict) else None)
        if not form.ok:
            return await self._agency_page(session, code, form, HTTP_400_BAD_REQUEST)
        await session.commit()
        return Redirect(f"/center/agencies/{code}")
