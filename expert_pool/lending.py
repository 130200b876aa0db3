"""Lending experts to a partner city (异地抽取, the lender's side of docs/federation.md).

A partner asks for experts for its evaluation session: this center runs sealed-draw/1 over
its own pool with its own key (one draw per group, the partner's avoidance list applied),
keeps the committee as one of its own (bookings, invitations, reserves, the unseal at the
session start all work as for a local committee), and answers with its signed commit
records. The partner's supervisor supplies the witness values; at the session start the
reveal and the experts' contact details go to the partner sealed to its X25519 key.
Afterwards the partner's declines, attendance records, cancellation and ratings land here.

Every answer is stored, so a request repeated with the same request id (a retry after a
timeout) gets the same answer and changes nothing.
"""

from __future__ import annotations

import base64
import re
import secrets
from datetime import datetime
from typing import Any

import nacl.public
from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Column,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
    select,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import Field, SQLModel

from expert_pool.committees import (
    CANCELLED,
    CONFIRMED,
    DRAWING,
    INVITED,
    MEMBER_STATUS_NAMES,
    REQUEST_STEPS,
    CommitteeDraw,
    CommitteeGroup,
    CommitteeMember,
    CommitteeRequest,
    ExpertBooking,
    _commit_group_draw,
    _pool_codes,
    answer_invitation,
    unseal_committee,
    witness_committee_draw,
)
from expert_pool.experts import get_expert, set_expert_status, subject_of
from expert_pool.fields import ExpertStatus
from expert_pool.models import Expert
from trading.audit import record_event
from trading.canonical import canon
from trading.columns import created_at_column
from trading.database import database_now
from trading.draws import COMMITTED, draw_bundle, get_draw, void_draw
from trading.errors import Conflict, InvalidInput, NotFound, RuleViolation
from trading.identifiers import validate_credit_code
from trading.keys import CenterKeys
from trading.partners import Partner
from trading.rules.store import rule_set_in_force
from trading.timefmt import rfc3339

MAX_GROUPS, MAX_PER_GROUP = 10, 50
RATING_FLOOR_RULE = "expert_rating_suspend_at_or_below"


class LentCommittee(SQLModel, table=True):
    """A committee drawn here for a partner city's session, with the answer it was given."""

    __tablename__ = "lent_committees"
    __table_args__ = (UniqueConstraint("partner_city", "request_id", name="lent_committees_request_once"),)

    id: int | None = Field(default=None, primary_key=True)
    partner_city: str = Field(sa_column=Column(String(6), nullable=False, index=True))
    request_id: str = Field(sa_column=Column(String(64), nullable=False))
    committee_request_id: int = Field(sa_column=Column(Integer, ForeignKey("committee_requests.id"), nullable=False,
                                                       unique=True))
    message: dict[str, Any] = Field(sa_column=Column(JSONB, nullable=False))
    answer: dict[str, Any] = Field(sa_column=Column(JSONB, nullable=False))
    created_at: datetime = Field(sa_column=created_at_column())


class LentAttendance(SQLModel, table=True):
    """Whether a lent expert attended the partner's session, as the partner reported it."""

    __tablename__ = "lent_attendance"
    __table_args__ = (UniqueConstraint("lent_committee_id", "expert_id", name="lent_attendance_once"),)

    id: int | None = Field(default=None, primary_key=True)
    lent_committee_id: int = Field(sa_column=Column(Integer, ForeignKey("lent_committees.id"), nullable=False, index=True))
    expert_id: int = Field(sa_column=Column(Integer, ForeignKey("experts.id"), nullable=False, index=True))
    attended: bool = Field(sa_column=Column(Boolean, nullable=False))
    note: str = Field(default="", sa_column=Column(String(500), nullable=False))
    created_at: datetime = Field(sa_column=created_at_column())


class PartnerExpertRating(SQLModel, table=True):
    """A partner city's rating of one of our experts after its evaluation (0-100)."""

    __tablename__ = "partner_expert_ratings"
    __table_args__ = (
        CheckConstraint("score BETWEEN 0 AND 100", name="partner_expert_ratings_score_range"),
        CheckConstraint("rater_role IN ('tendering_party', 'supervisor')", name="partner_expert_ratings_role_known"),
        UniqueConstraint("lent_committee_id", "expert_id", "rater", name="partner_expert_ratings_once_per_rater"),
    )

    id: int | None = Field(default=None, primary_key=True)
    lent_committee_id: int = Field(sa_column=Column(Integer, ForeignKey("lent_committees.id"), nullable=False, index=True))
    expert_id: int = Field(sa_column=Column(Integer, ForeignKey("experts.id"), nullable=False, index=True))
    rater: str = Field(sa_column=Column(String(200), nullable=False))  # the partner's name of its rater
    rater_role: str = Field(sa_column=Column(String(32), nullable=False))
    score: int = Field(sa_column=Column(Integer, nullable=False))
    comment: str = Field(default="", sa_column=Column(Text, nullable=False))
    created_at: datetime = Field(sa_column=created_at_column())


def _actor(partner: Partner) -> str:
    return f"partner:{partner.city_code}"


def _moment(value: Any, field: str) -> datetime:
    try:
        moment = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        raise InvalidInput(f"{field} 应为 RFC 3339 时间", field=field) from None
    if moment.tzinfo is None:
        raise InvalidInput(f"{field} 须带时区", field=field)
    return moment


def _groups(message: dict[str, Any]) -> list[tuple[str, int, int]]:
    groups = message.get("groups")
    if not isinstance(groups, list) or not 1 <= len(groups) <= MAX_GROUPS:
        raise InvalidInput(f"groups 应有 1 到 {MAX_GROUPS} 个专业组别", field="groups")
    found = []
    for group in groups:
        specialty, count, reserves = group.get("specialty"), group.get("count"), group.get("reserve_count", 0)
        if not isinstance(specialty, str) or not isinstance(count, int) or not isinstance(reserves, int) \
                or not 1 <= count <= MAX_PER_GROUP or not 0 <= reserves <= MAX_PER_GROUP:
            raise InvalidInput("专业组别应写明 specialty、count（1-50）和 reserve_count（0-50）", field="groups")
        found.append((specialty, count, reserves))
    return found


async def _lent(session: AsyncSession, partner: Partner, request_id: str, *, for_update: bool = False) -> LentCommittee:
    query = select(LentCommittee).where(LentCommittee.partner_city == partner.city_code,
                                        LentCommittee.request_id == request_id)
    if for_update:
        query = query.with_for_update()
    lent = await session.scalar(query)
    if lent is None:
        raise NotFound(f"没有城市 {partner.city_code} 的抽取请求 {request_id}", request_id=request_id)
    return lent


async def _draw_ids(session: AsyncSession, committee_request_id: int) -> list[tuple[int, str]]:
    rows = await session.execute(select(CommitteeGroup.position, CommitteeDraw.draw_id)
                                 .join(CommitteeDraw, CommitteeDraw.group_id == CommitteeGroup.id)
                                 .where(CommitteeGroup.request_id == committee_request_id).order_by(CommitteeDraw.id))
    return [(position, draw_id) for position, draw_id in rows.all()]


async def _bundles(session: AsyncSession, keys: CenterKeys, committee_request_id: int) -> list[dict[str, Any]]:
    return [{"group": position, "bundle": draw_bundle(await get_draw(session, draw_id), keys)}
            for position, draw_id in await _draw_ids(session, committee_request_id)]


async def lend_experts(session: AsyncSession, keys: CenterKeys, partner: Partner, message: dict[str, Any],
                       *, own_city: str) -> dict[str, Any]:
    """Message ``draw-request``: draw the partner's groups here, answer the signed commit records."""
    request_id = str(message.get("request_id") or "")
    if not 8 <= len(request_id) <= 64:
        raise InvalidInput("request_id 应为 8 到 64 个字符", field="request_id")
    # Two copies of one request arriving at once (a retry racing the original) draw once.
    await session.execute(text("SELECT pg_advisory_xact_lock(hashtext(:key))"),
                          {"key": f"lend:{partner.city_code}:{request_id}"})
    existing = await session.scalar(select(LentCommittee).where(LentCommittee.partner_city == partner.city_code,
                                                                LentCommittee.request_id == request_id))
    if existing is not None:
        if existing.message != message:
            raise Conflict(f"抽取请求 {request_id} 已受理，且与本次内容不同：同一请求编号只能对应同一请求",
                           request_id=request_id)
        return existing.answer
    groups = _groups(message)
    project = message.get("project") or {}
    project_code = str(project.get("code") or "").strip()
    if not project_code:
        raise InvalidInput("请写明项目编号 project.code", field="project")
    starts_at, ends_at = _moment(message.get("starts_at"), "starts_at"), _moment(message.get("ends_at"), "ends_at")
    if ends_at <= starts_at:
        raise InvalidInput("评标结束时间应晚于开始时间", field="ends_at")
    if starts_at <= await database_now(session):
        raise RuleViolation("评标开始时间须晚于抽取时间：专家名单在评标开始前须保持密封")
    party = validate_credit_code(str(message.get("tendering_party") or ""))
    avoid = sorted({validate_credit_code(str(code)) for code in message.get("avoid") or []} - {party})
    # The partner's bidders and agency filter our pool and are published only as the salted
    # digest of our own draws (招标投标法 第二十二条), with the partner's salt so it can check.
    salt = str(message.get("avoid_salt") or "") or secrets.token_hex(32)
    if not re.fullmatch(r"[0-9a-f]{64}", salt):
        raise InvalidInput("avoid_salt 应为 64 位十六进制字符", field="avoid_salt")
    place = str(message.get("place") or "").strip()
    if not place:
        raise InvalidInput("请填写评标地点", field="place")
    rule_set = await rule_set_in_force(session, str(project.get("category") or ""), str(project.get("method") or ""),
                                       starts_at.date())
    request = CommitteeRequest(
        project_code=f"{partner.city_code}:{project_code}"[:40], rule_set_id=rule_set.id, tendering_party_code=party,
        agency_code=None, bidder_codes=avoid, bidders_salt=salt if avoid else None, starts_at=starts_at, ends_at=ends_at,
        place=f"{partner.name} {place}"[:200], representatives=0, status=DRAWING, requested_by=_actor(partner))
    session.add(request)
    await session.flush()
    await record_event(session, actor=_actor(partner), action="committee.requested_by_partner",
                       subject=f"committee:{request.id}",
                       data={"partner": partner.city_code, "request_id": request_id, "project_code": project_code,
                             "groups": [list(g) for g in groups], "tendering_party": party,
                             "avoided": len(avoid),
                             "session": [rfc3339(starts_at), rfc3339(ends_at)]})
    taken: set[str] = set()
    for position, (specialty, count, reserves) in enumerate(groups):
        group = CommitteeGroup(request_id=request.id, position=position, specialty_code=specialty, count=count,
                               reserve_count=reserves)
        session.add(group)
        await session.flush()
        pool = await _pool_codes(session, request, rule_set, specialty, taken)
        taken.update(pool)
        await _commit_group_draw(session, keys, request, group, rule_set, pool, count, actor=_actor(partner))
    answer = {"protocol": "federation/1", "message": "draw-answer", "request_id": request_id, "city_code": own_city,
              "verify_key": keys.verify_key_hex, "draws": await _bundles(session, keys, request.id)}
    session.add(LentCommittee(partner_city=partner.city_code, request_id=request_id, committee_request_id=request.id,
                              message=message, answer=answer))
    await session.flush()
    return answer


async def witness_lent_draw(session: AsyncSession, keys: CenterKeys, partner: Partner, request_id: str,
                            message: dict[str, Any]) -> dict[str, Any]:
    """Message ``witness``: the partner's supervisor's value completes one of its draws here."""
    lent = await _lent(session, partner, request_id)
    draw_id, value, by = str(message.get("draw_id") or ""), str(message.get("value") or ""), str(message.get("by") or "")
    if draw_id not in {d for _, d in await _draw_ids(session, lent.committee_request_id)}:
        raise NotFound(f"抽取 {draw_id} 不属于请求 {request_id}", draw_id=draw_id)
    draw = await get_draw(session, draw_id)
    if draw.status == COMMITTED:
        draw = await witness_committee_draw(session, keys, draw_id, value=value,
                                            by=f"{_actor(partner)}:{by.strip()[:120] or 'supervisor'}")
    elif draw.witness_value != value.strip():
        raise Conflict(f"抽取 {draw_id} 已有见证值，不能更换")
    return {"request_id": request_id, "bundle": draw_bundle(draw, keys)}


async def lent_status(session: AsyncSession, keys: CenterKeys, partner: Partner, request_id: str) -> dict[str, Any]:
    """Message ``status``: counts per group (nobody's name before the session) and every draw."""
    lent = await _lent(session, partner, request_id)
    request = await session.get(CommitteeRequest, lent.committee_request_id)
    groups = (await session.scalars(select(CommitteeGroup).where(CommitteeGroup.request_id == request.id)
                                    .order_by(CommitteeGroup.position))).all()
    members = (await session.scalars(select(CommitteeMember).where(CommitteeMember.request_id == request.id))).all()
    return {"request_id": request_id, "status": request.status,
            "groups": [{"group": g.position, "specialty": g.specialty_code, "count": g.count,
                        "confirmed": sum(1 for m in members if m.group_id == g.id and m.status == CONFIRMED),
                        "invited": sum(1 for m in members if m.group_id == g.id and m.status == INVITED)}
                       for g in groups],
            "draws": await _bundles(session, keys, request.id)}


async def reveal_to_partner(session: AsyncSession, keys: CenterKeys, partner: Partner, request_id: str) -> dict[str, Any]:
    """Message ``reveal``: at the session start, the reveal records and the members' contact
    details, sealed to the partner's X25519 key (nacl SealedBox over the canonical JSON)."""
    lent = await _lent(session, partner, request_id)
    request = await session.get(CommitteeRequest, lent.committee_request_id, with_for_update=True,
                                populate_existing=True)
    if request.status == CANCELLED:
        raise Conflict(f"抽取请求 {request_id} 已取消")
    if request.status == DRAWING:
        if await database_now(session) < request.starts_at:
            raise RuleViolation("评标开始前不能揭晓专家名单", starts_at=rfc3339(request.starts_at))
        await unseal_committee(session, keys, request.id, actor=_actor(partner))
    groups = {g.id: g.position for g in (await session.scalars(
        select(CommitteeGroup).where(CommitteeGroup.request_id == request.id))).all()}
    rows = (await session.execute(select(CommitteeMember, Expert).join(Expert, Expert.id == CommitteeMember.expert_id)
                                  .where(CommitteeMember.request_id == request.id).order_by(CommitteeMember.id))).all()
    content = {"request_id": request_id, "city_code": partner.city_code, "draws": await _bundles(session, keys, request.id),
               "members": [{"code": e.code, "name": e.name, "phone": e.phone, "title": e.title,
                            "employer": e.employer_name or "", "group": groups[m.group_id], "draw_id": m.draw_id,
                            "status": m.status, "status_name": MEMBER_STATUS_NAMES[m.status]}
                           for m, e in rows if m.status in (INVITED, CONFIRMED)]}
    sealed = nacl.public.SealedBox(nacl.public.PublicKey(bytes.fromhex(partner.exchange_key))).encrypt(canon(content))
    await record_event(session, actor=_actor(partner), action="committee.revealed_to_partner",
                       subject=f"committee:{request.id}",
                       data={"partner": partner.city_code, "request_id": request_id,
                             "members": [m["code"] for m in content["members"]]})
    return {"request_id": request_id, "sealed": base64.b64encode(sealed).decode()}


async def _member_of(session: AsyncSession, lent: LentCommittee, expert_code: str) -> tuple[CommitteeMember, Expert]:
    expert = await get_expert(session, expert_code)
    member = await session.scalar(select(CommitteeMember).where(
        CommitteeMember.request_id == lent.committee_request_id, CommitteeMember.expert_id == expert.id,
        CommitteeMember.status.in_((INVITED, CONFIRMED))))
    if member is None:
        raise NotFound(f"专家 {expert.code} 不是该请求的在列成员", expert_code=expert.code)
    return member, expert


async def decline_for_partner(session: AsyncSession, keys: CenterKeys, partner: Partner, request_id: str,
                              message: dict[str, Any]) -> dict[str, Any]:
    """Message ``decline``: an expert declined to the partner's center; the next reserve is called here."""
    lent = await _lent(session, partner, request_id)
    member, expert = await _member_of(session, lent, str(message.get("expert_code") or ""))
    reason = str(message.get("reason") or "").strip()
    if not reason:
        raise InvalidInput("谢绝参加评标必须说明理由", field="reason")
    await answer_invitation(session, keys, member_id=member.id, expert_id=expert.id, accept=False,
                            reason=f"（经{partner.name}转达）{reason}"[:500], actor=_actor(partner))
    return await lent_status(session, keys, partner, request_id)


async def record_attendance(session: AsyncSession, partner: Partner, request_id: str,
                            message: dict[str, Any]) -> dict[str, Any]:
    """Message ``attendance``: who of our experts attended; an absence lands on the expert's record."""
    lent = await _lent(session, partner, request_id)
    request = await session.get(CommitteeRequest, lent.committee_request_id)
    if not REQUEST_STEPS["record_attendance"].allows(request.status):
        raise Conflict("评标尚未开始，不能登记出席情况")
    records = message.get("records")
    if not isinstance(records, list) or not records:
        raise InvalidInput("请列出出席情况 records", field="records")
    for item in records:
        member, expert = await _member_of(session, lent, str(item.get("expert_code") or ""))
        attended, note = bool(item.get("attended")), str(item.get("note") or "")[:500]
        known = await session.scalar(select(LentAttendance).where(LentAttendance.lent_committee_id == lent.id,
                                                                  LentAttendance.expert_id == expert.id))
        if known is not None:
            if known.attended != attended:
                raise Conflict(f"专家 {expert.code} 的出席情况已登记，不能更改")
            continue
        session.add(LentAttendance(lent_committee_id=lent.id, expert_id=expert.id, attended=attended, note=note))
        await session.flush()
        await record_event(session, actor=_actor(partner), action="expert.attended" if attended else "expert.absent",
                           subject=subject_of(expert),
                           data={"partner": partner.city_code, "request_id": request_id, "note": note})
    return {"request_id": request_id, "recorded": len(records)}


async def cancel_for_partner(session: AsyncSession, keys: CenterKeys, partner: Partner, request_id: str,
                             message: dict[str, Any]) -> dict[str, Any]:
    """Message ``cancel``: the partner no longer needs the experts; bookings are released and
    draws still waiting for their witness are voided."""
    lent = await _lent(session, partner, request_id)
    reason = str(message.get("reason") or "").strip()
    if not reason:
        raise InvalidInput("取消抽取请求必须说明理由", field="reason")
    request = await session.get(CommitteeRequest, lent.committee_request_id, with_for_update=True,
                                populate_existing=True)
    if request.status == CANCELLED:
        return {"request_id": request_id, "status": CANCELLED}
    step = REQUEST_STEPS["cancel"]
    if not step.allows(request.status):
        raise Conflict("评标已开始，不能取消")
    now = await database_now(session)
    member_ids = select(CommitteeMember.id).where(CommitteeMember.request_id == request.id)
    for booking in (await session.scalars(select(ExpertBooking).where(ExpertBooking.member_id.in_(member_ids),
                                                                      ExpertBooking.released_at.is_(None)))).all():
        booking.released_at = now
    for _, draw_id in await _draw_ids(session, request.id):
        if (await get_draw(session, draw_id)).status == COMMITTED:
            await void_draw(session, keys, draw_id, reason=f"合作城市取消：{reason}", actor=_actor(partner))
    request.status = step.target
    await session.flush()
    await record_event(session, actor=_actor(partner), action="committee.cancelled_by_partner",
                       subject=f"committee:{request.id}", data={"request_id": request_id, "reason": reason})
    return {"request_id": request_id, "status": CANCELLED}


async def rate_for_partner(session: AsyncSession, partner: Partner, request_id: str,
                           message: dict[str, Any]) -> dict[str, Any]:
    """Message ``ratings``: the partner's ratings of our experts; a score at or below the rule
    set's floor suspends the expert here, as a local rating would."""
    lent = await _lent(session, partner, request_id)
    request = await session.get(CommitteeRequest, lent.committee_request_id)
    if not REQUEST_STEPS["rate"].allows(request.status):
        raise Conflict("评标尚未开始，不能评价专家")
    ratings = message.get("ratings")
    if not isinstance(ratings, list) or not ratings:
        raise InvalidInput("请列出评价 ratings", field="ratings")
    from trading.rules.store import RuleSetRecord

    rule_set = await session.get(RuleSetRecord, request.rule_set_id)
    floor = rule_set.value(RATING_FLOOR_RULE, None)
    suspended = []
    for item in ratings:
        member, expert = await _member_of(session, lent, str(item.get("expert_code") or ""))
        score, role = item.get("score"), str(item.get("rater_role") or "")
        if isinstance(score, bool) or not isinstance(score, int) or not 0 <= score <= 100:
            raise InvalidInput("评分应为 0 到 100 之间的整数", field="score")
        if role not in ("tendering_party", "supervisor"):
            raise InvalidInput("评价人角色应为招标人/采购人或监督人员", field="rater_role")
        rater = str(item.get("rater") or "")[:200] or "unknown"
        if await session.scalar(select(PartnerExpertRating.id).where(
                PartnerExpertRating.lent_committee_id == lent.id, PartnerExpertRating.expert_id == expert.id,
                PartnerExpertRating.rater == rater)):
            continue  # a retry of a rating already recorded
        session.add(PartnerExpertRating(lent_committee_id=lent.id, expert_id=expert.id, rater=rater, rater_role=role,
                                        score=score, comment=str(item.get("comment") or "")[:1000]))
        await session.flush()
        await record_event(session, actor=_actor(partner), action="expert.rated_by_partner", subject=subject_of(expert),
                           data={"partner": partner.city_code, "request_id": request_id, "score": score,
                                 "rater_role": role})
        if floor is not None and score <= floor and expert.status == ExpertStatus.ACTIVE.value:
            await set_expert_status(
                session, actor=_actor(partner), code=expert.code, status=ExpertStatus.SUSPENDED.value,
                reason=f"动态管理自动暂停：合作城市{partner.name}评分 {score} 分，不高于下限 {floor} 分"
                       f"（规则 {RATING_FLOOR_RULE}，规则集 {rule_set.code} {rule_set.version}）",
                action="expert.auto_suspended", extra={"rule": RATING_FLOOR_RULE, "partner": partner.city_code})
            suspended.append(expert.code)
    return {"request_id": request_id, "recorded": len(ratings), "suspended": suspended}


async def partner_ratings_of(session: AsyncSession, expert_code: str) -> list[PartnerExpertRating]:
    expert = await get_expert(session, expert_code)
    return list((await session.scalars(select(PartnerExpertRating).where(PartnerExpertRating.expert_id == expert.id)
                                       .order_by(PartnerExpertRating.id))).all())
