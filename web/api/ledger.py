"""The ledger over HTTP (统一费用收取退付): statement import and manual confirmation for finance
staff; collusion flags (shared paying accounts) for supervisors and administrators, dismissed
by supervisors; refunds (list, instruct, confirm paid); the published fee schedule and the
winner's service fee; electronic receipts (PDF for the payer and the center) and the QR
code's address (the public verification page is web/pages/verification.py)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Annotated

from litestar import Controller, Response, get, post
from litestar.datastructures import UploadFile
from litestar.enums import RequestEncodingType
from litestar.params import Body, Parameter
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED
from pydantic import BaseModel, Field
from sqlalchemy.ext.asyncio import AsyncSession

from bidding.settlement.deposits import confirm_deposit, import_statement
from bidding.settlement.service_fee import charge_service_fee, confirm_fee_paid
from bidding.settlement.due_receipts import held_receipt, issue_due_receipts, receipts_held_by
from bidding.settlement.refunds import confirm_refund_paid, instruct_refunds_for, refund_view
from trading.accounts import User
from trading.audit import actor_of
from trading.database import database_now
from trading.fees import load_schedule
from trading.ledger import collusion_flags, dismiss_collusion_flag, fees_of, refunds_of
from trading.receipts import get_receipt, verify_receipt
from trading.roles import UserRole
from web.api.docs import PDF
from web.core.auth import requires_role
from web.core.parameters import RowId
from web.core.state import AppContext
from web.api.schemas.ledger import (
    CollusionFlagView,
    DepositView,
    FeeScheduleView,
    FeeView,
    ReceiptCheck,
    ReceiptView,
    RefundView,
    StatementImported,
)

finance_only = requires_role(UserRole.FINANCE)
supervisors_and_admins = requires_role(UserRole.SUPERVISOR, UserRole.ADMIN)
supervisors_only = requires_role(UserRole.SUPERVISOR)
finance_and_admins = requires_role(UserRole.FINANCE, UserRole.ADMIN)
center_staff = requires_role(UserRole.FINANCE, UserRole.ADMIN, UserRole.SUPERVISOR)
# Those who may hold a receipt: the center, and the organisation that paid or is refunded.
receipt_holders = requires_role(UserRole.FINANCE, UserRole.ADMIN, UserRole.SUPERVISOR, UserRole.BIDDER)


@dataclass
class StatementUpload:
    file: UploadFile
    bank: str = ""


class DepositBody(BaseModel):
    project_code: str = Field(min_length=1, max_length=40)
    bidder_credit_code: str = Field(min_length=18, max_length=18)
    amount_fen: int = Field(gt=0, description="integer fen")
    account: str = Field(min_length=1, max_length=64, description="paying account number")
    account_name: str = Field(min_length=1, max_length=200)
    bank_reference: str = Field(min_length=1, max_length=100)
    value_date: date
    bank: str = Field(default="", max_length=100)


class PaidBody(BaseModel):
    bank_reference: str = Field(min_length=1, max_length=100)
    value_date: date
    bank: str = Field(default="", max_length=100)


class FeePaidBody(PaidBody):
    account: str = Field(min_length=1, max_length=64, description="paying account number")
    account_name: str = Field(min_length=1, max_length=200)


class InstructBody(BaseModel):
    project_code: str = Field(min_length=1, max_length=40)
    event: str = Field(description="award_notice | contract | failed | terminated | withdrawn")


class FeeBody(BaseModel):
    project_code: str = Field(min_length=1, max_length=40)
    category: str | None = Field(default=None, description="goods | services | works (default from the project)")


class DismissalBody(BaseModel):
    reason: str = Field(min_length=1, max_length=2000)


async def _issue_receipts(session: AsyncSession, context: AppContext, project_code: str | None = None) -> None:
    await issue_due_receipts(session, context.keys, public_url=context.settings.public_url, project_code=project_code)


class LedgerController(Controller):
    path = "/api/ledger"
    tags = ["ledger"]

    @post("/statements", guards=[finance_only], status_code=HTTP_200_OK,
          summary="Import a bank statement (CSV/XLSX): all rows or none (400 lists every bad cell)")
    async def import_file(
        self, data: Annotated[StatementUpload, Body(media_type=RequestEncodingType.MULTI_PART)],
        user: User, session: AsyncSession, context: AppContext,
    ) -> StatementImported:
        result = await import_statement(session, actor=actor_of(user), filename=data.file.filename or "",
                                        data=await data.file.read(), bank=data.bank or "")
        if result.imported or result.refunds_paid:
            await _issue_receipts(session, context)
        await session.commit()
        return {"imported": result.count, "already_imported": result.already,
                "deposits": [deposit.as_dict() for deposit in result.imported],
                "refunds_paid": [refund.as_dict() for refund in result.refunds_paid]}

    @post("/deposits", guards=[finance_only], status_code=HTTP_201_CREATED,
          summary="Confirm a deposit by hand (finance staff), matched to an admitted registration")
    async def confirm(self, data: DepositBody, user: User, session: AsyncSession,
                      context: AppContext) -> DepositView:
        deposit = await confirm_deposit(session, actor=actor_of(user), **data.model_dump())
        await _issue_receipts(session, context, deposit.project_code)
        await session.commit()
        return deposit.as_dict()

    @get("/collusion-flags", guards=[supervisors_and_admins],
         summary="Deposits of different bidders paid from one account (deemed collusion)")
    async def flags(
        self, session: AsyncSession,
        project_code: Annotated[str | None, Parameter(query="project")] = None,
    ) -> list[CollusionFlagView]:
        return [flag.as_dict() for flag in await collusion_flags(session, project_code=project_code)]

    @post("/collusion-flags/{flag_id:int}/dismissal", guards=[supervisors_only], status_code=HTTP_200_OK,
          summary="Dismiss a collusion flag after checking it (supervisors), with the reason; audited")
    async def dismiss(self, flag_id: RowId, data: DismissalBody, user: User,
                      session: AsyncSession) -> CollusionFlagView:
        flag = await dismiss_collusion_flag(session, flag_id=flag_id, actor=actor_of(user), reason=data.reason)
        await session.commit()
        return flag.as_dict()

    # -------------------------------------------------------------------------- refunds

    @get("/refunds", guards=[center_staff], summary="Refund instructions, soonest due first (unpaid only by default)")
    async def refunds(
        self, session: AsyncSession,
        project_code: Annotated[str | None, Parameter(query="project")] = None,
        include_paid: Annotated[bool, Parameter(query="include_paid")] = False,
    ) -> list[RefundView]:
        now = await database_now(session)
        return [refund_view(refund, now) for refund in
                await refunds_of(session, project_code=project_code, unpaid_only=not include_paid)]

    @post("/refunds/instruct", guards=[finance_and_admins], status_code=HTTP_200_OK,
          summary="Instruct the refunds an event makes due (e.g. withdrawn, award_notice); never twice per deposit")
    async def instruct(self, data: InstructBody, user: User, session: AsyncSession) -> list[RefundView]:
        refunds = await instruct_refunds_for(session, project_code=data.project_code, event=data.event,
                                             actor=actor_of(user))
        await session.commit()
        return [refund.as_dict() for refund in refunds]

    @post("/refunds/{refund_id:int}/paid", guards=[finance_only], status_code=HTTP_200_OK,
          summary="Confirm a refund paid (finance), with the bank's reference; its receipt is issued")
    async def refund_paid(self, refund_id: RowId, data: PaidBody, user: User, session: AsyncSession,
                          context: AppContext) -> RefundView:
        refund = await confirm_refund_paid(session, refund_id=refund_id, actor=actor_of(user), **data.model_dump())
        await _issue_receipts(session, context, refund.project_code)
        await session.commit()
        return refund.as_dict()

    # -------------------------------------------------------------------------- fees

    @get("/fee-schedule", summary="The published service-fee schedule (amount bands, source)")
    async def fee_schedule(self) -> FeeScheduleView:
        return load_schedule().as_dict()

    @get("/fees", guards=[center_staff], summary="Service fees charged, with their payment")
    async def fees(self, session: AsyncSession,
                   project_code: Annotated[str | None, Parameter(query="project")] = None) -> list[FeeView]:
        return [fee.as_dict() for fee in await fees_of(session, project_code=project_code)]

    @post("/fees", guards=[finance_and_admins], status_code=HTTP_201_CREATED,
          summary="Charge the service fee to the winner after the award (from the fee schedule)")
    async def charge(self, data: FeeBody, user: User, session: AsyncSession) -> FeeView:
        fee = await charge_service_fee(session, project_code=data.project_code, actor=actor_of(user),
                                       category=data.category)
        await session.commit()
        return fee.as_dict()

    @post("/fees/{fee_id:int}/paid", guards=[finance_only], status_code=HTTP_200_OK,
          summary="Record the fee's payment (finance); its receipt is issued")
    async def fee_paid(self, fee_id: RowId, data: FeePaidBody, user: User, session: AsyncSession,
                       context: AppContext) -> FeeView:
        fee = await confirm_fee_paid(session, fee_id=fee_id, actor=actor_of(user), **data.model_dump())
        await _issue_receipts(session, context, fee.project_code)
        await session.commit()
        return fee.as_dict()

    # -------------------------------------------------------------------------- receipts

    @get("/receipts", guards=[receipt_holders],
         summary="Receipts: every one for the center's staff, a bidder's own for a bidder")
    async def receipts(self, user: User, session: AsyncSession,
                       project_code: Annotated[str | None, Parameter(query="project")] = None) -> list[ReceiptView]:
        return [receipt.as_dict() for receipt in await receipts_held_by(session, user, project_code=project_code)]

    @get("/receipts/{number:str}/pdf", guards=[receipt_holders], opt={"media_types": (PDF,)}, summary="The receipt's signed PDF (payer or center)")
    async def receipt_pdf(self, number: str, user: User, session: AsyncSession) -> Response[bytes]:
        receipt = await held_receipt(session, number, user)
        return Response(receipt.pdf, media_type=PDF,
                        headers={"Content-Disposition": f'inline; filename="{receipt.number}.pdf"'})

    @get("/receipts/{number:str}/verification", summary="Public check of a receipt: signature and PDF hash")
    async def receipt_verification(self, number: str, session: AsyncSession, context: AppContext) -> ReceiptCheck:
        return verify_receipt(await get_receipt(session, number), context.keys.verify_key_hex)
