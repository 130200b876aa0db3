"""Credit records as the credit staff see them, for the API and the pages alike: who may act
on them, how large an evidence upload may be, a record's description, the uploaded evidence
files."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from litestar.datastructures import UploadFile

from credit.evidence import EvidenceFile
from credit.facts import SHOWN_STATUS_NAMES, describe_period, first_day, last_day
from credit.models import MAX_EVIDENCE_BYTES, CreditRecord
from credit.publicity import describe_scope
from credit.records import shown_status
from credit.reference import SEVERITY_NAMES, departments, record_kinds
from credit.subjects import SUBJECT_TYPE_NAMES
from trading.roles import UserRole
from web.core.auth import requires_role

credit_staff = requires_role(UserRole.CREDIT_OFFICER, UserRole.ADMIN)
# Evidence files may be 10 MiB; a form carries its fields and boundaries besides.
UPLOAD_LIMIT = MAX_EVIDENCE_BYTES + 1024 * 1024


def describe_record(record: CreditRecord, moment: datetime) -> dict[str, Any]:
    """A record as the credit staff see it (unmasked: they hold the source documents)."""
    department = departments().get(record.department_code)
    kind = record_kinds().get(record.kind)
    status = shown_status(record, moment)
    end = last_day(record.effective_to)
    return {
        "id": record.id, "subject_type": record.subject_type, "subject_type_name": SUBJECT_TYPE_NAMES[record.subject_type],
        "subject_key": record.subject_key, "subject_name": record.subject_name,
        "department": record.department_code, "department_name": department.name if department else record.department_code,
        "department_record_id": record.department_record_id,
        "kind": record.kind, "kind_name": kind.name if kind else record.kind,
        "severity": record.severity, "severity_name": SEVERITY_NAMES.get(record.severity, record.severity),
        "act": record.act, "decision_number": record.decision_number,
        "effective_from": first_day(record.effective_from).isoformat(),
        "effective_to": end.isoformat() if end else None,
        "period": describe_period(record.effective_from, record.effective_to),
        "categories": list(record.categories), "region_codes": list(record.region_codes),
        "scope": describe_scope(list(record.categories), list(record.region_codes)),
        "status": record.status, "shown_status": status, "shown_status_name": SHOWN_STATUS_NAMES[status],
        "status_reason": record.status_reason, "status_document": record.status_document,
        "channel": record.channel, "entered_by": record.entered_by, "created_at": record.created_at.isoformat(),
    }


async def evidence_files(uploads: list[UploadFile] | UploadFile | None) -> list[EvidenceFile]:
    """The uploaded evidence files; a form's empty file field is no file."""
    if uploads is None:
        return []
    files = []
    for upload in uploads if isinstance(uploads, list) else [uploads]:
        data = await upload.read()
        if upload.filename or data:
            files.append(EvidenceFile(upload.filename or "evidence", upload.content_type or "", data))
    return files
