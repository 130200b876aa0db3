"""Complaints (投诉) against the evaluation result, handled by supervisors.

1. :func:`file_complaint`: a bidder of the tender complains within the rule's complaint
   period counted from the start of the candidate publicity (``complaint_period_days``,
   招标投标法实施条例 第六十条; or ``complaint_period_working_days`` for government
   procurement). The acceptance clock starts (``complaint_acceptance_working_days``).
2. Supervisors decide whether to accept it: :func:`reject_complaint` records the reasons
   and suspends nothing; :func:`accept_complaint` suspends the tender (step ``suspend``)
   and starts the decision clock (``complaint_decision_working_days``).
3. :func:`decide_complaint`: upheld → ``reevaluate`` (back to evaluation) or
   ``terminate`` (re-tender); dismissed → ``resume`` (once no other accepted complaint
   is still open).

Every step carries its reasons and an audit entry; refusals name the rule and its source.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, CheckConstraint, Column, ForeignKey, Integer, String, Text, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import Field, SQLModel

from bidding.tender.deadlines import meet_deadline
from bidding.tender.lifecycle import apply_transition
from bidding.tender.projects import Project, get_project
from bidding.award.publicity import bidder_of, clean_text
from bidding.tender.periods import rule_period, start_clock
from bidding.tender.states import STATE_NAMES, SUSPENDABLE_STATES, TERMINAL_STATES, TenderState
from trading.audit import record_event
from trading.columns import timestamp_column
from trading.database import database_now
from trading.errors import Conflict, InvalidInput, NotFound, RuleViolation
from trading.organisations import Organisation
from trading.rules.store import RuleSetRecord
from trading.timefmt import local_time

FILED, REJECTED, ACCEPTED, UPHELD, DISMISSED = "filed", "rejected", "accepted", "upheld", "dismissed"
STATUS_NAMES = {FILED: "待受理", REJECTED: "不予受理", ACCEPTED: "已受理", UPHELD: "投诉成立", DISMISSED: "投诉不成立（驳回）"}
# What an upheld complaint leads to, as the tender's step.
UPHELD_OUTCOMES = {"reevaluate": "重新评审", "terminate": "终止招标，重新招标"}
DISMISS = "dismiss"
PERIOD_RULES = ("complaint_period_days", "complaint_period_working_days")
ACCEPTANCE_RULE = "complaint_acceptance_working_days"
DECISION_RULE = "complaint_decision_working_days"


class Complaint(SQLModel, table=True):
    __tablename__ = "complaints"
    __table_args__ = (
        CheckConstraint("status IN ('filed', 'rejected', 'accepted', 'upheld', 'dismissed')",
                        name="complaints_status_known"),
        CheckConstraint("outcome IS NULL OR outcome IN ('reevaluate', 'terminate', 'dismiss')",
                        name="complaints_outcome_known"),
    )

    id: int | None = Field(default=None, primary_key=True)
    project_id: int = Field(sa_column=Column(Integer, ForeignKey("projects.id"), nullable=False, index=True))
    organisation_id: int = Field(sa_column=Column(Integer, ForeignKey("organisations.id"), nullable=False))
    filed_by: str = Field(sa_column=Column(String(200), nullable=False))
    grounds: str = Field(sa_column=Column(Text, nullable=False))
    filed_at: datetime = Field(sa_column=timestamp_column(nullable=False))
    status: str = Field(sa_column=Column(String(16), nullable=False))
    # Acceptance (受理) or refusal to accept, with the supervisor's reasons.
    acceptance_by: str | None = Field(default=None, sa_column=Column(String(200), nullable=True))
    acceptance_at: datetime | None = Field(default=None, sa_column=timestamp_column())
    acceptance_reason: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    # Whether accepting it suspended the tender (False when it was already suspended or past suspending).
    suspended_tender: bool = Field(default=False, sa_column=Column(Boolean, nullable=False, server_default="false"))
    # The decision (处理决定), with its reasons.
    outcome: str | None = Field(default=None, sa_column=Column(String(16), nullable=True))
    decision_by: str | None = Field(default=None, sa_column=Column(String(200), nullable=True))
    decision_at: datetime | None = Field(default=None, sa_column=timestamp_column())
    decision_reason: str | None = Field(default=None, sa_column=Column(Text, nullable=True))


def complaint_subject(complaint: Complaint) -> str:
    return f"complaint:{complaint.id}"


def _project_subject(project: Project) -> str:
    return f"project:{project.code}"


async def _rule_set(session: AsyncSession, project: Project) -> RuleSetRecord:
    return await session.get(RuleSetRecord, project.rule_set_id)


async def _complaint(session: AsyncSession, project: Project, complaint_id: int) -> Complaint:
    complaint = await session.scalar(select(Complaint).where(
        Complaint.id == complaint_id, Complaint.project_id == project.id).with_for_update()
        .execution_options(populate_existing=True))
    if complaint is None:
        raise NotFound("未找到该投诉", complaint_id=complaint_id)
    return complaint


def _expect(complaint: Complaint, status: str, doing: str) -> None:
    if complaint.status != status:
        raise Conflict(f"投诉当前为「{STATUS_NAMES[complaint.status]}」，不能{doing}", code="complaint_state",
                       complaint_id=complaint.id, status=complaint.status)


async def file_complaint(session: AsyncSession, *, actor: str, project_code: str, organisation_id: int,
                         grounds: str) -> Complaint:
    """A bidder's complaint, within the rule's period from the start of the candidate publicity."""
    grounds = clean_text(grounds, "投诉事项及理由", "grounds")
    project = await get_project(session, project_code, lock=True)
    if project.publicity_started_at is None:
        raise Conflict(f"项目 {project.code} 尚未公示中标候选人，不能对评标结果投诉", code="publicity_not_started",
                       project=project.code)
    if project.state in TERMINAL_STATES:
        name = STATE_NAMES.get(project.state, project.state)
        raise Conflict(f"项目 {project.code} 当前状态为「{name}」，不再受理投诉", code="state_conflict",
                       project=project.code, state=project.state)
    organisation = await bidder_of(session, project, organisation_id, "投诉")
    now = await database_now(session)
    rule_set = await _rule_set(session, project)
    period = rule_period(rule_set, *PERIOD_RULES)
    if period is not None and now >= (end := period.end(project.publicity_started_at)).at:
        raise RuleViolation(
            f"投诉期限为自中标候选人公示之日起 {period.label}，已于 {local_time(end.at)} 届满（{period.source}）{end.note}",
            code="complaint_period_over", rule=period.key, source=period.source, value=period.value, unit=period.unit,
            rule_set=f"{rule_set.code}@{rule_set.version}", project=project.code, ends_at=end.at.isoformat())
    complaint = Complaint(project_id=project.id, organisation_id=organisation.id, filed_by=actor, grounds=grounds,
                          filed_at=now, status=FILED)
    session.add(complaint)
    await session.flush()
    acceptance = rule_period(rule_set, ACCEPTANCE_RULE)
    deadline = None
    if acceptance is not None:
        deadline = await start_clock(session, project=project, kind="complaint_acceptance",
                                     subject=complaint_subject(complaint), period=acceptance, start=now, actor=actor)
    await record_event(session, actor=actor, action="complaint.filed", subject=_project_subject(project),
                       data={"complaint_id": complaint.id, "bidder": organisation.credit_code, "grounds": grounds,
                             "period_rule": period.key if period else None,
                             "acceptance_due_at": deadline.due_at.isoformat() if deadline else None})
    return complaint


async def reject_complaint(session: AsyncSession, *, actor: str, project_code: str, complaint_id: int,
                           reason: str) -> Complaint:
    """Not accepted (不予受理): the reasons are recorded, nothing is suspended."""
    reason = clean_text(reason, "不予受理的理由", "reason")
    project = await get_project(session, project_code, lock=True)
    complaint = await _complaint(session, project, complaint_id)
    _expect(complaint, FILED, "作出受理决定")
    complaint.status, complaint.acceptance_by, complaint.acceptance_reason = REJECTED, actor, reason
    complaint.acceptance_at = await database_now(session)
    await session.flush()
    await meet_deadline(session, kind="complaint_acceptance", subject=complaint_subject(complaint), actor=actor)
    await record_event(session, actor=actor, action="complaint.rejected", subject=_project_subject(project),
                       data={"complaint_id": complaint.id, "reason": reason})
    return complaint


async def accept_complaint(session: AsyncSession, *, actor: str, project_code: str, complaint_id: int,
                           reason: str) -> Complaint:
    """Accepted (受理): the tender is suspended (step ``suspend``) and the decision clock starts."""
    reason = clean_text(reason, "受理意见", "reason")
    project = await get_project(session, project_code, lock=True)
    complaint = await _complaint(session, project, complaint_id)
    _expect(complaint, FILED, "作出受理决定")
    if project.state in TERMINAL_STATES:
        name = STATE_NAMES.get(project.state, project.state)
        raise Conflict(f"项目 {project.code} 当前状态为「{name}」，不能受理投诉", code="state_conflict",
                       project=project.code, state=project.state)
    now = await database_now(session)
    complaint.status, complaint.acceptance_by, complaint.acceptance_reason = ACCEPTED, actor, reason
    complaint.acceptance_at = now
    if project.state in SUSPENDABLE_STATES:
        await apply_transition(session, actor=actor, project_code=project.code, action="suspend",
                               facts={"reason": f"受理投诉（第 {complaint.id} 号）：{reason}",
                                      "complaint": complaint_subject(complaint)})
        complaint.suspended_tender = True
    await session.flush()
    await meet_deadline(session, kind="complaint_acceptance", subject=complaint_subject(complaint), actor=actor)
    rule_set = await _rule_set(session, project)
    decision = rule_period(rule_set, DECISION_RULE)
    deadline = None
    if decision is not None:
        deadline = await start_clock(session, project=project, kind="complaint_answer",
                                     subject=complaint_subject(complaint), period=decision, start=now, actor=actor)
    await record_event(session, actor=actor, action="complaint.accepted", subject=_project_subject(project),
                       data={"complaint_id": complaint.id, "reason": reason,
                             "suspended": complaint.suspended_tender, "state": project.state,
                             "decision_due_at": deadline.due_at.isoformat() if deadline else None})
    return complaint


async def decide_complaint(session: AsyncSession, *, actor: str, project_code: str, complaint_id: int, outcome: str,
                           reason: str) -> Complaint:
    """The supervisors' decision: ``reevaluate`` or ``terminate`` (upheld), or ``dismiss``."""
    if outcome not in (*UPHELD_OUTCOMES, DISMISS):
        raise InvalidInput("处理决定应为 reevaluate（投诉成立，重新评审）、terminate（投诉成立，终止招标）"
                           "或 dismiss（投诉不成立）", code="unknown_complaint_decision", field="outcome")
    reason = clean_text(reason, "处理决定的理由", "reason")
    project = await get_project(session, project_code, lock=True)
    complaint = await _complaint(session, project, complaint_id)
    _expect(complaint, ACCEPTED, "作出处理决定")
    step_reason = f"投诉（第 {complaint.id} 号）处理决定：{reason}"
    if outcome in UPHELD_OUTCOMES:
        project = await apply_transition(session, actor=actor, project_code=project.code, action=outcome,
                                         facts={"reason": step_reason})
        complaint.status = UPHELD
    else:
        complaint.status = DISMISSED
        others_open = await session.scalar(select(func.count()).select_from(Complaint).where(
            Complaint.project_id == project.id, Complaint.status == ACCEPTED, Complaint.id != complaint.id))
        if project.state == TenderState.SUSPENDED and not others_open:
            project = await apply_transition(session, actor=actor, project_code=project.code, action="resume",
                                             facts={"reason": step_reason})
    complaint.outcome, complaint.decision_by, complaint.decision_reason = outcome, actor, reason
    complaint.decision_at = await database_now(session)
    await session.flush()
    await meet_deadline(session, kind="complaint_answer", subject=complaint_subject(complaint), actor=actor)
    await record_event(session, actor=actor, action=f"complaint.{complaint.status}", subject=_project_subject(project),
                       data={"complaint_id": complaint.id, "outcome": outcome, "reason": reason,
                             "state": project.state})
    return complaint


def complaint_view(complaint: Complaint, organisation: Organisation) -> dict[str, Any]:
    def moment(value: datetime | None) -> str | None:
        return value.isoformat() if value else None

    return {"id": complaint.id, "bidder_credit_code": organisation.credit_code, "bidder_name": organisation.name,
            "grounds": complaint.grounds, "filed_at": moment(complaint.filed_at), "status": complaint.status,
            "status_name": STATUS_NAMES[complaint.status], "acceptance_reason": complaint.acceptance_reason,
            "acceptance_at": moment(complaint.acceptance_at), "suspended_tender": complaint.suspended_tender,
            "outcome": complaint.outcome, "decision_reason": complaint.decision_reason,
            "decision_at": moment(complaint.decision_at)}


async def complaints_of(session: AsyncSession, project_code: str, *, organisation_id: int | None = None,
                        ) -> list[dict[str, Any]]:
    """A project's complaints; ``organisation_id`` limits them to one bidder's own."""
    project = await get_project(session, project_code)
    query = (select(Complaint, Organisation).join(Organisation, Organisation.id == Complaint.organisation_id)
             .where(Complaint.project_id == project.id).order_by(Complaint.id))
    if organisation_id is not None:
        query = query.where(Complaint.organisation_id == organisation_id)
    return [complaint_view(c, o) for c, o in (await session.execute(query)).all()]
