"""The satisfaction ratings (好差评) for the center, under ``/center/ratings``: the summary
per expert and per agency (administrators, supervisors), and the form with which a
project's tendering party or a supervisor rates its experts and agency after the tender
(the same services as the API, web/api/ratings.py)."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, Request, get, post
from litestar.params import Parameter
from litestar.response import Redirect, Template
from litestar.status_codes import HTTP_400_BAD_REQUEST
from sqlalchemy.ext.asyncio import AsyncSession

from bidding.ratings.summary import BANDS, agency_rating_summaries, expert_rating_summaries, rating_targets
from bidding.ratings.tender_ratings import rate_committee_expert, rate_serving_agency
from trading.accounts import User
from trading.errors import DomainError, NotFound
from trading.roles import UserRole
from web.core.auth import requires_role
from web.core.errors import status_of
from web.core.forms import FormState, form_values

summary_readers = requires_role(UserRole.ADMIN, UserRole.SUPERVISOR)
raters = requires_role(UserRole.TENDERING_PARTY, UserRole.SUPERVISOR)


class RatingPageController(Controller):
    path = "/center/ratings"
    include_in_schema = False

    # ------------------------------------------------------------------------- ratings (好差评)

    @get("/", name="center_ratings.summary", guards=[summary_readers])
    async def ratings(self, session: AsyncSession, q: Annotated[str, Parameter(query="q", max_length=50)] = ""
                      ) -> Template:
        """The satisfaction ratings per expert and per agency: count, average, distribution, comments."""
        return Template("center/ratings.html", context={
            "q": q, "bands": BANDS, "experts": await expert_rating_summaries(session, q=q),
            "agencies": await agency_rating_summaries(session, q=q)})

    async def _rate_page(self, session: AsyncSession, user: User, project: str, form: FormState | None = None,
                         status_code: int = 200) -> Template:
        lookup = FormState.of({"project": project})
        target = None
        if project:
            try:
                target = await rating_targets(session, project_code=project, user=user)
            except NotFound as exc:
                lookup.error("project", exc.message)
                status_code = status_of(exc)
        return Template("center/rate.html", status_code=status_code, context={
            "lookup": lookup, "target": target, "form": form or FormState.of({})})

    @get("/rate", name="center_ratings.rate_form", guards=[raters])
    async def rate_form(self, user: User, session: AsyncSession,
                        project: Annotated[str, Parameter(query="project", max_length=40)] = "") -> Template:
        """The tendering party or a supervisor rates a project's experts and agency."""
        return await self._rate_page(session, user, project.strip())

    @post("/rate", name="center_ratings.rate", guards=[raters])
    async def rate(self, request: Request, user: User, session: AsyncSession) -> Template | Redirect:
        form = FormState.of(await form_values(request))
        project, kind, code = form.value("project_code"), form.value("kind"), form.value("code")
        form.required(("score", "评分"))
        score = None
        if form.value("score"):
            if form.value("score").isdigit() and 0 <= int(form.value("score")) <= 100:
                score = int(form.value("score"))
            else:
                form.error("score", "评分应为 0 到 100 之间的整数")
        if kind not in ("expert", "agency"):
            form.general.append("请从列表中选择要评价的专家或代理机构")
        if form.ok:
            try:
                if kind == "expert":
                    await rate_committee_expert(session, user=user, project_code=project, expert_code=code,
                                                score=score, comment=form.value("comment"))
                else:
                    await rate_serving_agency(session, user=user, project_code=project, score=score,
                                              comment=form.value("comment"))
            except DomainError as exc:
                await session.rollback()
                form.refuse(exc)
        if not form.ok:
            return await self._rate_page(session, user, project, form, HTTP_400_BAD_REQUEST)
        await session.commit()
        return Redirect(f"/center/ratings/rate?project={project}")
