"""Credit publicity (信用公示): the restrictions in force, as the public may see them.

Only serious records that are active and inside their period at the moment asked are
listed: repaired, revoked, expired and not-yet-effective records leave the list by
themselves. A person's name and ID number are masked.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from credit.facts import ACTIVE, describe_period
from credit.models import CreditRecord
from credit.reference import SERIOUS, departments, record_kinds
from credit.subjects import Subject
from trading.identifiers import validate_credit_code
from trading.rules.store import TRADING_CATEGORIES
from trading.errors import InvalidInput

PUBLIC_LIMIT = 200
QUERY_MAX_LENGTH = 100


@dataclass(frozen=True)
class PublicRestriction:
    subject_type_name: str
    subject_name: str  # masked for a person
    subject_key: str  # masked for a person
    department_name: str
    kind_name: str
    act: str
    decision_number: str
    period: str
    scope: str

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def describe_scope(categories: list[str], region_codes: list[str]) -> str:
    where = "全部地区" if not region_codes else "地区 " + "、".join(region_codes)
    what = "全部交易类别" if not categories else "、".join(TRADING_CATEGORIES.get(c, c) for c in categories)
    return f"{what}；{where}"


def _public(record: CreditRecord) -> PublicRestriction:
    subject = Subject(record.subject_type, record.subject_key, record.subject_name)
    department = departments().get(record.department_code)
    kind = record_kinds().get(record.kind)
    return PublicRestriction(
        subject_type_name=subject.type_name, subject_name=subject.public_name(), subject_key=subject.public_key(),
        department_name=department.name if department else record.department_code,
        kind_name=kind.name if kind else record.kind, act=record.act, decision_number=record.decision_number,
        period=describe_period(record.effective_from, record.effective_to),
        scope=describe_scope(list(record.categories), list(record.region_codes)))


def _key_of(text: str) -> str | None:
    try:
        return validate_credit_code(text)
    except InvalidInput:
        cleaned = text.strip().upper()
        return cleaned if len(cleaned) == 18 and cleaned.isalnum() else None


async def public_restrictions(
    session: AsyncSession, *, query: str | None = None, at: datetime | None = None, limit: int = PUBLIC_LIMIT,
) -> list[PublicRestriction]:
    """Restrictions in force at ``at`` (default: the database clock), searched by name or code."""
    moment = at if at is not None else func.now()
    conditions = [CreditRecord.status == ACTIVE, CreditRecord.severity == SERIOUS,
                  CreditRecord.effective_from <= moment,
                  or_(CreditRecord.effective_to.is_(None), CreditRecord.effective_to > moment)]
    text = (query or "").strip()[:QUERY_MAX_LENGTH]
    if text:
        key = _key_of(text)
        like = "%" + text.replace("\\", "").replace("%", "").replace("_", "") + "%"
        conditions.append(or_(CreditRecord.subject_name.ilike(like), CreditRecord.subject_key == key)
                          if key else CreditRecord.subject_name.ilike(like))
    rows = (await session.scalars(select(CreditRecord).where(*conditions)
                                  .order_by(CreditRecord.effective_from.desc(), CreditRecord.id.desc())
                                  .limit(limit))).all()
    return [_public(record) for record in rows]
