"""Experts from a partner city for one of our committees (异地抽取, the borrower's side).

A committee requested here (local groups, drawn here) can ask a partner city for more
groups: the partner draws them over its own pool with its own key and answers its signed
commit records, which are kept here with the request. Our supervisor's witness values go to
the partner; at our session start the partner's reveal and its experts' contact details
come sealed to our X25519 key and are opened then, each draw checked against the
partner's verify key. Declines, attendance, a cancellation and our ratings go back.

A request that got no answer can be sent again (same request id: the partner answers what
it answered before) or, where the rule set allows, replaced by local groups, which the new
draws' criteria record (``fallback_for``).
"""

from __future__ import annotations

import base64
import json
import logging
import secrets
import uuid
from datetime import datetime
from typing import Any

import nacl.exceptions
import nacl.public
from sqlalchemy import Column, ForeignKey, Integer, LargeBinary, String, Text, func, select
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import Field, SQLModel

from bidding.draws.partner_client import PartnerGateway, PartnerRefused, PartnerUnreachable, send
from bidding.tender.projects import project_by_code
from expert_pool.committees import REQUEST_STEPS, CommitteeGroup, CommitteeRequest, avoided_bidders_digest
from expert_pool.composition import check_committee
from expert_pool.fallback import add_fallback_groups
from trading.audit import record_event
from trading.columns import created_at_column
from trading.database import database_now
from trading.errors import Conflict, DomainError, IntegrityFailure, InvalidInput, NotFound, PermissionDenied, RuleViolation
from trading.keys import CenterKeys
from trading.partners import active_partner, get_partner
from trading.sealed_draw import verify_bundle
from trading.settings import Settings
from trading.timefmt import rfc3339
from trading.transitions import Transition, transition_table

PENDING, COMMITTED, OPENED, CANCELLED, FALLEN_BACK = "pending", "committed", "opened", "cancelled", "fallen_back"
STATUS_NAMES = {PENDING: "已发出，待对方应答", COMMITTED: "对方已抽取（结果密封）", OPENED: "已揭晓",
                CANCELLED: "已取消", FALLEN_BACK: "已改抽本地专家"}
# The steps of a request to a partner city (the tender's table shape, trading.transitions);
# a step's name is what a refusal says cannot be done.
STEPS = transition_table(
    Transition("answer", "接收对方应答", frozenset({PENDING}), COMMITTED),
    Transition("witness", "见证", frozenset({COMMITTED}), None),
    Transition("refresh", "刷新", frozenset({COMMITTED, OPENED}), None),
    Transition("open", "揭晓", frozenset({COMMITTED}), OPENED),
    Transition("relay_decline", "转达谢绝", frozenset({COMMITTED}), None),
    Transition("report_attendance", "登记出席情况", frozenset({OPENED}), None),
    Transition("rate", "评价", frozenset({OPENED}), None),
    Transition("cancel", "取消", frozenset({PENDING, COMMITTED}), CANCELLED),
    # Fallen back, the partner may still have to be told to cancel: the request stays fallen back.
    Transition("cancel_after_fallback", "取消", frozenset({FALLEN_BACK}), None),
    Transition("fall_back", "改抽本地专家", frozenset({PENDING, CANCELLED}), FALLEN_BACK),
)
# The rule set key that allows local experts in place of a partner's; rule sets without it
# get the default (docs/federation.md, "Unreachable partners").
FALLBACK_RULE = "expert_remote_fallback_allowed"
FALLBACK_DEFAULT = True
BASE = "/api/federation/draw-requests"
log = logging.getLogger(__name__)


class PartnerDrawRequest(SQLModel, table=True):
    __tablename__ = "partner_draw_requests"

    id: int | None = Field(default=None, primary_key=True)
    request_id: str = Field(sa_column=Column(String(64), nullable=False, unique=True))
    committee_request_id: int = Field(sa_column=Column(Integer, ForeignKey("committee_requests.id"), nullable=False,
                                                       index=True))
    partner_city: str = Field(sa_column=Column(String(6), nullable=False, index=True))
    message: dict[str, Any] = Field(sa_column=Column(JSONB, nullable=False))
    status: str = Field(sa_column=Column(String(16), nullable=False))
    draws: list[dict[str, Any]] | None = Field(default=None, sa_column=Column(JSONB, nullable=True))
    sealed_result: bytes | None = Field(default=None, sa_column=Column(LargeBinary, nullable=True))
    opened: dict[str, Any] | None = Field(default=None, sa_column=Column(JSONB, nullable=True))
    last_error: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    fallback_reason: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    requested_by: str = Field(sa_column=Column(String(200), nullable=False))
    created_at: datetime = Field(sa_column=created_at_column())


def _check_step(row: PartnerDrawRequest, action: str) -> Transition[str]:
    """The step ``action``, or a refusal naming the request's status."""
    step = STEPS[action]
    if not step.allows(row.status):
        raise Conflict(f"异地抽取请求当前状态为「{STATUS_NAMES[row.status]}」，不能{step.name}", code="partner_draw_state")
    return step


async def get_partner_draw(session: AsyncSession, request_id: str, *, for_update: bool = False) -> PartnerDrawRequest:
    query = select(PartnerDrawRequest).where(PartnerDrawRequest.request_id == request_id)
    if for_update:
        query = query.with_for_update().execution_options(populate_existing=True)
    found = await session.scalar(query)
    if found is None:
        raise NotFound(f"未找到异地抽取请求 {request_id}", request_id=request_id)
    return found


async def prepare_partner_draw(session: AsyncSession, settings: Settings, *, actor: str, committee_request_id: int,
                               partner_city: str, groups: list[dict[str, Any]]) -> PartnerDrawRequest:
    """Keep the message to send (with a fresh request id) before sending it, so that a
    retry after a timeout sends the very same message."""
    partner = await active_partner(session, partner_city)
    request = await session.get(CommitteeRequest, committee_request_id)
    if request is None:
        raise NotFound(f"未找到评标委员会抽取申请 {committee_request_id}")
    if not REQUEST_STEPS["ask_partner"].allows(request.status) or request.starts_at <= await database_now(session):
        raise Conflict("评标已开始或已取消，不能再向合作城市抽取专家", code="evaluation_started")
    if not groups:
        raise InvalidInput("请至少填写一个专业组别", code="groups_required", field="groups")
    project, party, rule_set = await project_by_code(session, request.project_code)
    local = await session.scalar(select(func.coalesce(func.sum(CommitteeGroup.count), 0))
                                 .where(CommitteeGroup.request_id == request.id))
    others = (await session.scalars(select(PartnerDrawRequest).where(
        PartnerDrawRequest.committee_request_id == request.id,
        PartnerDrawRequest.status.not_in((CANCELLED, FALLEN_BACK))))).all()
    remote = sum(g["count"] for row in others for g in row.message["groups"])
    # The whole committee, local and remote experts together, must satisfy the rule set.
    check_committee(rule_set.entries(), experts=int(local) + remote + sum(int(g["count"]) for g in groups),
                    representatives=request.representatives)
    avoid = sorted(set(request.bidder_codes) | ({request.agency_code} - {None}) - {request.tendering_party_code})
    message = {
        "protocol": "federation/1", "message": "draw-request", "request_id": str(uuid.uuid4()),
        "from_city": settings.city_code,
        "project": {"code": project.code, "category": rule_set.category, "method": rule_set.method},
        "tendering_party": request.tendering_party_code, "avoid": avoid, "avoid_salt": secrets.token_hex(32),
        "starts_at": rfc3339(request.starts_at), "ends_at": rfc3339(request.ends_at),
        "place": request.place,
        "groups": [{"specialty": str(g["specialty"]), "count": int(g["count"]),
                    "reserve_count": int(g.get("reserve_count", 0))} for g in groups],
    }
    row = PartnerDrawRequest(request_id=message["request_id"], committee_request_id=request.id,
                             partner_city=partner.city_code, message=message, status=PENDING, requested_by=actor)
    session.add(row)
    await session.flush()
    await record_event(session, actor=actor, action="committee.partner_draw_requested", subject=f"committee:{request.id}",
                       data={"partner": partner.city_code, "request_id": row.request_id, "groups": message["groups"]})
    return row


def _avoid_digest(message: dict[str, Any]) -> str | None:
    avoid = message["avoid"]
    if not avoid:
        return None
    # A message kept before salts were sent cannot be checked: it fails as not matching.
    return avoided_bidders_digest(message["avoid_salt"], avoid) if "avoid_salt" in message else "unchecked"


async def send_partner_draw(session: AsyncSession, keys: CenterKeys, settings: Settings, request_id: str,
                            *, gateway: PartnerGateway, actor: str) -> PartnerDrawRequest:
    """Send (or send again) the kept message; store the partner's commit records once checked."""
    row = await get_partner_draw(session, request_id, for_update=True)
    step = STEPS["answer"]
    if not step.allows(row.status):
        return row  # answered already: nothing to send again
    partner = await active_partner(session, row.partner_city)
    answer = await send(gateway, keys, settings, partner, "POST", BASE, row.message)
    draws = answer.get("draws") or []
    for item in draws:
        check = verify_bundle(item["bundle"], partner.verify_key)
        if not check.ok:
            raise IntegrityFailure(f"合作城市{partner.name}的承诺记录验证失败（{check.failed_check}）：{check.message}")
    if len(draws) != len(row.message["groups"]):
        raise IntegrityFailure(f"合作城市{partner.name}的应答与请求的专业组别数不符")
    for item, group in zip(draws, row.message["groups"], strict=True):
        record = item["bundle"]["commit"]["record"]
        # The partner drew what was asked, with everyone we named avoided: the tendering
        # party by name, the bidders and agency only under the digest of our salt.
        if (record["count"], record["reserve_count"], record["criteria"].get("specialties")) != (
                group["count"], group["reserve_count"], [group["specialty"]]) \
                or row.message["tendering_party"] not in (record["criteria"].get("exclude_orgs") or []) \
                or record["criteria"].get("exclude_bidders_sha256") != _avoid_digest(row.message):
            raise IntegrityFailure(f"合作城市{partner.name}的抽取 {record['draw_id']} 与请求的条件不符（人数、专业或回避单位）")
    row.draws, row.status, row.last_error = draws, step.target, None
    await session.flush()
    await record_event(session, actor=actor, action="committee.partner_draw_committed",
                       subject=f"committee:{row.committee_request_id}",
                       data={"partner": partner.city_code, "request_id": request_id,
                             "draws": [d["bundle"]["commit"]["record"]["draw_id"] for d in draws],
                             "commitments": [d["bundle"]["commit"]["record"]["commitment"] for d in draws]})
    return row


async def note_failure(session: AsyncSession, request_id: str, message: str, *, actor: str) -> None:
    row = await get_partner_draw(session, request_id, for_update=True)
    row.last_error = message
    await session.flush()
    await record_event(session, actor=actor, action="committee.partner_unreachable",
                       subject=f"committee:{row.committee_request_id}",
                       data={"partner": row.partner_city, "request_id": request_id, "message": message})


def _replace_bundle(row: PartnerDrawRequest, bundle: dict[str, Any]) -> None:
    draw_id = bundle["commit"]["record"]["draw_id"]
    draws = [dict(d) for d in row.draws or []]
    for item in draws:
        if item["bundle"]["commit"]["record"]["draw_id"] == draw_id:
            item["bundle"] = bundle
            break
    else:
        draws.append({"group": None, "bundle": bundle})
    row.draws = draws


async def witness_partner_draw(session: AsyncSession, keys: CenterKeys, settings: Settings, request_id: str, *,
                               gateway: PartnerGateway, draw_id: str, value: str, by: str) -> PartnerDrawRequest:
    """Our supervisor's witness value for one of the partner's draws."""
    value = (value or "").strip()
    if not value:
        raise InvalidInput("见证值不能为空：请输入或生成一个见证值", code="witness_required", field="value")
    row = await get_partner_draw(session, request_id, for_update=True)
    _check_step(row, "witness")
    partner = await active_partner(session, row.partner_city)
    answer = await send(gateway, keys, settings, partner, "POST", f"{BASE}/{request_id}/witness",
                        {"message": "witness", "draw_id": draw_id, "value": value, "by": by})
    bundle = answer["bundle"]
    check = verify_bundle(bundle, partner.verify_key)
    if not check.ok or bundle["witness"] is None or bundle["witness"]["value"] != value:
        raise IntegrityFailure(f"合作城市{partner.name}的见证应答验证失败")
    _replace_bundle(row, bundle)
    await session.flush()
    await record_event(session, actor=by, action="committee.partner_draw_witnessed",
                       subject=f"committee:{row.committee_request_id}",
                       data={"partner": partner.city_code, "request_id": request_id, "draw_id": draw_id, "witness": value})
    return row


async def refresh_partner_draw(session: AsyncSession, keys: CenterKeys, settings: Settings,
                               request_id: str, *, gateway: PartnerGateway) -> dict[str, Any]:
    """The partner's counts per group and its draws (replacement draws appear here)."""
    row = await get_partner_draw(session, request_id, for_update=True)
    if not STEPS["refresh"].allows(row.status):
        raise Conflict(f"异地抽取请求当前状态为「{STATUS_NAMES[row.status]}」", code="partner_draw_state")
    partner = await active_partner(session, row.partner_city)
    answer = await send(gateway, keys, settings, partner, "GET", f"{BASE}/{request_id}")
    for item in answer.get("draws") or []:
        if verify_bundle(item["bundle"], partner.verify_key).ok:
            _replace_bundle(row, item["bundle"])
    await session.flush()
    return {"request_id": request_id, "status": answer.get("status"), "groups": answer.get("groups")}


async def open_partner_draw(session: AsyncSession, keys: CenterKeys, settings: Settings, request_id: str, *,
                            gateway: PartnerGateway, actor: str) -> PartnerDrawRequest:
    """At our session start: fetch the sealed reveal, open it with our X25519 key, check it."""
    row = await get_partner_draw(session, request_id, for_update=True)
    if row.status == OPENED:
        return row
    step = _check_step(row, "open")
    request = await session.get(CommitteeRequest, row.committee_request_id)
    if await database_now(session) < request.starts_at:
        raise RuleViolation("评标开始前不能揭晓异地专家名单", code="before_evaluation_start", starts_at=rfc3339(request.starts_at))
    partner = await get_partner(session, row.partner_city)
    answer = await send(gateway, keys, settings, partner, "POST", f"{BASE}/{request_id}/reveal", {"message": "reveal"})
    sealed = base64.b64decode(answer["sealed"])
    try:
        content = json.loads(nacl.public.SealedBox(keys.exchange_key).decrypt(sealed))
    except nacl.exceptions.CryptoError:
        raise IntegrityFailure(f"合作城市{partner.name}发来的密封结果无法用本中心密钥打开") from None
    selected: set[str] = set()
    for item in content["draws"]:
        check = verify_bundle(item["bundle"], partner.verify_key)
        if not check.ok:
            raise IntegrityFailure(f"合作城市{partner.name}的抽取 {item['bundle']['commit']['record'].get('draw_id')} "
                                   f"验证失败（{check.failed_check}）：{check.message}")
        if check.revealed:
            selected |= set(check.selected) | set(check.reserves)
    strangers = [m["code"] for m in content["members"] if m["code"] not in selected]
    if strangers:
        raise IntegrityFailure(f"合作城市{partner.name}列出的专家 {'、'.join(strangers)} 不在其抽取结果中")
    row.sealed_result, row.opened, row.draws, row.status = sealed, content, content["draws"], step.target
    await session.flush()
    await record_event(session, actor=actor, action="committee.partner_draw_opened",
                       subject=f"committee:{row.committee_request_id}",
                       data={"partner": partner.city_code, "request_id": request_id,
                             "members": [m["code"] for m in content["members"]]})
    return row


async def open_due_partner_draws(session: AsyncSession, keys: CenterKeys, settings: Settings, *,
                                 gateway: PartnerGateway) -> int:
    """Open every answered remote draw whose session has started (the app's worker)."""
    due = (await session.scalars(
        select(PartnerDrawRequest.request_id).join(CommitteeRequest,
                                                   CommitteeRequest.id == PartnerDrawRequest.committee_request_id)
        .where(PartnerDrawRequest.status == COMMITTED, CommitteeRequest.starts_at <= func.now()))).all()
    opened = 0
    for request_id in due:
        try:
            async with session.begin_nested():
                await open_partner_draw(session, keys, settings, request_id, gateway=gateway, actor="system")
            opened += 1
        except DomainError as exc:  # the partner is late or unreachable: the next round tries again
            log.warning("remote draw %s not opened yet: %s", request_id, exc.message)
    return opened


async def relay_decline(session: AsyncSession, keys: CenterKeys, settings: Settings, request_id: str, *,
                        gateway: PartnerGateway, expert_code: str, reason: str, actor: str) -> dict[str, Any]:
    """An expert of the partner told us they cannot come: the partner calls its next reserve."""
    row = await get_partner_draw(session, request_id)
    _check_step(row, "relay_decline")
    if not (reason or "").strip():
        raise InvalidInput("谢绝参加评标必须说明理由", code="reason_required", field="reason")
    partner = await active_partner(session, row.partner_city)
    answer = await send(gateway, keys, settings, partner, "POST", f"{BASE}/{request_id}/declines",
                        {"message": "decline", "expert_code": expert_code.strip().upper(), "reason": reason.strip()})
    await record_event(session, actor=actor, action="committee.partner_decline_relayed",
                       subject=f"committee:{row.committee_request_id}",
                       data={"partner": partner.city_code, "request_id": request_id, "expert_code": expert_code})
    return answer


async def report_attendance(session: AsyncSession, keys: CenterKeys, settings: Settings, request_id: str, *,
                            gateway: PartnerGateway, records: list[dict[str, Any]], actor: str) -> dict[str, Any]:
    row = await get_partner_draw(session, request_id)
    if not STEPS["report_attendance"].allows(row.status):
        raise Conflict("异地专家名单揭晓后才能登记出席情况", code="partner_draw_not_revealed")
    partner = await get_partner(session, row.partner_city)
    answer = await send(gateway, keys, settings, partner, "POST", f"{BASE}/{request_id}/attendance",
                        {"message": "attendance", "records": records})
    await record_event(session, actor=actor, action="committee.partner_attendance_reported",
                       subject=f"committee:{row.committee_request_id}",
                       data={"partner": partner.city_code, "request_id": request_id, "records": records})
    return answer


async def cancel_partner_draw(session: AsyncSession, keys: CenterKeys, settings: Settings, request_id: str, *,
                              gateway: PartnerGateway, reason: str, actor: str) -> PartnerDrawRequest:
    """Tell the partner its experts are not needed (bookings released there). A request we fell
    back from locally can be cancelled too, when the fallback could not reach the partner: it
    stays fallen back."""
    row = await get_partner_draw(session, request_id, for_update=True)
    if not (reason or "").strip():
        raise InvalidInput("取消必须说明理由", code="reason_required", field="reason")
    step = next((s for s in (STEPS["cancel"], STEPS["cancel_after_fallback"]) if s.allows(row.status)), None)
    if step is None:
        raise Conflict(f"异地抽取请求当前状态为「{STATUS_NAMES[row.status]}」，不能取消", code="partner_draw_state")
    partner = await get_partner(session, row.partner_city)
    await send(gateway, keys, settings, partner, "POST", f"{BASE}/{request_id}/cancel",
               {"message": "cancel", "reason": reason})
    if step.target is not None:
        row.status = step.target
    row.last_error = None
    await session.flush()
    await record_event(session, actor=actor, action="committee.partner_draw_cancelled",
                       subject=f"committee:{row.committee_request_id}",
                       data={"partner": partner.city_code, "request_id": request_id, "reason": reason})
    return row


async def rate_partner_expert(session: AsyncSession, keys: CenterKeys, settings: Settings, request_id: str, *,
                              gateway: PartnerGateway, expert_code: str, score: int, comment: str, rater: str,
                              rater_role: str, rater_organisation_id: int | None) -> dict[str, Any]:
    """Our tendering party's or supervisor's rating of a partner's expert, sent to the partner."""
    row = await get_partner_draw(session, request_id)
    if not STEPS["rate"].allows(row.status):
        raise Conflict("异地专家名单揭晓后才能评价", code="partner_draw_not_revealed")
    request = await session.get(CommitteeRequest, row.committee_request_id)
    if rater_role == "tendering_party":
        _, party, _ = await project_by_code(session, request.project_code)
        if rater_organisation_id != party.id:
            raise PermissionDenied("只有本项目的招标人可以评价本项目的评标专家", code="not_tendering_party")
    code = expert_code.strip().upper()
    if code not in {m["code"] for m in row.opened["members"]}:
        raise NotFound(f"专家 {code} 不是本项目的异地评标专家", field="expert_code")
    partner = await get_partner(session, row.partner_city)
    answer = await send(gateway, keys, settings, partner, "POST", f"{BASE}/{request_id}/ratings",
                        {"message": "ratings", "ratings": [{"expert_code": code, "score": score, "comment": comment,
                                                             "rater": rater, "rater_role": rater_role}]})
    await record_event(session, actor=rater, action="committee.partner_expert_rated",
                       subject=f"committee:{row.committee_request_id}",
                       data={"partner": partner.city_code, "request_id": request_id, "expert_code": code,
                             "score": score})
    return answer


async def fall_back_to_local(session: AsyncSession, keys: CenterKeys, settings: Settings, request_id: str, *,
                             gateway: PartnerGateway, reason: str, actor: str) -> PartnerDrawRequest:
    """Local groups in place of an unanswered (or cancelled) partner request, where the rule set
    allows. An unanswered request may have reached the partner with only its answer lost: the
    partner is told to cancel, so that none of its experts stays booked for our session; if it
    cannot be reached, that is recorded and the request can be cancelled later."""
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput("改抽本地专家必须说明理由", code="reason_required", field="reason")
    row = await get_partner_draw(session, request_id, for_update=True)
    step = STEPS["fall_back"]
    if not step.allows(row.status):
        raise Conflict(f"异地抽取请求当前状态为「{STATUS_NAMES[row.status]}」：对方已抽取的，须先取消再改抽本地专家", code="partner_draw_state")
    request = await session.get(CommitteeRequest, row.committee_request_id)
    _, _, rule_set = await project_by_code(session, request.project_code)
    rule = rule_set.entry(FALLBACK_RULE)
    allowed = rule["value"] if rule is not None else FALLBACK_DEFAULT
    if not allowed:
        raise RuleViolation(f"规则集 {rule_set.code} {rule_set.version} 不允许以本地专家代替异地专家（{rule['source']}）",
                            code="local_fallback_not_allowed", rule=FALLBACK_RULE)
    untold = await _cancel_unanswered(session, keys, settings, gateway, row, reason, actor) if row.status == PENDING else None
    replaces = {"partner": row.partner_city, "request_id": request_id, "reason": reason,
                "rule": FALLBACK_RULE if rule is not None else f"{FALLBACK_RULE} (default)"}
    await add_fallback_groups(session, keys, committee_request_id=request.id,
                              groups=[(g["specialty"], g["count"], g["reserve_count"]) for g in row.message["groups"]],
                              replaces=replaces, actor=actor)
    row.status, row.fallback_reason = step.target, reason
    row.last_error = f"未能通知对方取消（可稍后再取消）：{untold}" if untold else None
    await session.flush()
    return row


async def _cancel_unanswered(session: AsyncSession, keys: CenterKeys, settings: Settings, gateway: PartnerGateway,
                             row: PartnerDrawRequest, reason: str, actor: str) -> str | None:
    """Send ``cancel`` for a request the partner never answered; None when it has it (or never
    got the request), else why it could not be told (audited either way)."""
    partner = await get_partner(session, row.partner_city)
    reason = f"改抽本地专家：{reason}"
    untold = None
    try:
        await send(gateway, keys, settings, partner, "POST", f"{BASE}/{row.request_id}/cancel",
                   {"message": "cancel", "reason": reason})
    except PartnerRefused as exc:
        if exc.details["partner_error"].get("code") != "not_found":  # not_found: it never got the request
            untold = exc.message
    except (PartnerUnreachable, IntegrityFailure) as exc:
        untold = exc.message
    subject, data = f"committee:{row.committee_request_id}", {"partner": partner.city_code, "request_id": row.request_id}
    if untold is None:
        await record_event(session, actor=actor, action="committee.partner_draw_cancelled", subject=subject,
                           data={**data, "reason": reason})
    else:
        await record_event(session, actor=actor, action="committee.partner_unreachable", subject=subject,
                           data={**data, "message": f"未能通知对方取消：{untold}"})
    return untold


def partner_draw_view(row: PartnerDrawRequest, *, contacts: bool = False) -> dict[str, Any]:
    """What may be shown: status and the partner's records; names only once opened, and
    phone numbers (``contacts``) only to center staff."""
    members = None
    if row.opened is not None:
        members = [{"code": m["code"], "name": m["name"], "group": m["group"], "status": m["status"],
                    "status_name": m["status_name"], "city": row.partner_city,
                    **({"phone": m["phone"]} if contacts else {})} for m in row.opened["members"]]
    return {"request_id": row.request_id, "partner": row.partner_city, "committee": row.committee_request_id,
            "status": row.status, "status_name": STATUS_NAMES[row.status], "groups": row.message["groups"],
            "draws": [item["bundle"] for item in row.draws or []], "members": members,
            "last_error": row.last_error, "fallback_reason": row.fallback_reason}


async def partner_bundle(session: AsyncSession, partner_city: str, draw_id: str) -> dict[str, Any]:
    """The latest bundle we hold of a partner's draw, by the partner's draw id."""
    rows = (await session.scalars(select(PartnerDrawRequest).where(
        PartnerDrawRequest.partner_city == partner_city).order_by(PartnerDrawRequest.id.desc()))).all()
    for row in rows:
        for item in row.draws or []:
            if item["bundle"]["commit"]["record"]["draw_id"] == draw_id:
                return item["bundle"]
    raise NotFound(f"没有合作城市 {partner_city} 的抽取 {draw_id}", draw_id=draw_id)


async def partner_draws_of(session: AsyncSession, committee_request_id: int) -> list[dict[str, Any]]:
    rows = (await session.scalars(select(PartnerDrawRequest).where(
        PartnerDrawRequest.committee_request_id == committee_request_id).order_by(PartnerDrawRequest.id))).all()
    return [partner_draw_view(row) for row in rows]
