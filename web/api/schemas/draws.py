"""Sealed draws (web/draws.py, web/committees.py; sealed-draw.md): the draw bundle as the
verifiers exchange it, and the project's agency."""

from typing import Annotated, Any, TypedDict

from web.api.bid_wire import HEX32, doc


class SignedRecord(TypedDict):
    record: Annotated[dict[str, Any], doc("The record as signed (sealed-draw.md): canonical JSON, not rebuilt.")]
    signature: Annotated[str, doc("Ed25519 over canon(record), hex.")]


class Witness(TypedDict):
    value: str
    by: str | None
    at: str | None


class DrawBundle(TypedDict):
    """The draw bundle (sealed-draw.md, "The draw bundle"): pool and reveal only once revealed."""

    verify_key: Annotated[str, doc("The center's verify key.", pattern=HEX32)]
    commit: SignedRecord
    witness: Witness | None
    reveal: SignedRecord | None
    pool: Annotated[list[Any] | None, doc("The candidates drawn from, once revealed (or voided with the seed).")]
    status: str
    void: SignedRecord | None


class AgencyView(TypedDict):
    code: str
    name: str
    credit_code: str


class AgencyAssignment(TypedDict):
    draw_id: str
    status: str
    status_name: str
    witness: Annotated[str | None, doc("Whose witness value the draw awaits or took.")]
    supervisor_asked: bool
    declined: Annotated[list[str], doc("The codes of the agencies the tendering party declined, in order.")]
    agency: AgencyView | None


class AgencyDeclined(TypedDict):
    draw_id: str
    declined: list[str]
    agency: AgencyView | None


class DrawSummary(TypedDict):
    draw_id: str
    purpose: Annotated[str, doc("committee, agency, ...")]
    project_code: str | None
    status: str
    status_name: str
    committed_at: str
    continues: Annotated[str | None, doc("The draw this one continues (after declines).")]
    void_reason: str | None
    void_approved_by: str | None
    void_after_witness: bool


class AvoidedBidders(TypedDict):
    """What checks the commit record's criteria.exclude_bidders_sha256, after the reveal."""

    salt: str
    bidders: list[str]
    sha256: str
