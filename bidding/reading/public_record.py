"""A tender as the public may see it at this moment (信息公开): every stage with its date,
built from the services that already decide what is public.

- announcements, the versions of the tender documents (list only: the bytes go to
  logged-in users, :mod:`bidding.notice.documents`), published clarifications, and the
  answered questions with their askers anonymous (:func:`bidding.notice.clarifications.questions_for`
  with no viewer);
- the opening: its time and decryption window; the opening record only once the window
  has closed (:func:`bidding.opening.visibility.opening_record_visible_to`, the API's rule). Before then nothing
  about bids or bidders;
- candidates under publicity (:func:`bidding.award.publicity.publicity_of`), the award notice's
  public data with its verification page, the contract;
- draws: the agency draw's verification page at any time (its criteria name only the
  tendering party); an expert draw only once revealed or voided (a void, with its reason
  and approval, is for everyone to see).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from agency_pool.draws import agency_assignment
from bidding.notice.announcements import ANNOUNCEMENT_KINDS, Announcement
from bidding.award.award_notice import award_notice_of
from bidding.notice.clarifications import Clarification, questions_for
from bidding.award.contracts import contract_of
from bidding.opening.proceedings import OpeningSession, opening_record
from bidding.opening.visibility import opening_record_visible_to
from bidding.tender.projects import Project, project_by_code
from bidding.award.publicity import publicity_of
from bidding.tender.states import STATE_NAMES, TenderState
from bidding.notice.documents import document_versions
from trading.database import database_now
from trading.draws import REVEALED, STATUS_NAMES, VOIDED, draws_of_project
from trading.errors import NotFound
from trading.organisations import Region
from trading.rules.store import TRADING_CATEGORIES

# States after the bid deadline in which the tender went through its opening.
AFTER_OPENING = frozenset({TenderState.OPENING, TenderState.EVALUATING, TenderState.PUBLICITY, TenderState.AWARDED,
                           TenderState.CONTRACTED, TenderState.CLOSED})
DRAW_PURPOSES = {"agency": "招标代理机构抽取", "expert": "评标专家抽取"}


@dataclass
class Stage:
    """One step of the timeline: its name, its date (None: not yet), and whether it is done."""

    key: str
    name: str
    at: datetime | None = None
    done: bool = False
    note: str = ""
    items: list[Any] = field(default_factory=list)


async def public_tender(session: AsyncSession, code: str) -> dict[str, Any]:
    """The tender page's data: the project, its stages in order, and each stage's public items."""
    project, party, rule_set = await project_by_code(session, code)
    now = await database_now(session)
    region = await session.get(Region, project.region_code)
    announcements = (await session.scalars(
        select(Announcement).where(Announcement.project_id == project.id)
        .order_by(Announcement.published_at, Announcement.id))).all()
    documents = [{**d, "published": datetime.fromisoformat(d["published_at"])}
                 for d in await document_versions(session, code)]
    clarifications = (await session.scalars(
        select(Clarification).where(Clarification.project_id == project.id)
        .order_by(Clarification.published_at, Clarification.id))).all()
    questions = await questions_for(session, code, None)
    opening = await session.scalar(select(OpeningSession).where(OpeningSession.project_id == project.id))
    record = await opening_record(session, code) if opening_record_visible_to(None, opening, now) else None
    publicity = await publicity_of(session, code) if project.publicity_started_at is not None else None
    if publicity is not None:
        ends = publicity["publicity_ends_at"]
        publicity |= {"started": project.publicity_started_at, "ends": datetime.fromisoformat(ends) if ends else None}
    notice = await award_notice_of(session, project)
    contract = await contract_of(session, code)
    draws = [_draw_view(draw) for draw in await draws_of_project(session, code)]
    retender = await session.scalar(select(Project.code).where(Project.retender_of_id == project.id))
    retender_of = await session.scalar(select(Project.code).where(Project.id == project.retender_of_id)) \
        if project.retender_of_id else None
    agency = await _serving_agency(session, code)

    tender_notices = [a for a in announcements if a.kind == "tender"]
    stages = [
        Stage("registered", "进场登记", project.registered_at, True),
        Stage("announced", "招标公告与招标文件", tender_notices[0].published_at if tender_notices else None,
              bool(tender_notices) or project.state != TenderState.REGISTERED, items=documents),
        Stage("clarifications", "澄清与答疑", clarifications[-1].published_at if clarifications else None,
              bool(clarifications), items=list(clarifications)),
        Stage("opening", "投标截止与开标", opening.started_at if opening else project.bid_deadline,
              opening is not None,
              note=_opening_note(project, opening, record is not None, now)),
        Stage("publicity", "中标候选人公示", project.publicity_started_at, publicity is not None),
        Stage("award", "中标结果与中标通知书", notice.issued_at if notice else None, notice is not None),
        Stage("contract", "合同订立", contract.recorded_at if contract else None, contract is not None),
    ]
    if project.state in (TenderState.FAILED, TenderState.TERMINATED):
        stages.append(Stage("ended", STATE_NAMES[project.state], None, True))
    return {
        "project": project, "tendering_party": party, "agency": agency,
        "region_name": region.name if region else project.region_code,
        "category_name": TRADING_CATEGORIES.get(project.category, project.category),
        "state_name": STATE_NAMES.get(project.state, project.state),
        "rule_set": f"{rule_set.title}（{rule_set.code}@{rule_set.version}）",
        "announcements": [{"id": a.id, "kind": a.kind, "kind_name": ANNOUNCEMENT_KINDS.get(a.kind, a.kind),
                           "title": a.title, "body": a.body, "published_at": a.published_at} for a in announcements],
        "documents": documents, "clarifications": clarifications, "questions": questions,
        "opening": opening, "opening_record": record, "publicity": publicity,
        "award_notice": notice, "contract": contract, "draws": draws,
        "retender": retender, "retender_of": retender_of, "stages": stages, "now": now,
    }


def _opening_note(project: Project, opening: OpeningSession | None, record_public: bool, now: datetime) -> str:
    if opening is None:
        if project.bid_deadline is None:
            return "投标截止时间尚未公布"
        if project.bid_deadline > now:
            return "投标截止时间即开标时间；开标前不公开任何投标信息"
        return "已过投标截止时间，等待开标"
    if not record_public:
        return "开标进行中：投标人在解密时限内解密，开标记录在解密时限结束后公开"
    return "开标记录已公开"


async def _serving_agency(session: AsyncSession, code: str) -> str | None:
    try:
        assignment = await agency_assignment(session, code)
    except NotFound:
        return None
    return assignment.agency.name if assignment.agency is not None else None


def _draw_view(draw) -> dict[str, Any]:
    # An expert draw is linked once revealed, or voided (its void record is for everyone to check).
    linked = draw.purpose != "expert" or draw.status in (REVEALED, VOIDED)
    return {"draw_id": draw.draw_id if linked else None, "purpose": draw.purpose,
            "purpose_name": DRAW_PURPOSES.get(draw.purpose, draw.purpose), "status": draw.status,
            "status_name": STATUS_NAMES[draw.status], "committed_at": draw.created_at,
            "revealed": draw.status == REVEALED, "void_reason": draw.void_reason,
            "void_after_witness": draw.status == VOIDED and draw.witness_at is not None}
