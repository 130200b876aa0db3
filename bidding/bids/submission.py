"""Sealed bids (sealed-bid/1, ../shared/specs/sealed-bid.md "Submission"): stored as
ciphertext only, receipted by the center, refused after the deadline by the database clock.

:func:`submit_bids` (:func:`submit_bid` for one) does every check of the spec in the
caller's ONE transaction, which the caller commits BEFORE it hands out the receipts (a
receipt proves the bid is durably stored); several bids of one tender, at most one per
bidder, share that transaction (bidding.bids.intake's group commit), and each refused bid is
refused alone. In order: the envelope against the bidder's registered verify key
(:mod:`bidding.bids.bidder_keys`): format, tender and bidder codes, signature, ciphertext size
and SHA-256 — done before any lock; then, with the project row locked ``FOR SHARE``:
every change of the deadline or the state (``apply_transition``, a clarification's
extension, the chronograph's ``start_opening``) takes the row ``FOR UPDATE`` and so waits
until every submission holding the share lock has committed or rolled back, and a
submission that comes later reads the changed row. Submissions do not wait for one
another there (a deadline rush runs them side by side). The bidder's admitted
registration is locked ``FOR UPDATE`` (one submission per bidder at a time; a deposit, if
required, paid: ``registrations.deposit_paid_at``, set by the ledger). The ciphertexts
then go in as ``pending`` rows (seen by no other transaction: a deferred trigger refuses
any commit that leaves one). Last, under the tender's bid-sequence lock (a
transaction-scoped advisory lock, held until commit, so sequence numbers have no gaps or
duplicates and follow ``received_at``): the database clock (``clock_timestamp()``) before
the deadline and the tender in state ``bidding``, and the pending rows become
``submitted`` with their sequence numbers and signed receipts. ``received_at`` is the very
clock reading the deadline was checked against. The sequence stays on the server (the
opening record follows it); the receipts (``sealed-bid-receipt/2``) and every answer to the
bidder carry no count and no row id, which would tell how many came before (招标投标法
第二十二条). (The deadline and state are also checked
as soon as the share lock is held, so that a late or misplaced submission is refused before
anything else, and again before a retry's stored receipt is answered: after the deadline
even a retry is refused. A batch overtaken by the deadline at the sequence lock is refused
whole, its pending rows rolled back to a savepoint.)

A new submission supersedes the bidder's earlier one (kept, marked ``superseded``); a
retry of the very same envelope while it is the current bid answers the stored receipt
again (idempotent: a bidder whose connection broke after the commit gets its receipt).

Storage: the ciphertext is a ``bytea`` column (at most :data:`MAX_CIPHERTEXT_SIZE`; a
PostgreSQL bytea holds at most 1 GiB, and the whole value passes through memory, so very
large packages would want large objects or files with a hash in the row). The table holds
nothing the server can decrypt: the envelope's halves are sealed to the tender key and the
bidder's key; there is no endpoint that returns either before the opening.

Withdrawal (:func:`withdraw_bid`) is a signed request. The bidder signs, with the identity
key the bid was submitted under (``bidder_key_id``, kept on every bid: a later rotation or
reset does not change it), the canonical JSON (``trading.canonical.canon``) of exactly::

    {"protocol": "sealed-bid-withdraw/1", "tender_code": "<项目编号>",
     "bidder_code": "<统一社会信用代码>", "envelope_sha256": "<the receipt's envelope_sha256>"}

and sends it with ``signature`` (Ed25519, 64 bytes hex). Before the deadline the named
current bid is marked ``withdrawn`` (kept, with the signed request) and the center answers
a signed ``{"protocol": "sealed-bid-withdraw-receipt/1", "tender_code", "bidder_code",
"envelope_sha256", "withdrawn_at"}``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import nacl.signing
from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    UniqueConstraint,
    and_,
    bindparam,
    func,
    insert,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import defer
from sqlmodel import Field, SQLModel

from bidding.bids import sealed_bid
from bidding.bids.bidder_keys import BidderKey, bidder_organisation, check_bidder, check_verify_key
from bidding.tender.effects import run_event
from bidding.tender.projects import Project, get_project
from bidding.tender.registrations import ADMITTED, REFUSED, Registration
from bidding.tender.states import STATE_NAMES, TenderState
from trading.audit import AuditEvent, record_event, record_events
from trading.columns import timestamp_column
from trading.database import database_now
from trading.errors import Conflict, DomainError, InvalidInput, NotFound, RuleViolation
from trading.keys import CenterKeys, key_id, verify_signature
from trading.identifiers import validate_credit_code
from trading.money import yuan
from trading.organisations import Organisation
from trading.timefmt import local_time, rfc3339

PENDING = "pending"  # inside the storing transaction only
SUBMITTED = "submitted"
SUPERSEDED = "superseded"
WITHDRAWN = "withdrawn"
STATUS_NAMES = {SUBMITTED: "已递交", SUPERSEDED: "已被替换", WITHDRAWN: "已撤回"}

WITHDRAW_PROTOCOL = "sealed-bid-withdraw/1"
WITHDRAW_RECEIPT_PROTOCOL = "sealed-bid-withdraw-receipt/1"
WITHDRAW_FIELDS = ("protocol", "tender_code", "bidder_code", "envelope_sha256")

# Names the transaction-scoped advisory lock (with the project id) that orders a tender's bids.
BID_SEQUENCE_LOCK = 0x42494453

NEW_BID_IDS = text("SELECT nextval(pg_get_serial_sequence('bids', 'id')) FROM generate_series(1, :count)")

# 512 MiB: well inside bytea's 1 GiB; the web layer's request size limit is set to match.
MAX_CIPHERTEXT_SIZE = 512 * 1024 * 1024


class Bid(SQLModel, table=True):
    __tablename__ = "bids"
    __table_args__ = (
        CheckConstraint("status IN ('pending', 'submitted', 'superseded', 'withdrawn')", name="bids_status_known"),
        # 'pending' lives only inside the storing transaction (a deferred trigger refuses its commit).
        CheckConstraint("status = 'pending' OR (sequence IS NOT NULL AND received_at IS NOT NULL AND "
                        "receipt IS NOT NULL AND receipt_signature IS NOT NULL AND receipt_key_id IS NOT NULL)",
                        name="bids_receipted_unless_pending"),
        CheckConstraint("size = octet_length(ciphertext)", name="bids_size_is_ciphertext_length"),
        CheckConstraint("(status = 'withdrawn') = (withdrawn_at IS NOT NULL)", name="bids_withdrawn_has_time"),
        UniqueConstraint("project_id", "sequence", name="bids_sequence_per_tender"),
        UniqueConstraint("envelope_sha256", name="bids_envelope_once"),
        # At most one current bid per bidder and tender.
        Index("bids_one_current", "project_id", "registration_id", unique=True,
              postgresql_where=text("status = 'submitted'")),
    )

    id: int | None = Field(default=None, primary_key=True)
    project_id: int = Field(sa_column=Column(Integer, ForeignKey("projects.id"), nullable=False, index=True))
    registration_id: int = Field(sa_column=Column(Integer, ForeignKey("registrations.id"), nullable=False, index=True))
    bidder_credit_code: str = Field(sa_column=Column(String(18), nullable=False))
    bidder_key_id: int = Field(sa_column=Column(Integer, ForeignKey("bidder_keys.id"), nullable=False))
    envelope: dict[str, Any] = Field(sa_column=Column(JSONB, nullable=False))
    envelope_sha256: str = Field(sa_column=Column(String(64), nullable=False))
    ciphertext: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    ciphertext_sha256: str = Field(sa_column=Column(String(64), nullable=False))
    size: int = Field(sa_column=Column(BigInteger, nullable=False))
    status: str = Field(sa_column=Column(String(16), nullable=False))
    # Set under the tender's sequence lock; None only while 'pending' (see bids_receipted_unless_pending).
    sequence: int | None = Field(default=None, sa_column=Column(Integer, nullable=True))
    received_at: datetime | None = Field(default=None, sa_column=timestamp_column(nullable=True))
    receipt: dict[str, Any] | None = Field(default=None, sa_column=Column(JSONB, nullable=True))
    receipt_signature: str | None = Field(default=None, sa_column=Column(String(128), nullable=True))
    receipt_key_id: str | None = Field(default=None, sa_column=Column(String(16), nullable=True))
    superseded_at: datetime | None = Field(default=None, sa_column=timestamp_column())
    withdrawn_at: datetime | None = Field(default=None, sa_column=timestamp_column())
    # The bidder's signed withdrawal request and the center's signed answer.
    withdrawal: dict[str, Any] | None = Field(default=None, sa_column=Column(JSONB, nullable=True))


@dataclass(frozen=True)
class SignedReceipt:
    """A record the center signed, as handed to the bidder (after the commit)."""

    record: dict[str, Any]
    signature: str
    key_id: str
    bid_id: int
    superseded: list[int] = field(default_factory=list)
    # What the bidder is told it replaced: its own envelopes' digests (row ids would show
    # how many bids came in meanwhile).
    superseded_envelopes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"receipt": self.record, "signature": self.signature, "key_id": self.key_id}


async def _project_shared(session: AsyncSession, code: str) -> tuple[Project, datetime]:
    """The project row locked ``FOR SHARE`` and read as locked, with the clock read after the
    lock: its deadline and state cannot change until we commit (every change takes the row
    ``FOR UPDATE``)."""
    row = (await session.execute(select(Project, func.clock_timestamp()).where(Project.code == code)
                                 .with_for_update(read=True, of=Project)
                                 .execution_options(populate_existing=True))).first()
    if row is None:
        raise NotFound(f"未找到项目 {code}", project_code=code)
    return row[0], row[1]


def _check_open(project: Project, now: datetime, what: str) -> None:
    """Before the deadline by the database clock, and the tender in state ``bidding``."""
    if project.bid_deadline is not None and now >= project.bid_deadline:
        raise RuleViolation(f"项目 {project.code} 的投标截止时间（{local_time(project.bid_deadline)}）已过，"
                            f"不再接受{what}", code="after_bid_deadline", project=project.code,
                            bid_deadline=project.bid_deadline.isoformat(), now=now.isoformat())
    if project.state != TenderState.BIDDING:
        name = STATE_NAMES.get(project.state, project.state)
        raise Conflict(f"项目 {project.code} 当前状态为「{name}」，不接受{what}", code="state_conflict",
                       project=project.code, state=project.state, state_name=name)
    if project.bid_deadline is None:
        raise Conflict(f"项目 {project.code} 未设定投标截止时间，不接受{what}", code="state_conflict", project=project.code)


def _check_key(bidder: Organisation | Row, key: BidderKey | Row | None, given: Any) -> BidderKey | Row:
    """The organisation's registered (active) identity key; ``given``, when any, must be it."""
    if key is None:
        raise RuleViolation(f"「{bidder.name}」尚未登记投标人身份公钥，不能投标", code="no_bidder_key",
                            bidder=bidder.credit_code)
    if given is not None:
        if isinstance(given, nacl.signing.VerifyKey):
            given = given.encode()
        given_hex = given.hex() if isinstance(given, (bytes, bytearray)) else given
        if check_verify_key(given_hex) != key.verify_key:
            raise InvalidInput(f"所用身份公钥不是「{bidder.name}」登记的身份公钥", code="bidder_key_mismatch",
                               field="bidder_verify_key")
    return key


def _check_admitted(project: Project, bidder: Organisation | Row, rows: Sequence[Registration | Row]) -> Registration | Row:
    """The bidder's admitted registration (of ``rows``, its registrations for the tender), with
    any required deposit paid."""
    admitted = [row for row in rows if row.status == ADMITTED]
    if not admitted:
        if any(row.status == REFUSED for row in rows):
            raise RuleViolation(f"「{bidder.name}」报名项目 {project.code} 未获准予（不予报名），不能投标",
                                code="registration_refused", project=project.code, bidder=bidder.credit_code)
        raise RuleViolation(f"「{bidder.name}」未报名项目 {project.code}，不能投标", code="not_registered",
                            project=project.code, bidder=bidder.credit_code)
    registration = admitted[0]
    if registration.deposit_required_fen > 0 and registration.deposit_paid_at is None:
        raise RuleViolation(f"「{bidder.name}」须交纳投标保证金 {yuan(registration.deposit_required_fen)} 元，"
                            f"保证金尚未到账，不能投标", code="deposit_unpaid", project=project.code,
                            bidder=bidder.credit_code, deposit_required_fen=registration.deposit_required_fen)
    return registration


def _receipt_of(bid: Bid, superseded: list[int] | None = None) -> SignedReceipt:
    return SignedReceipt(record=bid.receipt, signature=bid.receipt_signature, key_id=bid.receipt_key_id,
                         bid_id=bid.id, superseded=superseded or [])


@dataclass(frozen=True)
class BidSubmission:
    """One sealed bid handed in, naming its bidder by ``bidder_credit_code`` (services, the
    command line) or by the submitting account's ``organisation_id`` (the web).

    ``bidder_verify_key`` (hex, bytes or VerifyKey), when given, must be the key the
    organisation registered; the envelope is always checked against the registered key.
    """

    actor: str
    envelope: Mapping[str, Any]
    ciphertext: bytes
    bidder_credit_code: str | None = None
    organisation_id: int | None = None
    bidder_verify_key: Any = None


@dataclass
class _Checked:
    """A submission of a known bidder (a row: id, credit_code, name, roles) with its registered
    key; ``envelope`` (trimmed to the signed fields) and ``digest`` are set once it verifies."""

    index: int
    submission: BidSubmission
    bidder: Row
    key_id: int
    verify_key: str
    ciphertext: bytes
    envelope: dict[str, Any] = field(default_factory=dict)
    digest: str = ""
    registration: Row | None = None


Outcome = SignedReceipt | DomainError


async def submit_bid(session: AsyncSession, keys: CenterKeys, *, actor: str, project_code: str,
                     bidder_credit_code: str, envelope: Mapping[str, Any], ciphertext: bytes,
                     bidder_verify_key: Any = None) -> SignedReceipt:
    """Check and store one sealed bid; returns the center-signed receipt (see :func:`submit_bids`).

    Commit before handing the receipt out. Refusals: :class:`sealed_bid.EnvelopeRejected`
    (bad envelope), :class:`RuleViolation` (after the deadline, not admitted, deposit
    unpaid, no registered key), :class:`Conflict` (tender not in ``bidding``, old envelope).
    """
    [outcome] = await submit_bids(session, keys, project_code=project_code, submissions=[BidSubmission(
        actor=actor, envelope=envelope, ciphertext=ciphertext, bidder_credit_code=bidder_credit_code,
        bidder_verify_key=bidder_verify_key)])
    if isinstance(outcome, DomainError):
        raise outcome
    return outcome


async def submit_bids(session: AsyncSession, keys: CenterKeys, *, project_code: str,
                      submissions: Sequence[BidSubmission]) -> list[Outcome]:
    """Check and store sealed bids for one tender, at most one per bidder, in the caller's
    transaction; returns, in order, each one's signed receipt or the refusal of that bid alone
    (a refused bid stores nothing and does not stop the others). Commit before handing out
    any receipt. Many bids at once share the project's lock, the registrations' query, the
    sequence lock and the audit lock (bidding.bids.intake's group commit)."""
    outcomes: list[Outcome | None] = [None] * len(submissions)
    found = await _bidders_with_keys(session, submissions, outcomes)
    candidates = []
    for index, submission in enumerate(submissions):
        if outcomes[index] is not None:
            continue
        try:
            ciphertext = submission.ciphertext
            if not isinstance(ciphertext, (bytes, bytearray, memoryview)):
                raise InvalidInput("投标文件密文必须是字节串", code="bid_content_not_bytes", field="ciphertext")
            ciphertext = bytes(ciphertext)
            if len(ciphertext) > MAX_CIPHERTEXT_SIZE:
                raise InvalidInput(f"投标文件密文超过 {MAX_CIPHERTEXT_SIZE // (1024 * 1024)} MiB",
                                   code="ciphertext_too_large", field="ciphertext")
            asked = submission.organisation_id if submission.bidder_credit_code is None \
                else validate_credit_code(submission.bidder_credit_code)
            bidder = check_bidder(found.get(asked), asked)
            key = _check_key(bidder, bidder if bidder.key_id is not None else None, submission.bidder_verify_key)
            candidates.append(_Checked(index, submission, bidder, key.key_id, key.verify_key, ciphertext))
        except DomainError as exc:
            outcomes[index] = exc
    # Hashing the ciphertexts and checking signatures release the GIL: in a thread, beside the
    # event loop (which reads the next uploads meanwhile).
    verified = await asyncio.to_thread(_verify_envelopes, project_code, candidates)
    checked = []
    for item, refusal in zip(candidates, verified):
        if refusal is None:
            checked.append(item)
        else:
            outcomes[item.index] = refusal
    if len({item.bidder.id for item in checked}) < len(checked):
        raise ValueError("submit_bids takes at most one bid per bidder")  # the later would supersede the earlier
    if checked:
        try:
            await _store_bids(session, keys, project_code, checked, outcomes)
        except DomainError as exc:  # the tender's own refusal (unknown, closed, not bidding) refuses every bid
            for item in checked:
                outcomes[item.index] = outcomes[item.index] or exc
    return outcomes  # type: ignore[return-value]  (every place is filled by now)


def _verify_envelopes(project_code: str, candidates: list[_Checked]) -> list[DomainError | None]:
    """Each candidate's envelope against its bidder's registered key and its ciphertext (sets
    its trimmed envelope and digest), or the refusal."""
    refusals: list[DomainError | None] = []
    for item in candidates:
        try:
            sealed_bid.verify_envelope(item.submission.envelope, item.ciphertext, item.verify_key,
                                       tender_code=project_code, bidder_code=item.bidder.credit_code)
            item.envelope = {name: item.submission.envelope[name] for name in (*sealed_bid.ENVELOPE_FIELDS, "signature")}
            item.digest = sealed_bid.envelope_sha256(item.envelope)
            refusals.append(None)
        except DomainError as exc:
            refusals.append(exc)
    return refusals


async def _bidders_with_keys(session: AsyncSession, submissions: Sequence[BidSubmission],
                             outcomes: list[Outcome | None]) -> dict[str | int, Row]:
    """The named organisations with their active identity keys, by credit code and by id, in one
    query; a malformed credit code is that submission's refusal."""
    codes, ids = set(), set()
    for index, submission in enumerate(submissions):
        if submission.bidder_credit_code is None:
            ids.add(submission.organisation_id)
            continue
        try:
            codes.add(validate_credit_code(submission.bidder_credit_code))
        except DomainError as exc:
            outcomes[index] = exc
    # Rows, not ORM objects (a batch names dozens of bidders): the organisation's columns and
    # its key's as key_id and verify_key.
    rows = (await session.execute(
        select(Organisation.id, Organisation.credit_code, Organisation.name, Organisation.roles,
               BidderKey.id.label("key_id"), BidderKey.verify_key)
        .outerjoin(BidderKey, and_(BidderKey.organisation_id == Organisation.id, BidderKey.revoked_at.is_(None)))
        .where(or_(Organisation.credit_code.in_(codes), Organisation.id.in_(ids))))).all()
    found: dict[str | int, Row] = {}
    for row in rows:
        found[row.credit_code] = found[row.id] = row
    return found


async def _store_bids(session: AsyncSession, keys: CenterKeys, project_code: str, checked: list[_Checked],
                      outcomes: list[Outcome | None]) -> None:
    project, now = await _project_shared(session, project_code)
    _check_open(project, now, "投标")  # refusals first; checked again for received_at
    # One submission per bidder at a time: its admitted registration locked (in id order, so
    # two batches never wait on each other crosswise).
    registrations: dict[int, list[Row]] = {}
    for row in (await session.execute(
            select(Registration.id, Registration.bidder_organisation_id, Registration.status,
                   Registration.deposit_required_fen, Registration.deposit_paid_at)
            .where(Registration.project_id == project.id,
                   Registration.bidder_organisation_id.in_({item.bidder.id for item in checked}))
            .order_by(Registration.id).with_for_update())).all():
        registrations.setdefault(row.bidder_organisation_id, []).append(row)
    admitted = []
    for item in checked:
        try:
            item.registration = _check_admitted(project, item.bidder, registrations.get(item.bidder.id, []))
            admitted.append(item)
        except DomainError as exc:
            outcomes[item.index] = exc
    if not admitted:
        return
    # The bids with these envelopes (retries) and these bidders' current bids, in one query.
    found = (await session.scalars(select(Bid).options(defer(Bid.ciphertext)).where(or_(
        Bid.envelope_sha256.in_([item.digest for item in admitted]),
        and_(Bid.project_id == project.id, Bid.registration_id.in_([item.registration.id for item in admitted]),
             Bid.status == SUBMITTED))))).all()
    by_digest = {bid.envelope_sha256: bid for bid in found}
    new = [item for item in admitted if item.digest not in by_digest]
    if len(new) < len(admitted):
        # Even a retry is refused after the deadline (the share lock keeps the deadline as read).
        _check_open(project, await database_now(session), "投标")
    for item in admitted:
        existing = by_digest.get(item.digest)
        if existing is None:
            continue
        if existing.status == SUBMITTED:
            outcomes[item.index] = _receipt_of(existing)  # a retry: the bid is stored, here is its receipt again
        else:
            # STATUS_NAMES already say 已…: 「该投标文件已被替换」, 「该投标文件已撤回」.
            outcomes[item.index] = Conflict(f"该投标文件{STATUS_NAMES[existing.status]}，不能再次递交；请重新加密后递交",
                                            code="envelope_reused", envelope_sha256=item.digest)
    if new:
        # A batch refused under the lock (the deadline passed meanwhile) leaves no pending rows.
        async with session.begin_nested():
            await _store_new_bids(session, keys, project, new, found, outcomes)


async def _store_new_bids(session: AsyncSession, keys: CenterKeys, project: Project, new: list[_Checked],
                          found: Sequence[Bid], outcomes: list[Outcome | None]) -> None:
    earlier = {item.index: [bid for bid in found if bid.registration_id == item.registration.id
                            and bid.status == SUBMITTED and bid.envelope_sha256 != item.digest] for item in new}
    # The ciphertexts go in before the sequence lock, as 'pending' rows nobody else can see:
    # the heavy part of storing runs side by side with the tender's other batches. Core, not
    # ORM objects; the ids first, then one INSERT per row sent together (executemany): one
    # INSERT of dozens of 256 KiB parameters costs both sides twice as much (bench/RESULTS.md).
    table = Bid.__table__
    ids = (await session.execute(NEW_BID_IDS, {"count": len(new)})).scalars().all()
    await session.execute(insert(table), [
        {"id": bid_id, "project_id": project.id, "registration_id": item.registration.id,
         "bidder_credit_code": item.bidder.credit_code, "bidder_key_id": item.key_id, "envelope": item.envelope,
         "envelope_sha256": item.digest, "ciphertext": item.ciphertext,
         "ciphertext_sha256": item.envelope["ciphertext_sha256"], "size": len(item.ciphertext), "status": PENDING}
        for bid_id, item in zip(ids, new)])

    # From here to the commit, the tender's batches go one at a time: keep it short.
    await session.execute(select(func.pg_advisory_xact_lock(BID_SEQUENCE_LOCK, project.id)))
    now, last = (await session.execute(select(func.clock_timestamp(), func.coalesce(func.max(Bid.sequence), 0))
                                       .where(Bid.project_id == project.id))).one()
    _check_open(project, now, "投标")  # refuses the batch: its pending rows roll back with it
    if any(earlier.values()):
        for old in (bid for olds in earlier.values() for bid in olds):
            old.status, old.superseded_at = SUPERSEDED, now
        await session.flush()  # before the new ones count: one current bid per bidder (bids_one_current)
    sequences = list(range(last + 1, last + 1 + len(new)))  # kept on the row, never in the receipt
    receipts = [sealed_bid.receipt_record(item.envelope, now) for item in new]
    signatures = await asyncio.to_thread(lambda: [keys.sign(receipt) for receipt in receipts])
    await session.execute(
        update(table).where(table.c.id == bindparam("bid_id")).values(
            status=SUBMITTED, sequence=bindparam("bid_sequence"), received_at=now, receipt=bindparam("bid_receipt"),
            receipt_signature=bindparam("bid_signature"), receipt_key_id=keys.key_id),
        [{"bid_id": bid_id, "bid_sequence": sequence, "bid_receipt": receipt, "bid_signature": signature}
         for bid_id, sequence, receipt, signature in zip(ids, sequences, receipts, signatures)])
    await record_events(session, [AuditEvent(
        item.submission.actor, "bid.submitted", f"project:{project.code}",
        {"bid_id": bid_id, "bidder": item.bidder.credit_code, "sequence": sequence,
         "envelope_sha256": item.digest, "ciphertext_sha256": item.envelope["ciphertext_sha256"],
         "size": len(item.ciphertext), "superseded": [old.id for old in earlier[item.index]],
         "received_at": receipt["received_at"]})
        for item, bid_id, sequence, receipt in zip(new, ids, sequences, receipts)])
    for item, bid_id, receipt, signature in zip(new, ids, receipts, signatures):
        olds = earlier[item.index]
        outcomes[item.index] = SignedReceipt(record=receipt, signature=signature, key_id=keys.key_id, bid_id=bid_id,
                                             superseded=[old.id for old in olds],
                                             superseded_envelopes=[old.envelope_sha256 for old in olds])


def check_withdraw_request(request: Any) -> dict[str, Any]:
    if not isinstance(request, Mapping) or set(request) != set(WITHDRAW_FIELDS) \
            or request.get("protocol") != WITHDRAW_PROTOCOL:
        raise InvalidInput(f"撤回请求格式不符合 {WITHDRAW_PROTOCOL}：应恰好含字段 {'、'.join(WITHDRAW_FIELDS)}", code="withdraw_format",
                           field="request")
    if not all(isinstance(request[name], str) and request[name] for name in WITHDRAW_FIELDS):
        raise InvalidInput("撤回请求的各字段应为非空字符串", code="withdraw_format", field="request")
    return {name: request[name] for name in WITHDRAW_FIELDS}


async def withdraw_bid(session: AsyncSession, keys: CenterKeys, *, actor: str, project_code: str,
                       bidder_credit_code: str, request: Mapping[str, Any], signature: str) -> SignedReceipt:
    """Withdraw the bidder's current bid before the deadline, on its signed request (see the
    module docstring); returns the center-signed withdrawal receipt. Commit before answering."""
    request = check_withdraw_request(request)
    bidder = await bidder_organisation(session, bidder_credit_code)
    if request["tender_code"] != project_code or request["bidder_code"] != bidder.credit_code:
        raise InvalidInput("撤回请求所列项目或投标人与本次请求不符", code="withdraw_mismatch")
    project = await get_project(session, project_code, lock=True)
    now = await database_now(session)
    _check_open(project, now, "撤回投标")
    bid = await session.scalar(select(Bid).where(Bid.project_id == project.id, Bid.envelope_sha256 ==
                                                 request["envelope_sha256"], Bid.bidder_credit_code == bidder.credit_code))
    if bid is None:
        raise NotFound("未找到要撤回的投标文件", envelope_sha256=request["envelope_sha256"])
    # The key the bid was submitted under, not today's: a later rotation or reset must not
    # let a new key withdraw it (sealed-bid.md, revision 2).
    key = await session.get(BidderKey, bid.bidder_key_id)
    if not isinstance(signature, str) or not verify_signature(request, signature, key.verify_key):
        raise InvalidInput("撤回请求签名无效：须由递交该投标文件时本单位登记的身份密钥签名，且请求内容未被改动",
                           code="withdraw_signature", key_id=key_id(key.verify_key))
    if bid.status != SUBMITTED:
        raise Conflict(f"该投标文件{STATUS_NAMES[bid.status]}，不能撤回", code="bid_not_current", status=bid.status)
    record = {"protocol": WITHDRAW_RECEIPT_PROTOCOL, "tender_code": project.code, "bidder_code": bidder.credit_code,
              "envelope_sha256": bid.envelope_sha256, "withdrawn_at": rfc3339(now)}
    answer = keys.sign(record)
    bid.status, bid.withdrawn_at = WITHDRAWN, now
    bid.withdrawal = {"request": request, "signature": signature, "bidder_key_id": key.id,
                      "receipt": record, "receipt_signature": answer, "receipt_key_id": keys.key_id}
    await session.flush()
    await record_event(session, actor=actor, action="bid.withdrawn", subject=f"project:{project.code}",
                       data={"bid_id": bid.id, "bidder": bidder.credit_code, "envelope_sha256": bid.envelope_sha256,
                             "withdrawn_at": rfc3339(now)})
    # The deposit goes back within the rule's period, and a new bid from this bidder needs a
    # new deposit (the settlement's effect, bidding.settlement.effects).
    await run_event(session, project, "bid_withdrawn", actor=actor, now=now)
    return SignedReceipt(record=record, signature=answer, key_id=keys.key_id, bid_id=bid.id)
