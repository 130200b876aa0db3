"""Which agencies may be drawn for a project: the pool an agency draw starts from."""

from __future__ import annotations

from sqlalchemy import exists, select
from sqlalchemy.ext.asyncio import AsyncSession

from agency_pool.agencies import Agency, AgencyStatus
from agency_pool.ties import AgencyTie
from agency_pool.validation import validate_category
from credit.queries import restricted_organisation
from trading.identifiers import validate_credit_code
from trading.organisations import Organisation


async def eligible_agencies(session: AsyncSession, *, category: str, tendering_party_credit_code: str,
                            region_code: str | None = None) -> list[Agency]:
    """Agencies that may be drawn for a project of ``category`` run by the tendering party.

    An agency is eligible when it is active, serves ``category``, has no declared tie to
    the tendering party, and is not itself the tendering party's organisation. The list
    is ordered by public code in UTF-8 byte order, the order of a sealed-draw/1 pool.

    Agencies restricted by credit (blacklist, joint sanctions) are excluded, as one more
    ``WHERE`` clause from ``credit/``: an active serious record in force now whose scope
    covers ``category`` and, when given, the project's ``region_code`` (without it, a
    record of any region scope excludes).
    """
    category = validate_category(category)
    party = validate_credit_code(tendering_party_credit_code)
    tied = exists().where(AgencyTie.agency_id == Agency.id, AgencyTie.party_credit_code == party)
    query = (
        select(Agency)
        .join(Organisation, Organisation.id == Agency.organisation_id)
        .where(Agency.status == AgencyStatus.ACTIVE.value,
               Agency.categories.contains([category]),
               ~tied,
               Organisation.credit_code != party,
               ~restricted_organisation(Organisation.credit_code, category=category, region_code=region_code))
        # "C" collation compares bytes, and UTF-8 byte order is the order the draw protocol uses.
        .order_by(Agency.code.collate("C"))
    )
    return list((await session.scalars(query)).all())
