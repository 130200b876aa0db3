"""Records pushed by a department through the API, idempotent on the department's record id.

A push is a batch of the department's records: every item is checked first, and any bad
item rejects the whole batch with the full list of (item, field, reason). Then each item
is created, or, when the department already pushed that record id, compared with what is
stored: the same values change nothing (a retried push is harmless), corrected values
update the record, and a pushed status ``repaired``/``revoked`` repairs or revokes it —
each change with its history row and audit entry.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from credit.facts import ACTIVE, REPAIRED, REVOKED, STATUS_NAMES
from credit.models import CreditRecord
from credit.records import (
    RecordValues,
    changes_between,
    check_record_values,
    repair_record,
    revoke_record,
    save_new_record,
    update_record,
)
from credit.reference import Department
from credit.validation import validate_document, validate_reason
from trading.audit import record_event
from trading.errors import DomainError, InvalidInput

MAX_ITEMS = 1000
CREATED, UPDATED, UNCHANGED = "created", "updated", "unchanged"

# Item field -> service argument of record_values (the same names).
FIELDS = ("record_id", "subject_type", "subject_key", "subject_name", "kind", "act", "decision_number",
          "effective_from", "effective_to", "categories", "region_codes", "status", "status_reason",
          "status_document")


@dataclass(frozen=True)
class ItemError:
    index: int  # position in the batch, from 1
    field: str
    reason: str

    def as_dict(self) -> dict[str, Any]:
        return {"item": self.index, "field": self.field, "reason": self.reason}

    def describe(self) -> str:
        return f"第 {self.index} 条「{self.field}」：{self.reason}"


class PushRejected(InvalidInput):
    """Nothing was written; ``errors`` lists every bad item field."""

    code = "push_rejected"

    def __init__(self, errors: Sequence[ItemError]) -> None:
        shown = "；".join(error.describe() for error in errors[:5])
        more = f"……共 {len(errors)} 处错误" if len(errors) > 5 else ""
        super().__init__(f"报送未执行，共 {len(errors)} 处错误：{shown}{more}",
                         errors=[error.as_dict() for error in errors])
        self.errors = list(errors)


@dataclass(frozen=True)
class PushOutcome:
    record_id: str
    id: int
    outcome: str  # created, updated or unchanged

    def as_dict(self) -> dict[str, Any]:
        return {"record_id": self.record_id, "id": self.id, "outcome": self.outcome}


@dataclass(frozen=True)
class _Planned:
    index: int
    values: RecordValues
    status: str
    status_reason: str | None
    status_document: str | None
    existing: CreditRecord | None


def _check_item(index: int, item: Any, department: Department) -> tuple[dict[str, Any] | None, list[ItemError]]:
    if not isinstance(item, Mapping):
        return None, [ItemError(index, "-", "每条记录应为 JSON 对象")]
    unknown = sorted(set(item) - set(FIELDS))
    if unknown:
        return None, [ItemError(index, name, "未知字段") for name in unknown]
    errors = []
    record_id = item.get("record_id")
    if record_id is None or not str(record_id).strip():
        errors.append(ItemError(index, "record_id", "部门记录编号不能为空：报送按此编号去重"))
    raw = {name: item.get(name) for name in FIELDS if name not in ("record_id", "status", "status_reason",
                                                                   "status_document")}
    values, problems = check_record_values({**raw, "department": department.code,
                                            "department_record_id": str(record_id or "")})
    errors += [ItemError(index, problem.details.get("field", "-"), problem.message) for problem in problems]
    status = item.get("status") or ACTIVE
    reason = document = None
    if status not in STATUS_NAMES:
        errors.append(ItemError(index, "status", f"未知的状态「{status}」：应为 active、repaired 或 revoked"))
    elif status != ACTIVE:
        for name, check in (("status_reason", validate_reason), ("status_document", validate_document)):
            try:
                checked = check(str(item.get(name) or ""), name)
            except InvalidInput as exc:
                errors.append(ItemError(index, name, exc.message))
                continue
            reason, document = (checked, document) if name == "status_reason" else (reason, checked)
    if errors:
        return None, errors
    return {"values": values, "status": status, "status_reason": reason, "status_document": document}, []


async def _plan(session: AsyncSession, department: Department, items: Sequence[Any]) -> list[_Planned]:
    if not items:
        raise InvalidInput("报送内容为空：records 至少包含一条记录", code="empty_push", field="records")
    if len(items) > MAX_ITEMS:
        raise InvalidInput(f"一次最多报送 {MAX_ITEMS} 条记录", code="push_too_large", field="records")
    errors: list[ItemError] = []
    planned: list[_Planned] = []
    first_of: dict[str, int] = {}
    for index, item in enumerate(items, start=1):
        checked, item_errors = _check_item(index, item, department)
        if checked is None:
            errors += item_errors
            continue
        values: RecordValues = checked["values"]
        first = first_of.setdefault(values.department_record_id, index)
        if first != index:
            errors.append(ItemError(index, "record_id", f"部门记录编号与第 {first} 条重复"))
            continue
        existing = await session.scalar(select(CreditRecord).where(
            CreditRecord.department_code == department.code,
            CreditRecord.department_record_id == values.department_record_id).with_for_update())
        status = checked["status"]
        if existing is not None and existing.status != status and (
                existing.status == REVOKED or status == ACTIVE):
            errors.append(ItemError(index, "status", f"记录已为「{STATUS_NAMES[existing.status]}」，"
                                                     f"不能改为「{STATUS_NAMES[status]}」"))
            continue
        planned.append(_Planned(index, values, status, checked["status_reason"], checked["status_document"], existing))
    if errors:
        raise PushRejected(errors)
    return planned


async def push_records(
    session: AsyncSession, *, actor: str, department: Department, items: Sequence[Any],
) -> list[PushOutcome]:
    """Take a department's batch of records: all items, or none (:class:`PushRejected`)."""
    planned = await _plan(session, department, items)
    outcomes = []
    async with session.begin_nested():  # should an item fail while writing, none stays
        for plan in planned:
            try:
                outcomes.append(await _apply(session, actor, plan))
            except DomainError as exc:
                raise PushRejected([ItemError(plan.index, exc.details.get("field", "-"), exc.message)]) from exc
        await record_event(session, actor=actor, action="credit.records_pushed", subject=f"department:{department.code}",
                           data={"items": len(planned),
                                 **{name: sum(1 for o in outcomes if o.outcome == name)
                                    for name in (CREATED, UPDATED, UNCHANGED)}})
    return outcomes


async def _apply(session: AsyncSession, actor: str, plan: _Planned) -> PushOutcome:
    record_id = plan.values.department_record_id or ""
    record = plan.existing
    if record is None:
        record = await save_new_record(session, actor=actor, values=plan.values, channel="push")
        outcome = CREATED
    else:
        outcome = UPDATED if changes_between(record, plan.values) else UNCHANGED
        await update_record(session, actor=actor, record=record, values=plan.values)
    if plan.status != record.status:
        change = repair_record if plan.status == REPAIRED else revoke_record
        await change(session, actor=actor, record_id=record.id, reason=plan.status_reason or "",
                     document_number=plan.status_document)
        outcome = UPDATED if outcome == UNCHANGED else outcome
    return PushOutcome(record_id, record.id, outcome)
