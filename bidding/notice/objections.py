"""Objections to the tender documents (对招标文件的异议, 招标投标法实施条例 第二十二条).

- A potential bidder (an admitted registration for the project) objects no later than
  ``docs_objection_min_days_before_deadline`` days before the bid deadline (database
  clock); later it is refused naming the rule and its source. A rule set without the rule
  (government procurement, whose bidders challenge, 质疑, instead) refuses objections here.
- The tendering party (or its agency, or the center) answers within
  ``docs_objection_answer_days``: the clock is a deadline of kind ``docs_objection_answer``
  (:mod:`bidding.tender.deadlines`), watched by the deadline watch.
- Where ``docs_objection_suspends_process`` is true, the process is paused until every
  objection is answered: the tender takes the ``suspend`` step (bids are refused while it
  is suspended, :mod:`bidding.bids.submission` accepts them only in ``bidding``), and the last answer
  takes ``resume`` back to where it stopped. Only a suspension an objection caused is
  resumed here: the objection keeps the audit sequence number of its ``tender.suspend``
  entry, and the tender resumes only while that entry is still the project's latest
  suspension (a complaint's suspension is the supervisors' to lift).
- An answer that changes the documents is published as a clarification/change
  (:func:`bidding.notice.clarifications.publish_clarification`, optionally with the next version
  of the documents) after the resume; fewer than ``clarification_min_days_before_deadline``
  days before the deadline, that moves the deadline. While other objections keep the
  tender suspended, such an answer is refused: answer them first.
- The objector is anonymous to other bidders and to the tendering party and agency (a
  public number within the project, as for questions); the center and supervisors see who
  objected. The answer reaches the objector as a portal message.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import BigInteger, Boolean, Column, ForeignKey, Integer, String, Text, UniqueConstraint, func, select
from sqlalchemy import text as sql_text
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import Field, SQLModel

from bidding.notice.clarifications import IDENTITY_ROLES, admitted_registration, publish_clarification
from bidding.tender.deadlines import meet_deadline, set_deadline
from bidding.tender.lifecycle import apply_transition
from bidding.tender.projects import Project, get_project
from bidding.tender.registrations import ADMITTED, Registration
from bidding.tender.states import STATE_NAMES, TenderState, period_end
from bidding.notice.documents import DocumentFile
from trading.audit import AuditEntry, record_event
from trading.columns import timestamp_column
from trading.database import database_now
from trading.errors import Conflict, InvalidInput, NotFound, PermissionDenied, RuleViolation
from trading.notifications import enqueue
from trading.organisations import Organisation
from trading.roles import UserRole
from trading.rules.store import RuleSetRecord
from trading.timefmt import local_time

LATEST_RULE = "docs_objection_min_days_before_deadline"
ANSWER_RULE = "docs_objection_answer_days"
SUSPENDS_RULE = "docs_objection_suspends_process"
DEADLINE_KIND = "docs_objection_answer"
# States in which the documents are out and the bids not yet opened.
OBJECTABLE_STATES = (TenderState.ANNOUNCED, TenderState.BIDDING)
MAX_OBJECTION_CHARS = 10000


class DocObjection(SQLModel, table=True):
    __tablename__ = "doc_objections"
    __table_args__ = (UniqueConstraint("project_id", "public_number", name="doc_objections_number_unique"),)

    id: int | None = Field(default=None, primary_key=True)
    project_id: int = Field(sa_column=Column(Integer, ForeignKey("projects.id"), nullable=False, index=True))
    # Anonymous number shown to everyone but the center and supervisors.
    public_number: int = Field(sa_column=Column(Integer, nullable=False))
    registration_id: int = Field(sa_column=Column(Integer, ForeignKey("registrations.id"), nullable=False))
    bidder_organisation_id: int = Field(sa_column=Column(Integer, ForeignKey("organisations.id"), nullable=False,
                                                         index=True))
    text: str = Field(sa_column=Column(Text, nullable=False))
    raised_by: str = Field(sa_column=Column(String(200), nullable=False))
    raised_at: datetime = Field(sa_column=timestamp_column(nullable=False))
    answer_due_at: datetime | None = Field(default=None, sa_column=timestamp_column())
    answer_due_provisional: bool = Field(default=False, sa_column=Column(Boolean, nullable=False,
                                                                         server_default=sql_text("false")))
    answer: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    answered_by: str | None = Field(default=None, sa_column=Column(String(200), nullable=True))
    answered_at: datetime | None = Field(default=None, sa_column=timestamp_column())
    # The clarification/change that published an answer changing the documents.
    clarification_id: int | None = Field(default=None, sa_column=Column(Integer, ForeignKey("clarifications.id"),
                                                                        nullable=True))
    # The audit seq of the ``tender.suspend`` entry this objection caused (None: it did not suspend).
    suspension_seq: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))


def objection_subject(objection: DocObjection) -> str:
    """The deadline and outbox subject of an objection."""
    return f"docs_objection:{objection.id}"


def _rule_details(rule_set: RuleSetRecord, key: str, rule: dict[str, Any] | None) -> dict[str, Any]:
    rule = rule or {}
    return {"rule": key, "source": rule.get("source"), "value": rule.get("value"), "unit": rule.get("unit"),
            "rule_set": f"{rule_set.code}@{rule_set.version}"}


def _objectable(project: Project) -> bool:
    if project.state in OBJECTABLE_STATES:
        return True
    return project.state == TenderState.SUSPENDED and project.suspended_from in OBJECTABLE_STATES


async def _latest_suspension_seq(session: AsyncSession, project: Project) -> int | None:
    return await session.scalar(select(func.max(AuditEntry.seq)).where(
        AuditEntry.subject == f"project:{project.code}", AuditEntry.action == "tender.suspend"))


async def _admitted_bidders(session: AsyncSession, project: Project) -> list[Organisation]:
    return list((await session.scalars(
        select(Organisation).join(Registration, Registration.bidder_organisation_id == Organisation.id)
        .where(Registration.project_id == project.id, Registration.status == ADMITTED).order_by(Organisation.id)
    )).all())


async def raise_doc_objection(session: AsyncSession, *, actor: str, project_code: str, bidder_organisation_id: int,
                              text: str) -> DocObjection:
    """A potential bidder objects to the tender documents; the answer clock starts and, where
    the rules say so, the tender is suspended until every objection is answered."""
    text = (text or "").strip() if isinstance(text, str) else ""
    if not text:
        raise InvalidInput("异议内容不能为空", code="text_required", field="text")
    if len(text) > MAX_OBJECTION_CHARS:
        raise InvalidInput(f"异议内容不能超过 {MAX_OBJECTION_CHARS} 字", code="text_too_long", field="text")
    project = await get_project(session, project_code, lock=True)  # serialises numbers and the suspension
    registration = await admitted_registration(session, project, bidder_organisation_id)
    if registration is None:
        raise PermissionDenied(f"未报名（或未获准报名）项目 {project.code} 的单位不能对招标文件提出异议", code="registration_required",
                               project=project.code)
    now = await database_now(session)
    if not _objectable(project) or project.bid_deadline is None:
        state = STATE_NAMES.get(project.state, project.state)
        raise Conflict(f"项目 {project.code} 当前状态为「{state}」，不能对招标文件提出异议", code="state_conflict",
                       project=project.code, state=project.state)
    if project.documents_issued_at is None or now < project.documents_issued_at:
        raise Conflict(f"项目 {project.code} 的招标文件尚未发出", code="documents_not_issued", project=project.code)

    rule_set = await session.get(RuleSetRecord, project.rule_set_id)
    latest_rule = rule_set.entry(LATEST_RULE)
    if latest_rule is None:
        raise RuleViolation(f"项目 {project.code} 适用的规则集（{rule_set.code}@{rule_set.version}）未规定对招标文件的"
                            f"异议程序；政府采购项目请依法提出质疑", code="docs_objection_not_in_rules",
                            rule=LATEST_RULE, project=project.code, rule_set=f"{rule_set.code}@{rule_set.version}")
    latest = project.bid_deadline - timedelta(days=latest_rule["value"])
    if now > latest:
        source = latest_rule.get("source")
        raise RuleViolation(f"对招标文件的异议应当在投标截止时间 {latest_rule['value']} 日前提出，"
                            f"本项目最迟于 {local_time(latest)} 前提出，现已逾期（{source}）",
                            code="docs_objection_too_late", project=project.code, latest=latest.isoformat(),
                            bid_deadline=project.bid_deadline.isoformat(),
                            **_rule_details(rule_set, LATEST_RULE, latest_rule))

    number = (await session.scalar(select(func.coalesce(func.max(DocObjection.public_number), 0))
                                   .where(DocObjection.project_id == project.id))) + 1
    answer_rule = rule_set.entry(ANSWER_RULE)
    end = period_end(now, answer_rule["value"]) if answer_rule is not None else None
    due = end.at if end is not None else None
    objection = DocObjection(project_id=project.id, public_number=number, registration_id=registration.id,
                             bidder_organisation_id=bidder_organisation_id, text=text, raised_by=actor,
                             raised_at=now, answer_due_at=due, answer_due_provisional=bool(end and end.provisional))
    session.add(objection)
    await session.flush()
    # The audit entry names the objector: the log is for the center and supervisors.
    await record_event(session, actor=actor, action="docs_objection.raised", subject=f"project:{project.code}",
                       data={"objection_id": objection.id, "public_number": number, "registration_id": registration.id,
                             "raised_at": now.isoformat(), "answer_due_at": due.isoformat() if due else None,
                             "latest": latest.isoformat(), **_rule_details(rule_set, LATEST_RULE, latest_rule)})
    if due is not None:
        await set_deadline(session, project=project, kind=DEADLINE_KIND, subject=objection_subject(objection),
                           due_at=due, rule=ANSWER_RULE, actor=actor, provisional=end.provisional, starts_at=now,
                           period=(answer_rule["value"], "days"))

    suspends = rule_set.entry(SUSPENDS_RULE)
    if suspends is not None and suspends.get("value") is True and project.state in OBJECTABLE_STATES:
        reason = (f"潜在投标人对招标文件提出异议（异议{number}），作出答复前暂停招标投标活动"
                  f"（{suspends.get('source', SUSPENDS_RULE)}）")
        project = await apply_transition(session, actor=actor, project_code=project.code, action="suspend",
                                         facts={"reason": reason})
        objection.suspension_seq = await _latest_suspension_seq(session, project)
        await session.flush()
        for bidder in await _admitted_bidders(session, project):
            enqueue(session, channel="portal", recipient=f"organisation:{bidder.credit_code}",
                    subject=objection_subject(objection),
                    body=f"项目 {project.code} 收到对招标文件的异议，答复前暂停招标投标活动，暂停期间不接受投标。")

    party = await session.get(Organisation, project.tendering_party_id)
    enqueue(session, channel="portal", recipient=f"organisation:{party.credit_code}",
            subject=objection_subject(objection),
            body=f"项目 {project.code} 收到对招标文件的异议{number}，请于 {local_time(due)} 前答复。" if due
            else f"项目 {project.code} 收到对招标文件的异议{number}，请及时答复。")
    await session.flush()
    return objection


async def answer_doc_objection(session: AsyncSession, *, actor: str, project_code: str, objection_id: int,
                               answer: str, change_title: str | None = None, change_body: str | None = None,
                               document: DocumentFile | None = None) -> DocObjection:
    """Answer an objection (once): the clock stops, the objector is told, the tender resumes
    when this was the last unanswered objection of a suspension objections caused, and an
    answer changing the documents (``change_title``/``change_body``, optionally the next
    ``document`` version) is published as a clarification/change."""
    answer = (answer or "").strip() if isinstance(answer, str) else ""
    if not answer:
        raise InvalidInput("答复内容不能为空", code="text_required", field="answer")
    changes = bool((change_title or "").strip() or (change_body or "").strip() or document is not None)
    if changes and not ((change_title or "").strip() and (change_body or "").strip()):
        raise InvalidInput("修改招标文件的答复须有澄清/修改公告的标题和内容", code="clarification_required", field="change")
    project = await get_project(session, project_code, lock=True)
    objection = await session.scalar(select(DocObjection).where(
        DocObjection.id == objection_id, DocObjection.project_id == project.id).with_for_update())
    if objection is None:
        raise NotFound(f"项目 {project.code} 没有该异议", objection_id=objection_id)
    if objection.answered_at is not None:
        raise Conflict(f"异议{objection.public_number}已答复", code="objection_answered", objection_id=objection_id)
    others = await session.scalar(select(func.count()).select_from(DocObjection).where(
        DocObjection.project_id == project.id, DocObjection.answered_at.is_(None), DocObjection.id != objection.id))
    suspender = await _our_suspension(session, project)
    if changes and others and suspender is not None:
        raise Conflict(f"项目 {project.code} 尚有 {others} 个异议未答复，招标投标活动仍暂停，"
                       f"请先答复其余异议，再发布修改招标文件的答复", code="objections_pending", pending=others)

    now = await database_now(session)
    objection.answer, objection.answered_by, objection.answered_at = answer, actor, now
    await session.flush()
    late = objection.answer_due_at is not None and now > objection.answer_due_at
    await record_event(session, actor=actor, action="docs_objection.answered", subject=f"project:{project.code}",
                       data={"objection_id": objection.id, "public_number": objection.public_number,
                             "answered_at": now.isoformat(), "late": late, "changes_documents": changes})
    await meet_deadline(session, kind=DEADLINE_KIND, subject=objection_subject(objection), actor=actor)
    objector = await session.get(Organisation, objection.bidder_organisation_id)
    enqueue(session, channel="portal", recipient=f"organisation:{objector.credit_code}",
            subject=objection_subject(objection),
            body=f"项目 {project.code} 对贵单位所提异议{objection.public_number}的答复：{answer}")

    if not others and suspender is not None:
        project = await apply_transition(session, actor=actor, project_code=project.code, action="resume",
                                         facts={"reason": "对招标文件的异议均已答复，恢复招标投标活动"})
        for bidder in await _admitted_bidders(session, project):
            enqueue(session, channel="portal", recipient=f"organisation:{bidder.credit_code}",
                    subject=objection_subject(objection),
                    body=f"项目 {project.code} 对招标文件的异议均已答复，招标投标活动恢复。")
    if changes:
        body = f"{change_body.strip()}\n\n（答复异议{objection.public_number}：{answer}）"
        clarification = await publish_clarification(session, actor=actor, project_code=project.code,
                                                    title=change_title.strip(), body=body, document=document)
        objection.clarification_id = clarification.id
    await session.flush()
    return objection


async def _our_suspension(session: AsyncSession, project: Project) -> DocObjection | None:
    """The objection whose suspension the tender is in now, if an objection's."""
    if project.state != TenderState.SUSPENDED:
        return None
    seq = await _latest_suspension_seq(session, project)
    if seq is None:
        return None
    return await session.scalar(select(DocObjection).where(DocObjection.project_id == project.id,
                                                           DocObjection.suspension_seq == seq))


def _view(objection: DocObjection) -> dict[str, Any]:
    def moment(value: datetime | None) -> str | None:
        return value.isoformat() if value else None

    return {"id": objection.id, "number": objection.public_number, "label": f"异议{objection.public_number}",
            "text": objection.text, "raised_at": moment(objection.raised_at),
            "answer_due_at": moment(objection.answer_due_at),
            "answer_due_provisional": objection.answer_due_provisional, "answer": objection.answer,
            "answered_at": moment(objection.answered_at), "clarification_id": objection.clarification_id,
            "suspended_process": objection.suspension_seq is not None}


async def doc_objections_for(session: AsyncSession, project_code: str, viewer_role: str | None,
                             viewer_organisation_id: int | None = None) -> list[dict[str, Any]]:
    """The project's objections as ``viewer_role`` may see them.

    admin, supervisor: every objection with the objector; tendering party, agency (of the
    project; the caller checks): every objection, anonymous; bidder: every objection,
    anonymous, its own marked ``mine``; the public (None): answered ones, anonymous.
    """
    project = await get_project(session, project_code)
    rows = (await session.execute(
        select(DocObjection, Organisation).join(Organisation, Organisation.id == DocObjection.bidder_organisation_id)
        .where(DocObjection.project_id == project.id).order_by(DocObjection.public_number))).all()
    role = str(viewer_role) if viewer_role is not None else None
    views = []
    for objection, bidder in rows:
        view = _view(objection)
        if role in IDENTITY_ROLES:
            view |= {"bidder_credit_code": bidder.credit_code, "bidder_name": bidder.name,
                     "registration_id": objection.registration_id, "raised_by": objection.raised_by,
                     "answered_by": objection.answered_by}
        elif role in (UserRole.TENDERING_PARTY.value, UserRole.AGENCY.value):
            pass
        elif role == UserRole.BIDDER.value:
            if viewer_organisation_id is not None and objection.bidder_organisation_id == viewer_organisation_id:
                view["mine"] = True
        elif objection.answered_at is None:
            continue
        views.append(view)
    return views
