"""The opening (web/opening.py; the bidder's sign-in and hand-in are web.api.bid_wire). The record is
the service's own type (bidding.opening.record)."""

from typing import Annotated, TypedDict

from bidding.opening.record import OpeningEntryView, OpeningRecord as OpeningRecordView
from web.api.bid_wire import doc

__all__ = ["MaxPrice", "MaxPriceAnnounced", "MyOpening", "ObjectionAnswer", "ObjectionAnswered", "ObjectionRaised",
           "ObjectionText", "OpeningFinished", "OpeningRecordView", "OtherFailure", "OtherFailureRecorded"]


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
