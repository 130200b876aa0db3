"""The public pages (信息公开, the "glass house"): the home, the announcement list with its
filters and search, a tender's page with its timeline, the tender documents' files for
logged-in users, an Atom feed per trading category, and the verification index.

Everything shown comes from the services that decide what is public
(:mod:`bidding.reading.listing`, :mod:`bidding.reading.public_record`); nothing here reads bids.
The list is a plain GET form: it works without JavaScript.
"""

from __future__ import annotations

import time
from datetime import date, datetime
from typing import Any
from urllib.parse import quote, urlencode

from litestar import Controller, Request, Response, get
from litestar.response import Redirect, Template
from sqlalchemy.ext.asyncio import AsyncSession

from bidding.notice.announcements import ANNOUNCEMENT_KINDS
from bidding.bids.opening_keys import signed_opening_key
from bidding.reading.public_record import public_tender
from bidding.tender.states import STATE_NAMES
from bidding.notice.documents import document_version
from bidding.reading.listing import (
    TRIGRAM_MIN_CHARS,
    ListingFilters,
    key_figures,
    latest_by_category,
    list_announcements,
    region_choices,
    todays_openings,
)
from trading.database import database_now
from trading.errors import DomainError, InvalidInput, NotFound
from trading.money import fen_of_yuan
from trading.rules.store import TRADING_CATEGORIES
from web.core.admission import public_query_gate
from web.core.auth import requires_login
from web.core.forms import FormState
from web.core.parameters import FIRST_DAY, LAST_DAY, Cursor, RowId
from web.pages.public_feed import atom_feed
from web.core.state import AppContext
from web.core.files import attachment

CENTER_NAME = "公共资源交易平台"
FEED_SIZE = 50
# The regions change when the center registers one: the filter's choices are kept this long.
REGION_CHOICES_SECONDS = 60.0
_region_choices: dict[int, tuple[float, list[tuple[str, str]]]] = {}
FILTER_FIELDS = ("q", "category", "region", "state", "kind", "date_from", "date_to", "min_amount", "max_amount")


def _day(form: FormState, name: str, label: str) -> date | None:
    text = str(form.value(name) or "").strip()
    if not text:
        return None
    try:
        day = date.fromisoformat(text)
    except ValueError:
        form.error(name, f"{label}格式应为 年-月-日，例如 2026-11-22")
        return None
    if not FIRST_DAY <= day <= LAST_DAY:  # the year 1 or 9999 overflowed in the query
        form.error(name, f"{label}应在 {FIRST_DAY.year} 年到 {LAST_DAY.year} 年之间")
        return None
    return day


def _fen(form: FormState, name: str, label: str) -> int | None:
    text = str(form.value(name) or "").strip()
    if not text:
        return None
    try:
        return fen_of_yuan(text, field=name, label=label)
    except InvalidInput as exc:
        form.refuse(exc)
        return None


def read_filters(params: Any) -> tuple[ListingFilters, FormState]:
    """The list's filters from the query string, each error beside its field (in Chinese)."""
    form = FormState.of({name: (params.get(name) or "").strip() for name in FILTER_FIELDS})
    filters = ListingFilters(
        query=form.value("q"), category=form.value("category") or None, region=form.value("region") or None,
        state=form.value("state") or None, kind=form.value("kind") or None,
        published_from=_day(form, "date_from", "开始日期"), published_to=_day(form, "date_to", "结束日期"),
        min_fen=_fen(form, "min_amount", "最低金额"), max_fen=_fen(form, "max_amount", "最高金额"))
    if form.ok:
        try:
            filters = filters.checked()
        except InvalidInput as exc:
            form.refuse(exc)
    return filters, form


async def cached_region_choices(session: AsyncSession, context: AppContext) -> list[tuple[str, str]]:
    """The region filter's choices, read at most once a minute per database (engine)."""
    now = time.monotonic()
    kept = _region_choices.get(id(context.engine))
    if kept is None or now - kept[0] > REGION_CHOICES_SECONDS:
        kept = _region_choices[id(context.engine)] = (now, await region_choices(session))
    return kept[1]


def _choices() -> dict[str, Any]:
    return {"categories": list(TRADING_CATEGORIES.items()), "states": list(STATE_NAMES.items()),
            "kinds": list(ANNOUNCEMENT_KINDS.items())}


async def home_page(session: AsyncSession) -> Template:
    """The portal home: newest announcements per category, today's openings, key figures."""
    async with public_query_gate():
        now = await database_now(session)
        context = {"categories": list(TRADING_CATEGORIES.items()), "latest": await latest_by_category(session),
                   "openings": await todays_openings(session, now), "figures": await key_figures(session, now),
                   "now": now, **_choices()}
        await session.close()  # plain values only: the connection goes back before the page is rendered
    return Template("public/home.html", context=context)


class PublicPageController(Controller):
    include_in_schema = False

    @get("/tenders", name="public.tenders")
    async def tenders(self, request: Request, session: AsyncSession, context: AppContext,
                      before: Cursor = None) -> Template:
        """交易公告: the filtered, searched list, newest first, a keyset page at a time."""
        filters, form = read_filters(request.query_params)
        page, status = None, 200
        async with public_query_gate():
            if form.ok:
                try:
                    page = await list_announcements(session, filters, before=before)
                except DomainError as exc:
                    form.refuse(exc)
            regions = await cached_region_choices(session, context)
            # The rows are plain values: the connection goes back to the pool before the page is rendered.
            await session.close()
        if not form.ok:
            status = 400
        kept = {name: value for name, value in form.values.items() if value}
        next_url = f"/tenders?{urlencode({**kept, 'before': page.next_before})}" \
            if page is not None and page.next_before else None
        first_url = f"/tenders?{urlencode(kept)}" if kept else "/tenders"
        return Template("public/tenders.html", status_code=status, context={
            "form": form, "page": page, "next_url": next_url, "first_url": first_url, "paged": before is not None,
            "regions": regions, "trigram_min": TRIGRAM_MIN_CHARS,
            **_choices()})

    @get("/tenders/{code:str}", name="public.tender")
    async def tender(self, code: str, session: AsyncSession, context: AppContext) -> Template:
        """A tender's timeline: what is public about it now, and nothing more; with the tender's
        center-signed opening key record once announced (sealed-bid.md, revision 2)."""
        async with public_query_gate():
            tender = await public_tender(session, code)
            try:
                opening_key = await signed_opening_key(session, context.keys, code)
            except NotFound:
                opening_key = None
            await session.close()  # what the page shows is loaded: render without holding a connection
        return Template("public/tender.html", context={
            **tender, "opening_key": opening_key, "center_key_id": context.keys.key_id,
            "opening_key_published": datetime.fromisoformat(opening_key.record["published_at"]) if opening_key else None})

    @get("/tenders/{code:str}/documents/{number:int}", name="public.tender_document", guards=[requires_login])
    async def document(self, code: str, number: RowId, session: AsyncSession) -> Response[bytes]:
        """A published version of the tender documents: any user logged in to the platform
        (电子招标投标办法 第二十五条); who downloaded is neither recorded nor shown."""
        version = await document_version(session, code, number)
        return Response(version.content, media_type=version.media_type,
                        headers={"Content-Disposition": attachment(version.filename),
                                 "X-Content-SHA256": version.sha256, "X-Document-Version": str(version.number)})

    @get("/feeds/{name:str}", name="public.feed")
    async def feed(self, name: str, session: AsyncSession, context: AppContext) -> Response[bytes]:
        """Atom 1.0 per trading category: /feeds/{category}.atom."""
        category = name.removesuffix(".atom")
        if not name.endswith(".atom") or category not in TRADING_CATEGORIES:
            raise NotFound(f"没有「{name}」这个订阅源", feed=name)
        page = await list_announcements(session, ListingFilters(category=category), page_size=FEED_SIZE)
        body = atom_feed(base_url=context.settings.public_url, category=category,
                         category_name=TRADING_CATEGORIES[category], rows=page.rows,
                         updated=await database_now(session), center_name=CENTER_NAME)
        return Response(body, media_type="application/atom+xml; charset=utf-8")

    @get("/verify", name="public.verify")
    async def verify(self, award_notice: str | None = None, receipt: str | None = None,
                     draw: str | None = None) -> Template | Redirect:
        """The verification index: an award notice, a receipt or a draw by its number."""
        for value, target in ((award_notice, "/verify/award-notices/"), (receipt, "/verify/receipts/"),
                              (draw, "/draws/")):
            if value and value.strip():
                return Redirect(target + quote(value.strip(), safe=""))
        return Template("public/verify.html", context={})
