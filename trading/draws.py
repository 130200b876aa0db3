"""Draw records: the sealed-draw/1 workflow kept in the database.

Every attempt is kept: a committed draw is completed (witnessed, then revealed) or voided
with a reason, never deleted or replaced. The center's seed and the selection are stored
only encrypted under the key-encryption key until the reveal, and no page or API shows
the selection before then; ``sealed_selection`` hands it to the notification step only.
A void is a signed ``sealed-draw-void/1`` record which, once the witness was in,
publishes the center's seed, so anyone can compute what the discarded draw would have
selected.
"""

from __future__ import annotations

import json
import secrets
from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, CheckConstraint, Column, DateTime, Integer, LargeBinary, Sequence, String, Text, select
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import Field, SQLModel

from trading import sealed_draw as sd
from trading.audit import record_event
from trading.columns import created_at_column, timestamp_column
from trading.database import database_now
from trading.errors import Conflict, InvalidInput, NotFound, PermissionDenied, RuleViolation
from trading.events import publish_event
from trading.keys import CenterKeys
from trading.timefmt import rfc3339
from trading.transitions import Transition, transition_table

DRAW_NUMBERS = Sequence("draw_numbers")
PURPOSES = {"expert": "D", "agency": "AG"}
COMMITTED, WITNESSED, REVEALED, VOIDED = "committed", "witnessed", "revealed", "voided"
STATUS_NAMES = {COMMITTED: "已承诺，待见证", WITNESSED: "已见证，结果密封中", REVEALED: "已揭晓", VOIDED: "已作废"}
# The steps of a draw after its commit (the tender's table shape, trading.transitions); a
# step's name is what a refusal says cannot be done.
STEPS = transition_table(
    Transition("witness", "再提供见证值", frozenset({COMMITTED}), WITNESSED),
    Transition("reveal", "揭晓", frozenset({WITNESSED}), REVEALED),
    # Once witnessed only with a supervisor's approval (void_draw).
    Transition("void", "作废", frozenset({COMMITTED, WITNESSED}), VOIDED),
    # The party entitled to witness asks a supervisor to do it instead; the draw waits on.
    Transition("ask_supervisor_to_witness", "请求监督人员见证", frozenset({COMMITTED}), None),
)
MAX_WITNESS_LENGTH = 200
# Who may supply a draw's witness value (the commit record's ``criteria.witness``): never the center.
WITNESS_NONE, WITNESS_SUPERVISOR, WITNESS_TENDERING_PARTY = "none", "supervisor", "tendering_party"


class Draw(SQLModel, table=True):
    __tablename__ = "draws"
    __table_args__ = (
        CheckConstraint("status IN ('committed', 'witnessed', 'revealed', 'voided')", name="draws_status_known"),
        CheckConstraint("purpose IN ('expert', 'agency')", name="draws_purpose_known"),
    )

    id: int = Field(sa_column=Column(Integer, primary_key=True, autoincrement=False))
    draw_id: str = Field(sa_column=Column(String(40), nullable=False, unique=True))
    purpose: str = Field(sa_column=Column(String(16), nullable=False))
    project_code: str = Field(sa_column=Column(String(40), nullable=False, index=True))
    pool: list[str] = Field(sa_column=Column(JSONB, nullable=False))
    count: int = Field(sa_column=Column(Integer, nullable=False))
    reserve_count: int = Field(sa_column=Column(Integer, nullable=False))
    commit_record: dict[str, Any] = Field(sa_column=Column(JSONB, nullable=False))
    commit_signature: str = Field(sa_column=Column(String(128), nullable=False))
    sealed_seed: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    witness_required: bool = Field(sa_column=Column(Boolean, nullable=False))
    witness_value: str | None = Field(default=None, sa_column=Column(String(MAX_WITNESS_LENGTH), nullable=True))
    witness_by: str | None = Field(default=None, sa_column=Column(String(200), nullable=True))
    witness_at: datetime | None = Field(default=None, sa_column=timestamp_column())
    sealed_result: bytes | None = Field(default=None, sa_column=Column(LargeBinary, nullable=True))
    unseal_at: datetime | None = Field(default=None, sa_column=timestamp_column())
    reveal_record: dict[str, Any] | None = Field(default=None, sa_column=Column(JSONB, nullable=True))
    reveal_signature: str | None = Field(default=None, sa_column=Column(String(128), nullable=True))
    status: str = Field(sa_column=Column(String(16), nullable=False, index=True))
    continues_draw_id: str | None = Field(default=None, sa_column=Column(String(40), nullable=True))
    void_reason: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    voided_by: str | None = Field(default=None, sa_column=Column(String(200), nullable=True))
    void_approved_by: str | None = Field(default=None, sa_column=Column(String(200), nullable=True))
    voided_at: datetime | None = Field(default=None, sa_column=Column(DateTime(timezone=True), nullable=True))
    void_record: dict[str, Any] | None = Field(default=None, sa_column=Column(JSONB, nullable=True))
    void_signature: str | None = Field(default=None, sa_column=Column(String(128), nullable=True))
    # The tendering party asked a supervisor to witness its agency draw (who asked).
    witness_asked_by: str | None = Field(default=None, sa_column=Column(String(200), nullable=True))
    created_at: datetime = Field(sa_column=created_at_column())

    @property
    def status_name(self) -> str:
        return STATUS_NAMES[self.status]

    @property
    def witness_role(self) -> str:
        return (self.commit_record.get("criteria") or {}).get("witness", WITNESS_SUPERVISOR)


async def commit_draw(
    session: AsyncSession,
    keys: CenterKeys,
    *,
    actor: str,
    purpose: str,
    project_code: str,
    criteria: dict[str, Any],
    pool: list[str],
    count: int,
    reserve_count: int,
    witness_required: bool,
    unseal_at: datetime | None = None,
    continues: str | None = None,
    witness: str = WITNESS_SUPERVISOR,
) -> Draw:
    """Steps 1-2: fix the pool, commit to a secret seed, sign and publish the commit record.

    ``witness`` says who supplies the witness value (the criteria name it). Without a
    configured witness the draw is witnessed at once with the empty string, and the
    criteria say so (``"witness": "none"``); an agency draw always has a witness who is
    not the center (spec: the tendering party, or a supervisor at its request). Without
    an ``unseal_at`` the result is revealed as soon as it is witnessed.
    """
    if purpose not in PURPOSES:
        raise InvalidInput(f"未知的抽取用途「{purpose}」", code="unknown_draw_purpose")
    if purpose == "agency" and not witness_required:
        raise RuleViolation("抽取招标代理机构须有交易中心以外的见证人：由招标人提供见证值，或由招标人请求监督人员提供", code="outside_witness_required")
    if count < 1 or reserve_count < 0:
        raise InvalidInput("抽取人数至少为 1，备选人数不能为负", code="invalid_draw_count")
    pool = sd.sorted_pool(pool)
    if count > len(pool):
        raise RuleViolation(f"符合条件的候选只有 {len(pool)} 个，不足以抽取 {count} 个：请调整抽取条件", code="pool_too_small",
                            pool_size=len(pool), count=count)
    number = await session.scalar(select(DRAW_NUMBERS.next_value()))
    committed_at = await database_now(session)
    draw_id = f"{PURPOSES[purpose]}-{committed_at.year}-{number:06d}"
    criteria = {**criteria, "witness": witness if witness_required else WITNESS_NONE}
    if continues is not None:
        criteria["continues"] = continues
    center_seed = secrets.token_bytes(32)
    record = {
        "protocol": sd.PROTOCOL, "draw_id": draw_id, "purpose": purpose, "project_code": project_code,
        "criteria": criteria, "pool_size": len(pool), "pool_digest": sd.pool_digest(pool), "count": count,
        "reserve_count": reserve_count, "commitment": sd.commitment(draw_id, center_seed),
        "committed_at": rfc3339(committed_at),
    }
    draw = Draw(id=number, draw_id=draw_id, purpose=purpose, project_code=project_code, pool=pool, count=count,
                reserve_count=reserve_count, commit_record=record, commit_signature=keys.sign(record),
                sealed_seed=keys.seal(center_seed), witness_required=witness_required, unseal_at=unseal_at,
                status=COMMITTED, continues_draw_id=continues)
    session.add(draw)
    await session.flush()
    await record_event(session, actor=actor, action="draw.committed", subject=f"draw:{draw_id}",
                       data={"project_code": project_code, "purpose": purpose, "commitment": record["commitment"],
                             "pool_digest": record["pool_digest"], "pool_size": len(pool), "count": count,
                             "reserve_count": reserve_count, "continues": continues})
    await publish_event(session, f"draw:{draw_id}", "draw.committed",
                        {"project_code": project_code, "status": COMMITTED})
    if not witness_required:
        await _witness(session, keys, draw, value="", by="system")
    return draw


async def get_draw(session: AsyncSession, draw_id: str, *, for_update: bool = False) -> Draw:
    query = select(Draw).where(Draw.draw_id == draw_id)
    if for_update:  # read the row as locked, not as this session last saw it
        query = query.with_for_update().execution_options(populate_existing=True)
    draw = await session.scalar(query)
    if draw is None:
        raise NotFound(f"未找到抽取记录 {draw_id}", draw_id=draw_id)
    return draw


async def supply_witness(session: AsyncSession, keys: CenterKeys, draw_id: str, *, value: str, by: str) -> Draw:
    """Step 3: the supervising officer's witness value, after the commit record is public."""
    value = value.strip()
    if not value:
        raise InvalidInput("见证值不能为空：请输入或生成一个见证值", code="witness_required", field="value")
    if len(value) > MAX_WITNESS_LENGTH:
        raise InvalidInput(f"见证值不超过 {MAX_WITNESS_LENGTH} 个字符", code="witness_too_long", field="value")
    draw = await get_draw(session, draw_id, for_update=True)
    if not draw.witness_required:
        raise Conflict(f"抽取 {draw_id} 无需见证", code="witness_not_needed")
    _check_step(draw, "witness")
    return await _witness(session, keys, draw, value=value, by=by)


def _check_step(draw: Draw, action: str) -> Transition[str]:
    """The step ``action``, or a refusal naming the draw's status."""
    step = STEPS[action]
    if not step.allows(draw.status):
        raise Conflict(f"抽取 {draw.draw_id} 当前状态为「{draw.status_name}」，不能{step.name}", code="draw_state")
    return step


async def _witness(session: AsyncSession, keys: CenterKeys, draw: Draw, *, value: str, by: str) -> Draw:
    center_seed = keys.unseal(draw.sealed_seed)
    selected, reserves = sd.draw(draw.pool, draw.draw_id, center_seed, value, draw.count, draw.reserve_count)
    draw.witness_value, draw.witness_by, draw.witness_at = value, by, await database_now(session)
    draw.sealed_result = keys.seal(json.dumps({"selected": selected, "reserves": reserves}).encode())
    draw.status = STEPS["witness"].target
    await session.flush()
    await record_event(session, actor=by, action="draw.witnessed", subject=f"draw:{draw.draw_id}",
                       data={"witness": value, "witness_at": rfc3339(draw.witness_at)})
    await publish_event(session, f"draw:{draw.draw_id}", "draw.witnessed",
                        {"project_code": draw.project_code, "status": WITNESSED})
    if draw.unseal_at is None:  # nothing to keep sealed for (e.g. agency draws): reveal at once
        return await reveal_draw(session, keys, draw.draw_id, actor="system")
    return draw


def sealed_selection(keys: CenterKeys, draw: Draw) -> tuple[list[str], list[str]]:
    """The selection of a witnessed draw, for the notification step only (never a page)."""
    if draw.sealed_result is None:
        raise Conflict(f"抽取 {draw.draw_id} 尚未见证，没有结果", code="draw_not_witnessed")
    result = json.loads(keys.unseal(draw.sealed_result))
    return result["selected"], result["reserves"]


async def reveal_draw(session: AsyncSession, keys: CenterKeys, draw_id: str, *, actor: str) -> Draw:
    """Step 8: at the unseal moment, sign and publish the reveal record and the pool."""
    draw = await get_draw(session, draw_id, for_update=True)
    step = _check_step(draw, "reveal")
    if draw.purpose == "agency" and not draw.witness_value:
        raise RuleViolation(f"抽取 {draw_id} 没有交易中心以外的见证人提供的见证值，不能揭晓", code="outside_witness_required")
    now = await database_now(session)
    if draw.unseal_at is not None and now < draw.unseal_at:
        raise RuleViolation(f"抽取 {draw_id} 的结果须在评标开始时才能揭晓",
                            code="before_evaluation_start", unseal_at=draw.unseal_at.isoformat())
    selected, reserves = sealed_selection(keys, draw)
    record = {"protocol": sd.PROTOCOL, "draw_id": draw.draw_id, "center_seed": keys.unseal(draw.sealed_seed).hex(),
              "witness": draw.witness_value, "selected": selected, "reserves": reserves,
              "revealed_at": rfc3339(now)}
    draw.reveal_record, draw.reveal_signature, draw.status = record, keys.sign(record), step.target
    await session.flush()
    await record_event(session, actor=actor, action="draw.revealed", subject=f"draw:{draw_id}",
                       data={"selected": selected, "reserves": reserves})
    await publish_event(session, f"draw:{draw_id}", "draw.revealed",
                        {"project_code": draw.project_code, "status": REVEALED})
    return draw


async def ask_supervisor_to_witness(session: AsyncSession, draw_id: str, *, actor: str) -> Draw:
    """The party entitled to witness asks a supervisor to do it instead (recorded, once)."""
    draw = await get_draw(session, draw_id, for_update=True)
    if not STEPS["ask_supervisor_to_witness"].allows(draw.status) or draw.witness_role != WITNESS_TENDERING_PARTY:
        raise Conflict(f"抽取 {draw_id} 当前状态为「{draw.status_name}」，无需请求监督人员见证", code="draw_state")
    if draw.witness_asked_by is not None:
        raise Conflict(f"已请求监督人员为抽取 {draw_id} 提供见证值，请等待", code="witness_already_requested")
    draw.witness_asked_by = actor
    await session.flush()
    await record_event(session, actor=actor, action="draw.witness_requested", subject=f"draw:{draw_id}",
                       data={"project_code": draw.project_code, "of": WITNESS_SUPERVISOR})
    await publish_event(session, f"draw:{draw_id}", "draw.witness_requested",
                        {"project_code": draw.project_code, "status": COMMITTED})
    return draw


def _void_record(draw: Draw, keys: CenterKeys) -> dict[str, Any]:
    """The signed void (spec: sealed-draw-void/1). Once the witness was in, the center could
    compute the outcome: its seed is published, so anyone can see what was discarded."""
    return {"protocol": sd.VOID_PROTOCOL, "draw_id": draw.draw_id, "reason": draw.void_reason,
            "approved_by": draw.void_approved_by, "voided_at": rfc3339(draw.voided_at),
            "center_seed": keys.unseal(draw.sealed_seed).hex() if draw.witness_at is not None else None}


async def void_draw(
    session: AsyncSession, keys: CenterKeys, draw_id: str, *, reason: str, actor: str,
    approved_by_supervisor: str | None = None,
) -> Draw:
    """Void an unfinished draw with a reason, in a signed void record. Once witnessed the
    center could compute the outcome, so voiding then needs a supervisor's approval, and
    the record publishes the center's seed."""
    reason = reason.strip()
    if not reason:
        raise InvalidInput("作废抽取必须说明理由", code="reason_required", field="reason")
    draw = await get_draw(session, draw_id, for_update=True)
    step = _check_step(draw, "void")
    if draw.status == WITNESSED and not approved_by_supervisor:
        raise PermissionDenied("见证值提交后作废抽取须经监督人员批准", code="void_needs_supervisor")
    draw.status, draw.void_reason, draw.voided_by = step.target, reason, actor
    draw.void_approved_by, draw.voided_at = approved_by_supervisor, await database_now(session)
    draw.void_record = _void_record(draw, keys)
    draw.void_signature = keys.sign(draw.void_record)
    await session.flush()
    await record_event(session, actor=actor, action="draw.voided", subject=f"draw:{draw_id}",
                       data={"reason": reason, "approved_by": approved_by_supervisor,
                             "seed_published": draw.void_record["center_seed"] is not None})
    await publish_event(session, f"draw:{draw_id}", "draw.voided",
                        {"project_code": draw.project_code, "status": VOIDED})
    return draw


async def draws_of_project(session: AsyncSession, project_code: str) -> list[Draw]:
    """Every attempt for a project, voided ones included, oldest first."""
    return list((await session.scalars(select(Draw).where(Draw.project_code == project_code).order_by(Draw.id))).all())


def draw_bundle(draw: Draw, keys: CenterKeys) -> dict[str, Any]:
    """The bundle verifiers exchange (spec: "The draw bundle"): pool and reveal only after
    the reveal; a voided draw carries its signed void record, and the pool when the void
    publishes the seed (so the discarded selection can be computed)."""
    revealed = draw.status == REVEALED
    witness = None
    if draw.witness_at is not None:
        witness = {"value": draw.witness_value, "by": draw.witness_by, "at": rfc3339(draw.witness_at)}
    void = None
    if draw.status == VOIDED:
        # Voided before revision 2 of the spec: the record is made from the stored facts.
        record = draw.void_record or _void_record(draw, keys)
        void = {"record": record, "signature": draw.void_signature or keys.sign(record)}
    seed_published = void is not None and void["record"]["center_seed"] is not None
    return {
        "verify_key": keys.verify_key_hex,
        "commit": {"record": draw.commit_record, "signature": draw.commit_signature},
        "witness": witness,
        "reveal": {"record": draw.reveal_record, "signature": draw.reveal_signature} if revealed else None,
        "pool": draw.pool if revealed or seed_published else None,
        "status": draw.status,
        "void": void,
    }
