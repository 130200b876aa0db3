"""Draws for a registered project: its agency and its evaluation committee, under the
project's pinned rule set and with the project's parties avoided; and who may witness
them. Every draw has a witness who is not the center (spec sealed-draw/1): a supervisor
for an expert draw; for an agency draw the tendering party itself, or a supervisor when
the party asks (or where the rule set wants a supervisor)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from agency_pool.draws import agency_assignment, draw_agency
from bidding.tender.projects import Project, project_by_code
from bidding.tender.registrations import Registration
from bidding.tender.periods import rule_flag
from bidding.tender.states import TenderState
from expert_pool.committees import CommitteeRequest, GroupSpec, request_committee, witness_committee_draw
from trading.audit import actor_of
from trading.draws import (
    WITNESS_SUPERVISOR,
    WITNESS_TENDERING_PARTY,
    Draw,
    ask_supervisor_to_witness,
    get_draw,
    supply_witness,
)
from trading.errors import NotFound, PermissionDenied
from trading.identifiers import validate_credit_code
from trading.keys import CenterKeys
from trading.organisations import Organisation
from trading.roles import UserRole


# The center's page offers a committee request from the announcement until the evaluation
# (the request itself is not refused in other states: the API may still ask).
COMMITTEE_STATES = frozenset({TenderState.ANNOUNCED, TenderState.BIDDING, TenderState.OPENING, TenderState.EVALUATING})


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
                             witness=WITNESS_SUPERVISOR if rule_flag(rule_set, "agency_draw_witness_required")
                             else WITNESS_TENDERING_PARTY)


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


async def _is_tendering_party(session: AsyncSession, user: Any, draw: Draw) -> bool:
    if user.role != UserRole.TENDERING_PARTY or user.organisation_id is None:
        return False
    project = await session.scalar(select(Project).where(Project.code == draw.project_code))
    return project is not None and project.tendering_party_id == user.organisation_id


async def may_witness(session: AsyncSession, user: Any, draw: Draw) -> bool:
    """Whether ``user`` is the witness this draw waits for (never the center's staff)."""
    if user is None:
        return False
    if draw.witness_role == WITNESS_TENDERING_PARTY:
        if user.role == UserRole.SUPERVISOR:
            return draw.witness_asked_by is not None
        return await _is_tendering_party(session, user, draw)
    return user.role == UserRole.SUPERVISOR


async def witness_draw(session: AsyncSession, keys: CenterKeys, *, draw_id: str, value: str, user: Any) -> Draw:
    """Step 3 by the draw's own witness; an expert draw's witness also calls the drawn experts."""
    draw = await get_draw(session, draw_id)
    if not await may_witness(session, user, draw):
        if draw.witness_role == WITNESS_TENDERING_PARTY:
            raise PermissionDenied("代理机构抽取的见证值由本项目招标人提供；监督人员须经招标人请求后才能提供", code="witness_not_requested")
        raise PermissionDenied("见证值须由监督人员提供", code="witness_by_supervisor_only")
    if draw.purpose == "expert":
        return await witness_committee_draw(session, keys, draw_id, value=value, by=actor_of(user))
    return await supply_witness(session, keys, draw_id, value=value, by=actor_of(user))


async def ask_supervisor_for_agency_draw(session: AsyncSession, *, project_code: str, user: Any) -> Draw:
    """The tendering party asks a supervisor to witness its project's pending agency draw."""
    draw = await session.scalar(select(Draw).where(Draw.project_code == project_code, Draw.purpose == "agency")
                                .order_by(Draw.id.desc()).limit(1))
    if draw is None:
        raise NotFound(f"项目 {project_code} 尚未抽取招标代理机构")
    if not await _is_tendering_party(session, user, draw):
        raise PermissionDenied("只有本项目的招标人可以请求监督人员见证代理机构抽取", code="not_tendering_party")
    return await ask_supervisor_to_witness(session, draw.draw_id, actor=actor_of(user))
