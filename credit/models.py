"""Tables of credit records: the records, their history, and their evidence files.

A record is never deleted: repair (信用修复) and revocation change its status, and each
change is a row of ``credit_record_changes`` as well as an audit entry. Expiry is by
time (``effective_to``), never by a job, so every query compares the period with the
moment it asks about.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlmodel import Field, SQLModel

from credit.facts import ACTIVE, REPAIRED, REVOKED
from credit.reference import MINOR, SERIOUS
from credit.subjects import ORGANISATION, PERSON
from trading.columns import created_at_column, timestamp_column
from trading.rules.store import TRADING_CATEGORIES

MAX_EVIDENCE_BYTES = 10 * 1024 * 1024  # 10 MiB per file

CHANNELS = ("portal", "api", "import", "push", "bribery_check", "demo")
_CATEGORY_VALUES = ", ".join(f"'{code}'" for code in TRADING_CATEGORIES)


class CreditRecord(SQLModel, table=True):
    """One credit record of a subject, from a source department.

    ``categories`` and ``region_codes`` are the scope: empty means all. A department's
    own record id makes its pushes idempotent (unique per department).
    """

    __tablename__ = "credit_records"
    __table_args__ = (
        CheckConstraint(f"subject_type IN ('{ORGANISATION}', '{PERSON}')", name="credit_records_subject_type_known"),
        CheckConstraint(f"severity IN ('{SERIOUS}', '{MINOR}')", name="credit_records_severity_known"),
        CheckConstraint(f"status IN ('{ACTIVE}', '{REPAIRED}', '{REVOKED}')", name="credit_records_status_known"),
        CheckConstraint("status = 'active' OR status_reason IS NOT NULL", name="credit_records_status_reason_present"),
        CheckConstraint("effective_to IS NULL OR effective_to > effective_from", name="credit_records_period_ordered"),
        CheckConstraint(f"categories <@ ARRAY[{_CATEGORY_VALUES}]::varchar[]", name="credit_records_categories_known"),
        CheckConstraint("channel IN (" + ", ".join(f"'{c}'" for c in CHANNELS) + ")",
                        name="credit_records_channel_known"),
        UniqueConstraint("department_code", "department_record_id", name="credit_records_department_record_once"),
        Index("ix_credit_records_subject", "subject_type", "subject_key"),
    )

    id: int | None = Field(default=None, primary_key=True)
    subject_type: str = Field(sa_column=Column(String(16), nullable=False))
    subject_key: str = Field(sa_column=Column(String(18), nullable=False))
    subject_name: str = Field(sa_column=Column(String(200), nullable=False, index=True))
    department_code: str = Field(sa_column=Column(String(32), nullable=False))
    department_record_id: str | None = Field(default=None, sa_column=Column(String(100), nullable=True))
    kind: str = Field(sa_column=Column(String(48), nullable=False, index=True))
    severity: str = Field(sa_column=Column(String(8), nullable=False))
    act: str = Field(sa_column=Column(Text, nullable=False))
    decision_number: str = Field(sa_column=Column(String(100), nullable=False))
    effective_from: datetime = Field(sa_column=timestamp_column(nullable=False))
    effective_to: datetime | None = Field(default=None, sa_column=timestamp_column())
    categories: list[str] = Field(default_factory=list, sa_column=Column(
        ARRAY(String(32)), nullable=False, server_default=text("'{}'::varchar[]")))
    region_codes: list[str] = Field(default_factory=list, sa_column=Column(
        ARRAY(String(6)), nullable=False, server_default=text("'{}'::varchar[]")))
    status: str = Field(default=ACTIVE, sa_column=Column(String(16), nullable=False, server_default=ACTIVE))
    status_reason: str | None = Field(default=None, sa_column=Column(String(500), nullable=True))
    status_document: str | None = Field(default=None, sa_column=Column(String(100), nullable=True))
    status_changed_at: datetime | None = Field(default=None, sa_column=timestamp_column())
    channel: str = Field(sa_column=Column(String(16), nullable=False))
    entered_by: str = Field(sa_column=Column(String(200), nullable=False))
    created_at: datetime = Field(sa_column=created_at_column())


class CreditRecordChange(SQLModel, table=True):
    """The history of a record: entry, updates by its department, repair, revocation."""

    __tablename__ = "credit_record_changes"
    __table_args__ = (
        CheckConstraint("action IN ('entered', 'updated', 'repaired', 'revoked')",
                        name="credit_record_changes_action_known"),
    )

    id: int | None = Field(default=None, primary_key=True)
    record_id: int = Field(sa_column=Column(Integer, ForeignKey("credit_records.id"), nullable=False, index=True))
    action: str = Field(sa_column=Column(String(16), nullable=False))
    actor: str = Field(sa_column=Column(String(200), nullable=False))
    reason: str | None = Field(default=None, sa_column=Column(String(500), nullable=True))
    document_number: str | None = Field(default=None, sa_column=Column(String(100), nullable=True))
    changes: dict[str, Any] = Field(default_factory=dict, sa_column=Column(
        JSONB, nullable=False, server_default=text("'{}'::jsonb")))
    at: datetime = Field(sa_column=created_at_column())


class CreditEvidence(SQLModel, table=True):
    """An evidence file, kept in the database with its digest: of a record or of a bribery check."""

    __tablename__ = "credit_evidence"
    __table_args__ = (
        CheckConstraint(f"size_bytes > 0 AND size_bytes <= {MAX_EVIDENCE_BYTES}", name="credit_evidence_size_capped"),
        CheckConstraint("num_nonnulls(record_id, bribery_check_id) = 1", name="credit_evidence_one_owner"),
    )

    id: int | None = Field(default=None, primary_key=True)
    record_id: int | None = Field(default=None, sa_column=Column(
        Integer, ForeignKey("credit_records.id"), nullable=True, index=True))
    bribery_check_id: int | None = Field(default=None, sa_column=Column(
        Integer, ForeignKey("credit_bribery_checks.id"), nullable=True, index=True))
    filename: str = Field(sa_column=Column(String(255), nullable=False))
    content_type: str = Field(sa_column=Column(String(100), nullable=False))
    size_bytes: int = Field(sa_column=Column(BigInteger, nullable=False))
    sha256: str = Field(sa_column=Column(String(64), nullable=False))
    data: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    uploaded_by: str = Field(sa_column=Column(String(200), nullable=False))
    uploaded_at: datetime = Field(sa_column=created_at_column())


class BriberyCheck(SQLModel, table=True):
    """One bribery-record check (行贿犯罪记录核查) for a registration: who checked, how, what was found.

    Keyed by project code and subject, not by a registration row, so that credit/ needs
    nothing of bidding/; several checks per registration make its audit trail.
    """

    __tablename__ = "credit_bribery_checks"
    __table_args__ = (
        CheckConstraint("outcome IN ('clear', 'found')", name="credit_bribery_checks_outcome_known"),
        CheckConstraint(f"subject_type IN ('{ORGANISATION}', '{PERSON}')",
                        name="credit_bribery_checks_subject_type_known"),
        Index("ix_credit_bribery_checks_registration", "project_code", "subject_type", "subject_key"),
    )

    id: int | None = Field(default=None, primary_key=True)
    project_code: str = Field(sa_column=Column(String(40), nullable=False))
    subject_type: str = Field(sa_column=Column(String(16), nullable=False))
    subject_key: str = Field(sa_column=Column(String(18), nullable=False))
    source: str = Field(sa_column=Column(String(40), nullable=False))
    method: str = Field(sa_column=Column(String(32), nullable=False))
    outcome: str = Field(sa_column=Column(String(8), nullable=False))
    note: str = Field(sa_column=Column(Text, nullable=False, server_default=text("''")))
    document_number: str | None = Field(default=None, sa_column=Column(String(100), nullable=True))
    lookback_from: datetime | None = Field(default=None, sa_column=timestamp_column())
    found_record_ids: list[int] = Field(default_factory=list, sa_column=Column(
        ARRAY(Integer), nullable=False, server_default=text("'{}'::integer[]")))
    checked_by: str = Field(sa_column=Column(String(200), nullable=False))
    checked_at: datetime = Field(sa_column=created_at_column())
