"""Which experts may be drawn for an evaluation session: the pool filter of the expert draw."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime

from sqlalchemy import ColumnElement, and_, exists, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from credit.queries import listed_defaulter
from expert_pool.fields import SENIOR_TITLES, ExpertStatus
from expert_pool.models import Expert, ExpertConflict, ExpertLeave, ExpertSpecialty
from expert_pool.specialties import check_codes, subtree_codes
from trading.errors import InvalidInput
from trading.identifiers import validate_credit_code


def _conditions(
    *,
    codes: Sequence[str],
    excluded: Sequence[str],
    window_start: datetime,
    window_end: datetime,
    on_date: date | None = None,
    min_years_in_field: int | None = None,
    senior_title_only: bool = False,
    extra_filter: ColumnElement[bool] | None = None,
) -> list[ColumnElement[bool]]:
    """The WHERE conditions of the pool filter; see :func:`available_experts`."""
    review_day = on_date if on_date is not None else func.current_date()
    subtree = subtree_codes(codes)
    conditions: list[ColumnElement[bool]] = [
        Expert.status == ExpertStatus.ACTIVE.value,
        Expert.next_review_due >= review_day,
        exists().where(ExpertSpecialty.expert_id == Expert.id,
                       ExpertSpecialty.specialty_code.in_(select(subtree.c.code))),
        ~exists().where(ExpertLeave.expert_id == Expert.id,
                        ExpertLeave.starts_at < window_end, ExpertLeave.ends_at > window_start),
        ~listed_defaulter(Expert.id_number),
    ]
    if excluded:
        conditions.append(Expert.employer_credit_code.not_in(excluded))
        conditions.append(~exists().where(ExpertConflict.expert_id == Expert.id,
                                          ExpertConflict.credit_code.in_(excluded)))
    if min_years_in_field is not None:
        conditions.append(Expert.years_in_field >= min_years_in_field)
    if senior_title_only:
        conditions.append(Expert.title.in_(SENIOR_TITLES))
    if extra_filter is not None:
        conditions.append(extra_filter)
    return conditions


async def _filter(session: AsyncSession, *, specialties: Sequence[str], window_start: datetime, window_end: datetime,
                  exclude_credit_codes: Sequence[str] = (), **options) -> list[ColumnElement[bool]]:
    for moment, field in ((window_start, "window_start"), (window_end, "window_end")):
        if not isinstance(moment, datetime) or moment.tzinfo is None:
            raise InvalidInput("评标时间须为带时区的时间", code="naive_time", field=field)
    if window_end <= window_start:
        raise InvalidInput("评标结束时间应晚于开始时间", code="invalid_time_range", field="window_end")
    codes = await check_codes(session, specialties)
    excluded = sorted({validate_credit_code(code) for code in exclude_credit_codes})
    return _conditions(window_start=window_start, window_end=window_end, codes=codes, excluded=excluded, **options)


async def available_expert_codes(session: AsyncSession, **criteria) -> list[str]:
    """The public codes of :func:`available_experts`, unordered: what a draw's pool needs,
    without building an object per expert (the draw sorts the pool itself)."""
    return list((await session.scalars(select(Expert.code).where(and_(*await _filter(session, **criteria))))).all())


async def available_experts(
    session: AsyncSession,
    *,
    specialties: Sequence[str],
    window_start: datetime,
    window_end: datetime,
    exclude_credit_codes: Sequence[str] = (),
    on_date: date | None = None,
    min_years_in_field: int | None = None,
    senior_title_only: bool = False,
    extra_filter: ColumnElement[bool] | None = None,
) -> list[Expert]:
    """Experts who may serve in a session from ``window_start`` to ``window_end``, by code.

    An expert qualifies when all of these hold:

    - status is active, and the annual review is not overdue on ``on_date`` (default: the
      database's current date): ``next_review_due >= on_date``;
    - one of their specialties is a requested code or lies below one in the taxonomy;
    - no leave period overlaps the window (half-open intervals: a leave ending exactly
      when the session starts does not count);
    - their employer is not among ``exclude_credit_codes`` (tendering party, agency,
      bidders), and they declared no conflict with any of those organisations;
    - optionally, ``min_years_in_field`` and a senior title (the pinned rule set's
      ``expert_min_years_in_field`` and ``expert_senior_title_required``);
    - they are not a court-listed defaulter (失信被执行人) in force now, by ID number
      (:func:`credit.queries.listed_defaulter`).

    Hooks for the draw: session bookings (double booking) and the cooling-off period for
    the same tendering party live with the draw; pass them as ``extra_filter``, a SQL
    condition on :class:`Expert` (for example ``~exists(...booking overlapping...)``).
    Credit restrictions (失信被执行人) come from credit/ the same way, as one condition.
    """
    conditions = await _filter(
        session, specialties=specialties, window_start=window_start, window_end=window_end,
        exclude_credit_codes=exclude_credit_codes, on_date=on_date, min_years_in_field=min_years_in_field,
        senior_title_only=senior_title_only, extra_filter=extra_filter)
    query = select(Expert).where(and_(*conditions)).order_by(Expert.code)
    return list((await session.scalars(query)).all())
