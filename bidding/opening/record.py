"""The opening record's shape (开标记录), as ``proceedings.opening_record`` builds it and the API
and pages show it: plain dicts, typed."""

from typing import TypedDict


class OpeningEntryView(TypedDict):
    bidder_credit_code: str
    bidder_name: str | None
    signed_in_at: str | None
    center_half_opened: bool
    state: str  # pending, decrypted or not_decrypted
    state_name: str
    handed_in_at: str | None
    price_fen: int | None  # only once decrypted
    duration_days: int | None  # only once decrypted
    decrypted_at: str | None
    reason: str | None
    reason_text: str | None
    cause: str | None  # whose fault a failed decryption was
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


class OpeningRecord(TypedDict):
    project: str
    title: str
    state: str
    started_at: str | None
    window_ends_at: str | None  # the end of the decryption window
    closed_at: str | None
    finished_at: str | None
    max_price_fen: int | None  # the maximum bid price (最高投标限价)
    max_price_announced_at: str | None
    entries: list[OpeningEntryView]
    objections: list[OpeningObjectionView]
