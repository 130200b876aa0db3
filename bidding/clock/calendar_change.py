"""Loading a year's official holiday notice: every open deadline reckoned on the provisional
year is reckoned again, in one audited step.

A deadline was announced to the people it binds and the people it protects; the official
year may only give them more time, never less: the new due time is the later of the
announced one and the one reckoned on the official year. Each party concerned is told of a
change (the tendering party, supervisors, and the bidder, objector or complainant it is
about). Deadlines still reaching a year without a notice stay provisional.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bidding.award.complaints import Complaint
from bidding.tender.deadlines import DEADLINE_KINDS, Deadline
from bidding.notice.objections import DocObjection
from bidding.tender.projects import Project
from bidding.award.publicity import CandidateObjection
from bidding.tender.states import end_of_day, local_date
from trading.audit import record_event
from trading.ledger import SUPERVISORS, LedgerRefund
from trading.notifications import enqueue
from trading.organisations import Organisation
from trading.rules.calendar import WorkingDayCalendar, calendar_files_signature, default_calendar
from trading.timefmt import local_time

WATCH_ACTOR = "system:calendar-watch"


@dataclass(frozen=True)
class DeadlineChange:
    """One provisional deadline reckoned again."""

    deadline_id: int
    project: str
    kind: str
    subject: str
    was: datetime
    now: datetime
    still_provisional: bool

    @property
    def moved(self) -> bool:
        return self.now != self.was

    def as_dict(self) -> dict[str, Any]:
        return {"deadline_id": self.deadline_id, "project": self.project, "kind": self.kind, "subject": self.subject,
                "was": self.was.isoformat(), "now": self.now.isoformat(), "moved": self.moved,
                "still_provisional": self.still_provisional}


async def reckon_provisional_deadlines(session: AsyncSession, *, actor: str, reason: str,
                                       calendar: WorkingDayCalendar | None = None) -> list[DeadlineChange]:
    """Reckon every open provisional deadline again on ``calendar`` (default: the center's),
    never earlier than announced; one audit entry for the whole step (none when none was open)."""
    calendar = calendar or default_calendar()
    rows = (await session.execute(
        select(Deadline, Project).join(Project, Project.id == Deadline.project_id)
        .where(Deadline.provisional.is_(True), Deadline.met_at.is_(None), Deadline.starts_at.is_not(None),
               Deadline.period_value.is_not(None))
        .order_by(Deadline.id).with_for_update(of=Deadline))).all()
    changes = []
    for deadline, project in rows:
        end = end_of_day(calendar.reckon_period(local_date(deadline.starts_at), deadline.period_value,
                                                deadline.period_unit or "days"))
        change = DeadlineChange(deadline.id, project.code, deadline.kind, deadline.subject, was=deadline.due_at,
                                now=max(end.at, deadline.due_at), still_provisional=end.provisional)
        if not change.moved and change.still_provisional:
            continue
        deadline.due_at, deadline.provisional = change.now, change.still_provisional
        await _update_copies(session, change)
        if change.moved:
            await _tell_parties(session, project, change)
        changes.append(change)
    await session.flush()
    if changes:
        await record_event(session, actor=actor, action="calendar.deadlines_reckoned", subject="calendar",
                           data={"reason": reason, "years": list(calendar.years),
                                 "deadlines": [change.as_dict() for change in changes]})
    return changes


async def _update_copies(session: AsyncSession, change: DeadlineChange) -> None:
    """Refunds and objection answers keep their own copy of the due time: keep it the same."""
    kind, _, key = change.subject.partition(":")
    if change.kind == "refund" and kind == "deposit":
        await session.execute(update(LedgerRefund).where(LedgerRefund.deposit_id == int(key))
                              .values(due_at=change.now, due_provisional=change.still_provisional))
    elif change.kind == "docs_objection_answer" and kind == "docs_objection":
        await session.execute(update(DocObjection).where(DocObjection.id == int(key))
                              .values(answer_due_at=change.now, answer_due_provisional=change.still_provisional))


async def _concerned(session: AsyncSession, project: Project, change: DeadlineChange) -> list[str]:
    """Who a deadline binds or protects, as outbox recipients."""
    party = await session.get(Organisation, project.tendering_party_id)
    recipients = [f"organisation:{party.credit_code}", SUPERVISORS]
    kind, _, key = change.subject.partition(":")
    other = None
    if kind == "deposit":
        other = await session.scalar(select(LedgerRefund.bidder_credit_code).where(LedgerRefund.deposit_id == int(key)))
    else:
        model = {"docs_objection": (DocObjection, DocObjection.bidder_organisation_id),
                 "complaint": (Complaint, Complaint.organisation_id),
                 "candidate-objection": (CandidateObjection, CandidateObjection.organisation_id)}.get(kind)
        if model is not None:
            other = await session.scalar(select(Organisation.credit_code).join(model[0], model[1] == Organisation.id)
                                         .where(model[0].id == int(key)))
    if other is not None:
        recipients.append(f"organisation:{other}")
    return recipients


async def _tell_parties(session: AsyncSession, project: Project, change: DeadlineChange) -> None:
    act = DEADLINE_KINDS.get(change.kind, change.kind)
    body = (f"国务院办公厅节假日安排已公布，项目 {project.code}「{project.title}」中“{act}”的期限按正式工作日历重新计算："
            f"由 {local_time(change.was)} 顺延至 {local_time(change.now)}。期限只会顺延，不会提前。")
    for recipient in await _concerned(session, project, change):
        enqueue(session, channel="portal", recipient=recipient, subject=f"deadline:{change.deadline_id}", body=body)


class CalendarWatch:
    """A periodic task of the server: when a calendar file appears or changes (a new
    ``<year>.toml``, or ``trading calendar load`` from another process), reload the center's
    calendar and reckon provisional deadlines again. Its first round, at start-up, always does."""

    def __init__(self) -> None:
        self._seen: tuple[tuple[str, int], ...] | None = None

    async def __call__(self, session: AsyncSession) -> list[DeadlineChange]:
        files = calendar_files_signature()
        if files == self._seen:
            return []
        default_calendar.cache_clear()
        changes = await reckon_provisional_deadlines(session, actor=WATCH_ACTOR, reason="工作日历文件已更新")
        self._seen = files
        return changes
