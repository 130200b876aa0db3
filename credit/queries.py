"""Credit restrictions as SQL conditions, for the pools' filters (DESIGN.md: the pools ask
credit whom to exclude).

Each function returns a condition that is true when the subject in the given column is
restricted at the moment asked (default: the database clock), with the same meaning as
the pure decisions in :mod:`credit.decisions`: status active, the moment inside the
period, the category and region inside the scope. Callers add ``~condition`` to their
``WHERE``.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ColumnElement, and_, exists, func, literal, or_
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy import String

from credit.facts import ACTIVE, covering_regions, years_before
from credit.models import CreditRecord
from credit.reference import BRIBERY_CRIME, COURT_DEFAULTER, SERIOUS
from credit.subjects import ORGANISATION, PERSON


def _in_force(moment: datetime | None) -> ColumnElement[bool]:
    at = moment if moment is not None else func.now()
    return and_(CreditRecord.status == ACTIVE, CreditRecord.effective_from <= at,
                or_(CreditRecord.effective_to.is_(None), CreditRecord.effective_to > at))


def _in_scope(category: str | None, region_code: str | None) -> list[ColumnElement[bool]]:
    conditions = []
    if category is not None:
        conditions.append(or_(func.cardinality(CreditRecord.categories) == 0,
                              CreditRecord.categories.contains([category])))
    if region_code is not None:
        covering = literal(covering_regions(region_code), ARRAY(String(6)))
        conditions.append(or_(func.cardinality(CreditRecord.region_codes) == 0,
                              CreditRecord.region_codes.overlap(covering)))
    return conditions


def restricted_organisation(
    credit_code_column: ColumnElement[str], *, category: str | None = None, region_code: str | None = None,
    bribery_lookback_years: int | None = None, at: datetime | None = None,
) -> ColumnElement[bool]:
    """True when the organisation of ``credit_code_column`` has a serious record that
    restricts it: in force, and in scope of ``category`` and ``region_code`` (None: any).

    A bribery-crime record counts only when it took effect within
    ``bribery_lookback_years`` of ``at`` (or the database clock); without a look-back,
    whenever it is in force — as in :func:`credit.decisions.eligibility`.
    """
    if bribery_lookback_years is None:
        bribery = CreditRecord.kind == BRIBERY_CRIME
    else:
        since = (years_before(at, bribery_lookback_years) if at is not None
                 else func.now() - func.make_interval(bribery_lookback_years))
        bribery = and_(CreditRecord.kind == BRIBERY_CRIME, CreditRecord.effective_from > since)
    deciding = or_(and_(CreditRecord.kind != BRIBERY_CRIME, CreditRecord.severity == SERIOUS), bribery)
    return exists().where(CreditRecord.subject_type == ORGANISATION, CreditRecord.subject_key == credit_code_column,
                          _in_force(at), deciding, *_in_scope(category, region_code))


def listed_defaulter(id_number_column: ColumnElement[str], *, at: datetime | None = None) -> ColumnElement[bool]:
    """True when the person of ``id_number_column`` is a court-listed defaulter (失信被执行人)
    in force: such a person may not serve as an evaluation expert, whatever the record's scope."""
    return exists().where(CreditRecord.subject_type == PERSON, CreditRecord.subject_key == id_number_column,
                          CreditRecord.kind == COURT_DEFAULTER, _in_force(at))
