"""Credit (web/credit.py): publicity, records, imports, pushes, checks."""

from typing import Annotated, Any, TypedDict

from web.api.bid_wire import doc


class PublicRestriction(TypedDict):
    subject_type_name: str
    subject_name: Annotated[str, doc("Masked for a person.")]
    subject_key: Annotated[str, doc("Credit code, or a person's masked ID number.")]
    department_name: str
    kind_name: str
    act: str
    decision_number: str
    period: str
    scope: str


class CreditRecordView(TypedDict):
    """A record as the credit staff see it (unmasked)."""

    id: int
    subject_type: Annotated[str, doc("organisation or person.")]
    subject_type_name: str
    subject_key: str
    subject_name: str
    department: str
    department_name: str
    department_record_id: str | None
    kind: str
    kind_name: str
    severity: Annotated[str, doc("serious or minor.")]
    severity_name: str
    act: str
    decision_number: str
    effective_from: Annotated[str, doc("YYYY-MM-DD.")]
    effective_to: str | None
    period: str
    categories: list[str]
    region_codes: list[str]
    scope: str
    status: str
    shown_status: Annotated[str, doc("active, pending, expired, repaired or revoked, now.")]
    shown_status_name: str
    status_reason: str | None
    status_document: str | None
    channel: str
    entered_by: str
    created_at: str


class RecordChange(TypedDict):
    action: str
    actor: str
    reason: str | None
    document_number: str | None
    changes: Annotated[dict[str, Any] | None, doc("Field -> [before, after].")]
    at: str


class EvidenceView(TypedDict):
    id: int
    filename: str
    content_type: str
    size_bytes: int
    sha256: str


class CreditRecordDetail(CreditRecordView):
    history: list[RecordChange]
    evidence: list[EvidenceView]


class EvidenceStored(TypedDict):
    id: int
    filename: str
    sha256: str
    size_bytes: int


class ImportSummary(TypedDict):
    filename: str
    rows: int
    new_rows: int
    entered: Annotated[list[int], doc("Record ids (empty on a dry run).")]
    updated: list[int]
    unchanged: list[int]
    dry_run: bool
    message: str


class PushOutcome(TypedDict):
    record_id: Annotated[str, doc("The department's own record id.")]
    id: int | None
    outcome: Annotated[str, doc("created, updated or unchanged.")]


class Pushed(TypedDict):
    department: str
    records: list[PushOutcome]


class DecidingRecord(TypedDict):
    record_id: int
    department: str
    department_name: str
    kind: str
    kind_name: str
    severity: str
    decision_number: str
    act: str
    effective_from: str
    effective_to: str | None
    period: str
    categories: list[str]
    region_codes: list[str]
    ground: str
    reason: str


class Eligibility(TypedDict):
    project_code: str
    at: str
    admitted: bool
    message: str
    deciding_records: list[DecidingRecord]


class DepositDecision(TypedDict):
    project_code: str
    at: str
    required: bool
    amount_fen: int | None
    cap_fen: int | None
    requested_fen: int | None
    message: str
    reasons: list[str]
    deciding_records: list[DecidingRecord]


class CreditPreview(TypedDict):
    subject_type: str
    subject_key: str
    eligibility: Eligibility
    deposit: DepositDecision


class BriberyChecked(TypedDict):
    id: int
    project_code: str
    subject_key: str
    method: str
    outcome: Annotated[str, doc("clear or found.")]
    found_record_ids: list[int]
