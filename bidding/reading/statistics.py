"""Public trading statistics (交易统计): volume and amount per category and month, savings
rate, premium rate, bids per tender and failed tenders (流标), with filters.

Each table counts by the date of the event it measures, in the center's calendar
(Asia/Shanghai): registrations by the day the project entered the center, awards by the
day the award notice was issued, bids and failures by the bid deadline (the opening).

Rates are exact fractions of integer fen (``Fraction``), never floats; shown as percentages
rounded half up to two decimals (:func:`percent_text`). The savings rate (节资率) of a
group is (Σ budget − Σ award price) ÷ Σ budget; the premium rate (溢价率) of land, mining
rights and state property is (Σ award price − Σ reserve price) ÷ Σ reserve price, the
reserve (起始价/底价) being the amount the project was registered with.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from fractions import Fraction
from typing import Any

from sqlalchemy import and_, case, func, literal, literal_column, select
from sqlalchemy.ext.asyncio import AsyncSession

from bidding.award.award_notice import AwardNotice
from bidding.bids.submission import SUBMITTED, Bid
from bidding.tender.projects import Project
from bidding.tender.states import STATE_NAMES, TenderState
from trading.audit import AuditEntry
from trading.errors import InvalidInput
from trading.organisations import Region
from trading.rules.store import TRADING_CATEGORIES

ZONE = "Asia/Shanghai"
# Categories whose award is a sale: the price rises over the reserve (premium), not falls (savings).
SALE_CATEGORIES = ("land_mining", "state_property")
PURCHASE_CATEGORIES = tuple(code for code in TRADING_CATEGORIES if code not in SALE_CATEGORIES)
# States a tender reaches only after its bids were opened.
OPENED_STATES = tuple(s.value for s in (TenderState.OPENING, TenderState.EVALUATING, TenderState.PUBLICITY,
                                        TenderState.AWARDED, TenderState.CONTRACTED, TenderState.CLOSED,
                                        TenderState.FAILED))
EARLIEST_YEAR, LATEST_YEAR = 2000, 2100
ROUNDING_NOTE = "比率按精确分数计算，以百分比显示时四舍五入保留两位小数；平均数四舍五入保留两位小数。"


# ----------------------------------------------------------------------------- arithmetic


def savings_rate(budget_fen: int, award_fen: int) -> Fraction | None:
    """(budget − award) ÷ budget, exactly; None where there is no budget to compare with."""
    if budget_fen <= 0:
        return None
    return Fraction(budget_fen - award_fen, budget_fen)


def premium_rate(reserve_fen: int, award_fen: int) -> Fraction | None:
    """(award − reserve) ÷ reserve, exactly; None where there is no reserve price."""
    if reserve_fen <= 0:
        return None
    return Fraction(award_fen - reserve_fen, reserve_fen)


def aggregate_savings(pairs: Iterable[tuple[int, int]]) -> Fraction | None:
    """The savings rate of a group of (budget, award) pairs, weighted by budget: Σ savings ÷ Σ budget."""
    budget = award = 0
    for budget_fen, award_fen in pairs:
        budget += budget_fen
        award += award_fen
    return savings_rate(budget, award)


def round_half_up(value: Fraction, places: int) -> Fraction:
    """``value`` rounded to ``places`` decimals, halves away from zero (exact)."""
    scale = 10 ** places
    scaled = abs(value) * scale
    rounded = Fraction(int(scaled + Fraction(1, 2)), scale)
    return rounded if value >= 0 else -rounded


def decimal_text(value: Fraction, places: int = 2) -> str:
    rounded = round_half_up(value, places)
    sign = "-" if rounded < 0 else ""
    units = abs(rounded) * 10 ** places
    whole, part = divmod(int(units), 10 ** places)
    return f"{sign}{whole}.{part:0{places}d}" if places else f"{sign}{whole}"


def percent_text(rate: Fraction | None, places: int = 2) -> str:
    """``Fraction(1234, 10000)`` → ``"12.34%"``; None → ``"—"`` (nothing to compare with)."""
    if rate is None:
        return "—"
    return f"{decimal_text(rate * 100, places)}%"


# ----------------------------------------------------------------------------- filters


@dataclass(frozen=True)
class StatsFilter:
    """What the public asked for: a date range (inclusive, the center's calendar), a
    category, a region (its whole subtree: 370000 takes every code beginning 37)."""

    date_from: date | None = None
    date_to: date | None = None
    category: str | None = None
    region: str | None = None

    def as_query(self) -> dict[str, str]:
        return {key: value for key, value in (
            ("date_from", self.date_from.isoformat() if self.date_from else ""),
            ("date_to", self.date_to.isoformat() if self.date_to else ""),
            ("category", self.category or ""), ("region", self.region or "")) if value}


def _day(text: str, field_name: str, label: str) -> date | None:
    text = (text or "").strip()
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise InvalidInput(f"{label}「{text}」格式有误，应为 YYYY-MM-DD", code="invalid_date", field=field_name) from None


def stats_filter(*, year: str = "", date_from: str = "", date_to: str = "", category: str = "",
                 region: str = "") -> StatsFilter:
    """Check the filter as typed; a year fills the date range it leaves empty."""
    start, end = _day(date_from, "date_from", "起始日期"), _day(date_to, "date_to", "截止日期")
    year = (year or "").strip()
    if year:
        if not year.isdigit() or not EARLIEST_YEAR <= int(year) <= LATEST_YEAR:
            raise InvalidInput(f"年度「{year}」应为 {EARLIEST_YEAR}–{LATEST_YEAR} 之间的四位年份", code="invalid_year", field="year")
        start = start or date(int(year), 1, 1)
        end = end or date(int(year), 12, 31)
    if start and end and end < start:
        raise InvalidInput("截止日期不能早于起始日期", code="invalid_date_range", field="date_to")
    category = (category or "").strip() or None
    if category is not None and category not in TRADING_CATEGORIES:
        raise InvalidInput(f"未知的交易类别「{category}」", code="unknown_category", field="category")
    region = (region or "").strip() or None
    if region is not None and not (len(region) == 6 and region.isdigit()):
        raise InvalidInput(f"行政区划代码「{region}」应为6位数字", code="invalid_region_code", field="region")
    return StatsFilter(start, end, category, region)


def region_prefix(code: str) -> str:
    """GB/T 2260: 370000 → "37", 370800 → "3708", 370811 → "370811"."""
    prefix = code
    while prefix.endswith("00") and len(prefix) > 2:
        prefix = prefix[:-2]
    return prefix


# Inlined constants (not bound parameters): GROUP BY must see the very same expression as SELECT.
_ZONE = literal_column(f"'{ZONE}'")


def _local_day(column):
    return func.date(func.timezone(_ZONE, column))


def _month(column):
    return func.to_char(func.timezone(_ZONE, column), literal_column("'YYYY-MM'"))


def _where(query, chosen: StatsFilter, moment):
    """The filter applied to a query over ``Project`` with the event time ``moment``."""
    if chosen.date_from is not None:
        query = query.where(_local_day(moment) >= chosen.date_from)
    if chosen.date_to is not None:
        query = query.where(_local_day(moment) <= chosen.date_to)
    if chosen.category is not None:
        query = query.where(Project.category == chosen.category)
    if chosen.region is not None:
        query = query.where(Project.region_code.like(f"{region_prefix(chosen.region)}%"))
    return query


def _category_order(code: str) -> int:
    codes = list(TRADING_CATEGORIES)
    return codes.index(code) if code in codes else len(codes)


# ----------------------------------------------------------------------------- tables


class _InCategory:
    """A row of one trading category ("" for a 合计 row)."""

    category: str

    @property
    def category_name(self) -> str:
        return "合计" if self.category == "" else TRADING_CATEGORIES.get(self.category, self.category)


@dataclass
class VolumeRow(_InCategory):
    month: str
    category: str
    registered: int = 0
    estimate_fen: int = 0
    awarded: int = 0
    award_fen: int = 0


async def volume_by_month(session: AsyncSession, chosen: StatsFilter) -> list[VolumeRow]:
    """Per month and category: projects registered and their budget/estimate (by registration
    day), tenders awarded and their award price (by the award notice's day)."""
    registered = _where(select(_month(Project.registered_at), Project.category, func.count(),
                               func.coalesce(func.sum(Project.estimate_fen), 0)), chosen, Project.registered_at)
    registered = registered.group_by(_month(Project.registered_at), Project.category)
    awarded = _where(select(_month(AwardNotice.issued_at), Project.category, func.count(),
                            func.coalesce(func.sum(AwardNotice.price_fen), 0))
                     .join(Project, Project.id == AwardNotice.project_id), chosen, AwardNotice.issued_at)
    awarded = awarded.group_by(_month(AwardNotice.issued_at), Project.category)
    rows: dict[tuple[str, str], VolumeRow] = {}
    for month, category, count, total in (await session.execute(registered)).all():
        row = rows.setdefault((month, category), VolumeRow(month, category))
        row.registered, row.estimate_fen = int(count), int(total)
    for month, category, count, total in (await session.execute(awarded)).all():
        row = rows.setdefault((month, category), VolumeRow(month, category))
        row.awarded, row.award_fen = int(count), int(total)
    return sorted(rows.values(), key=lambda row: (row.month, _category_order(row.category)))


@dataclass
class RateRow(_InCategory):
    """One group (a category, or 合计) of awarded tenders: Σ base price, Σ award price, exact rate."""

    category: str
    tenders: int = 0
    base_fen: int = 0
    award_fen: int = 0
    without_base: int = 0  # awarded tenders left out: no budget/reserve to compare with

    @property
    def difference_fen(self) -> int:
        return self.award_fen - self.base_fen

    @property
    def savings(self) -> Fraction | None:
        return savings_rate(self.base_fen, self.award_fen)

    @property
    def premium(self) -> Fraction | None:
        return premium_rate(self.base_fen, self.award_fen)


@dataclass
class AwardedTender(_InCategory):
    code: str
    title: str
    category: str
    base_fen: int
    award_fen: int
    awarded_on: date

    @property
    def savings(self) -> Fraction | None:
        return savings_rate(self.base_fen, self.award_fen)

    @property
    def premium(self) -> Fraction | None:
        return premium_rate(self.base_fen, self.award_fen)


@dataclass
class RateTable:
    groups: list[RateRow] = field(default_factory=list)  # per category, then the total (category "")
    tenders: list[AwardedTender] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not self.tenders


async def _awarded(session: AsyncSession, chosen: StatsFilter, categories: tuple[str, ...]) -> RateTable:
    query = _where(select(Project.code, Project.title, Project.category, Project.estimate_fen, AwardNotice.price_fen,
                          _local_day(AwardNotice.issued_at))
                   .join(AwardNotice, AwardNotice.project_id == Project.id)
                   .where(Project.category.in_(categories)), chosen, AwardNotice.issued_at)
    rows = (await session.execute(query.order_by(AwardNotice.issued_at, Project.code))).all()
    table = RateTable(tenders=[AwardedTender(*row) for row in rows])
    groups: dict[str, RateRow] = {}
    total = RateRow("")
    for tender in table.tenders:
        group = groups.setdefault(tender.category, RateRow(tender.category))
        for row in (group, total):
            if tender.base_fen <= 0:
                row.without_base += 1
                continue
            row.tenders += 1
            row.base_fen += tender.base_fen
            row.award_fen += tender.award_fen
    table.groups = sorted(groups.values(), key=lambda row: _category_order(row.category))
    if table.groups:
        table.groups.append(total)
    return table


async def savings_table(session: AsyncSession, chosen: StatsFilter) -> RateTable:
    """Savings (节资率) of awarded construction and procurement tenders: budget/estimate against award price."""
    return await _awarded(session, chosen, PURCHASE_CATEGORIES)


async def premium_table(session: AsyncSession, chosen: StatsFilter) -> RateTable:
    """Premium (溢价率) of awarded land, mining-right and state-property deals over the reserve price."""
    return await _awarded(session, chosen, SALE_CATEGORIES)


@dataclass
class BidsRow(_InCategory):
    category: str
    tenders: int
    bids: int
    fewest: int
    most: int

    @property
    def average(self) -> Fraction | None:
        return Fraction(self.bids, self.tenders) if self.tenders else None

    @property
    def average_text(self) -> str:
        return "—" if self.average is None else decimal_text(self.average)


def _opened(chosen: StatsFilter):
    """Tenders whose bids were opened (bid deadline passed and the opening begun), in the filter."""
    return _where(select(Project.id).where(Project.state.in_(OPENED_STATES) | Project.suspended_from.in_(OPENED_STATES),
                                           Project.bid_deadline.is_not(None)), chosen, Project.bid_deadline)


async def bids_per_tender(session: AsyncSession, chosen: StatsFilter) -> list[BidsRow]:
    """Per category: opened tenders, bids received (current bids at the deadline), average, fewest and most."""
    counted = (select(Project.category.label("category"), func.count(Bid.id).label("bids"))
               .select_from(Project)
               .outerjoin(Bid, and_(Bid.project_id == Project.id, Bid.status == SUBMITTED))
               .where(Project.id.in_(_opened(chosen)))
               .group_by(Project.id, Project.category)).subquery()
    query = (select(counted.c.category, func.count(), func.coalesce(func.sum(counted.c.bids), 0),
                    func.min(counted.c.bids), func.max(counted.c.bids)).group_by(counted.c.category))
    rows = [BidsRow(category, int(count), int(total), int(fewest), int(most))
            for category, count, total, fewest, most in (await session.execute(query)).all()]
    rows.sort(key=lambda row: _category_order(row.category))
    if rows:
        rows.append(BidsRow("", sum(r.tenders for r in rows), sum(r.bids for r in rows),
                            min(r.fewest for r in rows), max(r.most for r in rows)))
    return rows


@dataclass
class FailureRow(_InCategory):
    category: str
    opened: int
    failed: int

    @property
    def rate(self) -> Fraction | None:
        return Fraction(self.failed, self.opened) if self.opened else None


@dataclass
class FailedTender(_InCategory):
    code: str
    title: str
    category: str
    opened_on: date
    state: str
    valid_bids: int | None
    reason: str


@dataclass
class FailureTable:
    groups: list[FailureRow] = field(default_factory=list)
    tenders: list[FailedTender] = field(default_factory=list)


async def failed_tenders(session: AsyncSession, chosen: StatsFilter) -> FailureTable:
    """Failed tenders (流标) among the opened ones, per category, and each with the reason recorded."""
    failed = case((Project.state == TenderState.FAILED.value, 1), else_=0)
    query = (select(Project.category, func.count(), func.sum(failed))
             .where(Project.id.in_(_opened(chosen))).group_by(Project.category))
    groups = [FailureRow(category, int(count), int(fails or 0))
              for category, count, fails in (await session.execute(query)).all()]
    groups.sort(key=lambda row: _category_order(row.category))
    if groups:
        groups.append(FailureRow("", sum(r.opened for r in groups), sum(r.failed for r in groups)))
    # The reason is the one the failing step recorded in the audit log (tender.fail).
    reason = (select(AuditEntry.data).where(AuditEntry.subject == literal("project:") + Project.code,
                                            AuditEntry.action == "tender.fail")
              .order_by(AuditEntry.seq.desc()).limit(1).scalar_subquery())
    rows = (await session.execute(
        select(Project.code, Project.title, Project.category, _local_day(Project.bid_deadline), Project.state, reason)
        .where(Project.id.in_(_opened(chosen)), Project.state == TenderState.FAILED.value)
        .order_by(Project.bid_deadline, Project.code))).all()
    tenders = []
    for code, title, category, opened_on, state, data in rows:
        facts: dict[str, Any] = (data or {}).get("facts", {}) if isinstance(data, dict) else {}
        tenders.append(FailedTender(code, title, category, opened_on, STATE_NAMES.get(state, state),
                                    facts.get("valid_bids"), facts.get("reason") or "（未记录原因）"))
    return FailureTable(groups, tenders)


async def region_choices(session: AsyncSession) -> list[tuple[str, str]]:
    return [(code, name) for code, name in (await session.execute(select(Region.code, Region.name)
                                                                  .order_by(Region.code))).all()]


async def year_choices(session: AsyncSession) -> list[int]:
    """The years with a registered project, newest first (at least the current year)."""
    years = {int(year) for year in (await session.scalars(
        select(func.distinct(func.extract("year", func.timezone(ZONE, Project.registered_at)))))).all()}
    years.add(int(await session.scalar(select(func.extract("year", func.timezone(ZONE, func.now()))))))
    return sorted(years, reverse=True)
