"""The bidder's workspace pages (/bidder): tenders to register for, registration with the
credit decision and the deposit shown plainly, deposit status and refunds, receipts (the
signed PDFs), and complaints. Every page shows the signed-in bidder's own organisation
only: the organisation comes from the account, never from the request.

Sealing and submitting bids: web/pages/bidder_sealing.py; the opening: web/pages/bidder_opening.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated

from litestar import Controller, Response, get, post
from litestar.enums import RequestEncodingType
from litestar.params import Body
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from bidding.reading.bidder_desk import my_key, my_receipts, my_tenders, open_tenders, tender_desk
from bidding.award.complaints import complaints_of, file_complaint
from bidding.settlement.due_receipts import held_receipt
from bidding.tender.registrations import register_bidder
from trading.accounts import User
from trading.audit import actor_of
from trading.errors import DomainError, RuleViolation
from trading.roles import UserRole
from trading.timefmt import local_time
from web.core.auth import own_organisation, requires_role
from web.core.errors import status_of
from web.core.forms import FormState
from web.core.state import AppContext

bidders_only = requires_role(UserRole.BIDDER)


def deposit_account(context: AppContext) -> dict[str, str]:
    """The center's deposit account (投标保证金专户) bidders pay into."""
    settings = context.settings
    return {"bank": settings.deposit_bank, "account": settings.deposit_account, "name": settings.deposit_account_name}


@dataclass
class ComplaintForm:
    grounds: str = ""


async def tender_page(session: AsyncSession, context: AppContext, user: User, code: str, *,
                      message: str | None = None, error: str | None = None, status_code: int = 200) -> Template:
    # Read afresh: after a refusal's commit or rollback the organisation's row is expired.
    organisation = await own_organisation(session, user)
    desk = await tender_desk(session, code, organisation)
    registration = desk.registration
    return Template("bidder/tender.html", status_code=status_code, context={
        "organisation": organisation, "desk": desk, "project": desk.project,
        "eligibility": (registration.reasons.get("eligibility") or {}) if registration else {},
        "account": deposit_account(context), "message": message, "error": error,
        "key": await my_key(session, organisation)})


class BidderPageController(Controller):
    path = "/bidder"
    guards = [bidders_only]
    include_in_schema = False

    @get("/", name="bidder.home")
    async def home(self, session: AsyncSession, user: User) -> Template:
        organisation = await own_organisation(session, user)
        mine = await my_tenders(session, organisation)
        registered = {desk.project.code for desk in mine}
        return Template("bidder/home.html", context={
            "organisation": organisation, "mine": mine,
            "open": [project for project in await open_tenders(session) if project.code not in registered],
            "key": await my_key(session, organisation)})

    @get("/summary", name="bidder.summary")
    async def summary(self, session: AsyncSession, user: User) -> Template:
        """The workspace's bidder section (a fragment loaded into /workspace)."""
        organisation = await own_organisation(session, user)
        return Template("bidder/_summary.html", context={
            "organisation": organisation, "mine": await my_tenders(session, organisation),
            "open_count": len(await open_tenders(session)), "key": await my_key(session, organisation)})

    @get("/tenders/{code:str}", name="bidder.tender")
    async def tender(self, code: str, session: AsyncSession, user: User, context: AppContext) -> Template:
        return await tender_page(session, context, user, code)

    @post("/tenders/{code:str}/registration", name="bidder.register")
    async def register(self, code: str, session: AsyncSession, user: User, context: AppContext) -> Template | Redirect:
        organisation = await own_organisation(session, user)
        try:
            await register_bidder(session, actor=actor_of(user), project_code=code,
                                  bidder_credit_code=organisation.credit_code,
                                  bribery_source=context.adapters.bribery_source)
        except RuleViolation as exc:
            await session.commit()  # the refusal and its audit entry are kept (as the API does)
            return await tender_page(session, context, user, code, error=exc.message,
                                     status_code=status_of(exc))
        except DomainError as exc:
            await session.rollback()
            return await tender_page(session, context, user, code, error=exc.message,
                                     status_code=status_of(exc))
        await session.commit()
        return Redirect(f"/bidder/tenders/{code}?registered=1")

    @get("/receipts", name="bidder.receipts")
    async def receipts(self, session: AsyncSession, user: User) -> Template:
        organisation = await own_organisation(session, user)
        return Template("bidder/receipts.html", context={
            "organisation": organisation, "receipts": await my_receipts(session, organisation)})

    @get("/receipts/{number:str}/pdf", name="bidder.receipt_pdf")
    async def receipt_pdf(self, number: str, session: AsyncSession, user: User) -> Response[bytes]:
        await own_organisation(session, user)  # a bidder's account names its organisation, or is refused
        receipt = await held_receipt(session, number, user)
        return Response(receipt.pdf, media_type="application/pdf",
                        headers={"Content-Disposition": f'inline; filename="{receipt.number}.pdf"'})

    # ------------------------------------------------------------------ complaints

    async def _complaints_page(self, session: AsyncSession, user: User, code: str, form: FormState,
                               status_code: int = 200, filed: bool = False) -> Template:
        organisation = await own_organisation(session, user)
        desk = await tender_desk(session, code, organisation)
        return Template("bidder/complaints.html", status_code=status_code, context={
            "organisation": organisation, "project": desk.project, "desk": desk, "form": form, "filed": filed,
            "complaints": [{**c, "filed_at_local": local_time(datetime.fromisoformat(c["filed_at"]))}
                           for c in await complaints_of(session, code, organisation_id=organisation.id)]})

    @get("/tenders/{code:str}/complaints", name="bidder.complaints")
    async def complaints(self, code: str, session: AsyncSession, user: User, filed: bool = False) -> Template:
        return await self._complaints_page(session, user, code, FormState(), filed=filed)

    @post("/tenders/{code:str}/complaints", name="bidder.complain")
    async def complain(self, code: str, session: AsyncSession, user: User,
                       data: Annotated[ComplaintForm, Body(media_type=RequestEncodingType.URL_ENCODED)],
                       ) -> Template | Redirect:
        organisation = await own_organisation(session, user)
        form = FormState.of({"grounds": data.grounds})
        form.required(("grounds", "投诉事项及理由"))
        if form.ok:
            try:
                await file_complaint(session, actor=actor_of(user), project_code=code, organisation_id=organisation.id,
                                     grounds=data.grounds)
            except DomainError as exc:
                await session.rollback()
                form.refuse(exc)
                return await self._complaints_page(session, user, code, form, status_of(exc))
            await session.commit()
            return Redirect(f"/bidder/tenders/{code}/complaints?filed=1")
        return await self._complaints_page(session, user, code, form, 400)

