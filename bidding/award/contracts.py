"""The written contract (书面合同) after the award notice, recorded by the tendering party.

:func:`record_contract` takes the amount (fen), the date signed and the SHA-256 of the
contract file; the tender takes the ``record_contract`` step and the ``contract``
deadline set at the award notice is met. A contract signed late is still recorded (the
deadline watch shows the red card); an amount different from the winning price must say
why (招标投标法 第四十六条; 实施条例 第五十七条: the price must agree with the bid). Where the
rule set asks for it (``contract_publication_working_days``, 政府采购法实施条例 第五十条), the
contract is published at once as a "contract" announcement.

Deposit refunds after the contract are not here: they belong to the ledger's refunds.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any

from sqlalchemy import BigInteger, Boolean, Column, Date, ForeignKey, Integer, String, Text, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import Field, SQLModel

from bidding.notice.announcements import publish_announcement
from bidding.award.award_notice import AwardNotice, award_notice_of, notice_subject
from bidding.tender.deadlines import meet_deadline
from bidding.tender.lifecycle import apply_transition
from bidding.tender.projects import get_project
from bidding.tender.periods import rule_period
from bidding.tender.states import STATE_NAMES, TenderState, local_date
from trading.audit import record_event
from trading.columns import timestamp_column
from trading.database import database_now
from trading.errors import Conflict, InvalidInput, RuleViolation
from trading.money import yuan
from trading.organisations import Organisation
from trading.rules.store import RuleSetRecord
from trading.timefmt import local_time

PUBLICATION_RULE = "contract_publication_working_days"
AMOUNT_SOURCE = "招标投标法 第四十六条；招标投标法实施条例 第五十七条 (Law art. 46, Reg. art. 57)"
SHA256_HEX = re.compile(r"[0-9a-f]{64}")


class Contract(SQLModel, table=True):
    __tablename__ = "contracts"

    id: int | None = Field(default=None, primary_key=True)
    project_id: int = Field(sa_column=Column(Integer, ForeignKey("projects.id"), nullable=False, unique=True))
    award_notice_id: int = Field(sa_column=Column(Integer, ForeignKey("award_notices.id"), nullable=False))
    amount_fen: int = Field(sa_column=Column(BigInteger, nullable=False))
    signed_on: date = Field(sa_column=Column(Date, nullable=False))
    file_sha256: str = Field(sa_column=Column(String(64), nullable=False))
    # Why the amount differs from the winning price (required then, else None).
    amount_reason: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    # Recorded after the contract deadline had passed (the watch shows the red card).
    late: bool = Field(sa_column=Column(Boolean, nullable=False))
    announcement_id: int | None = Field(default=None, sa_column=Column(Integer, ForeignKey("announcements.id"),
                                                                       nullable=True))
    recorded_by: str = Field(sa_column=Column(String(200), nullable=False))
    recorded_at: datetime = Field(sa_column=timestamp_column(nullable=False))


def _amount(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise InvalidInput("合同金额应为正整数（单位：分）", code="invalid_contract_amount", field="amount_fen")
    return value


def _signed_on(value: Any) -> date:
    if isinstance(value, str):
        try:
            value = date.fromisoformat(value)
        except ValueError:
            raise InvalidInput("合同签订日期格式应为 YYYY-MM-DD", code="invalid_contract_date", field="signed_on") from None
    if isinstance(value, datetime) or not isinstance(value, date):
        raise InvalidInput("合同签订日期格式应为 YYYY-MM-DD", code="invalid_contract_date", field="signed_on")
    return value


def _sha256(value: Any) -> str:
    value = value.strip().lower() if isinstance(value, str) else ""
    if not SHA256_HEX.fullmatch(value):
        raise InvalidInput("合同文件摘要应为 64 位十六进制 SHA-256", code="invalid_contract_digest", field="file_sha256")
    return value


async def record_contract(session: AsyncSession, *, actor: str, project_code: str, amount_fen: int,
                          signed_on: date | str, file_sha256: str, amount_reason: str | None = None) -> Contract:
    """Record the signed contract: step ``record_contract``, the ``contract`` deadline met."""
    amount_fen, signed_on, file_sha256 = _amount(amount_fen), _signed_on(signed_on), _sha256(file_sha256)
    amount_reason = amount_reason.strip() if isinstance(amount_reason, str) and amount_reason.strip() else None
    project = await get_project(session, project_code, lock=True)
    if project.state != TenderState.AWARDED:
        name = STATE_NAMES.get(project.state, project.state)
        raise Conflict(f"项目 {project.code} 当前状态为「{name}」，不能登记合同", code="state_conflict",
                       project=project.code, state=project.state)
    notice: AwardNotice | None = await award_notice_of(session, project)
    if notice is None:
        raise Conflict(f"项目 {project.code} 尚未发出中标通知书，不能登记合同", code="award_notice_missing",
                       project=project.code)
    now = await database_now(session)
    if signed_on > local_date(now):
        raise InvalidInput("合同签订日期不能晚于今天", code="contract_date_in_future", field="signed_on")
    if signed_on < local_date(notice.issued_at):
        raise InvalidInput(f"合同签订日期不能早于中标通知书发出之日（{local_time(notice.issued_at, '%Y-%m-%d')}）",
                           code="contract_before_award_notice", field="signed_on")
    if amount_fen != notice.price_fen and amount_reason is None:
        raise RuleViolation(f"合同金额 {yuan(amount_fen)} 元与中标价 {yuan(notice.price_fen)} 元不一致，须说明理由"
                            f"（{AMOUNT_SOURCE}）", code="contract_amount_differs",
                            source=AMOUNT_SOURCE, project=project.code, amount_fen=amount_fen,
                            price_fen=notice.price_fen)
    project = await apply_transition(session, actor=actor, project_code=project.code, action="record_contract")
    deadline = await meet_deadline(session, kind="contract", subject=notice_subject(project), actor=actor)
    contract = Contract(project_id=project.id, award_notice_id=notice.id, amount_fen=amount_fen, signed_on=signed_on,
                        file_sha256=file_sha256, amount_reason=amount_reason,
                        late=bool(deadline is not None and deadline.met_at > deadline.due_at),
                        recorded_by=actor, recorded_at=now)
    session.add(contract)
    await session.flush()

    rule_set = await session.get(RuleSetRecord, project.rule_set_id)
    publication = rule_period(rule_set, PUBLICATION_RULE)
    if publication is not None:
        winner = await session.get(Organisation, notice.organisation_id)
        party = await session.get(Organisation, project.tendering_party_id)
        lines = [f"项目编号：{project.code}", f"项目名称：{project.title}", f"采购人/招标人：{party.name}",
                 f"供应商/中标人：{winner.name}", f"合同金额：{yuan(amount_fen)} 元",
                 f"合同签订日期：{signed_on.isoformat()}", f"中标通知书编号：{notice.number}",
                 f"合同文件 SHA-256：{file_sha256}"]
        if amount_reason:
            lines.append(f"合同金额与中标价不一致的理由：{amount_reason}")
        lines.append(f"依据：自合同签订之日起 {publication.label}内公告（{publication.source}）")
        announcement = await publish_announcement(session, actor=actor, project=project, kind="contract",
                                                  title=f"{project.title}合同公告", body="\n".join(lines))
        contract.announcement_id = announcement.id
        await session.flush()
    await record_event(session, actor=actor, action="contract.recorded", subject=notice_subject(project),
                       data={"contract_id": contract.id, "award_notice": notice.number, "amount_fen": amount_fen,
                             "price_fen": notice.price_fen, "amount_reason": amount_reason,
                             "signed_on": signed_on.isoformat(), "file_sha256": file_sha256, "late": contract.late,
                             "announcement_id": contract.announcement_id})
    return contract


def contract_view(contract: Contract) -> dict[str, Any]:
    return {"id": contract.id, "amount_fen": contract.amount_fen, "signed_on": contract.signed_on.isoformat(),
            "file_sha256": contract.file_sha256, "amount_reason": contract.amount_reason, "late": contract.late,
            "announcement_id": contract.announcement_id, "recorded_at": contract.recorded_at.isoformat()}


async def contract_of(session: AsyncSession, project_code: str) -> Contract | None:
    project = await get_project(session, project_code)
    return await session.scalar(select(Contract).where(Contract.project_id == project.id))
