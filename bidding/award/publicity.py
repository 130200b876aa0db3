"""Candidate publicity (中标候选人公示) and objections to the result (异议).

- :func:`publish_candidates`: the center or the agency publishes the committee's ranked
  candidates (rank, name, price, score where given) as a public announcement; the tender
  takes the ``publish_candidates`` step (at most the rule's number of candidates, within
  the rule's days of the report). The chronograph awards when the publicity period ends.
- :func:`raise_candidate_objection` / :func:`answer_candidate_objection`: a bidder of the
  tender objects to the result during the publicity; the tendering party (or its agency)
  answers within the rule's period (招标投标法实施条例 第五十四条: 3 days; for government
  procurement the challenge period of 政府采购法 第五十三条), watched as the deadline
  ``candidate_objection_answer``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Column, ForeignKey, Integer, String, Text, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import Field, SQLModel

from bidding.notice.announcements import Announcement, publish_announcement
from bidding.bids.submission import SUBMITTED, Bid
from bidding.evaluation.candidates import Candidate, ranked_candidates
from bidding.tender.deadlines import meet_deadline
from bidding.tender.lifecycle import apply_transition
from bidding.tender.projects import Project, get_project
from bidding.tender.periods import rule_period, start_clock
from bidding.tender.states import STATE_NAMES, TenderState
from trading.audit import record_event
from trading.columns import timestamp_column
from trading.database import database_now
from trading.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from trading.money import yuan
from trading.organisations import Organisation
from trading.rules.store import RuleSetRecord
from trading.timefmt import local_time

OBJECTION_ANSWER_RULES = ("candidate_objection_answer_days", "challenge_answer_working_days")
MAX_TEXT_CHARS = 5000


class CandidateObjection(SQLModel, table=True):
    __tablename__ = "candidate_objections"

    id: int | None = Field(default=None, primary_key=True)
    project_id: int = Field(sa_column=Column(Integer, ForeignKey("projects.id"), nullable=False, index=True))
    organisation_id: int = Field(sa_column=Column(Integer, ForeignKey("organisations.id"), nullable=False))
    raised_by: str = Field(sa_column=Column(String(200), nullable=False))
    text: str = Field(sa_column=Column(Text, nullable=False))
    raised_at: datetime = Field(sa_column=timestamp_column(nullable=False))
    answer: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    answered_by: str | None = Field(default=None, sa_column=Column(String(200), nullable=True))
    answered_at: datetime | None = Field(default=None, sa_column=timestamp_column())


def objection_subject(objection: CandidateObjection) -> str:
    return f"candidate-objection:{objection.id}"


def clean_text(value: Any, what: str, field: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput(f"{what}不能为空", code="text_required", field=field)
    value = value.strip()
    if len(value) > MAX_TEXT_CHARS:
        raise InvalidInput(f"{what}不能超过 {MAX_TEXT_CHARS} 字", code="text_too_long", field=field)
    return value


async def is_bidder_of(session: AsyncSession, project: Project, organisation: Organisation) -> bool:
    """Whether the organisation had a bid in the tender at the deadline (a current, not withdrawn bid)."""
    return bool(await session.scalar(select(Bid.id).where(
        Bid.project_id == project.id, Bid.bidder_credit_code == organisation.credit_code, Bid.status == SUBMITTED)
        .limit(1)))


async def bidder_of(session: AsyncSession, project: Project, organisation_id: int, doing: str) -> Organisation:
    organisation = await session.get(Organisation, organisation_id)
    if organisation is None or not await is_bidder_of(session, project, organisation):
        raise PermissionDenied(f"只有项目 {project.code} 的投标人可以{doing}",
                               code="not_a_bidder_of_project", project=project.code)
    return organisation


async def candidate_rows(session: AsyncSession, project: Project) -> list[tuple[Candidate, Organisation]]:
    rows = []
    for candidate in await ranked_candidates(session, project.id):
        rows.append((candidate, await session.get(Organisation, candidate.organisation_id)))
    return rows


def candidate_view(candidate: Candidate, organisation: Organisation) -> dict[str, Any]:
    return {"rank": candidate.rank, "name": organisation.name, "credit_code": organisation.credit_code,
            "price_fen": candidate.price_fen, "score": candidate.score, "round": candidate.round}


async def publish_candidates(session: AsyncSession, *, actor: str, project_code: str) -> Announcement:
    """Publish the current ranked candidates and start the publicity (step ``publish_candidates``)."""
    project = await get_project(session, project_code, lock=True)
    rows = await candidate_rows(session, project)
    facts: dict[str, Any] = {"candidates": len(rows)}
    if rows:
        facts["report_at"] = rows[0][0].recorded_at
    project = await apply_transition(session, actor=actor, project_code=project.code, action="publish_candidates",
                                     facts=facts)
    rule_set = await session.get(RuleSetRecord, project.rule_set_id)
    lines = [f"项目编号：{project.code}", f"项目名称：{project.title}", "", "中标候选人（按排名）："]
    for candidate, organisation in rows:
        line = f"第{candidate.rank}名：{organisation.name}，投标报价 {yuan(candidate.price_fen)} 元"
        if candidate.score is not None:
            line += f"，综合得分 {candidate.score}"
        lines.append(line)
    lines.append("")
    lines.append(f"公示开始：{local_time(project.publicity_started_at)}")
    if project.next_due_at is not None:
        lines.append(f"公示截止：{local_time(project.next_due_at)}")
    answer = rule_period(rule_set, *OBJECTION_ANSWER_RULES)
    lines.append("投标人或者其他利害关系人对评标结果有异议的，应当在公示期间提出"
                 + (f"；招标人自收到异议之日起 {answer.label}内作出答复（{answer.source}）。" if answer else "。"))
    announcement = await publish_announcement(session, actor=actor, project=project, kind="candidates",
                                              title=f"{project.title}中标候选人公示", body="\n".join(lines))
    await record_event(session, actor=actor, action="publicity.started", subject=f"project:{project.code}",
                       data={"announcement_id": announcement.id,
                             "candidates": [candidate_view(c, o) for c, o in rows],
                             "started_at": project.publicity_started_at.isoformat(),
                             "ends_at": project.next_due_at.isoformat() if project.next_due_at else None})
    return announcement


async def publicity_of(session: AsyncSession, project_code: str) -> dict[str, Any]:
    """The public view of the candidate publicity: who, at what price, and the period."""
    project = await get_project(session, project_code)
    if project.publicity_started_at is None:
        raise Conflict(f"项目 {project.code} 尚未公示中标候选人", code="publicity_not_started", project=project.code)
    rows = await candidate_rows(session, project)
    announcement = await session.scalar(select(Announcement).where(
        Announcement.project_id == project.id, Announcement.kind == "candidates")
        .order_by(Announcement.published_at.desc(), Announcement.id.desc()).limit(1))
    return {"project": project.code, "title": project.title, "state": project.state,
            "state_name": STATE_NAMES.get(project.state, project.state),
            "publicity_started_at": project.publicity_started_at.isoformat(),
            "publicity_ends_at": project.next_due_at.isoformat()
            if project.state == TenderState.PUBLICITY and project.next_due_at else None,
            "announcement_id": announcement.id if announcement else None,
            "candidates": [candidate_view(c, o) for c, o in rows]}


async def raise_candidate_objection(session: AsyncSession, *, actor: str, project_code: str, organisation_id: int,
                                    text: str) -> CandidateObjection:
    """A bidder's objection to the result during the publicity; the answer clock starts."""
    text = clean_text(text, "异议内容", "text")
    project = await get_project(session, project_code, lock=True)
    if project.state != TenderState.PUBLICITY:
        name = STATE_NAMES.get(project.state, project.state)
        raise Conflict(f"项目 {project.code} 当前状态为「{name}」，只能在中标候选人公示期间对评标结果提出异议",
                       code="state_conflict", project=project.code, state=project.state)
    organisation = await bidder_of(session, project, organisation_id, "对评标结果提出异议")
    now = await database_now(session)
    objection = CandidateObjection(project_id=project.id, organisation_id=organisation.id, raised_by=actor,
                                   text=text, raised_at=now)
    session.add(objection)
    await session.flush()
    rule_set = await session.get(RuleSetRecord, project.rule_set_id)
    period = rule_period(rule_set, *OBJECTION_ANSWER_RULES)
    deadline = None
    if period is not None:
        deadline = await start_clock(session, project=project, kind="candidate_objection_answer",
                                     subject=objection_subject(objection), period=period, start=now, actor=actor)
    await record_event(session, actor=actor, action="publicity.objection_raised", subject=f"project:{project.code}",
                       data={"objection_id": objection.id, "bidder": organisation.credit_code, "text": text,
                             "answer_due_at": deadline.due_at.isoformat() if deadline else None})
    return objection


async def answer_candidate_objection(session: AsyncSession, *, actor: str, project_code: str, objection_id: int,
                                     answer: str) -> CandidateObjection:
    """The tendering party's (or agency's) answer, recorded once; the answer clock stops."""
    answer = clean_text(answer, "答复内容", "answer")
    project = await get_project(session, project_code)
    objection = await session.scalar(select(CandidateObjection).where(
        CandidateObjection.id == objection_id, CandidateObjection.project_id == project.id).with_for_update())
    if objection is None:
        raise NotFound("未找到该异议", objection_id=objection_id)
    if objection.answered_at is not None:
        raise Conflict("该异议已答复", code="objection_answered", objection_id=objection_id)
    objection.answer, objection.answered_by = answer, actor
    objection.answered_at = await database_now(session)
    await session.flush()
    deadline = await meet_deadline(session, kind="candidate_objection_answer", subject=objection_subject(objection),
                                   actor=actor)
    await record_event(session, actor=actor, action="publicity.objection_answered", subject=f"project:{project.code}",
                       data={"objection_id": objection.id, "answer": answer,
                             "late": bool(deadline and deadline.met_at > deadline.due_at)})
    return objection


async def objections_of(session: AsyncSession, project_code: str, *, organisation_id: int | None = None,
                        ) -> list[dict[str, Any]]:
    """Objections with their answers; ``organisation_id`` limits them to one bidder's own."""
    project = await get_project(session, project_code)
    query = (select(CandidateObjection, Organisation).join(Organisation,
                                                           Organisation.id == CandidateObjection.organisation_id)
             .where(CandidateObjection.project_id == project.id).order_by(CandidateObjection.id))
    if organisation_id is not None:
        query = query.where(CandidateObjection.organisation_id == organisation_id)

    def moment(value: datetime | None) -> str | None:
        return value.isoformat() if value else None

    return [{"id": o.id, "bidder_credit_code": org.credit_code, "bidder_name": org.name, "text": o.text,
             "raised_at": moment(o.raised_at), "answer": o.answer, "answered_by": o.answered_by,
             "answered_at": moment(o.answered_at)} for o, org in (await session.execute(query)).all()]
