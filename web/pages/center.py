"""The center staff's pages (中心工作台): the expert and agency pools, rooms and their
bookings, rule sets with their legal sources, and the published fee schedule with the
service fees charged. The ledger's pages are in web/pages/ledger.py, the satisfaction
ratings' in web/pages/ratings.py.

Who may do what follows the API (web/api/experts.py, web/api/rooms.py, web/api/ledger.py): the
center's administrators run pools and rooms, finance staff record money, supervisors read.
Every act calls the same service as the API.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Annotated, Any

from litestar import Controller, Request, get, post
from litestar.params import Parameter
from litestar.response import Redirect, Template
from litestar.status_codes import HTTP_400_BAD_REQUEST
from sqlalchemy.ext.asyncio import AsyncSession

from agency_pool.agencies import AgencyStatus, get_agency, set_agency_status
from agency_pool.listing import list_agencies
from bidding.settlement.service_fee import charge_service_fee, confirm_fee_paid
from bidding.settlement.overview import fee_lines
from bidding.ratings.summary import BANDS, agency_rating_summaries
from bidding.settlement.due_receipts import issue_due_receipts
from bidding.tender.states import local_date
from expert_pool.experts import describe_experts, get_expert, list_experts, set_expert_status
from expert_pool.fields import ExpertStatus
from expert_pool.ratings import ratings_of
from expert_pool.reviews import ReviewDecision, list_review_due, review_expert
from trading.accounts import User
from trading.audit import actor_of
from trading.database import database_now
from trading.errors import Conflict, DomainError, InvalidInput
from trading.fees import load_schedule, service_fee
from trading.money import fen_of_yuan, yuan
from trading.roles import UserRole
from trading.rooms import ROOM_KIND_NAMES, book_room, bookings_of_room, cancel_booking, describe_period, list_rooms
from trading.rules.catalogue import UNITS
from trading.rules.store import TRADING_CATEGORIES, get_rule_set, list_rule_sets
from trading.timefmt import CENTER_ZONE
from web.core.auth import requires_role
from web.core.forms import FormState, day_of, form_values, local_moment
from web.core.parameters import Day, RowId
from web.core.state import AppContext

A, F, S = UserRole.ADMIN, UserRole.FINANCE, UserRole.SUPERVISOR
center_staff = requires_role(A, F, S)
pool_readers = requires_role(A, S)
admins_only = requires_role(A)
finance_only = requires_role(F)
finance_and_admins = requires_role(F, A)
METHOD_NAMES = {"open_tender": "公开招标", "invited_tender": "邀请招标", "public_tender": "公开招标"}


async def issue_receipts(session: AsyncSession, context: AppContext, project_code: str | None = None) -> None:
    """Receipts of what was just paid, right away (the app's worker would within a minute)."""
    await issue_due_receipts(session, context.keys, public_url=context.settings.public_url, project_code=project_code)


def rule_rows(rules: Mapping[str, Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Each rule of a rule set as shown: its value in words people read (yuan, %, 是/否) and its unit."""
    rows = []
    for key, rule in rules.items():
        value, unit = rule.get("value"), rule.get("unit", "")
        if isinstance(value, bool):
            text = "是" if value else "否"
        elif isinstance(value, dict):  # an exact fraction
            text = f"{value['numerator']}/{value['denominator']}"
        elif unit == "fen" and isinstance(value, int):
            text = f"{value}（¥ {yuan(value)} 元）"
        elif unit == "basis_points" and isinstance(value, int):
            text = f"{value}（{value // 100}.{value % 100:02d}%）"
        else:
            text = str(value)
        rows.append({"key": key, "label": rule.get("label") or "", "value": text, "unit": unit,
                     "unit_name": UNITS[unit].label if unit in UNITS else unit, "source": rule.get("source", ""),
                     "unconfirmed": bool(rule.get("unconfirmed")), "note": rule.get("note")})
    return rows


def _booking_field(exc: DomainError) -> str | None:
    details = exc.details
    if "booking" in details:  # a clash with another booking: the time is what is wrong
        return "starts_at"
    if "ends_at" in details:
        return "ends_at"
    if "starts_at" in details:
        return "starts_at"
    return "room" if "room" in details else None


class CenterPageController(Controller):
    path = "/center"
    include_in_schema = False

    @get("/", name="center.index", guards=[center_staff])
    async def index(self) -> Template:
        return Template("center/index.html")

    # ------------------------------------------------------------------------- pools

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

    # ------------------------------------------------------------------------- rooms

    async def _rooms_page(self, session: AsyncSession, day: date, form: FormState, status_code: int = 200,
                          cancel: FormState | None = None) -> Template:
        rooms = []
        for room in await list_rooms(session):
            bookings = await bookings_of_room(session, room.code, day)
            rooms.append({"room": room, "bookings": [
                {"id": b.id, "project_code": b.project_code, "purpose": b.purpose, "booked_by": b.booked_by,
                 "period": describe_period(b.starts_at, b.ends_at)} for b in bookings]})
        return Template("center/rooms.html", status_code=status_code, context={
            "day": day, "rooms": rooms, "form": form, "cancel": cancel or FormState.of({"reason": ""}),
            "kind_names": ROOM_KIND_NAMES,
            "room_choices": [(r["room"].code, f"{r['room'].name}（{r['room'].code}，{r['room'].kind_name}）")
                             for r in rooms]})

    @get("/rooms", name="center.rooms", guards=[pool_readers])
    async def rooms(self, session: AsyncSession,
                    day: Annotated[Day | None, Parameter(query="day")] = None) -> Template:
        """The rooms and their bookings on one day of the center's calendar; the booking form."""
        day = day or local_date(await database_now(session))
        empty = {"room": "", "project_code": "", "purpose": "开标", "starts_at": "", "ends_at": ""}
        return await self._rooms_page(session, day, FormState.of(empty))

    @post("/rooms/bookings", name="center.book_room", guards=[admins_only])
    async def book(self, request: Request, user: User, session: AsyncSession) -> Template | Redirect:
        """Book a room for a tender; an overlapping booking is refused beside the time."""
        form = FormState.of(await form_values(request))
        form.required(("room", "场地"), ("project_code", "项目编号"), ("purpose", "用途"),
                      ("starts_at", "开始时间"), ("ends_at", "结束时间"))
        starts = form.read(local_moment, "starts_at", "开始时间")
        ends = form.read(local_moment, "ends_at", "结束时间")
        await form.attempt(session, lambda: book_room(
            session, actor=actor_of(user), room_code=form.value("room"), purpose=form.value("purpose"),
            project_code=form.value("project_code"), starts_at=starts, ends_at=ends),
            _booking_field)
        day = starts.astimezone(CENTER_ZONE).date() if starts else local_date(await database_now(session))
        if not form.ok:
            return await self._rooms_page(session, day, form, HTTP_400_BAD_REQUEST)
        await session.commit()
        return Redirect(f"/center/rooms?day={day.isoformat()}")

    @post("/rooms/bookings/{booking_id:int}/cancel", name="center.cancel_booking", guards=[admins_only])
    async def cancel(self, booking_id: RowId, request: Request, user: User, session: AsyncSession
                     ) -> Template | Redirect:
        values = await form_values(request)
        form = FormState.of(values)
        try:
            day = date.fromisoformat(values.get("day", ""))
        except ValueError:  # the page's own hidden field; without it, today
            day = local_date(await database_now(session))
        form.required(("reason", "取消原因"))
        await form.attempt(session, lambda: cancel_booking(
            session, actor=actor_of(user), booking_id=booking_id, reason=form.value("reason")))
        if not form.ok:
            form.values["booking_id"] = booking_id
            empty = FormState.of({"room": "", "project_code": "", "purpose": "开标", "starts_at": "", "ends_at": ""})
            return await self._rooms_page(session, day, empty, HTTP_400_BAD_REQUEST, cancel=form)
        await session.commit()
        return Redirect(f"/center/rooms?day={day.isoformat()}")

    # ------------------------------------------------------------------------- rules and fees

    @get("/rules", name="center.rules", guards=[center_staff])
    async def rules(self, session: AsyncSession) -> Template:
        return Template("center/rules.html", context={
            "rule_sets": await list_rule_sets(session), "categories": TRADING_CATEGORIES, "methods": METHOD_NAMES})

    @get("/rules/{code:str}/{version:str}", name="center.rule_set", guards=[center_staff])
    async def rule_set(self, code: str, version: str, session: AsyncSession) -> Template:
        """Every rule of one version with its value, unit and legal source (read-only)."""
        record = await get_rule_set(session, code, version)
        return Template("center/rule_set.html", context={
            "rule_set": record, "rules": rule_rows(record.entries()), "categories": TRADING_CATEGORIES,
            "methods": METHOD_NAMES})

    async def _fees_page(self, session: AsyncSession, *, calculator: FormState, fee: int | None = None,
                         charge: FormState | None = None, paid: FormState | None = None,
                         status_code: int = 200) -> Template:
        now = await database_now(session)
        return Template("center/fees.html", status_code=status_code, context={
            "schedule": load_schedule(), "form": calculator, "fee": fee, "lines": await fee_lines(session),
            "charge": charge or FormState.of({"project_code": "", "category": ""}), "paid": paid or FormState.of({}),
            "today": local_date(now).isoformat()})

    @get("/fees", name="center.fees", guards=[center_staff])
    async def fees(self, session: AsyncSession,
                   amount: Annotated[str, Parameter(query="amount", max_length=30)] = "",
                   category: Annotated[str, Parameter(query="category", max_length=20)] = "") -> Template:
        """The published service-fee schedule with a calculator; the fees charged and their payment."""
        form, fee = FormState.of({"amount": amount, "category": category or "works"}), None
        if amount:
            try:
                fee = service_fee(fen_of_yuan(amount, field="amount", label="中标金额"), form.value("category"))
            except InvalidInput as exc:
                form.refuse(exc, aliases={"amount_fen": "amount"})
        return await self._fees_page(session, calculator=form, fee=fee,
                                     status_code=200 if form.ok else HTTP_400_BAD_REQUEST)

    @post("/fees/charges", name="center.charge_fee", guards=[finance_and_admins])
    async def charge_fee(self, request: Request, user: User, session: AsyncSession) -> Template | Redirect:
        """Charge the winner the service fee after the award (from the published schedule)."""
        form = FormState.of(await form_values(request))
        form.required(("project_code", "项目编号"))
        await form.attempt(session, lambda: charge_service_fee(
            session, project_code=form.value("project_code"), actor=actor_of(user),
            category=form.value("category") or None),
            lambda e: "project_code")
        if not form.ok:
            return await self._fees_page(session, calculator=FormState.of({"amount": "", "category": "works"}),
                                         charge=form, status_code=HTTP_400_BAD_REQUEST)
        await session.commit()
        return Redirect("/center/fees")

    @post("/fees/{fee_id:int}/paid", name="center.fee_paid", guards=[finance_only])
    async def fee_paid(self, fee_id: RowId, request: Request, user: User, session: AsyncSession,
                       context: AppContext) -> Template | Redirect:
        """Finance record the fee's payment; its receipt is issued."""
        form = FormState.of(await form_values(request))
        form.values["fee_id"] = str(fee_id)
        form.required(("account", "付款账号"), ("account_name", "付款户名"), ("bank_reference", "银行交易流水号"),
                      ("value_date", "到账日期"))
        value_date = form.read(day_of, "value_date", "到账日期")
        if form.ok:
            try:
                fee = await confirm_fee_paid(session, fee_id=fee_id, actor=actor_of(user), account=form.value("account"),
                                             account_name=form.value("account_name"),
                                             bank_reference=form.value("bank_reference"), value_date=value_date,
                                             bank=form.value("bank"))
                await issue_receipts(session, context, fee.project_code)
            except DomainError as exc:
                await session.rollback()
                form.refuse(exc, lambda e: "bank_reference" if "bank_reference" in e.details else None)
        if not form.ok:
            return await self._fees_page(session, calculator=FormState.of({"amount": "", "category": "works"}),
                                         paid=form, status_code=HTTP_400_BAD_REQUEST)
        await session.commit()
        return Redirect("/center/fees")
