"""Registering and maintaining experts: profile, status, leave and declared conflicts.

Every change writes its audit entry in the caller's transaction. Audit data never holds a
full ID number or phone number: the log is exported to outside verifiers.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import delete, func, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from expert_pool.fields import (
    ExpertStatus,
    check_city_code,
    check_name,
    check_phone,
    check_reason,
    check_review_date,
    check_status,
    check_title,
    check_years,
    years_from,
)
from expert_pool.models import Expert, ExpertConflict, ExpertLeave, ExpertSpecialty
from expert_pool.specialties import check_codes, subtree_codes
from trading.audit import AuditEvent, record_event, record_events
from trading.columns import text_length
from trading.database import database_now, insert_in_batches
from trading.errors import Conflict, InvalidInput, NotFound
from trading.identifiers import mask_id_number, mask_phone, validate_credit_code, validate_id_number
from trading.organisations import Organisation

CODE_PREFIX = "EXP"

# Status changes an administrator may make; retirement is final.
ALLOWED_TRANSITIONS: Mapping[ExpertStatus, frozenset[ExpertStatus]] = {
    ExpertStatus.ACTIVE: frozenset({ExpertStatus.SUSPENDED, ExpertStatus.RETIRED, ExpertStatus.UNDER_REVIEW}),
    ExpertStatus.SUSPENDED: frozenset({ExpertStatus.ACTIVE, ExpertStatus.RETIRED, ExpertStatus.UNDER_REVIEW}),
    ExpertStatus.UNDER_REVIEW: frozenset({ExpertStatus.ACTIVE, ExpertStatus.SUSPENDED, ExpertStatus.RETIRED}),
    ExpertStatus.RETIRED: frozenset(),
}


def expert_code(serial: int) -> str:
    return f"{CODE_PREFIX}{serial:06d}"


def subject_of(expert: Expert | NewExpert) -> str:
    return f"expert:{expert.code}"


async def next_expert_ids(session: AsyncSession, count: int) -> list[int]:
    """Reserve ``count`` ids from the table's sequence, so each code can be derived from its id."""
    rows = await session.scalars(text("SELECT nextval(pg_get_serial_sequence('experts', 'id')) "
                                      "FROM generate_series(1, :n)"), {"n": count})
    return list(rows.all())


async def today(session: AsyncSession) -> date:
    """The database's current date (the center's deadlines follow the database clock)."""
    return await session.scalar(select(func.current_date()))


def one_year_after(day: date) -> date:
    return years_from(day, 1)


EMPLOYER_NAME_LENGTH = text_length(Expert.__table__.c.employer_name)


def check_employer_name(value: str | None) -> str | None:
    name = (value or "").strip()
    if len(name) > EMPLOYER_NAME_LENGTH:
        raise InvalidInput(f"工作单位名称过长：最多{EMPLOYER_NAME_LENGTH}个字符，实为{len(name)}个",
                           code="employer_name_too_long", field="employer_name")
    return name or None


async def organisation_id_for(session: AsyncSession, credit_code: str) -> int | None:
    return await session.scalar(select(Organisation.id).where(Organisation.credit_code == credit_code))


async def get_expert(session: AsyncSession, code: str, *, for_update: bool = False) -> Expert:
    query = select(Expert).where(Expert.code == code.strip().upper())
    if for_update:
        query = query.with_for_update()
    expert = await session.scalar(query)
    if expert is None:
        raise NotFound(f"未找到专家编号为 {code} 的专家", expert=code)
    return expert


async def specialties_of(session: AsyncSession, expert_ids: Sequence[int]) -> dict[int, list[str]]:
    rows = await session.execute(
        select(ExpertSpecialty.expert_id, ExpertSpecialty.specialty_code)
        .where(ExpertSpecialty.expert_id.in_(list(expert_ids)))
        .order_by(ExpertSpecialty.expert_id, ExpertSpecialty.specialty_code))
    grouped: dict[int, list[str]] = defaultdict(list)
    for expert_id, code in rows.all():
        grouped[expert_id].append(code)
    return grouped


def describe_expert(expert: Expert, specialties: Sequence[str], *, masked: bool = True) -> dict[str, Any]:
    """The expert as plain data; ``masked`` hides the ID and phone numbers (every public output)."""
    return {
        "code": expert.code,
        "name": expert.name,
        "id_number": mask_id_number(expert.id_number) if masked else expert.id_number,
        "employer_credit_code": expert.employer_credit_code,
        "employer_name": expert.employer_name,
        "specialties": list(specialties),
        "title": expert.title,
        "years_in_field": expert.years_in_field,
        "city_code": expert.city_code,
        "phone": mask_phone(expert.phone) if masked else expert.phone,
        "status": expert.status,
        "status_label": ExpertStatus(expert.status).label,
        "status_reason": expert.status_reason,
        "status_changed_at": expert.status_changed_at.isoformat() if expert.status_changed_at else None,
        "next_review_due": expert.next_review_due.isoformat(),
    }


def _audit_profile(fields: Mapping[str, Any], specialties: Sequence[str]) -> dict[str, Any]:
    return {"name": fields["name"], "id_number": mask_id_number(fields["id_number"]),
            "employer_credit_code": fields["employer_credit_code"], "specialties": list(specialties),
            "title": fields["title"], "years_in_field": fields["years_in_field"], "city_code": fields["city_code"],
            "phone": mask_phone(fields["phone"]), "next_review_due": fields["next_review_due"].isoformat()}


async def _set_specialties(session: AsyncSession, expert_id: int, codes: Sequence[str]) -> None:
    await session.execute(delete(ExpertSpecialty).where(ExpertSpecialty.expert_id == expert_id))
    session.add_all(ExpertSpecialty(expert_id=expert_id, specialty_code=code) for code in codes)
    await session.flush()


@dataclass(frozen=True)
class NewExpert:
    """An already validated expert and the id reserved for it (:func:`next_expert_ids`)."""

    expert_id: int
    fields: Mapping[str, Any]
    specialties: Sequence[str]

    @property
    def code(self) -> str:
        return expert_code(self.expert_id)


async def insert_experts(session: AsyncSession, *, actor: str, experts: Sequence[NewExpert],
                         action: str = "expert.registered") -> None:
    """Insert validated experts with their specialties and one audit entry each, in a few
    statements however many there are (an import brings tens of thousands)."""
    await session.flush()
    await insert_in_batches(session, Expert.__table__,
                            [{"id": new.expert_id, "code": new.code, **new.fields} for new in experts])
    await insert_in_batches(session, ExpertSpecialty.__table__, [
        {"expert_id": new.expert_id, "specialty_code": code} for new in experts for code in new.specialties])
    await record_events(session, [AuditEvent(actor, action, subject_of(new), _audit_profile(new.fields, new.specialties))
                                  for new in experts])


async def register_expert(
    session: AsyncSession,
    *,
    actor: str,
    name: str,
    id_number: str,
    employer_credit_code: str,
    specialties: Sequence[str],
    title: str,
    years_in_field: int,
    city_code: str,
    phone: str,
    employer_name: str | None = None,
    next_review_due: date | str | None = None,
) -> Expert:
    """Register an expert (status active); the first annual review falls due a year from today."""
    number = validate_id_number(id_number)
    credit_code = validate_credit_code(employer_credit_code)
    codes = await check_codes(session, specialties)
    day = await today(session)
    fields = {
        "name": check_name(name),
        "id_number": number,
        "employer_credit_code": credit_code,
        "employer_name": check_employer_name(employer_name),
        "employer_id": await organisation_id_for(session, credit_code),
        "title": check_title(title),
        "years_in_field": check_years(years_in_field),
        "city_code": check_city_code(city_code),
        "phone": check_phone(phone),
        "next_review_due": (check_review_date(next_review_due, day) if next_review_due is not None
                            else one_year_after(day)),
    }
    if await session.scalar(select(Expert.code).where(Expert.id_number == number)):
        raise Conflict(f"身份证号码 {mask_id_number(number)} 的专家已在库中", code="expert_exists", field="id_number")
    [expert_id] = await next_expert_ids(session, 1)
    await insert_experts(session, actor=actor, experts=[NewExpert(expert_id, fields, codes)])
    return await session.get(Expert, expert_id)


async def update_expert(
    session: AsyncSession,
    *,
    actor: str,
    code: str,
    name: str | None = None,
    employer_credit_code: str | None = None,
    employer_name: str | None = None,
    specialties: Sequence[str] | None = None,
    title: str | None = None,
    years_in_field: int | None = None,
    city_code: str | None = None,
    phone: str | None = None,
) -> Expert:
    """Change the given fields of an expert's profile. The ID number identifies the person
    and cannot be changed; status, leave and reviews have their own services."""
    expert = await get_expert(session, code, for_update=True)
    changes: dict[str, Any] = {}
    if name is not None:
        changes["name"] = check_name(name)
    if employer_credit_code is not None:
        credit_code = validate_credit_code(employer_credit_code)
        changes["employer_credit_code"] = credit_code
        changes["employer_id"] = await organisation_id_for(session, credit_code)
    if employer_name is not None:
        changes["employer_name"] = check_employer_name(employer_name)
    if title is not None:
        changes["title"] = check_title(title)
    if years_in_field is not None:
        changes["years_in_field"] = check_years(years_in_field)
    if city_code is not None:
        changes["city_code"] = check_city_code(city_code)
    if phone is not None:
        changes["phone"] = check_phone(phone)
    codes = await check_codes(session, specialties) if specialties is not None else None
    changed = {key: value for key, value in changes.items() if getattr(expert, key) != value}
    before = (await specialties_of(session, [expert.id])).get(expert.id, [])
    if codes is not None and sorted(codes) != before:
        await _set_specialties(session, expert.id, codes)
        changed["specialties"] = sorted(codes)
    if not changed:
        return expert
    for key, value in changed.items():
        if key != "specialties":
            setattr(expert, key, value)
    await session.flush()
    audit = {key: value for key, value in changed.items() if key != "employer_id"}
    if "phone" in audit:
        audit["phone"] = mask_phone(audit["phone"])
    await record_event(session, actor=actor, action="expert.updated", subject=subject_of(expert), data=audit)
    return expert


async def set_expert_status(session: AsyncSession, *, actor: str, code: str, status: str, reason: str,
                            action: str = "expert.status_changed", extra: Mapping[str, Any] | None = None) -> Expert:
    """Move an expert to another status with a reason (the reason is kept on the expert)."""
    new = check_status(status)
    why = check_reason(reason)
    expert = await get_expert(session, code, for_update=True)
    old = ExpertStatus(expert.status)
    if new == old:
        raise Conflict(f"专家 {expert.code} 已处于「{old.label}」状态",
                       code="expert_status_unchanged", expert=expert.code, status=old.value)
    if new not in ALLOWED_TRANSITIONS[old]:
        raise Conflict(f"专家 {expert.code} 处于「{old.label}」状态，不能改为「{new.label}」", code="expert_status_change",
                       expert=expert.code, status=old.value, requested=new.value)
    expert.status = new.value
    expert.status_reason = why
    expert.status_changed_at = await database_now(session)
    await session.flush()
    await record_event(session, actor=actor, action=action, subject=subject_of(expert),
                       data={"from": old.value, "to": new.value, "reason": why, **dict(extra or {})})
    return expert


async def add_leave(session: AsyncSession, *, actor: str, code: str, starts_at: datetime, ends_at: datetime,
                    reason: str = "") -> ExpertLeave:
    """Record a leave period: the expert is not available for any session overlapping it."""
    for moment, field in ((starts_at, "starts_at"), (ends_at, "ends_at")):
        if not isinstance(moment, datetime) or moment.tzinfo is None:
            raise InvalidInput("请假起止时间须为带时区的时间", code="naive_time", field=field)
    if ends_at <= starts_at:
        raise InvalidInput("请假结束时间应晚于开始时间", code="invalid_time_range", field="ends_at")
    expert = await get_expert(session, code)
    leave = ExpertLeave(expert_id=expert.id, starts_at=starts_at, ends_at=ends_at, reason=(reason or "").strip()[:500])
    session.add(leave)
    await session.flush()
    await record_event(session, actor=actor, action="expert.leave_added", subject=subject_of(expert),
                       data={"starts_at": starts_at.isoformat(), "ends_at": ends_at.isoformat(),
                             "reason": leave.reason})
    return leave


async def declare_conflict(session: AsyncSession, *, actor: str, code: str, credit_code: str,
                           reason: str) -> ExpertConflict:
    """Record a conflict of interest the expert declared with an organisation."""
    organisation_code = validate_credit_code(credit_code)
    why = check_reason(reason)
    expert = await get_expert(session, code)
    exists = await session.scalar(select(ExpertConflict.id).where(
        ExpertConflict.expert_id == expert.id, ExpertConflict.credit_code == organisation_code))
    if exists:
        raise Conflict(f"专家 {expert.code} 已申报与 {organisation_code} 的利害关系",
                       code="conflict_declared", credit_code=organisation_code)
    conflict = ExpertConflict(expert_id=expert.id, credit_code=organisation_code, reason=why,
                              organisation_id=await organisation_id_for(session, organisation_code))
    session.add(conflict)
    await session.flush()
    await record_event(session, actor=actor, action="expert.conflict_declared", subject=subject_of(expert),
                       data={"credit_code": organisation_code, "reason": why})
    return conflict


async def list_experts(session: AsyncSession, *, specialty: str | None = None,
                       status: str | None = None) -> list[Expert]:
    """Experts ordered by code; ``specialty`` matches the code's whole subtree."""
    query = select(Expert).order_by(Expert.code)
    if status:
        query = query.where(Expert.status == check_status(status).value)
    if specialty:
        codes = await check_codes(session, [specialty], field="specialty")
        subtree = subtree_codes(codes)
        query = query.where(Expert.id.in_(
            select(ExpertSpecialty.expert_id).where(ExpertSpecialty.specialty_code.in_(select(subtree.c.code)))))
    return list((await session.scalars(query)).all())


async def describe_experts(session: AsyncSession, experts: Sequence[Expert], *, masked: bool = True) -> list[dict[str, Any]]:
    codes = await specialties_of(session, [expert.id for expert in experts])
    return [describe_expert(expert, codes.get(expert.id, []), masked=masked) for expert in experts]
