"""The ledger (web/ledger.py): deposits, collusion flags, refunds, service fees, receipts. A refund is
the service's own type (bidding.settlement.refunds.RefundView)."""

from typing import Annotated, Any, NotRequired, TypedDict

from bidding.settlement.refunds import RefundView
from web.api.bid_wire import doc


class Kept(TypedDict):
    at: str
    rule: str | None
    source: str | None
    reason: str | None


class DepositView(TypedDict):
    id: int
    project_code: str
    bidder_credit_code: str
    amount_fen: int
    account: Annotated[str, doc("The paying account.")]
    account_name: str
    bank: str | None
    bank_reference: str
    value_date: Annotated[str, doc("YYYY-MM-DD.")]
    source: Annotated[str, doc("How it was recorded: statement or manual.")]
    confirmed_by: str | None
    kept: Annotated[Kept | None, doc("Kept, not refunded, under a rule (null unless kept).")]


class StatementImported(TypedDict):
    imported: int
    already_imported: Annotated[list[str], doc("Bank references of rows imported before (skipped).")]
    deposits: list[DepositView]
    refunds_paid: list[RefundView]


class Dismissed(TypedDict):
    at: str
    by: str
    reason: str


class CollusionFlagView(TypedDict):
    id: int
    project_code: str
    account: str
    bidder_codes: list[str]
    raised_at: str
    note: str | None
    dismissed: Dismissed | None


class FeePaid(TypedDict):
    at: str
    by: str | None
    account: str | None
    account_name: str | None
    bank: str | None
    bank_reference: str | None
    value_date: str | None


class FeeView(TypedDict):
    id: int
    project_code: str
    payer_credit_code: str
    category: str
    basis_fen: int
    amount_fen: int
    schedule: Annotated[str, doc("The fee schedule, code@version.")]
    charged_by: str | None
    charged_at: str
    paid: FeePaid | None


class FeeBand(TypedDict):
    from_fen: int
    up_to_fen: int | None
    rates_basis_points: Annotated[dict[str, int], doc("Category -> rate in basis points.")]
    sample: bool
    note: str | None


class FeeScheduleView(TypedDict):
    code: str
    version: str
    title: str
    source: str
    note: str | None
    method: str
    categories: Annotated[dict[str, str], doc("Category code -> name.")]
    bands: list[FeeBand]


class ReceiptView(TypedDict):
    number: str
    kind: str
    kind_name: str
    project_code: str
    party_credit_code: str
    amount_fen: int
    issued_at: str
    pdf_sha256: str
    signature: Annotated[str, doc("Ed25519 over canon(record), hex.")]
    key_id: str
    record: Annotated[dict[str, Any], doc("The signed receipt record as signed: canonical JSON, not rebuilt.")]


class ReceiptCheck(TypedDict):
    number: str
    kind: str
    kind_name: str
    project_code: str
    project_title: str
    party_name: str
    amount_fen: int
    amount_yuan: str
    amount_in_words: str
    account: Annotated[str, doc("Masked.")]
    value_date: str | None
    issued_at: str
    pdf_sha256: str
    signature: str
    key_id: str
    verify_key: str
    signature_valid: bool
    pdf_matches: NotRequired[bool]
