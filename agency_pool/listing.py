"""The pool as shown to the public and exported: each agency with its recent rating."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from agency_pool.agencies import Agency, AgencyStatus
from agency_pool.ratings import rating_summaries
from trading.organisations import Organisation, Region
from trading.rules.store import TRADING_CATEGORIES


@dataclass(frozen=True)
class AgencyListing:
    code: str
    name: str
    credit_code: str
    qualification_level: str
    categories: list[str]
    city: str
    city_name: str
    status: str
    status_reason: str | None
    rating_average: float | None
    rating_count: int

    @property
    def category_names(self) -> list[str]:
        return [TRADING_CATEGORIES[code] for code in self.categories]

    @property
    def status_name(self) -> str:
        return AgencyStatus(self.status).label


async def list_agencies(session: AsyncSession) -> list[AgencyListing]:
    """Every agency of the pool, in any status, ordered by public code (UTF-8 byte order)."""
    query = (select(Agency, Organisation.credit_code, Region.name)
             .join(Organisation, Organisation.id == Agency.organisation_id)
             .join(Region, Region.code == Agency.city)
             .order_by(Agency.code.collate("C")))
    rows = (await session.execute(query)).all()
    ratings = await rating_summaries(session)
    listings = []
    for agency, credit_code, city_name in rows:
        rating = ratings.get(agency.id)
        listings.append(AgencyListing(
            code=agency.code, name=agency.name, credit_code=credit_code,
            qualification_level=agency.qualification_level, categories=list(agency.categories),
            city=agency.city, city_name=city_name, status=agency.status, status_reason=agency.status_reason,
            rating_average=rating.average if rating else None, rating_count=rating.count if rating else 0))
    return listings
