"""Questions on the tender documents and the clarifications and changes answering them
(澄清/修改, 答疑), published to every registered bidder (统一信息发布).

- A bidder with an admitted registration asks a question while the tender is announced or
  open for bids. Each question gets a public number within its project; the tendering
  party and its agency see only that number, never the asker. The center (admin) and
  supervisors see who asked.
- The tendering party (or its agency) publishes a clarification: an announcement of kind
  "change" through :mod:`bidding.notice.announcements`, a portal message in the outbox for every
  admitted bidder (same transaction), and the answered questions marked.
- The rule ``clarification_min_days_before_deadline`` of the pinned rule set (招标投标法
  第二十三条; 实施条例 第二十一条): when fewer days than that remain before the bid deadline
  (database clock), the deadline moves to that many days after publication. The new
  deadline and the chronograph's next due time are written here, with an audit entry
  naming the rule and its legal source.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Column, ForeignKey, Integer, String, Text, UniqueConstraint, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import Field, SQLModel

from bidding.notice.announcements import Announcement, publish_announcement
from bidding.tender.projects import Project, get_project
from bidding.tender.registrations import ADMITTED, Registration
from bidding.tender.states import STATE_NAMES, next_due_at
from bidding.notice.documents import DocumentFile, add_document_version, checked_document, latest_version_number
from trading.audit import record_event
from trading.columns import created_at_column, timestamp_column
from trading.database import database_now
from trading.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from trading.notifications import enqueue
from trading.organisations import Organisation
from trading.roles import UserRole
from trading.rules.store import RuleSetRecord

CLARIFICATION_RULE = "clarification_min_days_before_deadline"
# States in which the tender documents are out and bids are not yet opened.
OPEN_STATES = ("announced", "bidding")  # the documents are out for bids: questions, clarifications, new versions
# Who may see the asker of a question.
IDENTITY_ROLES = {UserRole.ADMIN.value, UserRole.SUPERVISOR.value}
MAX_QUESTION_CHARS = 5000


class Clarification(SQLModel, table=True):
    __tablename__ = "clarifications"

    id: int | None = Field(default=None, primary_key=True)
    project_id: int = Field(sa_column=Column(Integer, ForeignKey("projects.id"), nullable=False, index=True))
    announcement_id: int = Field(sa_column=Column(Integer, ForeignKey("announcements.id"), nullable=False))
    title: str = Field(sa_column=Column(String(300), nullable=False))
    body: str = Field(sa_column=Column(Text, nullable=False))
    published_by: str = Field(sa_column=Column(String(200), nullable=False))
    # The database clock at publication (the rule counts from here).
    published_at: datetime = Field(sa_column=timestamp_column(nullable=False))
    deadline_before: datetime | None = Field(default=None, sa_column=timestamp_column())
    # Set only when the rule moved the deadline.
    deadline_after: datetime | None = Field(default=None, sa_column=timestamp_column())


class Question(SQLModel, table=True):
    __tablename__ = "clarification_questions"
    __table_args__ = (UniqueConstraint("project_id", "public_number", name="clarification_questions_number_unique"),)

    id: int | None = Field(default=None, primary_key=True)
    project_id: int = Field(sa_column=Column(Integer, ForeignKey("projects.id"), nullable=False, index=True))
    # Anonymous number shown to everyone but the center and supervisors.
    public_number: int = Field(sa_column=Column(Integer, nullable=False))
    registration_id: int = Field(sa_column=Column(Integer, ForeignKey("registrations.id"), nullable=False))
    bidder_organisation_id: int = Field(sa_column=Column(Integer, ForeignKey("organisations.id"), nullable=False,
                                                         index=True))
    text: str = Field(sa_column=Column(Text, nullable=False))
    asked_by: str = Field(sa_column=Column(String(200), nullable=False))
    asked_at: datetime = Field(sa_column=created_at_column())
    answered_by: int | None = Field(default=None, sa_column=Column(Integer, ForeignKey("clarifications.id"),
                                                                   nullable=True, index=True))


def _check_open(project: Project, now: datetime, doing: str) -> None:
    if project.state not in OPEN_STATES:
        state = STATE_NAMES.get(project.state, project.state)
        raise Conflict(f"项目 {project.code} 当前状态为「{state}」，不能{doing}", code="state_conflict",
                       project=project.code, state=project.state)
    if project.bid_deadline is not None and now >= project.bid_deadline:
        raise Conflict(f"项目 {project.code} 已过投标截止时间，不能{doing}", code="deadline_passed",
                       project=project.code, bid_deadline=project.bid_deadline.isoformat())


async def admitted_registration(session: AsyncSession, project: Project, organisation_id: int) -> Registration | None:
    return await session.scalar(select(Registration).where(
        Registration.project_id == project.id, Registration.bidder_organisation_id == organisation_id,
        Registration.status == ADMITTED))


async def ask_question(session: AsyncSession, *, actor: str, project_code: str, bidder_organisation_id: int,
                       text: str) -> Question:
    """A question from an admitted bidder on the tender documents, numbered within the project."""
    text = (text or "").strip()
    if not text:
        raise InvalidInput("问题内容不能为空", code="text_required", field="text")
    if len(text) > MAX_QUESTION_CHARS:
        raise InvalidInput(f"问题内容不能超过 {MAX_QUESTION_CHARS} 字", code="text_too_long", field="text")
    project = await get_project(session, project_code, lock=True)  # serialises the public numbers
    registration = await admitted_registration(session, project, bidder_organisation_id)
    if registration is None:
        raise PermissionDenied(f"未报名（或未获准报名）项目 {project.code} 的单位不能提问",
                               code="registration_required", project=project.code)
    _check_open(project, await database_now(session), "提出问题")
    number = (await session.scalar(select(func.coalesce(func.max(Question.public_number), 0))
                                   .where(Question.project_id == project.id))) + 1
    question = Question(project_id=project.id, public_number=number, registration_id=registration.id,
                        bidder_organisation_id=bidder_organisation_id, text=text, asked_by=actor)
    session.add(question)
    await session.flush()
    await session.refresh(question)
    # The audit entry names the asker: the log is for the center and supervisors.
    await record_event(session, actor=actor, action="question.asked", subject=f"project:{project.code}",
                       data={"question_id": question.id, "public_number": number,
                             "registration_id": registration.id})
    return question


def _anonymous_view(question: Question) -> dict[str, Any]:
    return {"id": question.id, "number": question.public_number, "label": f"问题{question.public_number}",
            "text": question.text, "asked_at": question.asked_at.isoformat(), "answered_by": question.answered_by}


async def questions_for(session: AsyncSession, project_code: str, viewer_role: str | None,
                        viewer_organisation_id: int | None = None) -> list[dict[str, Any]]:
    """The project's questions as ``viewer_role`` may see them.

    admin, supervisor: every question with the asker; tendering party, agency: every
    question, anonymous; bidder: answered questions anonymous plus its own (``mine``);
    anyone else (the public, None): answered questions, anonymous.
    """
    project = await get_project(session, project_code)
    rows = (await session.execute(
        select(Question, Organisation).join(Organisation, Organisation.id == Question.bidder_organisation_id)
        .where(Question.project_id == project.id).order_by(Question.public_number)
    )).all()
    role = str(viewer_role) if viewer_role is not None else None
    views: list[dict[str, Any]] = []
    for question, bidder in rows:
        view = _anonymous_view(question)
        if role in IDENTITY_ROLES:
            view |= {"bidder_credit_code": bidder.credit_code, "bidder_name": bidder.name,
                     "registration_id": question.registration_id, "asked_by": question.asked_by}
        elif role in (UserRole.TENDERING_PARTY.value, UserRole.AGENCY.value):
            pass
        elif role == UserRole.BIDDER.value and viewer_organisation_id is not None \
                and question.bidder_organisation_id == viewer_organisation_id:
            view["mine"] = True
        elif question.answered_by is None:
            continue
        views.append(view)
    return views


async def publish_clarification(session: AsyncSession, *, actor: str, project_code: str, title: str, body: str,
                                answers: list[int] | None = None, document: DocumentFile | None = None
                                ) -> Clarification:
    """Publish a clarification or change: a "change" announcement, a message to every
    admitted bidder, and the deadline moved when the rule set asks for it. With
    ``document``, the change replaces the tender documents: their next version goes out
    with the same announcement (:mod:`bidding.notice.documents`)."""
    title, body = (title or "").strip(), (body or "").strip()
    if not title:
        raise InvalidInput("澄清/修改公告标题不能为空", code="title_required", field="title")
    if not body:
        raise InvalidInput("澄清/修改内容不能为空", code="text_required", field="body")
    project = await get_project(session, project_code, lock=True)
    now = await database_now(session)
    _check_open(project, now, "发布澄清或修改")

    answered: list[Question] = []
    wanted = list(dict.fromkeys(answers or []))
    if wanted:
        answered = list((await session.scalars(select(Question).where(
            Question.id.in_(wanted), Question.project_id == project.id).with_for_update()
            .order_by(Question.public_number))).all())
        missing = set(wanted) - {question.id for question in answered}
        if missing:
            raise NotFound(f"项目 {project.code} 没有问题 {sorted(missing)}", questions=sorted(missing))
        already = [question.public_number for question in answered if question.answered_by is not None]
        if already:
            raise Conflict(f"问题 {already} 已答复", code="question_answered", questions=already)

    rule_set = await session.get(RuleSetRecord, project.rule_set_id)
    rule = rule_set.entry(CLARIFICATION_RULE)
    before = project.bid_deadline
    after: datetime | None = None
    if rule is not None and before is not None:
        floor = now + timedelta(days=rule["value"])
        if before < floor:
            after = floor

    text = body
    if answered:
        text += "\n\n" + "\n".join(f"问题{question.public_number}：{question.text}" for question in answered)
    if document is not None:
        document = checked_document(document)
        text += (f"\n\n招标文件更新为第 {await latest_version_number(session, project) + 1} 版："
                 f"{document.filename}（SHA-256 {document.sha256}）。")
    if after is not None:
        text += f"\n\n投标截止时间顺延至 {after.isoformat()}（{rule.get('source', CLARIFICATION_RULE)}）。"
    announcement: Announcement = await publish_announcement(session, actor=actor, project=project, kind="change",
                                                            title=title, body=text)
    clarification = Clarification(project_id=project.id, announcement_id=announcement.id, title=title, body=body,
                                  published_by=actor, published_at=now, deadline_before=before, deadline_after=after)
    session.add(clarification)
    await session.flush()
    for question in answered:
        question.answered_by = clarification.id
    if document is not None:
        await add_document_version(session, actor=actor, project=project, announcement=announcement,
                                   document=document, clarification_id=clarification.id)

    if after is not None:
        project.bid_deadline = after
        project.next_due_at = next_due_at(project.state, rule_set.values(), {
            "documents_issued_at": project.documents_issued_at, "bid_deadline": project.bid_deadline,
            "publicity_started_at": project.publicity_started_at, "suspended_from": project.suspended_from})
        await session.flush()
        await record_event(session, actor=actor, action="tender.deadline_extended", subject=f"project:{project.code}",
                           data={"clarification_id": clarification.id, "rule": CLARIFICATION_RULE,
                                 "value": rule["value"], "unit": rule.get("unit"), "source": rule.get("source"),
                                 "rule_set": f"{rule_set.code}@{rule_set.version}",
                                 "published_at": now.isoformat(), "from": before.isoformat(),
                                 "to": after.isoformat(),
                                 "next_due_at": project.next_due_at.isoformat() if project.next_due_at else None})

    bidders = (await session.scalars(
        select(Organisation).join(Registration, Registration.bidder_organisation_id == Organisation.id)
        .where(Registration.project_id == project.id, Registration.status == ADMITTED).order_by(Organisation.id)
    )).all()
    message = f"项目 {project.code} 发布澄清/修改：{title}。"
    if after is not None:
        message += f"投标截止时间顺延至 {after.isoformat()}。"
    for bidder in bidders:
        enqueue(session, channel="portal", recipient=f"organisation:{bidder.credit_code}",
                subject=clarification_subject(clarification), body=message)
    await session.flush()
    await record_event(session, actor=actor, action="clarification.published", subject=f"project:{project.code}",
                       data={"clarification_id": clarification.id, "announcement_id": announcement.id,
                             "answers": [question.id for question in answered], "notified": len(bidders),
                             "deadline_moved": after is not None})
    return clarification


def clarification_subject(clarification: Clarification) -> str:
    """The outbox subject of a clarification's messages."""
    return f"clarification:{clarification.id}"


def clarification_view(clarification: Clarification, project: Project) -> dict[str, Any]:
    return {"id": clarification.id, "project_code": project.code, "announcement_id": clarification.announcement_id,
            "title": clarification.title, "body": clarification.body,
            "published_at": clarification.published_at.isoformat(),
            "deadline_moved": clarification.deadline_after is not None,
            "bid_deadline": project.bid_deadline.isoformat() if project.bid_deadline else None,
            "previous_bid_deadline": clarification.deadline_before.isoformat() if clarification.deadline_before else None}


async def clarifications_of(session: AsyncSession, project: Project) -> list[Clarification]:
    """The project's published clarifications and changes, oldest first."""
    return list((await session.scalars(select(Clarification).where(Clarification.project_id == project.id)
                                       .order_by(Clarification.id))).all())
