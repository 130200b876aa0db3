"""The ledger's pages for the center (统一费用收取退付), under ``/center/ledger``: deposits
with their refund state and receipt, finance's confirmation of a deposit, bank statement
import with its per-row report, refund instructions and their payment, collusion flags
(supervisors dismiss them) and the signed receipts.

Who may do what follows the API (web/api/ledger.py): finance staff record money, finance and
administrators instruct refunds, supervisors and administrators see collusion flags.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from litestar import Controller, Request, Response, get, post
from litestar.datastructures import UploadFile
from litestar.enums import RequestEncodingType
from litestar.params import Body, Parameter
from litestar.response import Redirect, Template
from litestar.status_codes import HTTP_400_BAD_REQUEST
from sqlalchemy.ext.asyncio import AsyncSession

from bidding.settlement.deposits import confirm_deposit, import_statement
from bidding.settlement.overview import DEPOSIT_STATE_NAMES, deposit_lines, receipt_lines, refund_lines
from bidding.settlement.refunds import EVENTS, confirm_refund_paid, instruct_refunds_for
from bidding.tender.states import local_date
from trading.accounts import User
from trading.audit import actor_of
from trading.database import database_now
from trading.errors import Conflict, DomainError, NotFound, RuleViolation
from trading.ledger import REFUND_EVENTS, collusion_flags, dismiss_collusion_flag
from trading.money import fen_of_yuan
from trading.receipts import get_receipt
from trading.roles import UserRole
from trading.spreadsheets import ImportRejected
from web.core.auth import requires_role
from web.pages.center import issue_receipts
from web.core.errors import status_of
from web.core.forms import FormState, day_of, form_values
from web.core.parameters import RowId
from web.core.state import AppContext

A, F, S = UserRole.ADMIN, UserRole.FINANCE, UserRole.SUPERVISOR
center_staff = requires_role(A, F, S)
finance_only = requires_role(F)
finance_and_admins = requires_role(F, A)
supervisors_only = requires_role(S)
flag_readers = requires_role(S, A)  # as the API: collusion is for supervisors and administrators
STATEMENT_LIMIT = 10 * 1024 * 1024


def _deposit_field(exc: DomainError) -> str | None:
    if isinstance(exc, NotFound) and "project_code" in exc.details:
        return "project_code"
    if isinstance(exc, RuleViolation) or exc.code == "invalid_credit_code":
        return "bidder_credit_code"
    return "bank_reference" if "bank_reference" in exc.details else None


@dataclass
class StatementForm:
    file: UploadFile | None = None
    bank: str = ""


class LedgerPageController(Controller):
    path = "/center/ledger"
    include_in_schema = False

    # ------------------------------------------------------------------------- ledger

    async def _deposits_page(self, session: AsyncSession, project: str, form: FormState,
                             status_code: int = 200) -> Template:
        return Template("center/ledger.html", status_code=status_code, context={
            "project": project, "lines": await deposit_lines(session, project_code=project or None),
            "state_names": DEPOSIT_STATE_NAMES, "form": form})

    @get("/", name="center_ledger.ledger", guards=[center_staff])
    async def ledger(self, session: AsyncSession,
                     project: Annotated[str, Parameter(query="project", max_length=40)] = "") -> Template:
        """Deposits with their refund state and receipt; finance staff confirm a deposit here."""
        empty = {name: "" for name in ("project_code", "bidder_credit_code", "amount", "account", "account_name",
                                       "bank_reference", "value_date", "bank")}
        return await self._deposits_page(session, project, FormState.of(empty))

    @post("/deposits", name="center_ledger.confirm_deposit", guards=[finance_only])
    async def confirm(self, request: Request, user: User, session: AsyncSession, context: AppContext
                      ) -> Template | Redirect:
        form = FormState.of(await form_values(request))
        form.required(("project_code", "项目编号"), ("bidder_credit_code", "投标人统一社会信用代码"),
                      ("amount", "金额"), ("account", "付款账号"), ("account_name", "付款户名"),
                      ("bank_reference", "银行交易流水号"), ("value_date", "到账日期"))
        amount = form.read(fen_of_yuan, "amount", "金额")
        value_date = form.read(day_of, "value_date", "到账日期")
        if form.ok:
            try:
                deposit = await confirm_deposit(
                    session, actor=actor_of(user), project_code=form.value("project_code"),
                    bidder_credit_code=form.value("bidder_credit_code"), amount_fen=amount,
                    account=form.value("account"), account_name=form.value("account_name"),
                    bank_reference=form.value("bank_reference"), value_date=value_date, bank=form.value("bank"))
                await issue_receipts(session, context, deposit.project_code)
            except DomainError as exc:
                await session.rollback()
                form.refuse(exc, _deposit_field, aliases={"amount_fen": "amount"})
        if not form.ok:
            return await self._deposits_page(session, "", form, HTTP_400_BAD_REQUEST)
        await session.commit()
        return Redirect(f"/center/ledger?project={form.value('project_code')}")

    @get("/statements", name="center_ledger.statements", guards=[finance_only])
    async def statements(self) -> Template:
        return Template("center/statements.html", context={"form": FormState.of({"bank": ""}), "result": None,
                                                       "rows": None, "filename": None})

    @post("/statements", name="center_ledger.import_statement", guards=[finance_only],
          request_max_body_size=STATEMENT_LIMIT)
    async def import_file(self, data: Annotated[StatementForm, Body(media_type=RequestEncodingType.MULTI_PART)],
                          user: User, session: AsyncSession, context: AppContext) -> Template:
        """Import a bank statement (CSV/XLSX): every row or none; the per-row report either way."""
        form = FormState.of({"bank": data.bank, "file": ""})
        filename = data.file.filename if data.file else None
        content = await data.file.read() if data.file else b""
        context_: dict[str, Any] = {"form": form, "result": None, "rows": None, "filename": filename}
        if not filename or not content:
            form.error("file", "请选择要导入的银行流水文件（.csv 或 .xlsx）")
            return Template("center/statements.html", status_code=HTTP_400_BAD_REQUEST, context=context_)
        try:
            result = await import_statement(session, actor=actor_of(user), filename=filename, data=content,
                                            bank=data.bank)
            if result.imported or result.refunds_paid:
                await issue_receipts(session, context)
        except ImportRejected as rejected:
            await session.rollback()
            return Template("center/statements.html", status_code=HTTP_400_BAD_REQUEST,
                        context={**context_, "rows": rejected.errors})
        except DomainError as exc:
            await session.rollback()
            form.refuse(exc, lambda e: "file")
            return Template("center/statements.html", status_code=status_of(exc), context=context_)
        await session.commit()
        return Template("center/statements.html", context={**context_, "result": result})

    async def _refunds_page(self, session: AsyncSession, project: str, unpaid: bool, instruct: FormState,
                            paid: FormState | None = None, status_code: int = 200) -> Template:
        now = await database_now(session)
        return Template("center/refunds.html", status_code=status_code, context={
            "project": project, "unpaid": unpaid, "events": [(e, REFUND_EVENTS[e]) for e in EVENTS],
            "lines": await refund_lines(session, now=now, project_code=project or None, unpaid_only=unpaid),
            "instruct": instruct, "paid": paid or FormState.of({}), "today": local_date(now).isoformat()})

    @get("/refunds", name="center_ledger.refunds", guards=[center_staff])
    async def refunds(self, session: AsyncSession,
                      project: Annotated[str, Parameter(query="project", max_length=40)] = "",
                      unpaid: Annotated[bool, Parameter(query="unpaid")] = False) -> Template:
        """Refund instructions and their state (due, overdue, paid)."""
        return await self._refunds_page(session, project, unpaid, FormState.of({"project_code": project, "event": ""}))

    @post("/refunds/instruct", name="center_ledger.instruct_refunds", guards=[finance_and_admins])
    async def instruct(self, request: Request, user: User, session: AsyncSession) -> Template | Redirect:
        form = FormState.of(await form_values(request))
        form.required(("project_code", "项目编号"), ("event", "退还事由"))
        await form.attempt(session, lambda: instruct_refunds_for(
            session, project_code=form.value("project_code"), event=form.value("event"), actor=actor_of(user)),
            lambda e: "project_code" if isinstance(e, NotFound | Conflict) else None)
        if not form.ok:
            return await self._refunds_page(session, "", False, form, status_code=HTTP_400_BAD_REQUEST)
        await session.commit()
        return Redirect(f"/center/ledger/refunds?project={form.value('project_code')}")

    @post("/refunds/{refund_id:int}/paid", name="center_ledger.refund_paid", guards=[finance_only])
    async def refund_paid(self, refund_id: RowId, request: Request, user: User, session: AsyncSession,
                          context: AppContext) -> Template | Redirect:
        """Finance confirm a refund paid with the bank's reference; its receipt is issued."""
        form = FormState.of(await form_values(request))
        form.values["refund_id"] = str(refund_id)
        form.required(("bank_reference", "银行交易流水号"), ("value_date", "付款日期"))
        value_date = form.read(day_of, "value_date", "付款日期")
        if form.ok:
            try:
                refund = await confirm_refund_paid(session, refund_id=refund_id, actor=actor_of(user),
                                                   bank_reference=form.value("bank_reference"),
                                                   value_date=value_date, bank=form.value("bank"))
                await issue_receipts(session, context, refund.project_code)
            except DomainError as exc:
                await session.rollback()
                form.refuse(exc, lambda e: "bank_reference")
        if not form.ok:
            return await self._refunds_page(session, "", False, FormState.of({"project_code": "", "event": ""}),
                                            paid=form, status_code=HTTP_400_BAD_REQUEST)
        await session.commit()
        return Redirect("/center/ledger/refunds")

    async def _flags_page(self, session: AsyncSession, dismiss: FormState | None = None,
                          status_code: int = 200) -> Template:
        return Template("center/flags.html", status_code=status_code, context={
            "flags": list(reversed(await collusion_flags(session))), "dismiss": dismiss or FormState.of({})})

    @get("/flags", name="center_ledger.flags", guards=[flag_readers])
    async def flags(self, session: AsyncSession) -> Template:
        """Deposits of different bidders paid from one account (deemed collusion)."""
        return await self._flags_page(session)

    @post("/flags/{flag_id:int}/dismissal", name="center_ledger.dismiss_flag", guards=[supervisors_only])
    async def dismiss(self, flag_id: RowId, request: Request, user: User, session: AsyncSession
                      ) -> Template | Redirect:
        form = FormState.of(await form_values(request))
        form.values["flag_id"] = str(flag_id)
        form.required(("reason", "撤销理由"))
        await form.attempt(session, lambda: dismiss_collusion_flag(
            session, flag_id=flag_id, actor=actor_of(user), reason=form.value("reason")))
        if not form.ok:
            return await self._flags_page(session, form, HTTP_400_BAD_REQUEST)
        await session.commit()
        return Redirect("/center/ledger/flags")

    @get("/receipts", name="center_ledger.receipts", guards=[center_staff])
    async def receipts(self, session: AsyncSession,
                       project: Annotated[str, Parameter(query="project", max_length=40)] = "") -> Template:
        return Template("center/receipts.html", context={
            "project": project, "lines": await receipt_lines(session, project_code=project or None)})

    @get("/receipts/{number:str}/pdf", name="center_ledger.receipt_pdf", guards=[center_staff])
    async def receipt_pdf(self, number: str, session: AsyncSession) -> Response[bytes]:
        """The signed receipt PDF, for the center's staff."""
        receipt = await get_receipt(session, number)
        return Response(receipt.pdf, media_type="application/pdf",
                        headers={"Content-Disposition": f'inline; filename="{receipt.number}.pdf"'})
