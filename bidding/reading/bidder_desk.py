"""What a bidder's workspace shows of its own organisation: tenders open for registration,
its registrations with the deposit asked and where it stands, its bids and receipts, and
its own entry at the opening. Read-only; every function takes the bidder's organisation and
returns only what belongs to it (the pages never take an organisation from the request).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import defer

from bidding.bids.bidder_keys import BidderKey, active_bidder_key
from bidding.bids.submission import SUBMITTED, Bid
from bidding.opening.proceedings import OpeningEntry, OpeningSession
from bidding.tender.projects import Project, get_project
from bidding.tender.registrations import ADMITTED, STATUS_NAMES as REGISTRATION_STATUS_NAMES, Registration
from bidding.tender.states import STATE_NAMES, TenderState
from trading import ledger
from trading.database import database_now
from trading.keys import key_id
from trading.organisations import Organisation
from trading.receipts import Receipt

# Tenders a bidder can still register for and bid on.
REGISTRABLE_STATES = (TenderState.ANNOUNCED, TenderState.BIDDING)
PRE_OPENING_STATES = frozenset({TenderState.REGISTERED, TenderState.ANNOUNCED, TenderState.BIDDING})

NO_DEPOSIT, UNPAID, PAID, REFUNDING, REFUNDED, KEPT = "none", "unpaid", "paid", "refunding", "refunded", "kept"
DEPOSIT_STATUS_NAMES = {NO_DEPOSIT: "无需交纳", UNPAID: "未到账", PAID: "已到账", REFUNDING: "退还中",
                        REFUNDED: "已退还", KEPT: "不予退还"}


@dataclass(frozen=True)
class DepositView:
    """The deposit a registration asks and where it stands (amounts in fen)."""

    required_fen: int
    status: str
    paid_fen: int = 0
    paid_at: datetime | None = None
    deposits: list[ledger.LedgerDeposit] = field(default_factory=list)
    refunds: list[ledger.LedgerRefund] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)

    @property
    def status_name(self) -> str:
        return DEPOSIT_STATUS_NAMES[self.status]

    @property
    def required(self) -> bool:
        return self.required_fen > 0


@dataclass(frozen=True)
class TenderDesk:
    """One tender as its bidder sees it."""

    project: Project
    registration: Registration | None
    deposit: DepositView | None
    bids: list[Bid]
    # Each bid's identity key fingerprint (bid id -> key id): the key that withdraws and opens it.
    bid_keys: dict[int, str] = field(default_factory=dict)

    @property
    def state_name(self) -> str:
        return STATE_NAMES.get(self.project.state, self.project.state)

    @property
    def admitted(self) -> bool:
        return self.registration is not None and self.registration.status == ADMITTED

    @property
    def registration_status_name(self) -> str:
        return REGISTRATION_STATUS_NAMES[self.registration.status] if self.registration else "未报名"

    @property
    def registration_open(self) -> bool:
        """The tender takes registrations (the page offers the form)."""
        return self.project.state in REGISTRABLE_STATES

    @property
    def bidding_open(self) -> bool:
        """The tender takes bids (:mod:`bidding.bids.submission` refuses them in any other state)."""
        return self.project.state == TenderState.BIDDING

    @property
    def opening_reached(self) -> bool:
        """The bid deadline has passed and the opening begun (or is over): the opening hall is open."""
        return self.project.state not in PRE_OPENING_STATES

    @property
    def current_bid(self) -> Bid | None:
        return next((bid for bid in self.bids if bid.status == SUBMITTED), None)


async def open_tenders(session: AsyncSession) -> list[Project]:
    """Tenders announced or taking bids whose deadline (if set) is still ahead, soonest first."""
    now = await database_now(session)
    query = (select(Project).where(Project.state.in_([state.value for state in REGISTRABLE_STATES]))
             .where((Project.bid_deadline.is_(None)) | (Project.bid_deadline > now))
             .order_by(Project.bid_deadline.asc().nulls_last(), Project.code))
    return list((await session.scalars(query)).all())


async def latest_registration(session: AsyncSession, project: Project, organisation: Organisation) -> Registration | None:
    """The admitted registration if any, else the latest refusal, else None."""
    rows = (await session.scalars(select(Registration).where(
        Registration.project_id == project.id, Registration.bidder_organisation_id == organisation.id)
        .order_by(Registration.id.desc()))).all()
    return next((row for row in rows if row.status == ADMITTED), rows[0] if rows else None)


async def deposit_view(session: AsyncSession, project: Project, registration: Registration,
                       organisation: Organisation) -> DepositView:
    """The deposit of an admitted registration: none, unpaid, paid, refunding, refunded or kept."""
    answer = registration.reasons.get("deposit") or {}
    reasons = [str(reason) for reason in answer.get("reasons", []) if reason] or \
        ([answer["message"]] if answer.get("message") else [])
    deposits = await ledger.deposits_of(session, project_code=project.code, bidder_credit_code=organisation.credit_code)
    refunds = await ledger.refunds_of(session, project_code=project.code, bidder_credit_code=organisation.credit_code)
    paid = sum(deposit.amount_fen for deposit in deposits)
    if any(deposit.kept_at is not None for deposit in deposits):
        status = KEPT
    elif refunds:
        status = REFUNDED if all(refund.paid_at is not None for refund in refunds) else REFUNDING
    elif registration.deposit_required_fen <= 0:
        status = NO_DEPOSIT
    elif registration.deposit_paid_at is not None:
        status = PAID
    else:
        status = UNPAID
    return DepositView(required_fen=registration.deposit_required_fen, status=status, paid_fen=paid,
                       paid_at=registration.deposit_paid_at, deposits=deposits, refunds=refunds, reasons=reasons)


async def own_bids(session: AsyncSession, project: Project, organisation: Organisation) -> list[Bid]:
    """The organisation's bids for the tender, newest first (without their ciphertexts)."""
    return list((await session.scalars(select(Bid).options(defer(Bid.ciphertext)).where(
        Bid.project_id == project.id, Bid.bidder_credit_code == organisation.credit_code)
        .order_by(Bid.sequence.desc()))).all())


async def tender_desk(session: AsyncSession, project_code: str, organisation: Organisation) -> TenderDesk:
    project = await get_project(session, project_code)
    registration = await latest_registration(session, project, organisation)
    deposit = None
    if registration is not None and registration.status == ADMITTED:
        deposit = await deposit_view(session, project, registration, organisation)
    bids = await own_bids(session, project, organisation)
    keys = {row.id: key_id(row.verify_key) for row in (await session.execute(
        select(BidderKey.id, BidderKey.verify_key).where(BidderKey.id.in_({bid.bidder_key_id for bid in bids})))).all()}
    return TenderDesk(project, registration, deposit, bids, {bid.id: keys[bid.bidder_key_id] for bid in bids})


async def my_tenders(session: AsyncSession, organisation: Organisation) -> list[TenderDesk]:
    """Every tender the organisation registered for (admitted or refused), newest first."""
    codes = (await session.scalars(select(Project.code).join(Registration, Registration.project_id == Project.id)
                                   .where(Registration.bidder_organisation_id == organisation.id)
                                   .group_by(Project.code).order_by(Project.code.desc()))).all()
    return [await tender_desk(session, code, organisation) for code in codes]


async def my_receipts(session: AsyncSession, organisation: Organisation) -> list[Receipt]:
    """The organisation's electronic receipts (deposits paid, refunds, fees), newest first."""
    return list((await session.scalars(select(Receipt).where(Receipt.party_credit_code == organisation.credit_code)
                                       .order_by(Receipt.id.desc()))).all())


async def my_key(session: AsyncSession, organisation: Organisation) -> BidderKey | None:
    return await active_bidder_key(session, organisation.id)


@dataclass(frozen=True)
class OpeningDesk:
    """The bidder's own entry at the opening, and its bid's ``sealed_bidder`` to open locally."""

    opening: OpeningSession
    entry: OpeningEntry
    sealed_bidder: str
    envelope_sha256: str
    window_open: bool


async def opening_desk(session: AsyncSession, project_code: str, organisation: Organisation) -> OpeningDesk | None:
    """None until the opening has started or when the organisation has no bid in it.

    ``sealed_bidder`` is the half sealed to the bidder's own key: only its key file opens it.
    """
    project = await get_project(session, project_code)
    opening = await session.scalar(select(OpeningSession).where(OpeningSession.project_id == project.id))
    if opening is None:
        return None
    row = (await session.execute(select(OpeningEntry, Bid.envelope, Bid.envelope_sha256)
                                 .join(Bid, Bid.id == OpeningEntry.bid_id)
                                 .where(OpeningEntry.session_id == opening.id,
                                        OpeningEntry.bidder_credit_code == organisation.credit_code))).first()
    if row is None:
        return None
    entry, envelope, digest = row
    now = await database_now(session)
    window_open = opening.closed_at is None and opening.finished_at is None and now < opening.window_ends_at
    return OpeningDesk(opening, entry, str(envelope.get("sealed_bidder", "")), digest, window_open)

