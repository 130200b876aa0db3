"""Evaluation (web/evaluation.py): the scheme, the session as each role sees it, the
members' acts."""

from typing import Annotated, Any, NotRequired, TypedDict

from web.api.bid_wire import HEX32, HEX64, doc

DECIMAL = "A non-negative decimal as text (or an integer), e.g. \"12.5\"."


class PriceFormula(TypedDict):
    kind: Annotated[str, doc("lowest_ratio (低价优先法) or mean_deviation (平均值偏差法).")]
    k: NotRequired[Annotated[str | int, doc("mean_deviation: the factor K, 0.5 to 1.5, " + DECIMAL)]]
    deduct_above: NotRequired[Annotated[str | int, doc("mean_deviation: points off per 1% above the benchmark.")]]
    deduct_below: NotRequired[Annotated[str | int, doc("mean_deviation: points off per 1% below the benchmark.")]]


class ScoringItem(TypedDict):
    name: str
    max_points: Annotated[str | int, doc(DECIMAL)]


class Scheme(TypedDict):
    """The evaluation method and scores the tender documents fix."""

    method: Annotated[str, doc("comprehensive (综合评估法) or lowest_price (经评审的最低投标价法).")]
    price_points: NotRequired[Annotated[str | int, doc("comprehensive: the price's points. " + DECIMAL)]]
    price_formula: NotRequired[Annotated[PriceFormula, doc("comprehensive: how the price scores.")]]
    items: NotRequired[Annotated[list[ScoringItem], doc("comprehensive: the technical and business items.")]]


class Ground(TypedDict):
    ground: Annotated[int, doc("1-7.")]
    text: str
    source: Annotated[str, doc("招标投标法实施条例 第五十一条.")]


class MemberView(TypedDict):
    expert: Annotated[str, doc("The expert's pool code.")]
    name: str
    voted: bool
    signed: bool
    by: Annotated[str | None, doc("signature or confirmation, once signed.")]
    dissent: str | None
    deemed_agreed: bool


class ReviewView(TypedDict):
    member: str
    stage: str
    verdict: Annotated[str, doc("pass or reject.")]
    ground: int | None
    reason: str | None


class ItemScore(TypedDict):
    item: str
    points: str


class MemberScores(TypedDict):
    member: str
    scores: list[ItemScore]


class EvaluatedBid(TypedDict):
    """A bid in the evaluation; the tendering party and agency see only who bid."""

    bidder_credit_code: str
    bidder_name: str
    price_fen: NotRequired[int | None]
    duration_days: NotRequired[int | None]
    status: NotRequired[str]
    rejected_stage: NotRequired[str | None]
    ground: NotRequired[int | None]
    reason: NotRequired[str | None]
    proposed_ground: NotRequired[int | None]
    proposed_reason: NotRequired[str | None]
    price_score: NotRequired[str | None]
    final_score: NotRequired[str | None]
    rank: NotRequired[int | None]
    reviews: NotRequired[Annotated[list[ReviewView], doc("Every member's for staff; an expert's own.")]]
    scores: NotRequired[list[MemberScores]]


class OwnBid(TypedDict):
    status: str
    ground: int | None
    ground_text: str | None
    reason: str | None
    final_score: str | None
    rank: int | None


class EvaluationView(TypedDict):
    """The evaluation as the caller's role may see it: a bidder (after the candidates are
    published) sees the candidates and its own bid; the committee, staff and the project's
    parties the session."""

    project: str
    round: int
    stage: str
    stage_name: str
    method: str
    started_at: str
    completed_at: str | None
    outcome: str | None
    candidates: NotRequired[Annotated[list[dict[str, Any]], doc("A bidder: the report's candidates.")]]
    own_bid: NotRequired[Annotated[OwnBid | None, doc("A bidder: its own bid's outcome.")]]
    scheme: NotRequired[Scheme]
    max_price_fen: NotRequired[int | None]
    max_candidates: NotRequired[int]
    chair: NotRequired[Annotated[str | None, doc("The chair's expert code, once elected.")]]
    grounds: NotRequired[list[Ground]]
    members: NotRequired[list[MemberView]]
    report: NotRequired[Annotated[dict[str, Any] | None, doc(
        "The report (evaluation-report/1) once drawn up, as hashed and signed: canonical JSON, not rebuilt.")]]
    report_sha256: NotRequired[str | None]
    bids: NotRequired[list[EvaluatedBid]]


class Round(TypedDict):
    round: int
    stage: str
    outcome: str | None
    report_sha256: str | None
    started_at: str
    completed_at: str | None


class ChairVote(TypedDict):
    candidate: Annotated[str, doc("The expert code of the member voted for.")]


class ChairVoted(TypedDict):
    stage: str
    chair_elected: bool


class ReviewBody(TypedDict, total=False):
    bidder_credit_code: Annotated[str, doc("The bid reviewed (required).")]
    verdict: Annotated[str, doc("pass or reject (required).")]
    ground: Annotated[int | None, doc("reject: the ground, 1-7 (GET .../grounds).")]
    reason: Annotated[str | None, doc("reject: why.")]


class ReviewRecorded(TypedDict):
    stage: str
    verdict: str
    ground: int | None
    reason: str | None


class ScoresBody(TypedDict):
    bidder_credit_code: str
    scores: Annotated[dict[str, str | int], doc("Item name -> points. " + DECIMAL)]


class ScoresRecorded(TypedDict):
    scores: list[ItemScore]


class SignatureBody(TypedDict, total=False):
    signature: Annotated[str | None, doc("Ed25519 signature over the report's canonical JSON, hex.", pattern=HEX64)]
    confirm: Annotated[bool, doc("true to sign by confirmation, without a key.")]


class Signed(TypedDict):
    signed_at: str
    by: Annotated[str, doc("signature or confirmation.")]
    key_id: str | None


class DissentBody(TypedDict):
    reasons: Annotated[str, doc("Why the member disagrees (实施条例 第五十三条).")]


class Dissented(TypedDict):
    dissent: str
    dissent_at: str


class Completed(TypedDict):
    stage: str
    outcome: str | None
    report_sha256: str | None


class ExpertKeyBody(TypedDict):
    verify_key: Annotated[str, doc("The expert's Ed25519 verify key, hex.", pattern=HEX32)]


class ExpertKey(TypedDict):
    verify_key: str
    key_id: str
