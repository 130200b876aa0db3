"""Candidate publicity, complaints, the award notice and the contract (web/award.py). The signed
bundle is the service's own type (bidding.award.award_notice.AwardNoticeBundle)."""

from typing import Annotated, TypedDict

from bidding.award.award_notice import AwardNoticeBundle
from web.api.bid_wire import HEX32, doc


class CandidateView(TypedDict):
    rank: int
    name: str
    credit_code: str
    price_fen: int | None
    score: Annotated[str | None, doc("Decimal text (comprehensive method); null for the lowest price method.")]
    round: int


class PublicityView(TypedDict):
    project: str
    title: str
    state: str
    state_name: str
    publicity_started_at: str
    publicity_ends_at: str | None
    announcement_id: int | None
    candidates: list[CandidateView]


class ObjectionText(TypedDict):
    text: Annotated[str, doc("The objection to the evaluation result (异议).")]


class ObjectionRaised(TypedDict):
    id: int
    text: str
    raised_at: str


class ObjectionAnswer(TypedDict):
    answer: str


class ObjectionAnswered(TypedDict):
    id: int
    answer: str
    answered_at: str


class CandidateObjection(TypedDict):
    id: int
    bidder_credit_code: str
    bidder_name: str
    text: str
    raised_at: str | None
    answer: str | None
    answered_by: str | None
    answered_at: str | None


class ComplaintBody(TypedDict):
    grounds: Annotated[str, doc("What is complained of, and why (投诉事项及理由).")]


class ReasonBody(TypedDict):
    reason: str


class DecisionBody(TypedDict, total=False):
    outcome: Annotated[str, doc("reevaluate or terminate (upheld), or dismiss (required).")]
    reason: Annotated[str, doc("The decision's reasons (required).")]


class ComplaintView(TypedDict):
    id: int
    bidder_credit_code: str
    bidder_name: str
    grounds: str
    filed_at: str | None
    status: str
    status_name: str
    acceptance_reason: str | None
    acceptance_at: str | None
    suspended_tender: bool
    outcome: str | None
    decision_reason: str | None
    decision_at: str | None


class ComplaintDecided(ComplaintView):
    project_state: str


class WinnerChoiceBody(TypedDict, total=False):
    rank: Annotated[int, doc("The chosen candidate's rank, 1 unless the rules allow another (required).")]
    reason: Annotated[str, doc("Why (required).")]


class WinnerChosen(TypedDict):
    candidate_id: int
    rank: int | None
    reason: str


class Party(TypedDict):
    credit_code: str
    name: str


class AwardNoticeSummary(TypedDict):
    number: str
    project_code: str
    project_title: str
    winner: Party
    tendering_party: Party
    rank: int
    price_fen: int
    basis: str
    choice_reason: str | None
    issued_at: str
    pdf_sha256: Annotated[str, doc("SHA-256 of the notice's PDF, hex.", pattern=HEX32)]
    verify_url: str
    bundle: Annotated[AwardNoticeBundle, doc("What anyone needs to check the PDF offline.")]


class ContractBody(TypedDict, total=False):
    amount_fen: Annotated[int, doc("The contract amount in fen (required).")]
    signed_on: Annotated[str, doc("YYYY-MM-DD (required).")]
    file_sha256: Annotated[str, doc("SHA-256 of the signed contract file, hex (required).")]
    amount_reason: Annotated[str | None, doc("Why the amount differs from the winning price, when it does.")]


class ContractView(TypedDict):
    id: int
    amount_fen: int
    signed_on: str
    file_sha256: str
    amount_reason: str | None
    late: bool
    announcement_id: int | None
    recorded_at: str
