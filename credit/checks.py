"""The credit decisions against the database: a subject's records, at the database clock.

Thin wrappers over the pure :mod:`credit.decisions`; the caller (bidding/ at registration,
web/ for the preview) builds the :class:`~credit.facts.ProjectFacts` of its project.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from credit.decisions import DepositAnswer, EligibilityAnswer, deposit_requirement, eligibility
from credit.facts import ProjectFacts, RecordFacts
from credit.records import facts_of, records_of_subject
from credit.subjects import ORGANISATION, validate_subject_key, validate_subject_type
from trading.database import transaction_now


@dataclass(frozen=True)
class CreditCheck:
    """Both answers for one subject and project at one moment."""

    subject_type: str
    subject_key: str
    eligibility: EligibilityAnswer
    deposit: DepositAnswer

    def as_dict(self) -> dict[str, Any]:
        return {"eligibility": self.eligibility.as_dict(), "deposit": self.deposit.as_dict()}


async def subject_facts(session: AsyncSession, subject_type: str, subject_key: str) -> list[RecordFacts]:
    kind = validate_subject_type(subject_type)
    return [facts_of(record) for record in await records_of_subject(session, kind, validate_subject_key(kind, subject_key))]


async def check_subject(
    session: AsyncSession, *, project: ProjectFacts, subject_key: str, subject_type: str = ORGANISATION,
    at: datetime | None = None,
) -> CreditCheck:
    """Eligibility and deposit for a subject and project at ``at`` (default: the database clock)."""
    kind = validate_subject_type(subject_type)
    key = validate_subject_key(kind, subject_key)
    moment = at if at is not None else await transaction_now(session)
    facts = await subject_facts(session, kind, key)
    return CreditCheck(kind, key, eligibility(facts, project, moment), deposit_requirement(facts, project, moment))
