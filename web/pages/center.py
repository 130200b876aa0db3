"""The center staff's pages (中心工作台): the hub, rule sets with their legal sources, and
the published fee schedule with the service fees charged. The pools' pages are in
web/pages/center_pools.py, the rooms' in web/pages/center_rooms.py, the ledger's in
web/pages/ledger.py, the satisfaction ratings' in web/pages/ratings.py.

Who may do what follows the API (web/api/ledger.py): finance staff record money, the
center's administrators and supervisors read. Every act calls the same service as the API.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

from litestar import Controller, Request, get, post
from litestar.params import Parameter
from litestar.response import Redirect, Template
from litestar.status_codes import HTTP_400_BAD_REQUEST
from sqlalchemy.ext.asyncio import AsyncSession

from bidding.settlement.service_fee import charge_service_fee, confirm_fee_paid
from bidding.settlement.overview import fee_lines
from bidding.settlement.due_receipts import issue_due_receipts
from bidding.tender.states import local_date
from trading.accounts import User
from trading.audit import actor_of
from trading.database import database_now
from trading.errors import DomainError, InvalidInput
from trading.fees import load_schedule, service_fee
from trading.money import fen_of_yuan, yuan
from trading.roles import UserRole
from trading.rules.catalogue import UNITS
from trading.rules.store import TRADING_CATEGORIES, get_rule_set, list_rule_sets
from web.core.auth import requires_role
from web.core.forms import FormState, day_of, form_values
from web.core.parameters import RowId
from web.core.state import AppContext

A, F, S = UserRole.ADMIN, UserRole.FINANCE, UserRole.SUPERVISOR
center_staff = requires_role(A, F, S)
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


class CenterPageController(Controller):
    path = "/center"
    include_in_schema = False

    @get("/", name="center.index", guards=[center_staff])
    async def index(self) -> Template:
        return Template("center/index.html")

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
