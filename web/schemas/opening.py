"""The opening (web/opening.py; the bidder's sign-in and hand-in are web.bid_wire)."""

from typing import Annotated, TypedDict

from web.bid_wire import doc


class OpeningEntryView(TypedDict):
    bidder_credit_code: str
    bidder_name: str | None
    signed_in_at: str | None
    center_half_opened: bool
    state: Annotated[str, doc("pending, decrypted or not_decrypted.")]
    state_name: str
    handed_in_at: str | None
    price_fen: Annotated[int | None, doc("Only once decrypted.")]
    duration_days: Annotated[int | None, doc("Only once decrypted.")]
    decrypted_at: str | None
    reason: Annotated[str | None, doc("Why the bid was not decrypted (a code).")]
    reason_text: str | None
    cause: Annotated[str | None, doc("bidder or other: whose fault a failed decryption was.")]
    outcome: str | None
    outcome_name: str | None


class OpeningObjectionView(TypedDict):
    id: int
    raised_by: str
    bidder_credit_code: str | None
    text: str
    raised_at: str | None
    answer: str | None
    answered_by: str | None
    answered_at: str | None


class OpeningRecordView(TypedDict):
    """The opening record (开标记录)."""

    project: str
    title: str
    state: str
    started_at: str | None
    window_ends_at: Annotated[str | None, doc("The end of the decryption window.")]
    closed_at: str | None
    finished_at: str | None
    max_price_fen: Annotated[int | None, doc("The maximum bid price (最高投标限价), fen.")]
    max_price_announced_at: str | None
    entries: list[OpeningEntryView]
    objections: list[OpeningObjectionView]


class MyOpening(TypedDict):
    project: str
    window_ends_at: str | None
    window_closed: bool
    max_price_fen: int | None
    handed_in: Annotated[int, doc("How many bidders have handed in their half (never who).")]
    entry: OpeningEntryView


class OpeningFinished(TypedDict):
    project: str
    state: Annotated[str, doc("evaluation, or failed (流标) when too few valid bids.")]
    state_name: str | None
    valid_bids: int
    min_valid_bids: int | None
    reason: str | None
    retender: Annotated[bool, doc("The tender failed and must be tendered again.")]


class OtherFailure(TypedDict):
    """A bid not decrypted for a cause not the bidder's (deemed withdrawn)."""

    bidder_credit_code: Annotated[str, doc("The bidder concerned.")]
    reason: Annotated[str, doc("Why it could not be decrypted.")]


class OtherFailureRecorded(TypedDict):
    bidder_credit_code: str
    state: str
    cause: str | None


class MaxPrice(TypedDict):
    max_price_fen: Annotated[int, doc("The maximum bid price in fen, a positive integer.")]


class MaxPriceAnnounced(TypedDict):
    max_price_fen: int
    max_price_announced_at: str


class ObjectionText(TypedDict):
    text: Annotated[str, doc("The objection (异议).")]


class ObjectionRaised(TypedDict):
    id: int
    text: str
    raised_at: str


class ObjectionAnswer(TypedDict):
    answer: str


class ObjectionAnswered(TypedDict):
    id: int
    answer: str
    answered_by: str
