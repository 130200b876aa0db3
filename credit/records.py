"""Credit records: entry by the center's credit staff, updates from their department,
repair (信用修复) and revocation. History is kept: a record is never deleted or silently
overwritten; each change is a ``credit_record_changes`` row and an audit entry in the
same transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from credit.evidence import EvidenceFile, store_evidence
from credit.facts import ACTIVE, EXPIRED, PENDING, REPAIRED, REVOKED, SHOWN_STATUS_NAMES, RecordFacts
from credit.models import CHANNELS, CreditRecord, CreditRecordChange
from credit.reference import departments, find_department, find_kind, record_kinds
from credit.subjects import PERSON, Subject, validate_subject_key, validate_subject_name, validate_subject_type
from credit.validation import (
    parse_day_or_moment,
    validate_act,
    validate_decision_number,
    validate_department_record_id,
    validate_document,
    validate_period,
    validate_reason,
    validate_scope_categories,
    validate_scope_regions,
)
from trading.audit import record_event
from trading.database import transaction_now
from trading.errors import Conflict, InvalidInput, NotFound

LIST_LIMIT = 500


@dataclass(frozen=True)
class RecordValues:
    """The validated, normalised values of a record (what entry, import and push store)."""

    subject_type: str
    subject_key: str
    subject_name: str
    department: str
    kind: str
    severity: str
    act: str
    decision_number: str
    effective_from: datetime
    effective_to: datetime | None
    categories: tuple[str, ...]
    region_codes: tuple[str, ...]
    department_record_id: str | None = None

    @property
    def subject(self) -> Subject:
        return Subject(self.subject_type, self.subject_key, self.subject_name)


def _as_text(value: Any) -> str:
    return "" if value is None else str(value)


def _as_items(value: Any) -> Iterable[str] | str:
    if value is None:
        return ()
    if isinstance(value, str):
        return value
    if isinstance(value, (list, tuple, set, frozenset)):
        return [str(item) for item in value]
    return str(value)


def check_record_values(raw: Mapping[str, Any]) -> tuple[RecordValues | None, list[InvalidInput]]:
    """Validate every value of a record separately: (values, []) or (None, every error).

    ``raw`` holds the arguments of :func:`record_values`; dates may be ``date`` objects
    or text such as ``2026-03-01``. Each error's ``details["field"]`` names its argument.
    """
    errors: list[InvalidInput] = []

    def check(check_value: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        try:
            return check_value(*args, **kwargs)
        except InvalidInput as exc:
            errors.append(exc)
            return None

    subject_type = check(validate_subject_type, _as_text(raw.get("subject_type")))
    subject_key = check(validate_subject_key, subject_type, _as_text(raw.get("subject_key"))) if subject_type else None
    subject_name = check(validate_subject_name, _as_text(raw.get("subject_name")))
    department = check(find_department, _as_text(raw.get("department")))
    record_kind = check(find_kind, _as_text(raw.get("kind")))
    act = check(validate_act, _as_text(raw.get("act")))
    decision_number = check(validate_decision_number, _as_text(raw.get("decision_number")))
    start = check(parse_day_or_moment, raw.get("effective_from"), "effective_from", "生效日期")
    before = len(errors)
    end = check(parse_day_or_moment, raw.get("effective_to"), "effective_to", "截止日期", required=False)
    period = check(validate_period, start, end) if start is not None and len(errors) == before else None
    categories = check(validate_scope_categories, _as_items(raw.get("categories")))
    region_codes = check(validate_scope_regions, _as_items(raw.get("region_codes")))
    record_id = check(validate_department_record_id, _as_text(raw.get("department_record_id")))
    if errors:
        return None, errors
    return RecordValues(
        subject_type=subject_type, subject_key=subject_key, subject_name=subject_name, department=department.code,
        kind=record_kind.code, severity=record_kind.severity, act=act, decision_number=decision_number,
        effective_from=period[0], effective_to=period[1], categories=tuple(categories),
        region_codes=tuple(region_codes), department_record_id=record_id,
    ), []


def record_values(
    *, subject_type: str, subject_key: str, subject_name: str, department: str, kind: str, act: str,
    decision_number: str, effective_from: date | datetime | str, effective_to: date | datetime | str | None = None,
    categories: Iterable[str] | str | None = (), region_codes: Iterable[str] | str | None = (),
    department_record_id: str | None = None,
) -> RecordValues:
    """Validate and normalise every value of a record; the first bad one raises :class:`InvalidInput`.

    The severity follows from the kind (data: ``credit/data/record_kinds.toml``).
    """
    values, errors = check_record_values(dict(
        subject_type=subject_type, subject_key=subject_key, subject_name=subject_name, department=department,
        kind=kind, act=act, decision_number=decision_number, effective_from=effective_from,
        effective_to=effective_to, categories=categories, region_codes=region_codes,
        department_record_id=department_record_id))
    if errors:
        raise errors[0]
    return values


def facts_of(record: CreditRecord) -> RecordFacts:
    """The record as the pure decisions see it, with the department's and kind's names."""
    department = departments().get(record.department_code)
    kind = record_kinds().get(record.kind)
    return RecordFacts(
        id=record.id, subject_type=record.subject_type, subject_key=record.subject_key,
        department=record.department_code, department_name=department.name if department else record.department_code,
        kind=record.kind, kind_name=kind.name if kind else record.kind, severity=record.severity,
        decision_number=record.decision_number, act=record.act, effective_from=record.effective_from,
        effective_to=record.effective_to, categories=frozenset(record.categories),
        region_codes=frozenset(record.region_codes), status=record.status,
    )


def shown_status(record: CreditRecord, moment: datetime) -> str:
    """active, pending, expired (by time), repaired or revoked."""
    if record.status != ACTIVE:
        return record.status
    if record.effective_from > moment:
        return PENDING
    if record.effective_to is not None and record.effective_to <= moment:
        return EXPIRED
    return ACTIVE


def _public_subject_key(values: RecordValues | CreditRecord) -> str:
    return Subject(values.subject_type, values.subject_key, values.subject_name).public_key()


def _audit_data(values: RecordValues) -> dict[str, Any]:
    # Personal ID numbers stay out of the audit log: the record id leads to them.
    return {"subject_type": values.subject_type, "subject_key": _public_subject_key(values),
            "department": values.department, "kind": values.kind, "severity": values.severity,
            "decision_number": values.decision_number, "effective_from": values.effective_from.isoformat(),
            "effective_to": values.effective_to.isoformat() if values.effective_to else None,
            "categories": list(values.categories), "region_codes": list(values.region_codes),
            "department_record_id": values.department_record_id}


async def _same_decision(session: AsyncSession, values: RecordValues) -> int | None:
    return await session.scalar(select(CreditRecord.id).where(
        CreditRecord.department_code == values.department, CreditRecord.decision_number == values.decision_number,
        CreditRecord.subject_type == values.subject_type, CreditRecord.subject_key == values.subject_key,
        CreditRecord.kind == values.kind))


async def save_new_record(
    session: AsyncSession, *, actor: str, values: RecordValues, channel: str, evidence: Sequence[EvidenceFile] = (),
) -> CreditRecord:
    """Insert a validated record with its evidence, history row and audit entry.

    The same decision (department, decision number, subject, kind) is entered once.
    """
    if channel not in CHANNELS:
        raise InvalidInput(f"未知的录入渠道「{channel}」", code="unknown_channel", field="channel")
    existing = await _same_decision(session, values)
    if existing is not None:
        raise Conflict(f"该部门的决定文书 {values.decision_number} 对该主体的同类记录已登记（记录 {existing}）", code="duplicate_decision",
                       field="decision_number", record_id=existing)
    if values.department_record_id is not None and await session.scalar(select(CreditRecord.id).where(
            CreditRecord.department_code == values.department,
            CreditRecord.department_record_id == values.department_record_id)):
        raise Conflict(f"部门记录编号「{values.department_record_id}」已登记",
                       code="duplicate_department_record", field="department_record_id")
    fields = asdict(values)
    fields["department_code"] = fields.pop("department")
    fields["categories"], fields["region_codes"] = list(values.categories), list(values.region_codes)
    record = CreditRecord(**fields, channel=channel, entered_by=actor)
    session.add(record)
    await session.flush()
    session.add(CreditRecordChange(record_id=record.id, action="entered", actor=actor,
                                   changes={"channel": channel}))
    await record_event(session, actor=actor, action="credit.record_entered", subject=f"credit_record:{record.id}",
                       data={**_audit_data(values), "channel": channel})
    for file in evidence:
        await store_evidence(session, actor=actor, file=file, record_id=record.id)
    await session.flush()
    return record


async def enter_record(
    session: AsyncSession, *, actor: str, subject_type: str, subject_key: str, subject_name: str, department: str,
    kind: str, act: str, decision_number: str, effective_from: date | datetime,
    effective_to: date | datetime | None = None, categories: Iterable[str] | str | None = (),
    region_codes: Iterable[str] | str | None = (), department_record_id: str | None = None,
    channel: str = "portal", evidence: Sequence[EvidenceFile] = (),
) -> CreditRecord:
    """Enter one credit record (credit staff, portal or API), with optional evidence files.

    Dates: a start date counts from 00:00 and an end date through its whole day (the
    center's zone); no end date means the record is in force until repaired or revoked.
    Empty ``categories``/``region_codes`` mean all categories/regions.
    """
    values = record_values(subject_type=subject_type, subject_key=subject_key, subject_name=subject_name,
                           department=department, kind=kind, act=act, decision_number=decision_number,
                           effective_from=effective_from, effective_to=effective_to, categories=categories,
                           region_codes=region_codes, department_record_id=department_record_id)
    return await save_new_record(session, actor=actor, values=values, channel=channel, evidence=evidence)


_COMPARED = ("subject_type", "subject_key", "subject_name", "kind", "severity", "act", "decision_number",
             "effective_from", "effective_to", "categories", "region_codes")


def changes_between(record: CreditRecord, values: RecordValues) -> dict[str, list[Any]]:
    """What differs between the stored record and new values: field -> [old, new] (JSON-ready)."""

    def plain(value: Any) -> Any:
        if isinstance(value, datetime):
            return value.isoformat()
        return list(value) if isinstance(value, (list, tuple)) else value

    changes = {}
    for name in _COMPARED:
        old, new = getattr(record, name), getattr(values, name)
        if isinstance(old, (list, tuple)):
            old, new = list(old), list(new)
        if old != new:
            if name == "subject_key" and record.subject_type == PERSON:
                old, new = _public_subject_key(record), _public_subject_key(values)
            changes[name] = [plain(old), plain(new)]
    return changes


async def update_record(session: AsyncSession, *, actor: str, record: CreditRecord, values: RecordValues) -> dict[str, list[Any]]:
    """Apply a department's corrected values to its record; returns the changes (none: nothing written)."""
    changes = changes_between(record, values)
    if not changes:
        return {}
    for name in _COMPARED:
        value = getattr(values, name)
        setattr(record, name, list(value) if isinstance(value, tuple) else value)
    session.add(CreditRecordChange(record_id=record.id, action="updated", actor=actor, changes=changes))
    await session.flush()
    await record_event(session, actor=actor, action="credit.record_updated", subject=f"credit_record:{record.id}",
                       data={"changes": changes})
    return changes


async def get_record(session: AsyncSession, record_id: int, *, for_update: bool = False) -> CreditRecord:
    query = select(CreditRecord).where(CreditRecord.id == record_id)
    if for_update:
        query = query.with_for_update()
    record = await session.scalar(query)
    if record is None:
        raise NotFound(f"未找到信用记录 {record_id}", record_id=record_id)
    return record


async def _change_status(
    session: AsyncSession, *, actor: str, record_id: int, status: str, allowed_from: tuple[str, ...], reason: str,
    document_number: str | None, evidence: Sequence[EvidenceFile],
) -> CreditRecord:
    reason = validate_reason(reason)
    document_number = validate_document(document_number)
    record = await get_record(session, record_id, for_update=True)
    if record.status not in allowed_from:
        raise Conflict(f"信用记录 {record_id} 当前状态为「{SHOWN_STATUS_NAMES[record.status]}」，"
                       f"不能{'信用修复' if status == REPAIRED else '撤销'}",
                       code="record_state", record_id=record_id, status=record.status)
    previous = record.status
    record.status, record.status_reason, record.status_document = status, reason, document_number
    record.status_changed_at = await transaction_now(session)
    action = "repaired" if status == REPAIRED else "revoked"
    session.add(CreditRecordChange(record_id=record.id, action=action, actor=actor, reason=reason,
                                   document_number=document_number, changes={"status": [previous, status]}))
    await session.flush()
    await record_event(session, actor=actor, action=f"credit.record_{action}", subject=f"credit_record:{record.id}",
                       data={"from": previous, "reason": reason, "document_number": document_number})
    for file in evidence:
        await store_evidence(session, actor=actor, file=file, record_id=record.id)
    return record


async def repair_record(
    session: AsyncSession, *, actor: str, record_id: int, reason: str, document_number: str | None = None,
    evidence: Sequence[EvidenceFile] = (),
) -> CreditRecord:
    """Credit repair (信用修复) of an active record: it stops deciding anything; history kept."""
    return await _change_status(session, actor=actor, record_id=record_id, status=REPAIRED, allowed_from=(ACTIVE,),
                                reason=reason, document_number=document_number, evidence=evidence)


async def revoke_record(
    session: AsyncSession, *, actor: str, record_id: int, reason: str, document_number: str | None = None,
    evidence: Sequence[EvidenceFile] = (),
) -> CreditRecord:
    """Revoke a record (the decision was withdrawn or entered in error); history kept."""
    return await _change_status(session, actor=actor, record_id=record_id, status=REVOKED,
                                allowed_from=(ACTIVE, REPAIRED), reason=reason, document_number=document_number,
                                evidence=evidence)


async def record_history(session: AsyncSession, record_id: int) -> list[CreditRecordChange]:
    return list((await session.scalars(select(CreditRecordChange).where(CreditRecordChange.record_id == record_id)
                                       .order_by(CreditRecordChange.id))).all())


async def records_of_subject(session: AsyncSession, subject_type: str, subject_key: str) -> list[CreditRecord]:
    """Every record of one subject, in any status (the decisions look at period and status)."""
    return list((await session.scalars(select(CreditRecord).where(
        CreditRecord.subject_type == subject_type, CreditRecord.subject_key == subject_key)
        .order_by(CreditRecord.effective_from, CreditRecord.id))).all())


async def list_records(
    session: AsyncSession, *, query: str | None = None, department: str | None = None, kind: str | None = None,
    severity: str | None = None, status: str | None = None, at: datetime | None = None, limit: int = LIST_LIMIT,
) -> list[CreditRecord]:
    """Records for the credit staff, newest first, filtered; ``status`` is as shown
    (active, pending, expired, repaired, revoked) at ``at`` (default: the database clock)."""
    moment = at if at is not None else func.now()
    conditions = []
    if query:
        text = query.strip()
        like = f"%{text.replace('%', '').replace('_', '')}%"
        conditions.append(or_(CreditRecord.subject_name.ilike(like), CreditRecord.subject_key == text.upper(),
                              CreditRecord.decision_number.ilike(like)))
    if department:
        conditions.append(CreditRecord.department_code == find_department(department).code)
    if kind:
        conditions.append(CreditRecord.kind == find_kind(kind).code)
    if severity:
        if severity not in ("serious", "minor"):
            raise InvalidInput(f"未知的失信等级「{severity}」：应为 serious 或 minor", code="unknown_severity", field="severity")
        conditions.append(CreditRecord.severity == severity)
    if status:
        in_period = (CreditRecord.effective_from <= moment) & (
            CreditRecord.effective_to.is_(None) | (CreditRecord.effective_to > moment))
        by_status = {
            ACTIVE: (CreditRecord.status == ACTIVE) & in_period,
            PENDING: (CreditRecord.status == ACTIVE) & (CreditRecord.effective_from > moment),
            EXPIRED: (CreditRecord.status == ACTIVE) & (CreditRecord.effective_to <= moment),
            REPAIRED: CreditRecord.status == REPAIRED,
            REVOKED: CreditRecord.status == REVOKED,
        }
        if status not in by_status:
            raise InvalidInput(f"未知的记录状态「{status}」：应为{'、'.join(by_status)}之一",
                               code="unknown_record_status", field="status")
        conditions.append(by_status[status])
    return list((await session.scalars(select(CreditRecord).where(*conditions)
                                       .order_by(CreditRecord.id.desc()).limit(limit))).all())
