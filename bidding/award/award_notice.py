"""The award (定标) and the award notice (中标通知书), issued only by the center (统一发放).

- When the candidate publicity has run its period the chronograph takes the ``award``
  step and :func:`start_award_notice_clock` starts the ``award_notice`` deadline where the
  rule set gives a period (``award_notice_working_days``).
- :func:`choose_winner`: where the rule ``state_funded_award_first_candidate`` does not
  apply, the tendering party (or its agency) chooses the winner among the candidates, with
  a reason; where it applies, only the first candidate may be named.
- :func:`issue_award_notice` (the center): a numbered notice, rendered as a PDF, signed by
  the center over its canonical record including the PDF's SHA-256
  (:mod:`bidding.award.verification`), with a public verification page; result notices
  (中标结果通知) to every other bidder through the outbox and a result announcement; the
  ``award_notice`` deadline met, the ``contract`` deadline set.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, TypedDict

from sqlalchemy import BigInteger, Column, ForeignKey, Integer, LargeBinary, String, Text, select, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import Field, SQLModel

from bidding.notice.announcements import publish_announcement
from bidding.award.notice_pdf import award_notice_pdf, award_notice_url
from bidding.award.verification import AWARD_NOTICE_PROTOCOL
from bidding.bids.submission import SUBMITTED, Bid
from bidding.evaluation.candidates import Candidate, ranked_candidates
from bidding.tender.deadlines import meet_deadline
from bidding.tender.lifecycle import apply_transition
from bidding.tender.projects import Project, get_project
from bidding.award.publicity import clean_text
from bidding.settlement.refunds import instruct_refunds
from bidding.tender.periods import rule_flag, rule_period, rule_source, start_clock
from bidding.tender.states import STATE_NAMES, TenderState
from trading.audit import record_event
from trading.canonical import sha256_hex
from trading.columns import timestamp_column
from trading.database import database_now
from trading.errors import Conflict, InvalidInput, NotFound, RuleViolation
from trading.keys import SIGNATURE_ALGORITHM, CenterKeys
from trading.money import yuan
from trading.notifications import OutboxMessage, enqueue
from trading.organisations import Organisation
from trading.rules.store import RuleSetRecord
from trading.timefmt import CENTER_ZONE

FIRST_CANDIDATE_RULE = "state_funded_award_first_candidate"
AWARD_NOTICE_RULE = "award_notice_working_days"
CONTRACT_RULE = "contract_within_days_of_award_notice"
FIRST_CANDIDATE, PARTY_CHOICE = "first_candidate", "tendering_party_choice"


class WinnerChoice(SQLModel, table=True):
    """The tendering party's choice among the candidates (定标), where the law leaves it one."""

    __tablename__ = "award_choices"

    id: int | None = Field(default=None, primary_key=True)
    project_id: int = Field(sa_column=Column(Integer, ForeignKey("projects.id"), nullable=False, unique=True))
    candidate_id: int = Field(sa_column=Column(Integer, ForeignKey("tender_candidates.id"), nullable=False))
    reason: str = Field(sa_column=Column(Text, nullable=False))
    chosen_by: str = Field(sa_column=Column(String(200), nullable=False))
    chosen_at: datetime = Field(sa_column=timestamp_column(nullable=False))


class AwardNotice(SQLModel, table=True):
    __tablename__ = "award_notices"

    id: int | None = Field(default=None, primary_key=True)
    number: str = Field(sa_column=Column(String(32), nullable=False, unique=True))
    project_id: int = Field(sa_column=Column(Integer, ForeignKey("projects.id"), nullable=False, unique=True))
    candidate_id: int = Field(sa_column=Column(Integer, ForeignKey("tender_candidates.id"), nullable=False))
    organisation_id: int = Field(sa_column=Column(Integer, ForeignKey("organisations.id"), nullable=False))
    price_fen: int = Field(sa_column=Column(BigInteger, nullable=False))
    # The signed record (its pdf_sha256 included), the signature and the key that made it.
    record: dict[str, Any] = Field(sa_column=Column(JSONB, nullable=False))
    signature: str = Field(sa_column=Column(String(128), nullable=False))
    key_id: str = Field(sa_column=Column(String(16), nullable=False))
    pdf: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    pdf_sha256: str = Field(sa_column=Column(String(64), nullable=False, index=True))
    issued_by: str = Field(sa_column=Column(String(200), nullable=False))
    issued_at: datetime = Field(sa_column=timestamp_column(nullable=False))


def notice_subject(project: Project) -> str:
    return f"project:{project.code}"


async def _rule_set(session: AsyncSession, project: Project) -> RuleSetRecord:
    return await session.get(RuleSetRecord, project.rule_set_id)


async def start_award_notice_clock(session: AsyncSession, project: Project, *, actor: str,
                                   now: datetime | None = None) -> None:
    """At the award: the ``award_notice`` deadline, where the rule set gives its period."""
    rule_set = await _rule_set(session, project)
    period = rule_period(rule_set, AWARD_NOTICE_RULE)
    if period is None:
        return
    await start_clock(session, project=project, kind="award_notice", subject=notice_subject(project), period=period,
                      start=now or await database_now(session), actor=actor)


async def award_if_due(session: AsyncSession, project: Project, *, actor: str) -> Project:
    """Take the ``award`` step now if the tender is still in publicity (its guard checks the period)."""
    if project.state != TenderState.PUBLICITY:
        return project
    # The step's effect starts the award notice's clock (bidding.award.effects).
    return await apply_transition(session, actor=actor, project_code=project.code, action="award")


# The tendering party chooses (or changes) the winner during the publicity and after the award.
CHOICE_STATES = frozenset({TenderState.PUBLICITY, TenderState.AWARDED})


async def winner_choice_of(session: AsyncSession, project: Project) -> WinnerChoice | None:
    """The tendering party's choice of winner so far, None before it chooses."""
    return await session.scalar(select(WinnerChoice).where(WinnerChoice.project_id == project.id))


async def choose_winner(session: AsyncSession, *, actor: str, project_code: str, rank: int,
                        reason: str) -> WinnerChoice:
    """The tendering party's choice of winner among the current candidates, with its reason."""
    if isinstance(rank, bool) or not isinstance(rank, int) or rank < 1:
        raise InvalidInput("中标候选人排名应为正整数", code="invalid_candidate_rank", field="rank")
    reason = clean_text(reason, "确定中标人的理由", "reason")
    project = await get_project(session, project_code, lock=True)
    if project.state not in CHOICE_STATES:
        name = STATE_NAMES.get(project.state, project.state)
        raise Conflict(f"项目 {project.code} 当前状态为「{name}」，不能确定中标人", code="state_conflict",
                       project=project.code, state=project.state)
    if await session.scalar(select(AwardNotice.id).where(AwardNotice.project_id == project.id)):
        raise Conflict(f"项目 {project.code} 已发出中标通知书，不能再确定中标人", code="award_notice_issued")
    rule_set = await _rule_set(session, project)
    if rank != 1 and rule_flag(rule_set, FIRST_CANDIDATE_RULE):
        source = rule_source(rule_set, FIRST_CANDIDATE_RULE)
        raise RuleViolation(f"依法必须进行招标的国有资金占控股或者主导地位的项目，招标人应当确定排名第一的中标候选人为中标人"
                            f"（{source}）", code="first_candidate_required", rule=FIRST_CANDIDATE_RULE, source=source,
                            value=True, rule_set=f"{rule_set.code}@{rule_set.version}", project=project.code, rank=rank)
    candidate = next((c for c in await ranked_candidates(session, project.id) if c.rank == rank), None)
    if candidate is None:
        raise NotFound(f"项目 {project.code} 没有排名第 {rank} 的中标候选人", rank=rank)
    now = await database_now(session)
    choice = await session.scalar(select(WinnerChoice).where(WinnerChoice.project_id == project.id).with_for_update())
    if choice is None:
        choice = WinnerChoice(project_id=project.id, candidate_id=candidate.id, reason=reason, chosen_by=actor,
                              chosen_at=now)
        session.add(choice)
    else:
        choice.candidate_id, choice.reason, choice.chosen_by, choice.chosen_at = candidate.id, reason, actor, now
    await session.flush()
    await record_event(session, actor=actor, action="award.winner_chosen", subject=notice_subject(project),
                       data={"rank": rank, "candidate_id": candidate.id, "reason": reason})
    return choice


async def _winner(session: AsyncSession, project: Project, rule_set: RuleSetRecord,
                  ) -> tuple[Candidate, str, str | None]:
    candidates = await ranked_candidates(session, project.id)
    if not candidates:
        raise Conflict(f"项目 {project.code} 没有中标候选人", code="no_candidates", project=project.code)
    if rule_flag(rule_set, FIRST_CANDIDATE_RULE):
        return candidates[0], FIRST_CANDIDATE, None
    choice = await winner_choice_of(session, project)
    chosen = next((c for c in candidates if choice is not None and c.id == choice.candidate_id), None)
    if chosen is None:
        raise Conflict(f"招标人尚未在中标候选人中确定项目 {project.code} 的中标人", code="winner_not_chosen",
                       project=project.code)
    return chosen, PARTY_CHOICE, choice.reason


async def _next_number(session: AsyncSession, issued_at: datetime) -> tuple[int, str]:
    """The notice's row id and its number, 中标通知书 ZBTZ<year><id>, from the table's own sequence."""
    notice_id = await session.scalar(text("SELECT nextval(pg_get_serial_sequence('award_notices', 'id'))"))
    return notice_id, f"ZBTZ{issued_at.astimezone(CENTER_ZONE).year}{notice_id:06d}"


async def issue_award_notice(session: AsyncSession, keys: CenterKeys, *, actor: str, project_code: str,
                             public_url: str) -> AwardNotice:
    """Issue the signed award notice for an awarded tender, and notify every other bidder."""
    project = await get_project(session, project_code, lock=True)
    project = await award_if_due(session, project, actor=actor)
    if project.state != TenderState.AWARDED:
        name = STATE_NAMES.get(project.state, project.state)
        raise Conflict(f"项目 {project.code} 当前状态为「{name}」，未定标，不能发出中标通知书", code="state_conflict",
                       project=project.code, state=project.state)
    if await session.scalar(select(AwardNotice.id).where(AwardNotice.project_id == project.id)):
        raise Conflict(f"项目 {project.code} 已发出中标通知书，不能重复发出", code="award_notice_issued",
                       project=project.code)
    rule_set = await _rule_set(session, project)
    candidate, basis, choice_reason = await _winner(session, project, rule_set)
    winner = await session.get(Organisation, candidate.organisation_id)
    party = await session.get(Organisation, project.tendering_party_id)
    issued_at = await database_now(session)
    notice_id, number = await _next_number(session, issued_at)
    record: dict[str, Any] = {
        "protocol": AWARD_NOTICE_PROTOCOL, "number": number, "project_code": project.code,
        "project_title": project.title,
        "tendering_party": {"name": party.name, "credit_code": party.credit_code},
        "winner": {"name": winner.name, "credit_code": winner.credit_code},
        "rank": candidate.rank, "price_fen": candidate.price_fen, "score": candidate.score,
        "basis": basis, "choice_reason": choice_reason,
        "rule_set": f"{rule_set.code}@{rule_set.version}", "issued_at": issued_at.isoformat(),
        "key_id": keys.key_id, "verify_url": award_notice_url(public_url, number),
    }
    contract = rule_period(rule_set, CONTRACT_RULE)
    pdf = await award_notice_pdf(record, verify_key_hex=keys.verify_key_hex, issued_at=issued_at,
                                 contract_days=contract.value if contract else None,
                                 contract_source=contract.source if contract else None)
    signed = {**record, "pdf_sha256": sha256_hex(pdf)}
    notice = AwardNotice(id=notice_id, number=number, project_id=project.id, candidate_id=candidate.id,
                         organisation_id=winner.id, price_fen=candidate.price_fen, record=signed,
                         signature=keys.sign(signed), key_id=keys.key_id, pdf=pdf, pdf_sha256=signed["pdf_sha256"],
                         issued_by=actor, issued_at=issued_at)
    session.add(notice)
    await session.flush()

    await meet_deadline(session, kind="award_notice", subject=notice_subject(project), actor=actor)
    # Procurement refunds the other bidders' deposits after the notice (construction waits for the contract).
    await instruct_refunds(session, project, event="award_notice", actor=actor, winner=winner.credit_code)
    contract_due = None
    if contract is not None:
        deadline = await start_clock(session, project=project, kind="contract", subject=notice_subject(project),
                                     period=contract, start=issued_at, actor=actor)
        contract_due = deadline.due_at if deadline else None
    others = await _other_bidders(session, project, winner)
    price = yuan(candidate.price_fen)
    enqueue(session, channel="portal", recipient=f"organisation:{winner.credit_code}", subject=f"award-notice:{number}",
            body=f"中标通知书：你单位为项目 {project.code}「{project.title}」的中标人，中标价 {price} 元，"
                 f"通知书编号 {number}。")
    for other in others:
        enqueue(session, channel="portal", recipient=f"organisation:{other.credit_code}",
                subject=f"award-notice:{number}",
                body=f"中标结果通知：项目 {project.code}「{project.title}」的中标人为 {winner.name}，中标价 {price} 元。"
                     f"感谢你单位参与投标。")
    await publish_announcement(session, actor=actor, project=project, kind="result",
                               title=f"{project.title}中标结果公告",
                               body=f"项目编号：{project.code}\n项目名称：{project.title}\n中标人：{winner.name}\n"
                                    f"中标价：{price} 元\n中标通知书编号：{number}")
    await session.flush()
    await record_event(session, actor=actor, action="award.notice_issued", subject=notice_subject(project),
                       data={"number": number, "winner": winner.credit_code, "rank": candidate.rank,
                             "price_fen": candidate.price_fen, "basis": basis, "pdf_sha256": signed["pdf_sha256"],
                             "key_id": keys.key_id, "result_notices": [o.credit_code for o in others],
                             "contract_due_at": contract_due.isoformat() if contract_due else None})
    return notice


async def _other_bidders(session: AsyncSession, project: Project, winner: Organisation) -> list[Organisation]:
    codes = select(Bid.bidder_credit_code).where(Bid.project_id == project.id, Bid.status == SUBMITTED)
    return list((await session.scalars(select(Organisation).where(
        Organisation.credit_code.in_(codes), Organisation.id != winner.id).order_by(Organisation.id))).all())


async def get_award_notice(session: AsyncSession, number: str) -> AwardNotice:
    notice = await session.scalar(select(AwardNotice).where(AwardNotice.number == number))
    if notice is None:
        raise NotFound(f"未找到编号为 {number} 的中标通知书", number=number)
    return notice


async def award_notice_of(session: AsyncSession, project: Project) -> AwardNotice | None:
    return await session.scalar(select(AwardNotice).where(AwardNotice.project_id == project.id))


async def award_notice_by_pdf(session: AsyncSession, pdf_sha256: str) -> AwardNotice | None:
    return await session.scalar(select(AwardNotice).where(AwardNotice.pdf_sha256 == pdf_sha256.lower()))


class AwardNoticeBundle(TypedDict):
    """What anyone needs to check the PDF offline: the signed record as signed (canonical JSON)."""

    record: dict[str, Any]
    signature: str
    algorithm: str
    key_id: str


def award_notice_bundle(notice: AwardNotice) -> AwardNoticeBundle:
    """What anyone needs to check the PDF offline (with the center's public key)."""
    return {"record": notice.record, "signature": notice.signature, "algorithm": SIGNATURE_ALGORITHM,
            "key_id": notice.key_id}


async def result_notices(session: AsyncSession, notice: AwardNotice) -> list[dict[str, Any]]:
    """The award notice's messages: the winner's and the result notices (中标结果通知) to every other bidder."""
    messages = (await session.scalars(select(OutboxMessage).where(OutboxMessage.subject == f"award-notice:{notice.number}")
                                      .order_by(OutboxMessage.id))).all()
    codes = [m.recipient.removeprefix("organisation:") for m in messages]
    names = dict((await session.execute(select(Organisation.credit_code, Organisation.name)
                                        .where(Organisation.credit_code.in_(codes)))).all())
    return [{"recipient": names.get(code, code), "credit_code": code, "body": m.body, "status": m.status,
             "winner": m.body.startswith("中标通知书")} for m, code in zip(messages, codes, strict=True)]
