"""What supervisors watch (电子监察): today's live sessions (draws, openings, evaluations) and
the complaints waiting for their decision. Read-only views over the services' own tables;
every act on them goes through those services."""

from __future__ import annotations

from datetime import datetime, time
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from bidding.award.complaints import ACCEPTED, FILED, STATUS_NAMES, Complaint
from bidding.evaluation.records import EvaluationMember, EvaluationSession
from bidding.evaluation.stages import STAGE_NAMES
from bidding.opening.proceedings import DECRYPTED, NOT_DECRYPTED, PENDING, OpeningEntry, OpeningSession
from bidding.tender.projects import Project
from bidding.tender.states import STATE_NAMES
from trading.database import database_now
from trading.draws import COMMITTED, STATUS_NAMES as DRAW_STATUS_NAMES, VOIDED, WITNESS_TENDERING_PARTY, WITNESSED, Draw
from trading.organisations import Organisation
from trading.timefmt import CENTER_ZONE

DRAW_PURPOSES = {"expert": "评标专家抽取", "agency": "招标代理机构抽取"}


def start_of_day(moment: datetime) -> datetime:
    """Midnight of ``moment``'s day in the center's zone."""
    local = moment.astimezone(CENTER_ZONE)
    return datetime.combine(local.date(), time(0), tzinfo=CENTER_ZONE)


async def live_sessions(session: AsyncSession) -> dict[str, Any]:
    """Today's sessions: those still running, and those that ran today (center's day)."""
    now = await database_now(session)
    today = start_of_day(now)
    titles = {}

    draws = (await session.scalars(select(Draw).where(or_(
        Draw.status.in_((COMMITTED, WITNESSED)), Draw.created_at >= today, Draw.witness_at >= today))
        .order_by(Draw.id.desc()).limit(100))).all()
    openings = (await session.execute(
        select(OpeningSession, Project).join(Project, Project.id == OpeningSession.project_id)
        .where(or_(OpeningSession.finished_at.is_(None), OpeningSession.started_at >= today))
        .order_by(OpeningSession.started_at.desc()).limit(100))).all()
    counts: dict[int, dict[str, int]] = {}
    if openings:
        rows = await session.execute(
            select(OpeningEntry.session_id, OpeningEntry.state, OpeningEntry.handed_in_at.is_not(None), func.count())
            .where(OpeningEntry.session_id.in_([o.id for o, _ in openings]))
            .group_by(OpeningEntry.session_id, OpeningEntry.state, OpeningEntry.handed_in_at.is_not(None)))
        for session_id, state, handed_in, count in rows:
            tally = counts.setdefault(session_id, {PENDING: 0, "handed_in": 0, DECRYPTED: 0, NOT_DECRYPTED: 0})
            tally[state] += count
            if state == PENDING and handed_in:
                tally["handed_in"] += count
    evaluations = (await session.execute(
        select(EvaluationSession, Project, func.count(EvaluationMember.id))
        .join(Project, Project.id == EvaluationSession.project_id)
        .outerjoin(EvaluationMember, EvaluationMember.session_id == EvaluationSession.id)
        .where(or_(EvaluationSession.completed_at.is_(None), EvaluationSession.started_at >= today))
        .group_by(EvaluationSession.id, Project.id)
        .order_by(EvaluationSession.started_at.desc()).limit(100))).all()
    for project in [p for _, p in openings] + [p for _, p, _ in evaluations]:
        titles[project.code] = project.title
    if draws:
        for code, title in await session.execute(select(Project.code, Project.title).where(
                Project.code.in_({d.project_code for d in draws}))):
            titles[code] = title
    return {
        "now": now,
        "draws": [{"draw_id": d.draw_id, "purpose": DRAW_PURPOSES.get(d.purpose, d.purpose),
                   "project": d.project_code, "title": titles.get(d.project_code, ""), "status": d.status,
                   "status_name": DRAW_STATUS_NAMES[d.status], "witness_required": d.witness_required,
                   # A supervisor witnesses it (an agency draw: only when its tendering party asked).
                   "awaits_supervisor": d.status == COMMITTED and d.witness_required and (
                       d.witness_role != WITNESS_TENDERING_PARTY or d.witness_asked_by is not None),
                   "void_reason": d.void_reason, "void_after_witness": d.status == VOIDED and d.witness_at is not None,
                   "committed_at": d.created_at} for d in draws],
        "openings": [{"project": p.code, "title": p.title, "started_at": o.started_at, "window_ends_at": o.window_ends_at,
                      "closed_at": o.closed_at, "finished_at": o.finished_at,
                      "running": o.finished_at is None, "window_open": o.closed_at is None and o.window_ends_at > now,
                      "counts": counts.get(o.id, {PENDING: 0, "handed_in": 0, DECRYPTED: 0, NOT_DECRYPTED: 0}),
                      "state_name": STATE_NAMES.get(p.state, p.state)} for o, p in openings],
        "evaluations": [{"project": p.code, "title": p.title, "round": e.round, "stage": e.stage,
                         "stage_name": STAGE_NAMES[e.stage], "members": members, "started_at": e.started_at,
                         "completed_at": e.completed_at} for e, p, members in evaluations],
    }


async def waiting_complaints(session: AsyncSession) -> list[dict[str, Any]]:
    """Complaints waiting for supervisors: to accept or not (filed), or to decide (accepted)."""
    rows = (await session.execute(
        select(Complaint, Project, Organisation).join(Project, Project.id == Complaint.project_id)
        .join(Organisation, Organisation.id == Complaint.organisation_id)
        .where(Complaint.status.in_((FILED, ACCEPTED))).order_by(Complaint.filed_at, Complaint.id))).all()
    return [{"id": c.id, "project": p.code, "title": p.title, "bidder_name": o.name,
             "bidder_credit_code": o.credit_code, "grounds": c.grounds, "filed_at": c.filed_at,
             "status": c.status, "status_name": STATUS_NAMES[c.status], "acceptance_reason": c.acceptance_reason,
             "acceptance_at": c.acceptance_at, "project_state": STATE_NAMES.get(p.state, p.state)}
            for c, p, o in rows]
