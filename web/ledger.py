"""The deposit ledger over HTTP: statement import and manual confirmation for finance staff,
collusion flags (shared paying accounts) for supervisors and administrators."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any

from litestar import Controller, get, post
from litestar.datastructures import UploadFile
from litestar.enums import RequestEncodingType
from litestar.params import Body, Parameter
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED
from pydantic import BaseModel, Field
from sqlalchemy.ext.asyncio import AsyncSession

from bidding.deposits import confirm_deposit, import_statement
from trading.accounts import User
from trading.audit import actor_of
from trading.ledger import collusion_flags
from trading.roles import UserRole
from web.auth import requires_role

finance_only = requires_role(UserRole.FINANCE)
supervisors_and_admins = requires_role(UserRole.SUPERVISOR, UserRole.ADMIN)


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


class LedgerController(Controller):
    path = "/api/ledger"
    tags = ["ledger"]

    @post("/statements", guards=[finance_only], status_code=HTTP_200_OK,
          summary="Import a bank statement (CSV/XLSX): all rows or none (400 lists every bad cell)")
    async def import_file(
        self, data: Annotated[StatementUpload, Body(media_type=RequestEncodingType.MULTI_PART)],
        user: User, session: AsyncSession,
    ) -> dict[str, Any]:
        result = await import_statement(session, actor=actor_of(user), filename=data.file.filename or "",
                                        data=await data.file.read(), bank=data.bank or "")
        await session.commit()
        return {"imported": result.count, "already_imported": result.already,
                "deposits": [deposit.as_dict() for deposit in result.imported]}

    @post("/deposits", guards=[finance_only], status_code=HTTP_201_CREATED,
          summary="Confirm a deposit by hand (finance staff), matched to an admitted registration")
    async def confirm(self, data: DepositBody, user: User, session: AsyncSession) -> dict[str, Any]:
        deposit = await confirm_deposit(session, actor=actor_of(user), **data.model_dump())
        await session.commit()
        return deposit.as_dict()

    @get("/collusion-flags", guards=[supervisors_and_admins],
         summary="Deposits of different bidders paid from one account (deemed collusion)")
    async def flags(
        self, session: AsyncSession,
        project_code: Annotated[str | None, Parameter(query="project")] = None,
    ) -> list[dict[str, Any]]:
        return [flag.as_dict() for flag in await collusion_flags(session, project_code=project_code)]
