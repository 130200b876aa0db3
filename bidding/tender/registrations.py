"""Bidder registration (投标报名) with its credit check: blacklist with joint sanctions,
bribery records, and the deposit the negative list asks for.

Minimal for now (the lifecycle issue extends it with deadlines, documents and payment):
a registration is admitted or refused by :func:`credit.decisions.eligibility` under the
project's pinned rule set at the database clock; an admitted one carries the deposit
:func:`credit.decisions.deposit_requirement` asks (0: none). A bidder has at most one
admitted registration per project; refusals are kept too, with the deciding records.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import CheckConstraint, Column, ForeignKey, Index, Integer, String, select, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import Field, SQLModel

from bidding.tender.projects import Project, project_by_code
from credit.bribery import BriberyRecordSource, PlatformRecordSource, run_bribery_check
from credit.checks import CreditCheck, check_subject
from credit.facts import ProjectFacts
from credit.subjects import ORGANISATION, Subject
from trading.audit import record_event
from trading.columns import created_at_column, money_column, timestamp_column
from trading.database import transaction_now
from trading.errors import Conflict, InvalidInput, NotFound, RuleViolation
from trading.identifiers import validate_credit_code
from trading.organisations import Organisation
from trading.roles import OrgRole
from trading.rules.store import RuleSetRecord

ADMITTED = "admitted"
REFUSED = "refused"
STATUS_NAMES = {ADMITTED: "准予报名", REFUSED: "不予报名"}


class Registration(SQLModel, table=True):
    __tablename__ = "registrations"
    __table_args__ = (
        CheckConstraint("status IN ('admitted', 'refused')", name="registrations_status_known"),
        CheckConstraint("deposit_required_fen >= 0", name="registrations_deposit_not_negative"),
        Index("registrations_one_admitted", "project_id", "bidder_organisation_id", unique=True,
              postgresql_where=text("status = 'admitted'")),
    )

    id: int | None = Field(default=None, primary_key=True)
    project_id: int = Field(sa_column=Column(Integer, ForeignKey("projects.id"), nullable=False, index=True))
    bidder_organisation_id: int = Field(sa_column=Column(Integer, ForeignKey("organisations.id"), nullable=False,
                                                         index=True))
    status: str = Field(sa_column=Column(String(16), nullable=False))
    # The eligibility and deposit answers, naming every deciding record.
    reasons: dict[str, Any] = Field(sa_column=Column(JSONB, nullable=False))
    deposit_required_fen: int = Field(default=0, sa_column=money_column())
    registered_by: str = Field(sa_column=Column(String(200), nullable=False))
    created_at: datetime = Field(sa_column=created_at_column())
    # When a required deposit was received (set by the ledger); None: not (yet) paid.
    deposit_paid_at: datetime | None = Field(default=None, sa_column=timestamp_column())


def project_facts(project: Project, rule_set: RuleSetRecord, requested_deposit_fen: int | None = None) -> ProjectFacts:
    """The plain facts credit/ decides on, from the project and its pinned rule set."""
    return ProjectFacts.from_rules(code=project.code, category=project.category, region_code=project.region_code,
                                   estimate_fen=project.estimate_fen, requested_deposit_fen=requested_deposit_fen,
                                   rules=rule_set.entries())


def _check_deposit_setting(value: int | None) -> int | None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
        raise InvalidInput("保证金金额应为不小于零的整数（单位：分）", code="invalid_deposit_amount", field="requested_deposit_fen")
    return value


async def _bidder(session: AsyncSession, credit_code: str) -> Organisation:
    code = validate_credit_code(credit_code)
    bidder = await session.scalar(select(Organisation).where(Organisation.credit_code == code))
    if bidder is None:
        raise NotFound(f"未找到统一社会信用代码为 {code} 的单位", credit_code=code)
    if OrgRole.BIDDER.value not in bidder.roles:
        raise InvalidInput(f"单位「{bidder.name}」不具有投标人角色，不能报名",
                           code="not_a_bidder_organisation", field="bidder_credit_code")
    return bidder


async def preview_credit_check(
    session: AsyncSession, *, project_code: str, subject_key: str, subject_type: str = ORGANISATION,
    requested_deposit_fen: int | None = None,
) -> CreditCheck:
    """The eligibility and deposit answers for a subject and project now, without registering."""
    project, _, rule_set = await project_by_code(session, project_code)
    facts = project_facts(project, rule_set, _check_deposit_setting(requested_deposit_fen))
    return await check_subject(session, project=facts, subject_key=subject_key, subject_type=subject_type)


async def register_bidder(
    session: AsyncSession, *, actor: str, project_code: str, bidder_credit_code: str,
    requested_deposit_fen: int | None = None, bribery_source: BriberyRecordSource | None = None,
) -> Registration:
    """Register a bidder for a project after its credit check, at the database clock.

    ``requested_deposit_fen`` is the project's deposit setting (None: the most the rule
    set allows). The bribery-record check (default source: the platform's own records)
    is kept for the registration. The answer is written to the audit log either way.

    Refused: raises :class:`RuleViolation` whose message names every deciding record
    (department, kind, decision number, period); the refused registration and its audit
    entry have been written, so the caller should commit even then (as web/ does).
    """
    requested = _check_deposit_setting(requested_deposit_fen)
    project, _, rule_set = await project_by_code(session, project_code)
    # One registration at a time per project: the check and the insert see the same state.
    await session.execute(select(Project.id).where(Project.id == project.id).with_for_update())
    bidder = await _bidder(session, bidder_credit_code)
    if await session.scalar(select(Registration.id).where(
            Registration.project_id == project.id, Registration.bidder_organisation_id == bidder.id,
            Registration.status == ADMITTED)):
        raise Conflict(f"「{bidder.name}」已报名项目 {project.code}", code="already_registered", project_code=project.code)
    moment = await transaction_now(session)
    facts = project_facts(project, rule_set, requested)
    check = await check_subject(session, project=facts, subject_key=bidder.credit_code, at=moment)
    subject = Subject(ORGANISATION, bidder.credit_code, bidder.name)
    bribery = await run_bribery_check(session, actor=actor, project_code=project.code, subject=subject,
                                      source=bribery_source or PlatformRecordSource(),
                                      lookback_years=facts.bribery_lookback_years, at=moment)
    admitted = check.eligibility.admitted
    deposit = check.deposit.amount_fen if admitted else 0
    registration = Registration(
        project_id=project.id, bidder_organisation_id=bidder.id, status=ADMITTED if admitted else REFUSED,
        reasons={**check.as_dict(), "bribery_check_id": bribery.id, "rule_set": f"{rule_set.code}@{rule_set.version}"},
        deposit_required_fen=deposit, registered_by=actor)
    session.add(registration)
    await session.flush()
    deciding = [item.record.id for item in check.eligibility.deciding]
    await record_event(session, actor=actor, action=f"registration.{registration.status}",
                       subject=f"project:{project.code}",
                       data={"registration_id": registration.id, "bidder": bidder.credit_code,
                             "message": check.eligibility.message, "deciding_records": deciding,
                             "deposit_required_fen": deposit,
                             "deposit_records": [item.record.id for item in check.deposit.deciding],
                             "bribery_check_id": bribery.id, "at": moment.isoformat()})
    if not admitted:
        raise RuleViolation(check.eligibility.message, code="registration_refused", registration_id=registration.id,
                            deciding_records=[item.as_dict() for item in check.eligibility.deciding])
    return registration
