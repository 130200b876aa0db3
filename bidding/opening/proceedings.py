"""The opening (开标, sealed-bid/1 "Opening"), in the order centers use.

1. :func:`start_opening` at the bid deadline: the tender moves to ``opening`` (the
   ``start_opening`` transition, unless the chronograph already took it), the tender's
   opening key is unsealed (:func:`bidding.bids.opening_keys.open_opening_key`), every current
   bid's ``sealed_center`` is opened and ``K_c`` is kept only sealed under the center's KEK
   (``CenterKeys.seal``; never in plaintext in the database), and the decryption window is
   set: ``window_ends_at`` = database clock + the rule ``decryption_window_minutes``.
2. :func:`sign_in`: bidders sign in online.
3. :func:`hand_in_bidder_half` within the window (database clock; it signs the bidder in
   when it has not): ``K_b`` is kept sealed under the KEK with the time of the hand-in and
   the answer comes at once (pending, 已提交密钥，正在解密). Nothing requires the hand-in
   itself to decrypt, and a transaction per bidder costs several times the decryption.
4. :func:`open_handed_in_bids`, the batch opener (the app's worker every
   ``Settings.opening_seconds``, and :func:`close_window` before anything else): every
   handed-in entry still pending, ``FOR UPDATE SKIP LOCKED`` (two openers never open the
   same entry), its ciphertext loaded a chunk at a time; ``K = K_c XOR K_b`` must open the
   bid and the package's ``bid.json`` gives price and duration. A wrong key, or an
   unreadable package, is recorded not decrypted with the reason, cause ``bidder``. One
   audit entry per chunk lists each bid's outcome; one live event per chunk (counts only).
5. :func:`close_window` after the window: the handed-in bids are opened first (a hand-in
   inside the window never turns into "not decrypted" for want of the worker), then every
   entry still pending is not decrypted (cause ``bidder``: no hand-in).
6. :func:`announce_max_price`: the maximum bid price (最高投标限价), announced once.
7. :func:`raise_objection` / :func:`answer_objection`: objections at the opening (异议).
8. :func:`finish_opening`: ``start_evaluation`` with the valid-bid count, or ``fail`` (流标)
   with the reason naming ``min_valid_bids`` when there are too few.

A failure the bidder caused counts as a revoked bid (撤销投标: the deposit may be kept);
one it did not cause (cause ``other``, :func:`record_other_failure`, e.g. a platform
outage) as a withdrawn bid (视为撤回). Every step is audited.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    func,
    select,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import defer
from sqlmodel import Field, SQLModel

from bidding.bids import sealed_bid
from bidding.bids.submission import SUBMITTED, Bid
from bidding.tender.lifecycle import apply_transition
from bidding.bids.opening_keys import open_opening_key
from bidding.tender.projects import Project, get_project
from bidding.tender.states import STATE_NAMES, TenderState
from bidding.opening.record import OpeningRecord
from trading.audit import record_event
from trading.columns import timestamp_column
from trading.database import database_now
from trading.errors import Conflict, DomainError, InvalidInput, NotFound, PermissionDenied, RuleViolation
from trading.events import publish_event
from trading.keys import CenterKeys
from trading.memory import keep_large_buffers
from trading.organisations import Organisation
from trading.rules.store import RuleSetRecord
from trading.timefmt import local_time

log = logging.getLogger(__name__)

PENDING = "pending"
DECRYPTED = "decrypted"
NOT_DECRYPTED = "not_decrypted"
STATE_LABELS = {PENDING: "待解密", DECRYPTED: "已解密", NOT_DECRYPTED: "未解密"}
# A settled entry refusing a further step, as the start of a sentence (the labels above are
# table cells: 「已」 + 「未解密」 would not read).
SETTLED_TEXT = {DECRYPTED: "该投标文件已解密", NOT_DECRYPTED: "该投标文件已按未解密处理"}
HANDED_IN_LABEL = "已提交密钥，正在解密"  # pending with K_b handed in, until the batch opener runs
OPENER_ACTOR = "system:opening"
# The batch opener: ciphertexts loaded this many bids at a time (64 MiB of 1 MiB bids), at most
# OPEN_LIMIT entries per call (one transaction), decrypted on OPEN_THREADS threads.
OPEN_CHUNK = 64
OPEN_LIMIT = 500
OPEN_THREADS = 2
CAUSE_BIDDER = "bidder"
CAUSE_OTHER = "other"
# What a failure counts as: bidder-caused → revoked (deposit may be kept); otherwise withdrawn.
OUTCOMES = {CAUSE_BIDDER: "revoked", CAUSE_OTHER: "withdrawn"}
OUTCOME_LABELS = {"revoked": "视为撤销投标（投标保证金可不予退还）", "withdrawn": "视为撤回投标"}
REASON_LABELS = {
    "center_half": "开标私钥无法解开中心密钥份额",
    "bidder_half": "投标人密钥份额错误",
    "content_key": "投标人递交的密钥份额无法解开投标文件",
    "package": "投标文件包无法读取",
    "no_hand_in": "投标人未在解密时限内解密",
}


class OpeningSession(SQLModel, table=True):
    __tablename__ = "opening_sessions"

    id: int | None = Field(default=None, primary_key=True)
    project_id: int = Field(sa_column=Column(Integer, ForeignKey("projects.id"), nullable=False, unique=True))
    started_by: str = Field(sa_column=Column(String(200), nullable=False))
    started_at: datetime = Field(sa_column=timestamp_column(nullable=False))
    window_ends_at: datetime = Field(sa_column=timestamp_column(nullable=False))
    max_price_fen: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    max_price_announced_at: datetime | None = Field(default=None, sa_column=timestamp_column())
    # When the decryption window was closed (pending entries marked not decrypted).
    closed_at: datetime | None = Field(default=None, sa_column=timestamp_column())
    finished_at: datetime | None = Field(default=None, sa_column=timestamp_column())
    outcome: str | None = Field(default=None, sa_column=Column(String(16), nullable=True))


class OpeningEntry(SQLModel, table=True):
    __tablename__ = "opening_entries"
    __table_args__ = (
        CheckConstraint("state IN ('pending', 'decrypted', 'not_decrypted')", name="opening_entries_state_known"),
        CheckConstraint("cause IS NULL OR cause IN ('bidder', 'other')", name="opening_entries_cause_known"),
        CheckConstraint("(state = 'not_decrypted') = (cause IS NOT NULL)", name="opening_entries_failure_has_cause"),
        # K_b (sealed) waits only while the bid is pending; a settled bid keeps none.
        CheckConstraint("sealed_bidder_half IS NULL OR state = 'pending'", name="opening_entries_bidder_half_pending"),
        CheckConstraint("handed_in_at IS NULL OR signed_in_at IS NOT NULL", name="opening_entries_hand_in_signed_in"),
        UniqueConstraint("session_id", "bid_id", name="opening_entries_bid_once"),
    )

    id: int | None = Field(default=None, primary_key=True)
    session_id: int = Field(sa_column=Column(Integer, ForeignKey("opening_sessions.id"), nullable=False, index=True))
    bid_id: int = Field(sa_column=Column(Integer, ForeignKey("bids.id"), nullable=False))
    bidder_credit_code: str = Field(sa_column=Column(String(18), nullable=False))
    signed_in_at: datetime | None = Field(default=None, sa_column=timestamp_column())
    center_half_opened: bool = Field(sa_column=Column(Boolean, nullable=False))
    # K_c sealed under the center's KEK (CenterKeys.seal); cleared once the bid is settled.
    sealed_center_half: bytes | None = Field(default=None, sa_column=Column(LargeBinary, nullable=True))
    # K = K_c XOR K_b sealed under the KEK once the bid opened, so that the committee can
    # read the bid's documents during evaluation (bidding.evaluation.documents); never in plaintext.
    sealed_content_key: bytes | None = Field(default=None, sa_column=Column(LargeBinary, nullable=True))
    # The hand-in: when K_b came (database clock, inside the window) and K_b sealed under the
    # KEK until the batch opener settles the bid (then cleared); never in plaintext.
    handed_in_at: datetime | None = Field(default=None, sa_column=timestamp_column())
    sealed_bidder_half: bytes | None = Field(default=None, sa_column=Column(LargeBinary, nullable=True))
    state: str = Field(sa_column=Column(String(16), nullable=False))
    reason: str | None = Field(default=None, sa_column=Column(String(32), nullable=True))
    reason_text: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    cause: str | None = Field(default=None, sa_column=Column(String(8), nullable=True))
    price_fen: int | None = Field(default=None, sa_column=Column(BigInteger, nullable=True))
    duration_days: int | None = Field(default=None, sa_column=Column(Integer, nullable=True))
    decrypted_at: datetime | None = Field(default=None, sa_column=timestamp_column())
    settled_at: datetime | None = Field(default=None, sa_column=timestamp_column())


class OpeningObjection(SQLModel, table=True):
    __tablename__ = "opening_objections"

    id: int | None = Field(default=None, primary_key=True)
    session_id: int = Field(sa_column=Column(Integer, ForeignKey("opening_sessions.id"), nullable=False, index=True))
    raised_by: str = Field(sa_column=Column(String(200), nullable=False))
    bidder_credit_code: str | None = Field(default=None, sa_column=Column(String(18), nullable=True))
    text: str = Field(sa_column=Column(Text, nullable=False))
    raised_at: datetime = Field(sa_column=timestamp_column(nullable=False))
    answer: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    answered_by: str | None = Field(default=None, sa_column=Column(String(200), nullable=True))
    answered_at: datetime | None = Field(default=None, sa_column=timestamp_column())


# --------------------------------------------------------------------------- helpers


def _subject(project: Project) -> str:
    return f"project:{project.code}"

async def _opening(session: AsyncSession, project: Project, *, lock: bool = False,
                   share: bool = False) -> OpeningSession:
    """The opening session; ``lock`` FOR UPDATE (closing, finishing), ``share`` FOR SHARE (a
    hand-in: many at once, yet :func:`close_window` waits for those in flight)."""
    query = select(OpeningSession).where(OpeningSession.project_id == project.id)
    if lock or share:
        query = query.with_for_update(read=share and not lock).execution_options(populate_existing=True)
    opening = await session.scalar(query)
    if opening is None:
        raise Conflict(f"项目 {project.code} 尚未开标", code="opening_not_started", project=project.code)
    return opening


async def _rules(session: AsyncSession, project: Project) -> tuple[dict[str, Any], RuleSetRecord]:
    rule_set = await session.get(RuleSetRecord, project.rule_set_id)
    return rule_set.values(), rule_set


async def _entry(session: AsyncSession, opening: OpeningSession, bidder_credit_code: str) -> OpeningEntry:
    entry = await session.scalar(select(OpeningEntry).where(
        OpeningEntry.session_id == opening.id, OpeningEntry.bidder_credit_code == bidder_credit_code)
        .with_for_update().execution_options(populate_existing=True))
    if entry is None:
        raise NotFound("该投标人在本项目没有参与开标的投标文件", code="no_opening_entry", bidder=bidder_credit_code)
    return entry


def _not_finished(project: Project, opening: OpeningSession) -> None:
    if opening.finished_at is not None:
        raise Conflict(f"项目 {project.code} 开标已结束", code="opening_finished", project=project.code)
    if project.state == TenderState.SUSPENDED:
        raise Conflict(f"项目 {project.code} {STATE_NAMES[TenderState.SUSPENDED]}，开标暂停；恢复后继续",
                       code="state_conflict", project=project.code, state=project.state)


async def resume_decryption_window(session: AsyncSession, project: Project, *, suspended_at: datetime,
                                   now: datetime) -> datetime | None:
    """An opening resumed after a suspension: the window keeps the time it had left when the
    tender was suspended (bidders could not hand in meanwhile), and the chronograph closes it
    then. None when no window is open."""
    opening = await session.scalar(select(OpeningSession).where(OpeningSession.project_id == project.id)
                                   .with_for_update())
    if opening is None or opening.closed_at is not None:
        return None
    opening.window_ends_at = now + max(opening.window_ends_at - suspended_at, timedelta(0))
    return opening.window_ends_at


def _fail(entry: OpeningEntry, reason: str, message: str, cause: str, now: datetime) -> None:
    entry.state, entry.reason, entry.reason_text, entry.cause = NOT_DECRYPTED, reason, message, cause
    entry.sealed_center_half, entry.sealed_bidder_half, entry.settled_at = None, None, now


# --------------------------------------------------------------------------- steps


async def start_opening(session: AsyncSession, keys: CenterKeys, *, actor: str, project_code: str) -> OpeningSession:
    """Start the opening: state ``opening``, center halves opened and sealed, window set."""
    project = await get_project(session, project_code, lock=True)
    if project.state == TenderState.BIDDING:
        # The step's effect opens the center's halves (open_center_halves, bidding.opening.effects).
        project = await apply_transition(session, actor=actor, project_code=project_code, action="start_opening",
                                         keys=keys)
        return await _opening(session, project)
    if project.state != TenderState.OPENING:
        name = STATE_NAMES.get(project.state, project.state)
        raise Conflict(f"项目 {project.code} 当前状态为「{name}」，不能开标", code="state_conflict",
                       project=project.code, state=project.state, state_name=name)
    return await open_center_halves(session, keys, project, actor=actor)


async def open_center_halves(session: AsyncSession, keys: CenterKeys, project: Project, *,
                             actor: str) -> OpeningSession:
    """The opening proper, on a tender in ``opening`` (row locked): the center's halves opened
    and sealed to the center, the decryption window set."""
    if await session.scalar(select(OpeningSession.id).where(OpeningSession.project_id == project.id)):
        raise Conflict(f"项目 {project.code} 已开标，不能重复开标", code="opening_started", project=project.code)
    private = await open_opening_key(session, keys, project.code, actor=actor)
    rules, _ = await _rules(session, project)
    minutes = rules.get("decryption_window_minutes")
    if not minutes:
        raise RuleViolation(f"项目 {project.code} 的规则集未规定解密时限",
                            code="no_decryption_window_rule", rule="decryption_window_minutes")
    now = await database_now(session)
    opening = OpeningSession(project_id=project.id, started_by=actor, started_at=now,
                             window_ends_at=now + timedelta(minutes=minutes))
    session.add(opening)
    project.next_due_at = opening.window_ends_at  # the chronograph closes the window (states.TIME_DRIVEN_TASKS)
    await session.flush()
    # Only the envelopes are needed here: never load every ciphertext to open 80-byte halves.
    bids = (await session.scalars(select(Bid).options(defer(Bid.ciphertext))
                                  .where(Bid.project_id == project.id, Bid.status == SUBMITTED)
                                  .order_by(Bid.sequence))).all()
    failed = 0
    for bid in bids:
        entry = OpeningEntry(session_id=opening.id, bid_id=bid.id, bidder_credit_code=bid.bidder_credit_code,
                             center_half_opened=False, state=PENDING)
        try:
            k_c = sealed_bid.open_center_half(bid.envelope, private)
        except sealed_bid.BidNotDecrypted as exc:
            # sealed_center was not sealed to this tender's key: the bidder's envelope is at fault.
            _fail(entry, exc.details.get("reason", "center_half"), exc.message, CAUSE_BIDDER, now)
            failed += 1
        else:
            entry.center_half_opened, entry.sealed_center_half = True, keys.seal(k_c)
            del k_c
        session.add(entry)
    del private
    await session.flush()
    await record_event(session, actor=actor, action="opening.started", subject=_subject(project),
                       data={"bids": len(bids), "center_half_failed": failed, "started_at": now.isoformat(),
                             "window_ends_at": opening.window_ends_at.isoformat(), "window_minutes": minutes})
    await publish_event(session, f"opening:{project.code}", "opening.started",
                        {"bids": len(bids), "window_ends_at": opening.window_ends_at.isoformat()})
    return opening


async def sign_in(session: AsyncSession, *, actor: str, project_code: str, bidder_credit_code: str) -> OpeningEntry:
    """A bidder signs in online at the opening (once; a second sign-in answers the first)."""
    project = await get_project(session, project_code)
    opening = await _opening(session, project)
    _not_finished(project, opening)
    entry = await _entry(session, opening, bidder_credit_code)
    if entry.signed_in_at is None:
        entry.signed_in_at = await database_now(session)
        await session.flush()
        await record_event(session, actor=actor, action="opening.signed_in", subject=_subject(project),
                           data={"bidder": bidder_credit_code, "at": entry.signed_in_at.isoformat()})
        await publish_event(session, f"opening:{project.code}", "opening.signed_in",
                            {"bidder": bidder_credit_code})
    return entry


async def hand_in_bidder_half(session: AsyncSession, keys: CenterKeys, *, actor: str, project_code: str,
                              bidder_credit_code: str, k_b_hex: str) -> OpeningEntry:
    """The bidder hands in ``K_b`` within the window: kept sealed under the KEK, answered at once.

    The entry stays pending (已提交密钥，正在解密) until :func:`open_handed_in_bids` opens it.
    A bidder not yet signed in is signed in by its hand-in (one transaction, one audit entry).
    """
    k_b = sealed_bid.key_half_from_hex(k_b_hex) if isinstance(k_b_hex, str) else None
    if k_b is None:
        raise InvalidInput("密钥份额应为十六进制文本", code="invalid_key_half", field="k_b")
    project = await get_project(session, project_code)
    opening = await _opening(session, project, share=True)
    _not_finished(project, opening)
    now = await database_now(session)
    if window_over(opening, now):
        raise RuleViolation(f"解密时限已于 {local_time(opening.window_ends_at)} 结束，不再接受解密",
                            code="after_decryption_window", rule="decryption_window_minutes",
                            project=project.code, window_ends_at=opening.window_ends_at.isoformat())
    entry = await _entry(session, opening, bidder_credit_code)
    if entry.state != PENDING:
        raise Conflict(f"{SETTLED_TEXT[entry.state]}，不能再次解密", code="already_settled",
                       state=entry.state)
    if entry.handed_in_at is not None:
        raise Conflict(f"已于 {local_time(entry.handed_in_at)} 提交密钥份额，正在解密，不能再次提交",
                       code="already_handed_in", state=entry.state)
    signed_in_now = entry.signed_in_at is None
    if signed_in_now:
        entry.signed_in_at = now
    entry.handed_in_at, entry.sealed_bidder_half = now, keys.seal(k_b)
    del k_b
    await session.flush()
    await record_event(session, actor=actor, action="opening.handed_in", subject=_subject(project),
                       data={"bidder": bidder_credit_code, "bid_id": entry.bid_id, "at": now.isoformat(),
                             "signed_in": signed_in_now})
    await publish_event(session, f"opening:{project.code}", "opening.handed_in",
                        {"bidder": bidder_credit_code, "state": PENDING})
    return entry


# --------------------------------------------------------------------------- the batch opener


_pool: ThreadPoolExecutor | None = None


def _threads() -> ThreadPoolExecutor:
    global _pool
    if _pool is None:
        keep_large_buffers()  # 1 MiB buffers from the heap, not a fresh mmap each (trading.memory)
        _pool = ThreadPoolExecutor(max_workers=OPEN_THREADS, thread_name_prefix="opening")
    return _pool


def _open_one(keys: CenterKeys, sealed_center_half: bytes, sealed_bidder_half: bytes,
              ciphertext: bytes) -> tuple[str, Any, Any, Any]:
    """One bid (on a worker thread): ``(DECRYPTED, price, duration, seal(K))`` or
    ``(NOT_DECRYPTED, reason, message, None)``. Keys live only in this frame."""
    k_c, k_b = keys.unseal(sealed_center_half), keys.unseal(sealed_bidder_half)
    content_key = sealed_bid.xor(k_c, k_b)  # K = K_c XOR K_b (both 32 bytes, checked when stored)
    del k_c, k_b
    try:
        payload = sealed_bid.open_with_content_key(ciphertext, content_key)
        offer, _documents = sealed_bid.read_package(payload)
    except sealed_bid.BidNotDecrypted as exc:
        return NOT_DECRYPTED, exc.details.get("reason", "content_key"), exc.message, None
    except InvalidInput as exc:
        return NOT_DECRYPTED, "package", exc.message, None
    return DECRYPTED, offer.get("price_fen"), offer.get("duration_days"), keys.seal(content_key)


async def _ciphertexts(session: AsyncSession, entries: Sequence[OpeningEntry]) -> dict[int, bytes]:
    rows = await session.execute(select(Bid.id, Bid.ciphertext).where(Bid.id.in_([e.bid_id for e in entries])))
    return {bid_id: ciphertext for bid_id, ciphertext in rows}


async def _open_chunk(keys: CenterKeys, entries: Sequence[OpeningEntry],
                      ciphertexts: dict[int, bytes]) -> list[tuple[str, Any, Any, Any]]:
    loop, pool = asyncio.get_running_loop(), _threads()
    return await asyncio.gather(*(loop.run_in_executor(pool, _open_one, keys, entry.sealed_center_half,
                                                       entry.sealed_bidder_half, ciphertexts[entry.bid_id])
                                  for entry in entries))


async def open_handed_in_bids(session: AsyncSession, keys: CenterKeys, project_code: str, *,
                              limit: int = OPEN_LIMIT, chunk: int = OPEN_CHUNK, actor: str = OPENER_ACTOR,
                              wait: bool = False) -> int:
    """Open up to ``limit`` handed-in bids of the project still pending; returns how many were settled.

    Entries are taken ``FOR UPDATE SKIP LOCKED`` (``wait``: wait for them instead, as
    :func:`close_window` does), their ciphertexts loaded ``chunk`` at a time while the
    previous chunk decrypts on the opener's threads. Per chunk: the outcomes written in one
    flush, one audit entry listing each bid's outcome, one live event with the counts.
    """
    project = await get_project(session, project_code)
    query = select(OpeningSession).where(OpeningSession.project_id == project.id).execution_options(
        populate_existing=True)
    # FOR SHARE: hand-ins and openers side by side; close_window (FOR UPDATE) waits for them.
    opening = await session.scalar(query.with_for_update(read=True, skip_locked=not wait))
    if opening is None or opening.finished_at is not None:
        return 0
    entries = (await session.scalars(
        select(OpeningEntry)
        .where(OpeningEntry.session_id == opening.id, OpeningEntry.state == PENDING,
               OpeningEntry.handed_in_at.is_not(None))
        .order_by(OpeningEntry.id).limit(limit)
        .with_for_update(skip_locked=not wait).execution_options(populate_existing=True))).all()
    if not entries:
        return 0
    parts = [entries[i:i + chunk] for i in range(0, len(entries), chunk)]
    ciphertexts = await _ciphertexts(session, parts[0])
    for index, part in enumerate(parts):
        opened = asyncio.ensure_future(_open_chunk(keys, part, ciphertexts))
        ciphertexts = {}
        try:  # the next chunk is read while this one decrypts
            if index + 1 < len(parts):
                ciphertexts = await _ciphertexts(session, parts[index + 1])
        finally:
            outcomes = await opened
        now = await database_now(session)
        listed = []
        for entry, (state, first, second, sealed_key) in zip(part, outcomes, strict=True):
            if state == DECRYPTED:
                entry.state, entry.decrypted_at, entry.settled_at = DECRYPTED, now, now
                entry.price_fen, entry.duration_days, entry.sealed_content_key = first, second, sealed_key
                entry.sealed_center_half = entry.sealed_bidder_half = None
            else:
                _fail(entry, first, second, CAUSE_BIDDER, now)
            listed.append({"bidder": entry.bidder_credit_code, "bid_id": entry.bid_id, "state": entry.state,
                           "reason": entry.reason, "cause": entry.cause, "price_fen": entry.price_fen,
                           "duration_days": entry.duration_days, "handed_in_at": entry.handed_in_at.isoformat()})
        await session.flush()
        decrypted = sum(1 for item in listed if item["state"] == DECRYPTED)
        await record_event(session, actor=actor, action="opening.bids_opened", subject=_subject(project),
                           data={"at": now.isoformat(), "decrypted": decrypted,
                                 "not_decrypted": len(listed) - decrypted, "bids": listed})
        await publish_event(session, f"opening:{project.code}", "opening.bids_opened",
                            {"decrypted": decrypted, "not_decrypted": len(listed) - decrypted})
    return len(entries)


async def open_all_handed_in_bids(session: AsyncSession, keys: CenterKeys, *, limit: int = OPEN_LIMIT) -> int:
    """The app's worker: open the handed-in bids of every opening, up to ``limit`` in all."""
    codes = (await session.scalars(
        select(Project.code).join(OpeningSession, OpeningSession.project_id == Project.id)
        .join(OpeningEntry, OpeningEntry.session_id == OpeningSession.id)
        .where(OpeningEntry.state == PENDING, OpeningEntry.handed_in_at.is_not(None),
               OpeningSession.finished_at.is_(None))
        .group_by(Project.code).order_by(func.min(OpeningEntry.handed_in_at)))).all()
    opened = 0
    for code in codes:
        if opened >= limit:
            break
        try:  # one opening that cannot be opened (e.g. a KEK fault) never holds up the others
            async with session.begin_nested():
                opened += await open_handed_in_bids(session, keys, code, limit=limit - opened)
        except DomainError as failed:
            log.error("opening: %s handed-in bids not opened: %s", code, failed.message)
    return opened


async def record_other_failure(session: AsyncSession, *, actor: str, project_code: str, bidder_credit_code: str,
                               reason: str) -> OpeningEntry:
    """A pending bid fails for a cause not the bidder's (e.g. the platform): deemed withdrawn."""
    if not isinstance(reason, str) or not reason.strip():
        raise InvalidInput("须说明未能解密的原因", code="reason_required", field="reason")
    project = await get_project(session, project_code)
    opening = await _opening(session, project, lock=True)
    _not_finished(project, opening)
    entry = await _entry(session, opening, bidder_credit_code)
    if entry.state != PENDING:
        raise Conflict(SETTLED_TEXT[entry.state], code="already_settled", state=entry.state)
    if entry.handed_in_at is not None:
        raise Conflict(f"投标人已提交密钥份额，{HANDED_IN_LABEL}", code="already_handed_in", state=entry.state)
    now = await database_now(session)
    _fail(entry, "other", reason.strip(), CAUSE_OTHER, now)
    await session.flush()
    await record_event(session, actor=actor, action="opening.not_decrypted", subject=_subject(project),
                       data={"bidder": bidder_credit_code, "bid_id": entry.bid_id, "reason": "other",
                             "reason_text": entry.reason_text, "cause": CAUSE_OTHER, "at": now.isoformat()})
    await publish_event(session, f"opening:{project.code}", "opening.not_decrypted",
                        {"bidder": bidder_credit_code, "state": entry.state, "reason": "other", "cause": CAUSE_OTHER})
    return entry


async def close_window(session: AsyncSession, *, actor: str, project_code: str,
                       now: datetime | None = None, keys: CenterKeys | None = None) -> OpeningSession:
    """After the window (database clock): the handed-in bids are opened first (``keys``),
    then every bid still pending is not decrypted (cause bidder: no hand-in).

    Closing an already closed window changes nothing and records nothing. ``now`` is the
    chronograph's clock (default: the database clock). Without ``keys`` while hand-ins wait
    to be opened, the window is not closed (Conflict ``hand_ins_pending``).
    """
    project = await get_project(session, project_code)
    opening = await _opening(session, project, lock=True)
    if opening.closed_at is not None:
        return opening
    _not_finished(project, opening)  # and not suspended: the window is paused with the tender
    now = now or await database_now(session)
    if now < opening.window_ends_at:
        raise RuleViolation(f"解密时限至 {local_time(opening.window_ends_at)} 结束，尚未届满",
                            code="decryption_window_open", rule="decryption_window_minutes",
                            project=project.code, window_ends_at=opening.window_ends_at.isoformat())
    # FOR UPDATE on the session: no hand-in or opener of this opening is in flight now.
    handed_in = select(func.count()).select_from(OpeningEntry).where(
        OpeningEntry.session_id == opening.id, OpeningEntry.state == PENDING, OpeningEntry.handed_in_at.is_not(None))
    if await session.scalar(handed_in):
        if keys is None:
            raise Conflict("仍有已提交的密钥份额正在解密，解密完成后再关闭解密时限", code="hand_ins_pending",
                           project=project.code)
        while await open_handed_in_bids(session, keys, project.code, actor=actor, wait=True):
            pass
    pending = (await session.scalars(select(OpeningEntry).where(
        OpeningEntry.session_id == opening.id, OpeningEntry.state == PENDING)
        .execution_options(populate_existing=True))).all()
    for entry in pending:
        _fail(entry, "no_hand_in", "投标人未在解密时限内递交密钥份额，投标文件未解密", CAUSE_BIDDER, now)
    opening.closed_at = now
    await session.flush()
    await record_event(session, actor=actor, action="opening.window_closed", subject=_subject(project),
                       data={"not_decrypted": [entry.bidder_credit_code for entry in pending], "at": now.isoformat()})
    await publish_event(session, f"opening:{project.code}", "opening.window_closed",
                        {"not_decrypted": len(pending)})
    return opening


async def announce_max_price(session: AsyncSession, *, actor: str, project_code: str, max_price_fen: int) -> OpeningSession:
    """Announce the maximum bid price (最高投标限价), in fen, once."""
    if isinstance(max_price_fen, bool) or not isinstance(max_price_fen, int) or max_price_fen <= 0:
        raise InvalidInput("最高投标限价应为正整数（分）", code="invalid_max_price", field="max_price_fen")
    project = await get_project(session, project_code)
    opening = await _opening(session, project, lock=True)
    _not_finished(project, opening)
    if opening.max_price_announced_at is not None:
        raise Conflict("最高投标限价已公布，不能重复公布", code="max_price_announced",
                       max_price_fen=opening.max_price_fen)
    now = await database_now(session)
    opening.max_price_fen, opening.max_price_announced_at = max_price_fen, now
    await session.flush()
    await record_event(session, actor=actor, action="opening.max_price_announced", subject=_subject(project),
                       data={"max_price_fen": max_price_fen, "at": now.isoformat()})
    await publish_event(session, f"opening:{project.code}", "opening.max_price_announced",
                        {"announced_at": now.isoformat()})
    return opening


async def raise_objection(session: AsyncSession, *, actor: str, project_code: str, text: str,
                          bidder_credit_code: str | None = None) -> OpeningObjection:
    """An objection (异议) raised at the opening; a bidder must be taking part in it."""
    if not isinstance(text, str) or not text.strip():
        raise InvalidInput("异议内容不能为空", code="text_required", field="text")
    project = await get_project(session, project_code)
    opening = await _opening(session, project)
    _not_finished(project, opening)
    if bidder_credit_code is not None and not await session.scalar(select(OpeningEntry.id).where(
            OpeningEntry.session_id == opening.id, OpeningEntry.bidder_credit_code == bidder_credit_code)):
        raise PermissionDenied("只有参加本次开标的投标人可以提出异议", code="not_an_opening_bidder", bidder=bidder_credit_code)
    now = await database_now(session)
    objection = OpeningObjection(session_id=opening.id, raised_by=actor, bidder_credit_code=bidder_credit_code,
                                 text=text.strip(), raised_at=now)
    session.add(objection)
    await session.flush()
    await record_event(session, actor=actor, action="opening.objection_raised", subject=_subject(project),
                       data={"objection_id": objection.id, "bidder": bidder_credit_code, "text": objection.text})
    await publish_event(session, f"opening:{project.code}", "opening.objection_raised",
                        {"objection_id": objection.id, "bidder": bidder_credit_code})
    return objection


async def answer_objection(session: AsyncSession, *, actor: str, project_code: str, objection_id: int,
                           answer: str) -> OpeningObjection:
    """The answer given on the spot, recorded once."""
    if not isinstance(answer, str) or not answer.strip():
        raise InvalidInput("答复内容不能为空", code="text_required", field="answer")
    project = await get_project(session, project_code)
    opening = await _opening(session, project)
    objection = await session.scalar(select(OpeningObjection).where(
        OpeningObjection.id == objection_id, OpeningObjection.session_id == opening.id).with_for_update())
    if objection is None:
        raise NotFound("未找到该异议", objection_id=objection_id)
    if objection.answered_at is not None:
        raise Conflict("该异议已答复", code="objection_answered", objection_id=objection_id)
    objection.answer, objection.answered_by = answer.strip(), actor
    objection.answered_at = await database_now(session)
    await session.flush()
    await record_event(session, actor=actor, action="opening.objection_answered", subject=_subject(project),
                       data={"objection_id": objection.id, "answer": objection.answer})
    await publish_event(session, f"opening:{project.code}", "opening.objection_answered", {"objection_id": objection.id})
    return objection


async def finish_opening(session: AsyncSession, *, actor: str, project_code: str,
                         keys: CenterKeys | None = None) -> dict[str, Any]:
    """End the opening: ``start_evaluation`` with the valid bids, or ``fail`` (流标) when too few.

    The window is closed first (:func:`close_window`: every hand-in opened with ``keys``)."""
    project = await get_project(session, project_code, lock=True)
    opening = await _opening(session, project, lock=True)
    _not_finished(project, opening)
    await close_window(session, actor=actor, project_code=project_code, keys=keys)
    entries = (await session.scalars(select(OpeningEntry).where(OpeningEntry.session_id == opening.id)
                                      .execution_options(populate_existing=True))).all()
    valid = sum(1 for entry in entries if entry.state == DECRYPTED)
    rules, _ = await _rules(session, project)
    minimum = rules.get("min_valid_bids")
    reason = None
    if minimum is not None and valid < minimum:
        reason = (f"开标后有效投标仅 {valid} 个，少于规则 min_valid_bids 规定的 {minimum} 个，流标，"
                  f"应当重新招标")
        project = await apply_transition(session, actor=actor, project_code=project_code, action="fail",
                                         facts={"valid_bids": valid, "reason": reason})
    else:
        project = await apply_transition(session, actor=actor, project_code=project_code, action="start_evaluation",
                                         facts={"valid_bids": valid})
    now = await database_now(session)
    opening.finished_at, opening.outcome = now, project.state
    await session.flush()
    await record_event(session, actor=actor, action="opening.finished", subject=_subject(project),
                       data={"valid_bids": valid, "min_valid_bids": minimum, "state": project.state,
                             "reason": reason, "retender": reason is not None})
    await publish_event(session, f"opening:{project.code}", "opening.finished",
                        {"state": project.state, "valid_bids": valid})
    return {"project": project.code, "state": project.state, "state_name": STATE_NAMES.get(project.state),
            "valid_bids": valid, "min_valid_bids": minimum, "reason": reason, "retender": reason is not None}


# --------------------------------------------------------------------------- the record


def window_over(opening: OpeningSession, now: datetime) -> bool:
    """Whether the decryption window is over at ``now``: closed, or its end has come."""
    return opening.closed_at is not None or now >= opening.window_ends_at


async def opening_of(session: AsyncSession, project_code: str) -> OpeningSession | None:
    """The project's opening session, None before the opening starts."""
    project = await get_project(session, project_code)
    return await session.scalar(select(OpeningSession).where(OpeningSession.project_id == project.id))


async def window_closed(session: AsyncSession, project_code: str) -> bool:
    opening = await opening_of(session, project_code)
    return opening is not None and window_over(opening, await database_now(session))


async def opening_record(session: AsyncSession, project_code: str) -> OpeningRecord:
    """The opening record (开标记录): bidder, price, duration, decryption state; prices only once decrypted."""
    project = await get_project(session, project_code)
    opening = await _opening(session, project)
    rows = (await session.execute(
        select(OpeningEntry, Organisation.name).join(Bid, Bid.id == OpeningEntry.bid_id)
        .outerjoin(Organisation, Organisation.credit_code == OpeningEntry.bidder_credit_code)
        .where(OpeningEntry.session_id == opening.id).order_by(Bid.sequence))).all()
    objections = (await session.scalars(select(OpeningObjection).where(OpeningObjection.session_id == opening.id)
                                        .order_by(OpeningObjection.id))).all()

    def moment(value: datetime | None) -> str | None:
        return value.isoformat() if value else None

    entries = []
    for entry, name in rows:
        decrypted = entry.state == DECRYPTED
        outcome = OUTCOMES.get(entry.cause) if entry.state == NOT_DECRYPTED else None
        entries.append({
            "bidder_credit_code": entry.bidder_credit_code, "bidder_name": name,
            "signed_in_at": moment(entry.signed_in_at), "center_half_opened": entry.center_half_opened,
            "state": entry.state,
            "state_name": HANDED_IN_LABEL if entry.state == PENDING and entry.handed_in_at else STATE_LABELS[entry.state],
            "handed_in_at": moment(entry.handed_in_at),
            "price_fen": entry.price_fen if decrypted else None,
            "duration_days": entry.duration_days if decrypted else None,
            "decrypted_at": moment(entry.decrypted_at), "reason": entry.reason, "reason_text": entry.reason_text,
            "cause": entry.cause, "outcome": outcome, "outcome_name": OUTCOME_LABELS.get(outcome),
        })
    return {
        "project": project.code, "title": project.title, "state": project.state,
        "started_at": moment(opening.started_at), "window_ends_at": moment(opening.window_ends_at),
        "closed_at": moment(opening.closed_at), "finished_at": moment(opening.finished_at),
        "max_price_fen": opening.max_price_fen, "max_price_announced_at": moment(opening.max_price_announced_at),
        "entries": entries,
        "objections": [{"id": o.id, "raised_by": o.raised_by, "bidder_credit_code": o.bidder_credit_code,
                        "text": o.text, "raised_at": moment(o.raised_at), "answer": o.answer,
                        "answered_by": o.answered_by, "answered_at": moment(o.answered_at)} for o in objections],
    }
