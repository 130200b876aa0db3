"""The public announcement list (信息公开): filters, Chinese substring search, keyset pages,
today's openings and the key figures of the portal home.

Everything here reads what is public already: announcements (``announcements``), the
project's category, region, state, estimate and tendering party. Nothing about bids or
registrations is read.

Search: ``announcements.search_text`` (title, project code and title, tendering party,
agency; for result-type announcements the names they publish) under a pg_trgm GIN index.
A query of three characters or more is an ``ILIKE '%…%'`` the index serves; pg_trgm finds
no trigram in a one- or two-character query, so those are matched with ``strpos`` on the
list's own order instead (still exact; fast for common characters, a scan of every
announcement for rare ones).

Pages are keyset pages: newest first by (published_at, id); the next page starts before
the last row shown (``before`` = its announcement id). No total count is taken: counting
every match of a common word would cost more than the page itself.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Select, and_, func, select, true, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from bidding.notice.announcements import ANNOUNCEMENT_KINDS, Announcement
from bidding.award.award_notice import AwardNotice
from bidding.tender.projects import Project
from bidding.tender.states import STATE_NAMES, TenderState
from trading.errors import InvalidInput
from trading.organisations import Organisation, Region
from trading.rules.store import TRADING_CATEGORIES
from trading.timefmt import CENTER_ZONE

PAGE_SIZE = 20
MAX_PAGE_SIZE = 100
MAX_QUERY_CHARS = 50
# pg_trgm needs three characters to find a trigram in a LIKE pattern.
TRIGRAM_MIN_CHARS = 3


@dataclass(frozen=True)
class ListingFilters:
    """What the public filters by; every field optional."""

    query: str = ""
    category: str | None = None
    # A GB/T 2260 code: a province or city takes in its subordinate divisions.
    region: str | None = None
    state: str | None = None
    kind: str | None = None
    published_from: date | None = None
    published_to: date | None = None
    min_fen: int | None = None
    max_fen: int | None = None

    def checked(self) -> ListingFilters:
        """The filters, or InvalidInput naming the field that is wrong."""
        if len(self.query) > MAX_QUERY_CHARS:
            raise InvalidInput(f"搜索词不能超过 {MAX_QUERY_CHARS} 个字", code="query_too_long", field="q")
        if self.category and self.category not in TRADING_CATEGORIES:
            raise InvalidInput(f"未知的交易类别「{self.category}」", code="unknown_category", field="category")
        if self.state and self.state not in STATE_NAMES:
            raise InvalidInput(f"未知的项目状态「{self.state}」", code="unknown_state", field="state")
        if self.kind and self.kind not in ANNOUNCEMENT_KINDS:
            raise InvalidInput(f"未知的公告类型「{self.kind}」", code="unknown_announcement_kind", field="kind")
        if self.region and not (len(self.region) == 6 and self.region.isascii() and self.region.isdigit()):
            raise InvalidInput("行政区划代码应为 6 位数字", code="invalid_region_code", field="region")
        if self.published_from and self.published_to and self.published_from > self.published_to:
            raise InvalidInput("结束日期不能早于开始日期", code="invalid_date_range", field="date_to")
        if self.min_fen is not None and self.max_fen is not None and self.min_fen > self.max_fen:
            raise InvalidInput("最高金额不能低于最低金额", code="invalid_amount_range", field="max_amount")
        return self


@dataclass(frozen=True)
class ListingRow:
    announcement_id: int
    kind: str
    title: str
    published_at: datetime
    project_code: str
    project_title: str
    category: str
    region_code: str
    state: str
    estimate_fen: int
    bid_deadline: datetime | None
    tendering_party: str

    @property
    def kind_name(self) -> str:
        return ANNOUNCEMENT_KINDS.get(self.kind, self.kind)

    @property
    def category_name(self) -> str:
        return TRADING_CATEGORIES.get(self.category, self.category)

    @property
    def state_name(self) -> str:
        return STATE_NAMES.get(self.state, self.state)


@dataclass
class ListingPage:
    rows: list[ListingRow]
    # The cursor of the next page (the last row's announcement id), None on the last page.
    next_before: int | None = None
    # True when the search could not use the trigram index (a one- or two-character query).
    short_query: bool = False
    filters: ListingFilters = field(default_factory=ListingFilters)


def region_prefix(code: str) -> str:
    """GB/T 2260: 370000 (province) → "37", 370800 (city) → "3708", 370811 → "370811"."""
    if code.endswith("0000"):
        return code[:2]
    if code.endswith("00"):
        return code[:4]
    return code


def like_pattern(query: str) -> str:
    """``%query%`` with LIKE's own characters taken literally (escape character ``\\``)."""
    escaped = query.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def day_start(day: date) -> datetime:
    """Midnight at the start of ``day`` in the center's zone."""
    return datetime.combine(day, time(0), tzinfo=CENTER_ZONE)


_PROJECT_COLUMNS = (Project.code, Project.title, Project.category, Project.region_code, Project.state,
                    Project.estimate_fen, Project.bid_deadline, Organisation.name)


def listing_statement(filters: ListingFilters, *, limit: int = PAGE_SIZE,
                      before: tuple[datetime, int] | None = None) -> Select:
    """The list's one SQL statement (also run bare by bench/portal_list.py): ``limit`` rows,
    newest first, strictly before the (published_at, id) ``before``.

    Without a filter on the project the page of announcements is chosen first and only its
    rows are joined to their projects; with one, the join comes first (it filters)."""
    own, on_project = [], []
    query = filters.query.strip()
    if query:
        if len(query) >= TRIGRAM_MIN_CHARS:
            own.append(Announcement.search_text.ilike(like_pattern(query), escape="\\"))
        else:  # no trigram to look up: an exact test the index cannot (and should not) serve
            own.append(func.strpos(func.lower(Announcement.search_text), query.lower()) > 0)
    if filters.kind:
        own.append(Announcement.kind == filters.kind)
    if filters.published_from:
        own.append(Announcement.published_at >= day_start(filters.published_from))
    if filters.published_to:
        own.append(Announcement.published_at < day_start(filters.published_to + timedelta(days=1)))
    if before is not None:
        own.append(tuple_(Announcement.published_at, Announcement.id) < tuple_(*before))
    if filters.category:
        on_project.append(Project.category == filters.category)
    if filters.region:
        on_project.append(Project.region_code.startswith(region_prefix(filters.region)))
    if filters.state:
        on_project.append(Project.state == filters.state)
    if filters.min_fen is not None:
        on_project.append(Project.estimate_fen >= filters.min_fen)
    if filters.max_fen is not None:
        on_project.append(Project.estimate_fen <= filters.max_fen)
    newest_first = (Announcement.published_at.desc(), Announcement.id.desc())
    if on_project:
        return (select(Announcement.id, Announcement.kind, Announcement.title, Announcement.published_at,
                       *_PROJECT_COLUMNS)
                .select_from(Announcement)
                .join(Project, Project.id == Announcement.project_id)
                .join(Organisation, Organisation.id == Project.tendering_party_id)
                .where(and_(*own, *on_project)).order_by(*newest_first).limit(limit))
    page = (select(Announcement.id, Announcement.kind, Announcement.title, Announcement.published_at,
                   Announcement.project_id)
            .where(and_(true(), *own)).order_by(*newest_first).limit(limit).subquery("page"))
    return (select(page.c.id, page.c.kind, page.c.title, page.c.published_at, *_PROJECT_COLUMNS)
            .select_from(page)
            .join(Project, Project.id == page.c.project_id)
            .join(Organisation, Organisation.id == Project.tendering_party_id)
            .order_by(page.c.published_at.desc(), page.c.id.desc()))


async def list_announcements(session: AsyncSession, filters: ListingFilters, *, before: int | None = None,
                             page_size: int = PAGE_SIZE) -> ListingPage:
    """One page of the public list; ``before`` is the cursor a previous page handed out."""
    filters = filters.checked()
    page_size = max(1, min(page_size, MAX_PAGE_SIZE))
    cursor = None
    if before is not None:
        published = await session.scalar(select(Announcement.published_at).where(Announcement.id == before))
        if published is None:
            raise InvalidInput("分页位置无效，请从第一页重新浏览", code="invalid_cursor")
        cursor = (published, before)
    rows = (await session.execute(listing_statement(filters, limit=page_size + 1, before=cursor))).all()
    listed = [ListingRow(*row) for row in rows[:page_size]]
    return ListingPage(rows=listed, next_before=listed[-1].announcement_id if len(rows) > page_size else None,
                       short_query=0 < len(filters.query.strip()) < TRIGRAM_MIN_CHARS, filters=filters)


async def latest_by_category(session: AsyncSession, *, per_category: int = 6) -> dict[str, list[ListingRow]]:
    """The newest announcements of each trading category (each walks the list's index)."""
    return {code: (await list_announcements(session, ListingFilters(category=code), page_size=per_category)).rows
            for code in TRADING_CATEGORIES}


async def todays_openings(session: AsyncSession, now: datetime) -> list[dict[str, Any]]:
    """Tenders whose bid deadline — the opening (开标) — falls today in the center's zone."""
    today = now.astimezone(CENTER_ZONE).date()
    rows = (await session.execute(
        select(Project.code, Project.title, Project.category, Project.state, Project.bid_deadline, Organisation.name)
        .join(Organisation, Organisation.id == Project.tendering_party_id)
        .where(Project.bid_deadline >= day_start(today), Project.bid_deadline < day_start(today + timedelta(days=1)),
               Project.state.not_in((TenderState.TERMINATED.value,)))
        .order_by(Project.bid_deadline, Project.code).limit(50))).all()
    return [{"code": code, "title": title, "category": category,
             "category_name": TRADING_CATEGORIES.get(category, category), "state": state,
             "state_name": STATE_NAMES.get(state, state), "opens_at": deadline, "tendering_party": party,
             "opened": deadline <= now}
            for code, title, category, state, deadline, party in rows]


async def key_figures(session: AsyncSession, now: datetime) -> dict[str, int]:
    """This year's figures (center's zone): tenders registered and their estimates, tenders
    open for bids now, award notices and their amounts."""
    year_start = day_start(date(now.astimezone(CENTER_ZONE).year, 1, 1))
    tenders, estimate = (await session.execute(
        select(func.count(), func.coalesce(func.sum(Project.estimate_fen), 0))
        .where(Project.registered_at >= year_start))).one()
    open_now = await session.scalar(select(func.count()).where(
        Project.state.in_((TenderState.ANNOUNCED.value, TenderState.BIDDING.value))))
    awards, awarded = (await session.execute(
        select(func.count(), func.coalesce(func.sum(AwardNotice.price_fen), 0))
        .where(AwardNotice.issued_at >= year_start))).one()
    return {"tenders": tenders, "estimate_fen": int(estimate), "open_now": open_now, "awards": awards,
            "awarded_fen": int(awarded)}


async def region_choices(session: AsyncSession) -> list[tuple[str, str]]:
    """(code, name) of every region, provinces before their cities."""
    return [(code, name) for code, name in (await session.execute(
        select(Region.code, Region.name).order_by(Region.code))).all()]
