"""好差评 of the center's own service steps: those a tender served rate each step
(``/services/rate``); the center reads the summary per step (``/center/ratings/services``)."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, Request, get, post
from litestar.params import Parameter
from litestar.response import Redirect, Template
from litestar.status_codes import HTTP_400_BAD_REQUEST
from sqlalchemy.ext.asyncio import AsyncSession

from bidding.ratings.service import GRADES, rate_service_step, service_rating_summary, steps_to_rate
from trading.accounts import User
from trading.errors import DomainError
from trading.roles import UserRole
from web.core.auth import requires_login, requires_role
from web.core.errors import status_of
from web.core.forms import FormState, form_values


class ServiceRatingPageController(Controller):
    include_in_schema = False

    async def _page(self, session: AsyncSession, user: User, project: str, form: FormState | None = None,
                    status_code: int = 200) -> Template:
        lookup, steps = FormState.of({"project": project}), None
        if project:
            try:
                steps = await steps_to_rate(session, project, user)
            except DomainError as exc:
                lookup.error("project", exc.message)
                status_code = status_of(exc)
        return Template("services/rate.html", status_code=status_code, context={
            "lookup": lookup, "steps": steps, "grades": GRADES, "form": form or FormState.of({})})

    @get("/services/rate", name="services.rate_form", guards=[requires_login])
    async def rate_form(self, user: User, session: AsyncSession,
                        project: Annotated[str, Parameter(query="project", max_length=40)] = "") -> Template:
        """A tender's service steps the user was served by, each rated once: good, fair or poor."""
        return await self._page(session, user, project.strip())

    @post("/services/rate", name="services.rate", guards=[requires_login])
    async def rate(self, request: Request, user: User, session: AsyncSession) -> Template | Redirect:
        form = FormState.of(await form_values(request))
        form.required(("grade", "评价"))
        await form.attempt(session, lambda: rate_service_step(
            session, user=user, project_code=form.value("project"), step=form.value("step"),
            grade=form.value("grade"), comment=form.value("comment")))
        if not form.ok:
            return await self._page(session, user, form.value("project"), form, HTTP_400_BAD_REQUEST)
        await session.commit()
        return Redirect(f"/services/rate?project={form.value('project')}")

    @get("/center/ratings/services", name="services.summary",
         guards=[requires_role(UserRole.ADMIN, UserRole.SUPERVISOR)])
    async def summary(self, session: AsyncSession) -> Template:
        """Per service step: good, fair and poor ratings, the share of good ones, the latest comments."""
        return Template("services/summary.html", context={"steps": await service_rating_summary(session)})
