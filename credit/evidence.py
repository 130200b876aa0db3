"""Evidence files of credit records and bribery checks, kept in the database with their digest."""

from __future__ import annotations

import hashlib
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from pathlib import PurePosixPath, PureWindowsPath

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from credit.models import MAX_EVIDENCE_BYTES, CreditEvidence
from trading.audit import record_event
from trading.errors import InvalidInput, NotFound

DEFAULT_CONTENT_TYPE = "application/octet-stream"


@dataclass(frozen=True)
class EvidenceFile:
    """An evidence file as received: its name, type and bytes."""

    filename: str
    content_type: str
    data: bytes


@dataclass(frozen=True)
class EvidenceInfo:
    id: int
    filename: str
    content_type: str
    size_bytes: int
    sha256: str
    uploaded_by: str
    uploaded_at: datetime


def _clean_filename(name: str) -> str:
    # Keep the last path part only, and no control characters: the name is shown and sent back.
    base = PureWindowsPath(PurePosixPath(name or "").name).name
    base = "".join(ch for ch in unicodedata.normalize("NFC", base) if unicodedata.category(ch)[0] != "C").strip()
    return base[:255] or "evidence"


def check_evidence(file: EvidenceFile) -> EvidenceFile:
    """Refuse an empty or oversized file; return it with a clean name and content type."""
    if not file.data:
        raise InvalidInput(f"证明材料「{file.filename}」为空文件", code="evidence_empty", field="evidence")
    if len(file.data) > MAX_EVIDENCE_BYTES:
        raise InvalidInput(f"证明材料「{_clean_filename(file.filename)}」超过 {MAX_EVIDENCE_BYTES // (1024 * 1024)} MiB",
                           code="evidence_too_large", field="evidence", size=len(file.data), maximum=MAX_EVIDENCE_BYTES)
    content_type = (file.content_type or DEFAULT_CONTENT_TYPE).split(";")[0].strip()[:100] or DEFAULT_CONTENT_TYPE
    return EvidenceFile(_clean_filename(file.filename), content_type, file.data)


async def store_evidence(
    session: AsyncSession, *, actor: str, file: EvidenceFile, record_id: int | None = None,
    bribery_check_id: int | None = None,
) -> CreditEvidence:
    """Keep an evidence file for a record or a bribery check; audited with its digest."""
    file = check_evidence(file)
    digest = hashlib.sha256(file.data).hexdigest()
    evidence = CreditEvidence(record_id=record_id, bribery_check_id=bribery_check_id, filename=file.filename,
                              content_type=file.content_type, size_bytes=len(file.data), sha256=digest,
                              data=file.data, uploaded_by=actor)
    session.add(evidence)
    await session.flush()
    owner = f"credit_record:{record_id}" if record_id is not None else f"bribery_check:{bribery_check_id}"
    await record_event(session, actor=actor, action="credit.evidence_stored", subject=owner,
                       data={"evidence_id": evidence.id, "filename": file.filename, "sha256": digest,
                             "size_bytes": len(file.data)})
    return evidence


_INFO_COLUMNS = (CreditEvidence.id, CreditEvidence.filename, CreditEvidence.content_type, CreditEvidence.size_bytes,
                 CreditEvidence.sha256, CreditEvidence.uploaded_by, CreditEvidence.uploaded_at)


async def evidence_of_record(session: AsyncSession, record_id: int) -> list[EvidenceInfo]:
    """The record's evidence files, without their bytes."""
    rows = (await session.execute(select(*_INFO_COLUMNS).where(CreditEvidence.record_id == record_id)
                                  .order_by(CreditEvidence.id))).all()
    return [EvidenceInfo(*row) for row in rows]


async def get_evidence(session: AsyncSession, evidence_id: int) -> CreditEvidence:
    evidence = await session.get(CreditEvidence, evidence_id)
    if evidence is None:
        raise NotFound(f"未找到证明材料 {evidence_id}", evidence_id=evidence_id)
    return evidence
