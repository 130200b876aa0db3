"""Draws for a registered project: its agency and its evaluation committee, under the
project's pinned rule set and with the project's parties avoided."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from agency_pool.draws import agency_assignment, draw_agency
from bidding.projects import project_by_code
from bidding.registrations import Registration
from bidding.rule_periods import rule_flag
from expert_pool.committees import CommitteeRequest, GroupSpec, request_committee
from trading.draws import Draw
from trading.errors import NotFound
from trading.identifiers import validate_credit_code
from trading.keys import CenterKeys
from trading.organisations import Organisation


async def serving_agency_code(session: AsyncSession, project_code: str) -> str | None:
    """The credit code of the agency serving the project (drawn, not declined), if any."""
    try:
        assignment = await agency_assignment(session, project_code)
    except NotFound:
        return None
    if assignment.agency is None:
        return None
    return (await session.get(Organisation, assignment.agency.organisation_id)).credit_code


async def draw_project_agency(session: AsyncSession, keys: CenterKeys, *, actor: str, project_code: str,
                              reserve_count: int = 3) -> Draw:
    """Draw the project's agency from the pool serving its category."""
    project, party, rule_set = await project_by_code(session, project_code)
    return await draw_agency(session, keys, actor=actor, project_code=project.code, category=project.category,
                             tendering_party_credit_code=party.credit_code, reserve_count=reserve_count,
                             region_code=project.region_code,
                             witness_required=rule_flag(rule_set, "agency_draw_witness_required"))


async def request_project_committee(
    session: AsyncSession, keys: CenterKeys, *, actor: str, project_code: str, starts_at: datetime, ends_at: datetime,
    place: str, groups: list[GroupSpec], representatives: int = 0, agency_code: str | None = None,
    bidder_codes: list[str] = (),
) -> CommitteeRequest:
    """Request the project's evaluation committee under its pinned rule set.

    The experts to avoid include the employees of every bidder that registered for the
    project (admitted or not: a refused bidder may still complain), besides ``bidder_codes``,
    and those of the agency serving the project when ``agency_code`` is not given.
    """
    project, party, rule_set = await project_by_code(session, project_code)
    registered = (await session.scalars(
        select(Organisation.credit_code).join(Registration, Registration.bidder_organisation_id == Organisation.id)
        .where(Registration.project_id == project.id))).all()
    bidder_codes = sorted({validate_credit_code(code) for code in bidder_codes} | set(registered))
    if agency_code is None:  # the agency serving the project is avoided without being named
        agency_code = await serving_agency_code(session, project.code)
    return await request_committee(
        session, keys, actor=actor, project_code=project.code, rule_set=rule_set, tendering_party_code=party.credit_code,
        agency_code=validate_credit_code(agency_code) if agency_code else None,
        bidder_codes=bidder_codes, starts_at=starts_at, ends_at=ends_at,
        place=place, groups=groups, representatives=representatives)
