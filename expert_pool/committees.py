"""Expert draws for evaluation committees: request, sealed draws per group, invitations,
answers and reserves, bookings, and the unseal at the start of the session.

A committee request names the project, the evaluation session (time window and place)
and groups of (specialty, count, reserves); each group is one sealed draw. Until the
session starts nobody's screen shows who was drawn: the drawn experts alone are told
time and place, through the outbox. A decline moves to the next reserve in order; with
the reserves used up a replacement draw continues the group's last draw. Bookings carry
a database exclusion constraint, so an expert can never sit in two overlapping sessions,
even when two draws run at the same moment.

The selection at rest (spec step 7, "Seal"): the order of the drawn and the reserves
exist only in the draws' encrypted results. Calling experts decrypts them inside this
service, takes the next names not yet called and writes a member row for those alone,
with no rank; the first call of a draw goes out in pool order, so neither the rows' ids
nor their times tell the drawn order. Until the reveal the tables, the audit log and
the outbox name only experts already called.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    CheckConstraint,
    Column,
    ForeignKey,
    Integer,
    String,
    Text,
    and_,
    exists,
    func,
    select,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, ExcludeConstraint, TSTZRANGE
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import Field, SQLModel

from expert_pool.availability import available_expert_codes
from expert_pool.composition import check_committee
from expert_pool.models import Expert
from trading.audit import record_event
from trading.columns import created_at_column, timestamp_column
from trading.database import database_now
from trading.draws import REVEALED, WITNESSED, Draw, commit_draw, get_draw, reveal_draw, sealed_selection, supply_witness
from trading.errors import Conflict, InvalidInput, NotFound, PermissionDenied, RuleViolation
from trading.keys import CenterKeys
from trading.notifications import enqueue
from trading.rules.store import RuleSetRecord
from trading.canonical import canon
from trading.sealed_draw import H
from trading.timefmt import local_time, rfc3339
from trading.transitions import Transition, transition_table

DRAWING, UNSEALED, CANCELLED = "drawing", "unsealed", "cancelled"
BOOKINGS_LOCK = 0x424F4F4B  # advisory lock key serialising expert bookings
# A member's life: a reserve waits; an invited expert confirms or declines; an expert
# found already booked elsewhere when called is unavailable and the next one is called.
INVITED, CONFIRMED, DECLINED, UNAVAILABLE = "invited", "confirmed", "declined", "unavailable"
MEMBER_STATUS_NAMES = {INVITED: "已通知", CONFIRMED: "已确认", DECLINED: "已谢绝", UNAVAILABLE: "时间冲突"}

# The steps of a committee request and of its members (the tender's table shape,
# trading.transitions); a member is called as invited or unavailable.
REQUEST_STEPS = transition_table(
    # Until the session starts: experts answer, the center may ask a partner city for experts
    # or draw local experts instead.
    Transition("answer", "答复邀请", frozenset({DRAWING}), None),
    Transition("ask_partner", "向合作城市抽取专家", frozenset({DRAWING}), None),
    Transition("add_groups", "改抽本地专家", frozenset({DRAWING}), None),
    Transition("unseal", "揭晓专家名单", frozenset({DRAWING}), UNSEALED),
    Transition("cancel", "取消抽取请求", frozenset({DRAWING}), CANCELLED),
    # A committee lent to a partner city: once the session has started (or the request is
    # cancelled) the partner reports attendance; once unsealed it rates the experts.
    Transition("record_attendance", "登记出席情况", frozenset({UNSEALED, CANCELLED}), None),
    Transition("rate", "评价专家", frozenset({UNSEALED}), None),
)
MEMBER_STEPS = transition_table(
    Transition("confirm", "确认参加", frozenset({INVITED}), CONFIRMED),
    Transition("decline", "谢绝参加", frozenset({INVITED}), DECLINED),
)


class CommitteeRequest(SQLModel, table=True):
    __tablename__ = "committee_requests"
    __table_args__ = (
        CheckConstraint("status IN ('drawing', 'unsealed', 'cancelled')", name="committee_requests_status_known"),
        CheckConstraint("ends_at > starts_at", name="committee_requests_window_ordered"),
    )

    id: int | None = Field(default=None, primary_key=True)
    project_code: str = Field(sa_column=Column(String(40), nullable=False, index=True))
    rule_set_id: int = Field(sa_column=Column(Integer, ForeignKey("rule_sets.id"), nullable=False))
    tendering_party_code: str = Field(sa_column=Column(String(18), nullable=False, index=True))
    agency_code: str | None = Field(default=None, sa_column=Column(String(18), nullable=True))
    bidder_codes: list[str] = Field(sa_column=Column(ARRAY(String(18)), nullable=False))
    # Salt of the bidders' digest in the public criteria (see avoided_bidders_digest).
    bidders_salt: str | None = Field(default=None, sa_column=Column(String(64), nullable=True))
    starts_at: datetime = Field(sa_column=timestamp_column(nullable=False))
    ends_at: datetime = Field(sa_column=timestamp_column(nullable=False))
    place: str = Field(sa_column=Column(String(200), nullable=False))
    representatives: int = Field(sa_column=Column(Integer, nullable=False))
    status: str = Field(sa_column=Column(String(16), nullable=False, index=True))
    requested_by: str = Field(sa_column=Column(String(200), nullable=False))
    created_at: datetime = Field(sa_column=created_at_column())


class CommitteeGroup(SQLModel, table=True):
    __tablename__ = "committee_groups"
    __table_args__ = (CheckConstraint("count > 0 AND reserve_count >= 0", name="committee_groups_counts"),)

    id: int | None = Field(default=None, primary_key=True)
    request_id: int = Field(sa_column=Column(Integer, ForeignKey("committee_requests.id"), nullable=False, index=True))
    position: int = Field(sa_column=Column(Integer, nullable=False))
    specialty_code: str = Field(sa_column=Column(String(16), ForeignKey("specialties.code"), nullable=False))
    count: int = Field(sa_column=Column(Integer, nullable=False))
    reserve_count: int = Field(sa_column=Column(Integer, nullable=False))


class CommitteeDraw(SQLModel, table=True):
    """The draws of a group: the first, then any replacement draws, in order."""

    __tablename__ = "committee_draws"

    id: int | None = Field(default=None, primary_key=True)
    group_id: int = Field(sa_column=Column(Integer, ForeignKey("committee_groups.id"), nullable=False, index=True))
    draw_id: str = Field(sa_column=Column(String(40), ForeignKey("draws.draw_id"), nullable=False, unique=True))


class CommitteeMember(SQLModel, table=True):
    """An expert called for a committee (invited, or found booked elsewhere): never one
    merely drawn or held in reserve, and never with a rank (spec step 7)."""

    __tablename__ = "committee_members"
    __table_args__ = (
        CheckConstraint("status IN ('invited', 'confirmed', 'declined', 'unavailable')",
                        name="committee_members_status_known"),
    )

    id: int | None = Field(default=None, primary_key=True)
    request_id: int = Field(sa_column=Column(Integer, ForeignKey("committee_requests.id"), nullable=False, index=True))
    group_id: int = Field(sa_column=Column(Integer, ForeignKey("committee_groups.id"), nullable=False, index=True))
    draw_id: str = Field(sa_column=Column(String(40), ForeignKey("draws.draw_id"), nullable=False))
    expert_id: int = Field(sa_column=Column(Integer, ForeignKey("experts.id"), nullable=False, index=True))
    status: str = Field(sa_column=Column(String(16), nullable=False))
    reason: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    invited_at: datetime | None = Field(default=None, sa_column=timestamp_column())
    answered_at: datetime | None = Field(default=None, sa_column=timestamp_column())


class ExpertBooking(SQLModel, table=True):
    """An expert held for a session; overlapping live bookings of one expert are impossible."""

    __tablename__ = "expert_bookings"
    __table_args__ = (
        ExcludeConstraint(("expert_id", "="), ("during", "&&"), where="released_at IS NULL",
                          name="expert_bookings_no_overlap", using="gist"),
    )

    id: int | None = Field(default=None, primary_key=True)
    expert_id: int = Field(sa_column=Column(Integer, ForeignKey("experts.id"), nullable=False, index=True))
    member_id: int = Field(sa_column=Column(Integer, ForeignKey("committee_members.id"), nullable=False, unique=True))
    during: Any = Field(sa_column=Column(TSTZRANGE, nullable=False))
    released_at: datetime | None = Field(default=None, sa_column=timestamp_column())


@dataclass(frozen=True)
class GroupSpec:
    specialty: str
    count: int
    reserve_count: int


def _pool_filter(request: CommitteeRequest, cooling_off_days: int):
    """Not booked in an overlapping session; not on a committee for the same tendering
    party within the cooling-off period before this session."""
    booked = exists().where(
        ExpertBooking.expert_id == Expert.id, ExpertBooking.released_at.is_(None),
        ExpertBooking.during.op("&&")(func.tstzrange(request.starts_at, request.ends_at)),
    )
    recent = exists().where(
        CommitteeMember.expert_id == Expert.id,
        CommitteeMember.status.in_((INVITED, CONFIRMED)),
        CommitteeMember.request_id == CommitteeRequest.id,
        CommitteeRequest.id != request.id,
        CommitteeRequest.tendering_party_code == request.tendering_party_code,
        CommitteeRequest.status != CANCELLED,
        CommitteeRequest.starts_at > request.starts_at - timedelta(days=cooling_off_days),
        CommitteeRequest.starts_at <= request.starts_at,
    )
    return and_(~booked, ~recent)


async def _pool_codes(session: AsyncSession, request: CommitteeRequest, rule_set: RuleSetRecord, specialty: str,
                      leave_out: set[str]) -> list[str]:
    excluded = [request.tendering_party_code, *request.bidder_codes]
    if request.agency_code:
        excluded.append(request.agency_code)
    codes = await available_expert_codes(
        session, specialties=[specialty], window_start=request.starts_at, window_end=request.ends_at,
        exclude_credit_codes=excluded, on_date=request.starts_at.date(),
        min_years_in_field=rule_set.value("expert_min_years_in_field", None),
        senior_title_only=bool(rule_set.value("expert_senior_title_required", False)),
        extra_filter=_pool_filter(request, rule_set.value("expert_cooling_off_days", 0)),
    )
    return [code for code in codes if code not in leave_out]


def avoided_bidders_digest(salt: str, bidder_codes: list[str]) -> str:
    """``hex(H(canon({"salt", "bidders"})))``: what the public criteria say of the bidders
    whose employees were kept out of the pool. The commit record is public at once, before
    the opening, when nobody may learn who registered or how many (招标投标法 第二十二条);
    the salt and the list are disclosed with the reveal, after the opening."""
    return H(canon({"salt": salt, "bidders": sorted(bidder_codes)})).hex()


def avoided_bidders(request: CommitteeRequest) -> dict[str, Any] | None:
    """The disclosure that checks the criteria's digest (only once the draw is revealed)."""
    if not request.bidder_codes or request.bidders_salt is None:
        return None
    return {"salt": request.bidders_salt, "bidders": sorted(request.bidder_codes),
            "sha256": avoided_bidders_digest(request.bidders_salt, request.bidder_codes)}


def _criteria(request: CommitteeRequest, group: CommitteeGroup, rule_set: RuleSetRecord) -> dict[str, Any]:
    # The tendering party and the agency are public; the bidders only as a salted digest.
    excluded = sorted({request.tendering_party_code} | ({request.agency_code} - {None}))
    disclosed = avoided_bidders(request)
    return {"committee_request": request.id, "group": group.position, "specialties": [group.specialty_code],
            "exclude_orgs": excluded,
            **({"exclude_bidders_sha256": disclosed["sha256"]} if disclosed else {}),
            "session": [rfc3339(request.starts_at), rfc3339(request.ends_at)],
            "rule_set": f"{rule_set.code}@{rule_set.version}",
            "cooling_off_days": rule_set.value("expert_cooling_off_days", 0)}


async def request_committee(
    session: AsyncSession,
    keys: CenterKeys,
    *,
    actor: str,
    project_code: str,
    rule_set: RuleSetRecord,
    tendering_party_code: str,
    agency_code: str | None,
    bidder_codes: list[str],
    starts_at: datetime,
    ends_at: datetime,
    place: str,
    groups: list[GroupSpec],
    representatives: int = 0,
) -> CommitteeRequest:
    """Check the committee against the rule set, then commit one sealed draw per group.

    An expert who qualifies for several groups is in the pool of the first such group
    only, so that no expert can be drawn twice for one committee.
    """
    if not groups:
        raise InvalidInput("请至少填写一个专业组别", code="groups_required")
    if not place.strip():
        raise InvalidInput("请填写评标地点", code="place_required", field="place")
    if ends_at <= starts_at:
        raise InvalidInput("评标结束时间应晚于开始时间", code="invalid_time_range", field="ends_at")
    if starts_at <= await database_now(session):
        raise RuleViolation("评标开始时间须晚于抽取时间：专家名单在评标开始前须保持密封", code="evaluation_before_draw")
    check_committee(rule_set.entries(), experts=sum(g.count for g in groups), representatives=representatives)
    request = CommitteeRequest(project_code=project_code, rule_set_id=rule_set.id, tendering_party_code=tendering_party_code,
                               agency_code=agency_code, bidder_codes=sorted(set(bidder_codes)),
                               bidders_salt=secrets.token_hex(32) if bidder_codes else None, starts_at=starts_at,
                               ends_at=ends_at, place=place.strip(), representatives=representatives, status=DRAWING,
                               requested_by=actor)
    session.add(request)
    await session.flush()
    await record_event(session, actor=actor, action="committee.requested", subject=f"committee:{request.id}",
                       data={"project_code": project_code, "groups": [g.__dict__ for g in groups],
                             "representatives": representatives, "place": request.place,
                             "session": [rfc3339(starts_at), rfc3339(ends_at)]})
    taken: set[str] = set()
    for position, spec in enumerate(groups):
        group = CommitteeGroup(request_id=request.id, position=position, specialty_code=spec.specialty,
                               count=spec.count, reserve_count=spec.reserve_count)
        session.add(group)
        await session.flush()
        pool = await _pool_codes(session, request, rule_set, spec.specialty, taken)
        taken.update(pool)
        await _commit_group_draw(session, keys, request, group, rule_set, pool, spec.count, actor=actor)
    return request


async def _commit_group_draw(session, keys, request, group, rule_set, pool, count, *, actor, continues=None) -> Draw:
    draw = await commit_draw(
        session, keys, actor=actor, purpose="expert", project_code=request.project_code,
        criteria=_criteria(request, group, rule_set), pool=pool, count=count, reserve_count=group.reserve_count,
        witness_required=bool(rule_set.value("expert_draw_witness_required", True)),
        unseal_at=request.starts_at, continues=continues,
    )
    session.add(CommitteeDraw(group_id=group.id, draw_id=draw.draw_id))
    await session.flush()
    if draw.status == WITNESSED:  # no witness configured: the draw is witnessed at commit
        await call_drawn(session, keys, draw)
    return draw


async def witness_committee_draw(session: AsyncSession, keys: CenterKeys, draw_id: str, *, value: str, by: str) -> Draw:
    """The supervisor's witness value completes the draw; the drawn experts are invited."""
    draw = await supply_witness(session, keys, draw_id, value=value, by=by)
    if await _group_of_draw(session, draw_id) is not None:
        await call_drawn(session, keys, draw)
    return draw


async def _group_of_draw(session: AsyncSession, draw_id: str) -> tuple[CommitteeGroup, CommitteeRequest] | None:
    row = (await session.execute(
        select(CommitteeGroup, CommitteeRequest)
        .join(CommitteeDraw, CommitteeDraw.group_id == CommitteeGroup.id)
        .join(CommitteeRequest, CommitteeRequest.id == CommitteeGroup.request_id)
        .where(CommitteeDraw.draw_id == draw_id)
    )).first()
    return (row[0], row[1]) if row is not None else None


async def call_drawn(session: AsyncSession, keys: CenterKeys, draw: Draw) -> None:
    """A witnessed draw of a group: call its drawn experts until the group is full."""
    group, request = await _group_of_draw(session, draw.draw_id)
    await _fill_group(session, keys, request, group)


async def _drawn_order(session: AsyncSession, keys: CenterKeys, group_ids: list[int]) -> list[tuple[str, str]]:
    """(draw id, code) of the groups' witnessed draws, draw after draw, each one's selected
    then reserves: decrypted here for the call, never stored (spec step 7)."""
    draws = (await session.scalars(
        select(Draw).join(CommitteeDraw, CommitteeDraw.draw_id == Draw.draw_id)
        .where(CommitteeDraw.group_id.in_(group_ids), Draw.status.in_((WITNESSED, REVEALED)))
        .order_by(CommitteeDraw.id))).all()
    order = []
    for draw in draws:
        selected, reserves = sealed_selection(keys, draw)
        order.extend((draw.draw_id, code) for code in selected + reserves)
    return order


async def drawn_codes(session: AsyncSession, keys: CenterKeys, request: CommitteeRequest) -> set[str]:
    """Every expert any draw of the committee drew or holds in reserve: left out of its later draws."""
    group_ids = list((await session.scalars(select(CommitteeGroup.id).where(CommitteeGroup.request_id == request.id))).all())
    return {code for _, code in await _drawn_order(session, keys, group_ids)}


async def _call(session: AsyncSession, request: CommitteeRequest, group: CommitteeGroup, draw_id: str,
                expert: Expert) -> bool:
    """Book and invite one drawn expert; an expert booked elsewhere meanwhile is unavailable."""
    member = CommitteeMember(request_id=request.id, group_id=group.id, draw_id=draw_id, expert_id=expert.id,
                             status=INVITED)
    session.add(member)
    await session.flush()
    try:
        async with session.begin_nested():
            session.add(ExpertBooking(expert_id=expert.id, member_id=member.id,
                                      during=func.tstzrange(request.starts_at, request.ends_at)))
            await session.flush()
    except IntegrityError:  # the exclusion constraint: already booked for an overlapping session
        member.status, member.reason = UNAVAILABLE, "该时段已被其他评标活动预约"
        await session.flush()
        await record_event(session, actor="system", action="committee.member_unavailable",
                           subject=f"committee:{request.id}", data={"member": member.id, "draw_id": draw_id})
        return False
    member.invited_at = await database_now(session)
    enqueue(session, channel="sms", recipient=f"expert:{expert.code}", address=expert.phone,
            subject=f"committee:{request.id}",
            body=(f"【公共资源交易中心】您被抽取为评标专家，请于{local_time(request.starts_at, '%Y年%m月%d日 %H:%M')}"
                  f"到{request.place}参加评标。请登录平台确认是否参加。"))
    await session.flush()
    await record_event(session, actor="system", action="committee.member_invited", subject=f"committee:{request.id}",
                       data={"member": member.id, "draw_id": draw_id})
    return True


async def _fill_group(session: AsyncSession, keys: CenterKeys, request: CommitteeRequest, group: CommitteeGroup) -> None:
    """Call the next drawn experts in order until the group is full; with none left, draw again."""
    # One booker at a time: concurrent witnesses would otherwise book overlapping sets of
    # experts in different orders and deadlock. The exclusion constraint stays the guarantee.
    await session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": BOOKINGS_LOCK})
    while True:
        members = (await session.scalars(select(CommitteeMember).where(CommitteeMember.group_id == group.id)
                                         .execution_options(populate_existing=True))).all()
        missing = group.count - sum(1 for m in members if m.status in (INVITED, CONFIRMED))
        if missing <= 0:
            return
        called = {m.expert_id for m in members}
        order = await _drawn_order(session, keys, [group.id])
        experts = {e.code: e for e in (await session.scalars(
            select(Expert).where(Expert.code.in_([code for _, code in order])))).all()}
        waiting = [(draw_id, experts[code]) for draw_id, code in order if experts[code].id not in called]
        if waiting:
            # The next names in drawn order, called in pool order: what is stored of the call
            # (ids, times, messages) says who was called, not in which place they were drawn.
            for draw_id, expert in sorted(waiting[:missing], key=lambda pair: pair[1].code):
                await _call(session, request, group, draw_id, expert)
            continue
        pending = (await session.scalars(select(CommitteeDraw.draw_id).join(Draw, Draw.draw_id == CommitteeDraw.draw_id)
                                         .where(CommitteeDraw.group_id == group.id, Draw.status == "committed"))).all()
        if pending:  # a replacement draw already waits for its witness
            return
        rule_set = await session.get(RuleSetRecord, request.rule_set_id)
        pool = await _pool_codes(session, request, rule_set, group.specialty_code,
                                 await drawn_codes(session, keys, request))
        last = (await session.scalars(select(CommitteeDraw.draw_id).where(CommitteeDraw.group_id == group.id)
                                      .order_by(CommitteeDraw.id.desc()).limit(1))).one()
        if len(pool) < missing:
            # Nobody left to draw: the group stays short and the center must decide (a new
            # session time, a wider specialty); the answer that caused it still stands.
            await record_event(session, actor="system", action="committee.group_short", subject=f"committee:{request.id}",
                               data={"group": group.position, "missing": missing, "pool_size": len(pool)})
            return
        await record_event(session, actor="system", action="committee.replacement_draw", subject=f"committee:{request.id}",
                           data={"group": group.position, "continues": last})
        await _commit_group_draw(session, keys, request, group, rule_set, pool, missing,
                                 actor="system", continues=last)
        return


async def answer_invitation(session: AsyncSession, keys: CenterKeys, *, member_id: int, expert_id: int, accept: bool,
                            reason: str = "", actor: str) -> CommitteeMember:
    """The expert's own answer. A decline needs a reason and calls the next reserve."""
    member = await session.get(CommitteeMember, member_id, with_for_update=True, populate_existing=True)
    if member is None or member.expert_id != expert_id:
        raise NotFound("没有这条评标邀请")
    step = MEMBER_STEPS["confirm" if accept else "decline"]
    if not step.allows(member.status):
        raise Conflict(f"该邀请当前状态为「{MEMBER_STATUS_NAMES[member.status]}」，不能再答复", code="invitation_answered")
    request = await session.get(CommitteeRequest, member.request_id, with_for_update=True, populate_existing=True)
    if not REQUEST_STEPS["answer"].allows(request.status) or request.starts_at <= await database_now(session):
        raise Conflict("评标已开始或已取消，不能再答复", code="evaluation_started")
    member.answered_at = await database_now(session)
    if accept:
        member.status = step.target
    else:
        if not reason.strip():
            raise InvalidInput("谢绝参加评标必须说明理由", code="reason_required", field="reason")
        member.status, member.reason = step.target, reason.strip()
        booking = await session.scalar(select(ExpertBooking).where(ExpertBooking.member_id == member.id))
        if booking is not None:
            booking.released_at = member.answered_at
    await session.flush()
    await record_event(session, actor=actor, action="committee.member_confirmed" if accept else "committee.member_declined",
                       subject=f"committee:{request.id}",
                       data={"member": member.id, "draw_id": member.draw_id, "reason": member.reason})
    if not accept:
        await _fill_group(session, keys, request, await session.get(CommitteeGroup, member.group_id))
    return member


async def unseal_committee(session: AsyncSession, keys: CenterKeys, request_id: int, *, actor: str) -> CommitteeRequest:
    """At the start of the session: reveal every draw of the committee and publish them."""
    request = await session.get(CommitteeRequest, request_id, with_for_update=True, populate_existing=True)
    if request is None:
        raise NotFound(f"未找到评标委员会抽取申请 {request_id}")
    step = REQUEST_STEPS["unseal"]
    if not step.allows(request.status):
        raise Conflict("该评标委员会已揭晓或已取消", code="committee_unsealed")
    if await database_now(session) < request.starts_at:
        raise RuleViolation("评标开始前不能揭晓专家名单", code="before_evaluation_start")
    draw_ids = (await session.scalars(select(CommitteeDraw.draw_id).join(CommitteeGroup)
                                      .where(CommitteeGroup.request_id == request.id).order_by(CommitteeDraw.id))).all()
    for draw_id in draw_ids:
        if (await get_draw(session, draw_id)).status == WITNESSED:
            await reveal_draw(session, keys, draw_id, actor=actor)
    request.status = step.target
    await session.flush()
    await record_event(session, actor=actor, action="committee.unsealed", subject=f"committee:{request.id}",
                       data={"draws": list(draw_ids)})
    return request


async def unseal_due_committees(session: AsyncSession, keys: CenterKeys) -> int:
    """Unseal every committee whose session has started (run by the app's worker)."""
    due = (await session.scalars(
        select(CommitteeRequest.id).where(CommitteeRequest.status == DRAWING, CommitteeRequest.starts_at <= func.now())
        .with_for_update(skip_locked=True)
    )).all()
    for request_id in due:
        await unseal_committee(session, keys, request_id, actor="system")
    return len(due)


async def current_committee_request(session: AsyncSession, project_code: str) -> CommitteeRequest | None:
    """The project's current committee request: the latest not cancelled."""
    return await session.scalar(select(CommitteeRequest).where(
        CommitteeRequest.project_code == project_code, CommitteeRequest.status != CANCELLED)
        .order_by(CommitteeRequest.id.desc()).limit(1))


async def seats_of(session: AsyncSession, request_id: int) -> int:
    """How many seats the committee's groups have in all."""
    return await session.scalar(select(func.sum(CommitteeGroup.count)).where(CommitteeGroup.request_id == request_id)) or 0


async def confirmed_members(session: AsyncSession, request_id: int) -> list[tuple[CommitteeMember, Expert]]:
    """The members of a committee who confirmed, with their experts, by group and in the order called."""
    return list((await session.execute(
        select(CommitteeMember, Expert).join(Expert, Expert.id == CommitteeMember.expert_id)
        .where(CommitteeMember.request_id == request_id, CommitteeMember.status == CONFIRMED)
        .order_by(CommitteeMember.group_id, CommitteeMember.id))).all())


async def confirmed_experts_of_project(session: AsyncSession, project_code: str) -> list[Expert]:
    """Every expert who confirmed a seat on any committee of the project, by expert code."""
    seated = (select(CommitteeMember.expert_id)
              .join(CommitteeRequest, CommitteeRequest.id == CommitteeMember.request_id)
              .where(CommitteeRequest.project_code == project_code, CommitteeMember.status == CONFIRMED))
    return list((await session.scalars(select(Expert).where(Expert.id.in_(seated)).order_by(Expert.code))).all())


async def sat_on_project(session: AsyncSession, project_code: str, expert_id: int) -> bool:
    """Whether the expert confirmed a seat on a committee of the project."""
    return await session.scalar(
        select(CommitteeMember.id).join(CommitteeRequest, CommitteeRequest.id == CommitteeMember.request_id)
        .where(CommitteeRequest.project_code == project_code, CommitteeMember.expert_id == expert_id,
               CommitteeMember.status == CONFIRMED).limit(1)) is not None


async def committee_view(session: AsyncSession, request_id: int) -> dict[str, Any]:
    """What may be shown of a committee: counts while sealed, names once unsealed."""
    request = await session.get(CommitteeRequest, request_id)
    if request is None:
        raise NotFound(f"未找到评标委员会抽取申请 {request_id}")
    groups = (await session.scalars(select(CommitteeGroup).where(CommitteeGroup.request_id == request.id)
                                    .order_by(CommitteeGroup.position))).all()
    draws = {g.id: list((await session.scalars(select(CommitteeDraw.draw_id).where(CommitteeDraw.group_id == g.id)
                                               .order_by(CommitteeDraw.id))).all()) for g in groups}
    rows = (await session.execute(select(CommitteeMember, Expert).join(Expert, Expert.id == CommitteeMember.expert_id)
                                  .where(CommitteeMember.request_id == request.id).order_by(CommitteeMember.id))).all()
    view: dict[str, Any] = {
        "id": request.id, "project_code": request.project_code, "status": request.status,
        "starts_at": request.starts_at.isoformat(), "ends_at": request.ends_at.isoformat(), "place": request.place,
        "representatives": request.representatives,
        "groups": [{"specialty": g.specialty_code, "count": g.count, "reserve_count": g.reserve_count,
                    "draws": draws[g.id],
                    "confirmed": sum(1 for m, _ in rows if m.group_id == g.id and m.status == CONFIRMED),
                    "invited": sum(1 for m, _ in rows if m.group_id == g.id and m.status == INVITED)} for g in groups],
        "members": None,
    }
    if request.status == UNSEALED:
        view["members"] = [{"code": e.code, "name": e.name, "group": next(g.position for g in groups if g.id == m.group_id),
                            "status": m.status, "status_name": MEMBER_STATUS_NAMES[m.status]}
                           for m, e in rows if m.status in (INVITED, CONFIRMED)]
    return view


async def invitations_of(session: AsyncSession, expert_id: int) -> list[dict[str, Any]]:
    """An expert's own invitations: time and place only, nothing about the project."""
    rows = (await session.execute(
        select(CommitteeMember, CommitteeRequest).join(CommitteeRequest, CommitteeRequest.id == CommitteeMember.request_id)
        .where(CommitteeMember.expert_id == expert_id, CommitteeMember.status.in_((INVITED, CONFIRMED, DECLINED)))
        .order_by(CommitteeRequest.starts_at)
    )).all()
    return [{"id": m.id, "starts_at": r.starts_at.isoformat(), "ends_at": r.ends_at.isoformat(), "place": r.place,
             "status": m.status, "status_name": MEMBER_STATUS_NAMES[m.status]} for m, r in rows]


async def expert_of_user(session: AsyncSession, user: Any) -> Expert:
    """The pool entry of an expert's account (matched by ID number)."""
    expert = await session.scalar(select(Expert).where(Expert.id_number == user.id_number)) if user.id_number else None
    if expert is None:
        raise PermissionDenied("您的账号未关联专家库中的专家", code="not_an_expert")
    return expert
